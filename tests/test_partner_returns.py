"""Partner returns: the owner rule, percentages against their parts, one partner late while the
others are on time, a revised return, and the template a partner fills in."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import openpyxl
import pytest

from core.feed_status import feed_statuses
from ingest.landing import ingest_feed
from ingest.pseudonymise import load_pseudonymiser
from orchestration.cli import main
from orchestration.config import load_settings
from orchestration.demonstration import (
    PARTNER_CODES,
    partner_return_figures,
    write_partner_returns,
)
from orchestration.monitor import load_state
from tests.conftest import TEST_KEYS

LA = "E08000026"


def ingest(home: Path):
    return ingest_feed(
        "partner_returns",
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=load_pseudonymiser(home),
        la_code=LA,
    )


def _return(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    sheet.append(["Indicator Code", "Period", "Numerator", "Denominator", "Value", "Notes"])
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


@pytest.mark.parametrize(
    "partner, rows, rule",
    [
        ("gangs", [["RR_EMPLOYMENT", "2014/15 Q2", 89, 198, 44.9, None]], "not_owner"),
        ("probation", [["RR_EMPLOYMENT", "2014/15 Q2", 89, 198, 50.0, None]], "ratio_inconsistent"),
        (
            "probation",
            [["RR_EMPLOYMENT", "2014/15 Q2", None, None, 44.9, None]],
            "ratio_parts_missing",
        ),
        ("iom", [["RR_IOM_DA", "2014/15 Q2", 10, 12, 10, None]], "count_with_parts"),
        ("iom", [["RR_IOM_DA", "2014/15 Q3", None, None, 10, None]], "period_after_file"),
        ("iom", [["RR_IOM_XX", "2014/15 Q2", None, None, 10, None]], "unknown_code"),
        ("iom", [["RR_IOM_DA", "Q2 2014", None, None, 10, None]], "quarter_format"),
    ],
)
def test_a_return_breaking_a_rule_is_quarantined(
    home: Path, partner: str, rows: list, rule: str
) -> None:
    _return(
        home / "landing" / "partner_returns" / f"partner_return_{partner}_2014-15_Q2.xlsx", rows
    )
    [outcome] = ingest(home)
    assert outcome.action == "rejected"
    assert outcome.problems[0].rule == rule, outcome.reason
    assert outcome.problems[0].examples[0]["row"] == 2


def test_percentage_within_a_tenth_is_accepted(home: Path) -> None:
    # 89 / 198 = 44.949...: 44.9 is within 0.1.
    _return(
        home / "landing" / "partner_returns" / "partner_return_probation_2014-15_Q2.xlsx",
        [
            ["RR_EMPLOYMENT", "2014/15 Q2", 89, 198, 44.9, "CRC and NPS combined"],
            ["RR_ACCOMMODATION", "2014/15 Q1", 171, 198, 86.4, None],
        ],
    )
    [outcome] = ingest(home)
    assert outcome.action == "loaded" and outcome.rows == 2


def test_the_template_comes_back_as_a_valid_return(home: Path) -> None:
    assert (
        main(["template", "--partner", "courts", "--quarter", "2014/15 Q3", "--home", str(home)])
        == 0
    )
    [path] = (home / "exports" / "templates").iterdir()
    assert path.name == "partner_return_courts_2014-15_Q3.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Return"]
    assert [c.value for c in sheet[1]] == [
        "Indicator Code",
        "Period",
        "Numerator",
        "Denominator",
        "Value",
        "Notes",
    ]
    codes = {row[0].value: row[0].row for row in sheet.iter_rows(min_row=2)}
    assert set(codes) == set(PARTNER_CODES["courts"])
    assert sheet.data_validations.dataValidation  # the cells carry validation
    assert "Instructions" in workbook.sheetnames
    assert "30 January 2015" in workbook["Instructions"]["A2"].value
    # The partner fills the yellow cells and sends it back under the same name.
    perpetrators = codes["VA_COURT_PERPETRATORS"]
    success = codes["VA_PROSECUTION_SUCCESS"]
    sheet[f"E{perpetrators}"] = 212
    sheet[f"C{success}"], sheet[f"D{success}"], sheet[f"E{success}"] = 80, 112, 71.4
    landing = home / "landing" / "partner_returns"
    landing.mkdir(parents=True)
    workbook.save(landing / path.name)
    [outcome] = ingest(home)
    assert outcome.action == "loaded" and outcome.rows == 2


@pytest.fixture(scope="module")
def returns_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Coventry's returns 2013/14 Q1 to 2014/15 Q2; probation's last one never arrives,
    and the IOM unit revises its Q2 return."""
    os.environ.update(TEST_KEYS)
    home = tmp_path_factory.mktemp("returns")
    quarters = ["2013/14 Q1", "2013/14 Q2", "2013/14 Q3", "2013/14 Q4", "2014/15 Q1", "2014/15 Q2"]
    figures = partner_return_figures(quarters, seed=8)
    write_partner_returns(home / "landing", figures, quarters)
    (home / "landing" / "partner_returns" / "partner_return_probation_2014-15_Q2.xlsx").unlink()
    assert main(["build", "--home", str(home), "--la-code", LA, "--as-of", "2014-11-15"]) == 0
    revised = {code: dict(by_quarter) for code, by_quarter in figures.items()}
    revised["RR_IOM_PROLIFIC"]["2014/15 Q2"] = type(figures["RR_IOM_PROLIFIC"]["2014/15 Q2"])(
        71, None, 71
    )
    write_partner_returns(home / "landing", revised, ["2014/15 Q2"], partners=["iom"])
    assert main(["build", "--home", str(home), "--la-code", LA, "--as-of", "2014-11-15"]) == 0
    with (home / "exports" / "indicators.csv").open(newline="") as handle:
        rows = {(r["indicator_code"], r["fiscal_quarter"]): r for r in csv.DictReader(handle)}
    return {"home": home, "figures": revised, "rows": rows}


def test_returned_values_year_to_date_and_rag(returns_home: dict) -> None:
    rows, figures = returns_home["rows"], returns_home["figures"]
    q1, q2 = "2014/15 Q1", "2014/15 Q2"
    for code in (
        "GY_GANG_REFERRALS",
        "GY_CRISIS_CALLOUTS",
        "VA_COURT_PERPETRATORS",
        "GY_YOUTH_FTE",
    ):  # sum
        assert int(rows[(code, q2)]["ytd_value"]) == (
            figures[code][q1].value + figures[code][q2].value
        ), code
    success = [figures["VA_PROSECUTION_SUCCESS"][q] for q in (q1, q2)]
    ytd = 100 * sum(f.numerator for f in success) / sum(f.denominator for f in success)
    assert float(rows[("VA_PROSECUTION_SUCCESS", q2)]["ytd_value"]) == pytest.approx(ytd, abs=0.05)
    # 'latest': the year to date is the quarter's own, revised, figure.
    assert rows[("RR_IOM_PROLIFIC", q2)]["value"] == "71"
    assert rows[("RR_IOM_PROLIFIC", q2)]["ytd_value"] == "71"
    employment = rows[("RR_EMPLOYMENT", q1)]
    parts = figures["RR_EMPLOYMENT"][q1]
    assert (int(employment["numerator"]), int(employment["denominator"])) == (
        parts.numerator,
        parts.denominator,
    )
    value = round(100 * parts.numerator / parts.denominator, 1)
    assert employment["target"] == "45.0"
    assert employment["rag_status"] == (
        "Green" if value >= 45 else "Amber" if value >= 45 - 2.25 else "Red"
    )


def test_one_partner_late_while_the_others_are_on_time(returns_home: dict) -> None:
    rows = returns_home["rows"]
    q2 = "2014/15 Q2"
    assert rows[("RR_EMPLOYMENT", q2)]["data_status"] == "missing"
    assert rows[("RR_EMPLOYMENT", q2)]["value"] == ""
    assert "2014/15 Q2" in rows[("RR_EMPLOYMENT", q2)]["status_note"]
    for code in ("GY_GANG_REFERRALS", "RR_IOM_DA", "VA_PROSECUTION_SUCCESS", "GY_YOUTH_FTE"):
        assert rows[(code, q2)]["data_status"] == "ok", code
    settings = load_settings(returns_home["home"], "2014-11-15", LA)
    deliveries, _ = load_state(settings)
    states = {
        st.partner: st.state
        for st in feed_statuses(settings.calendar, deliveries, settings.as_of)
        if st.feed == "partner_returns"
    }
    assert states == {
        "probation": "late",
        "iom": "on time",
        "gangs": "on time",
        "courts": "on time",
        "yot": "on time",
    }
