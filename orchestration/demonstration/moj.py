"""The Ministry of Justice's quarterly local adult reoffending table (docs/feeds.md §4).

Every local authority of the national table, under a title, a period line and notes; rates
are suppressed (``..``) for cohorts under 30, and the partnership's own row can be fixed by
the calibration.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from core.periods import first_of_month, quarter_label
from orchestration.demonstration.common import month_label, whole_quarters
from orchestration.demonstration.model import Calibration, GroundTruth, IndicatorValue

# MoJ national table: (code, name, probation trust, typical cohort size).
_MOJ_LAS: list[tuple[str, str, str, int]] = [
    ("E08000028", "Sandwell", "Staffordshire and West Midlands", 3400),
    ("E08000031", "Wolverhampton", "Staffordshire and West Midlands", 1750),
    ("E08000027", "Dudley", "Staffordshire and West Midlands", 3800),
    ("E08000030", "Walsall", "Staffordshire and West Midlands", 1080),
    ("E08000025", "Birmingham", "Staffordshire and West Midlands", 9600),
    ("E08000029", "Solihull", "Staffordshire and West Midlands", 2570),
    ("E08000026", "Coventry", "Warwickshire", 2980),
    ("E10000031", "Warwickshire", "Warwickshire", 2100),
    ("E06000021", "Stoke-on-Trent", "Staffordshire and West Midlands", 2800),
    ("E10000028", "Staffordshire", "Staffordshire and West Midlands", 3900),
    ("E06000020", "Telford and Wrekin", "West Mercia", 1250),
    ("E06000051", "Shropshire", "West Mercia", 1150),
    ("E06000019", "Herefordshire, County of", "West Mercia", 820),
    ("E10000034", "Worcestershire", "West Mercia", 2300),
    ("E09000033", "Westminster", "London", 4160),
    ("E09000028", "Southwark", "London", 3300),
    ("E09000030", "Tower Hamlets", "London", 2900),
    ("E09000001", "City of London", "London", 24),
    ("E06000053", "Isles of Scilly", "Devon and Cornwall", 12),
    ("E06000026", "Plymouth", "Devon and Cornwall", 1900),
    ("E08000003", "Manchester", "Greater Manchester", 4230),
    ("E08000001", "Bolton", "Greater Manchester", 1900),
    ("E08000007", "Stockport", "Greater Manchester", 1500),
    ("E08000009", "Trafford", "Greater Manchester", 1100),
    ("E08000035", "Leeds", "West Yorkshire", 3910),
    ("E08000032", "Bradford", "West Yorkshire", 3500),
    ("E08000033", "Calderdale", "West Yorkshire", 1200),
    ("E08000034", "Kirklees", "West Yorkshire", 2300),
    ("E08000012", "Liverpool", "Merseyside", 4000),
    ("E08000019", "Sheffield", "South Yorkshire", 3300),
    ("E08000021", "Newcastle upon Tyne", "Northumbria", 2400),
    ("E06000018", "Nottingham", "Nottinghamshire", 2900),
    ("E06000016", "Leicester", "Leicestershire and Rutland", 2500),
    ("E06000023", "Bristol, City of", "Avon and Somerset", 3000),
    ("E06000045", "Southampton", "Hampshire", 1800),
    ("E06000043", "Brighton and Hove", "Surrey and Sussex", 1700),
    ("W06000015", "Cardiff", "Wales", 2200),
    ("W06000011", "Swansea", "Wales", 1500),
]

_MOJ_HEADER = [
    "LA Code",
    "Local Authority",
    "Probation Trust",
    "Offenders",
    "Actual Rate",
    "Predicted Rate",
    "Difference (%)",
    "Significant",
]


def _round_half_up(x: float, places: int) -> Decimal:
    """Round as people and spreadsheets do (0.05 -> 0.1), not banker's rounding."""
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _rates(rng: random.Random, predicted: float, diff: float) -> tuple[str, str, str, str]:
    """Actual, predicted, difference and significance, consistent once rounded."""
    pred = _round_half_up(predicted, 2)
    act = _round_half_up(float(pred) * (1 + diff / 100), 2)
    target = _round_half_up(diff, 1)
    step = Decimal("0.01")
    for _ in range(50):  # nudge the actual rate until the published difference agrees
        d = _round_half_up(float((act - pred) / pred * 100), 1)
        if d == target:
            break
        act += step if d < target else -step
    d = _round_half_up(float((act - pred) / pred * 100), 1)
    sig = "Yes" if abs(d) >= Decimal("7.5") else "No"
    return f"{act:.2f}", f"{pred:.2f}", f"{d:.1f}", sig


def write_moj(
    rng: random.Random,
    months: list[date],
    la_code: str,
    la_name: str,
    scale: float,
    cal: Calibration,
    moj_until: date | None,
    folder: Path,
    gt: GroundTruth,
) -> None:
    """One national table a whole quarter (up to ``moj_until``), named by its last month."""
    las = list(_MOJ_LAS)
    if la_code not in {c for c, *_ in las}:
        las.insert(
            1, (la_code, la_name, "National Probation Service", max(40, round(1750 * scale)))
        )
    quarters = [
        q
        for q in whole_quarters(months)
        if moj_until is None or first_of_month(q, 2) <= first_of_month(moj_until)
    ]
    files, total = [], 0
    own: dict[str, IndicatorValue] = {}
    for q in quarters:
        end = first_of_month(q, 2)
        path = folder / f"moj_reoffending_{month_label(end)}.csv"
        lines: list[list[str]] = []
        for code, name, trust, size in las:
            offenders = max(1, round(size * rng.uniform(0.94, 1.06)))
            if code == la_code and end in cal.moj_own:
                offenders, predicted, diff = cal.moj_own[end]
            else:
                predicted = rng.uniform(9.5, 14.5)
                diff = rng.gauss(-6, 8)
            if offenders < 30:
                act = pred = d = sig = ".."
            else:
                act, pred, d, sig = _rates(rng, predicted, diff)
            if code == la_code and offenders >= 30:
                own[quarter_label(q)] = IndicatorValue(float(act), float(pred), float(d))
            # The csv module quotes "1,746" because of its comma, as the Ministry does.
            lines.append([code, name, trust, f"{offenders:,}", act, pred, d, sig])
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("Local Adult Reoffending: actual and predicted rates by local authority\n")
            fh.write(f"Period: {q:%B %Y} to {end:%B %Y}\n\n")
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(_MOJ_HEADER)
            w.writerows(lines)
            fh.write(
                "\nNotes:\n"
                "1. Rates are suppressed (..) where fewer than 30 offenders are in the "
                "cohort.\n"
                "2. Difference is (actual - predicted) / predicted.\n"
            )
        files.append(path)
        total += len(lines)
    gt.files["moj_reoffending"] = files
    gt.data_rows["moj_reoffending"] = total
    gt.records["moj_reoffending"] = total
    gt.indicators["RR_REOFFEND_DIFF"] = own
