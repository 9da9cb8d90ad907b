"""Confidence limits and significance of fct_indicator_quarter on the built scenario, checked
against the formulas of docs/indicators.md ("Confidence intervals and significance") worked
in Python, independently of the SQL macros; and their place in indicators.csv."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import duckdb
import pytest

from exports.indicators import (
    CONTRACT_COLUMNS,
    INTERVAL_COLUMNS,
    RATE_COLUMNS,
    write_indicator_exports,
)

Z_95 = 1.959963984540054  # the standard normal quantile of 0.975
Z_99_8 = 3.090232306167813  # of 0.999


def wilson_percent(numerator: float, denominator: float, z: float) -> tuple[float, float]:
    """Wilson score limits of numerator / denominator, in percent."""
    p = numerator / denominator
    centre = p + z * z / (2 * denominator)
    half = z * math.sqrt(p * (1 - p) / denominator + z * z / (4 * denominator**2))
    scale = 1 + z * z / denominator
    return 100 * (centre - half) / scale, 100 * (centre + half) / scale


def byar(count: float, z: float) -> tuple[float, float]:
    """Byar's limits of a count."""
    lower = 0.0 if count == 0 else count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return lower, upper


def test_hand_checked_examples():
    # The numbers the model's unit tests and docs/indicators.md quote.
    assert [round(x, 1) for x in wilson_percent(45, 100, Z_95)] == [35.6, 54.8]
    assert [round(x, 1) for x in wilson_percent(45, 100, Z_99_8)] == [30.7, 60.1]
    assert byar(10, Z_95) == pytest.approx((4.78745, 18.39146), abs=1e-5)
    assert byar(10, Z_99_8) == pytest.approx((2.91632, 24.19372), abs=1e-5)


def _rows(warehouse) -> list[dict]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        cur = con.execute("select * from main.fct_indicator_quarter")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_limits_follow_the_unit(warehouse):
    rows = _rows(warehouse)
    limits = ["lower_95", "upper_95", "lower_99_8", "upper_99_8"]
    checked = {"percent": 0, "count": 0}
    for row in rows:
        if (
            row["value"] is None
            or row["unit"] == "percent_diff"
            or (row["unit"] == "percent" and not row["denominator"])
        ):
            assert all(row[c] is None for c in limits), row
            continue
        if row["unit"] == "percent":
            expected = wilson_percent(row["numerator"], row["denominator"], Z_95)
            expected += wilson_percent(row["numerator"], row["denominator"], Z_99_8)
            # Published to one decimal place, as the percentage.
            assert [row[c] for c in limits] == [round(x, 1) for x in expected], row
            assert row["significance_method"] == "Wilson score 95%"
        else:
            expected = byar(row["value"], Z_95) + byar(row["value"], Z_99_8)
            assert [row[c] for c in limits] == pytest.approx(expected, rel=1e-9), row
            assert row["significance_method"] == "Byar's 95%"
        assert row["lower_99_8"] <= row["lower_95"] <= row["value"] <= row["upper_95"]
        assert row["upper_95"] <= row["upper_99_8"]
        checked[row["unit"]] += 1
    assert checked["percent"] > 0 and checked["count"] > 0


def test_ytd_limits_use_summed_parts(warehouse):
    # SM_COMPLETIONS 2014/15 Q2: the year to date is 2 / 5 (test_dbt_indicators.py).
    row = warehouse.indicator("SM_COMPLETIONS", "2014/15 Q2")
    lower, upper = wilson_percent(2, 5, Z_95)
    assert (row["ytd_lower_95"], row["ytd_upper_95"]) == (round(lower, 1), round(upper, 1))
    ppv = warehouse.indicator("PV_PPV", "2014/15 Q2")
    assert (ppv["ytd_lower_95"], ppv["ytd_upper_95"]) == pytest.approx(byar(6, Z_95))
    assert warehouse.indicator("PV_PPV", "2013/14 Q2")["ytd_lower_95"] is None


def test_significance_by_polarity(warehouse):
    for row in _rows(warehouse):
        if row["indicator_code"].startswith("RR_REOFFEND") or row["lower_95"] is None:
            assert row["significance_vs_previous_year"] is None, row
        if row["target"] is None or row["ytd_lower_95"] is None:
            assert row["significance_vs_target"] is None, row
            continue
        inside = row["ytd_lower_95"] <= row["target"] <= row["ytd_upper_95"]
        assert (row["significance_vs_target"] == "similar") == inside, row


def test_indicators_csv_puts_intervals_last(warehouse, tmp_path: Path):
    written = write_indicator_exports(warehouse.path, tmp_path)
    with written["indicators.csv"].open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        rows = list(reader)
    assert header[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    tail = RATE_COLUMNS + INTERVAL_COLUMNS
    assert header[-len(tail) :] == tail
    completions = next(
        r
        for r in rows
        if r["indicator_code"] == "SM_COMPLETIONS" and r["fiscal_quarter"] == "2014/15 Q2"
    )
    lower, upper = wilson_percent(2, 5, Z_95)
    assert (completions["ytd_lower_95"], completions["ytd_upper_95"]) == (
        f"{lower:.1f}",
        f"{upper:.1f}",
    )
    ppv = next(
        r for r in rows if r["indicator_code"] == "PV_PPV" and r["fiscal_quarter"] == "2014/15 Q2"
    )
    assert ppv["ytd_lower_95"] == f"{byar(6, Z_95)[0]:.2f}"
    assert ppv["significance_method"] == "Byar's 95%"
    diff = next(r for r in rows if r["indicator_code"] == "RR_REOFFEND_DIFF" and r["value"])
    assert diff["lower_95"] == "" and diff["significance_method"] == ""


def test_reoffending_difference_limits_and_comparison_with_the_group(warehouse):
    """Each ranked authority's difference has the Wilson limits of its actual rate as a
    difference from the predicted, and is significant against the group's average only when
    the average lies outside them."""
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        cur = con.execute("select * from main.fct_reoffending_comparison")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    ranked = [r for r in rows if r["rank_all"] is not None]
    assert len(ranked) > 1
    verdicts = set()
    for row in rows:
        if row["rank_all"] is None:
            assert row["difference_lower_95"] is None and row["compared_with_all"] is None
            continue
        reoffenders = round(row["actual_rate"] * row["offenders"] / 100)
        low, high = wilson_percent(reoffenders, row["offenders"], Z_95)
        predicted = row["predicted_rate"]
        assert row["difference_lower_95"] == pytest.approx((low - predicted) / predicted * 100)
        assert row["difference_upper_95"] == pytest.approx((high - predicted) / predicted * 100)
        same_table = [
            r["difference_pct"]
            for r in ranked
            if r["quarter_start"] == row["quarter_start"] and r["difference_pct"] is not None
        ]
        average = sum(same_table) / len(same_table)
        assert row["average_all"] == pytest.approx(average)
        expected = (
            "significantly higher"
            if row["difference_lower_95"] > average
            else "significantly lower"
            if row["difference_upper_95"] < average
            else "not significantly different"
        )
        assert row["compared_with_all"] == expected
        verdicts.add(expected)
    # The scenario's tables give more than one verdict, so a constant one would fail here.
    assert len(verdicts) > 1 and "not significantly different" in verdicts
