"""The IDVA service's quarterly case extract (docs/feeds.md §3): a workbook per quarter.

Each file holds the financial year's cases to date as they stand at the quarter's end, under
two title rows, with real Excel dates, and a Screening sheet whose monthly figures rise in
later files as late screenings are logged.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl

from core.periods import (
    financial_year_label,
    financial_year_start,
    financial_year_start_year,
    first_of_month,
    last_of_month,
    quarter_label,
    quarter_number,
)
from orchestration.demonstration.common import deterministic_xlsx, season
from orchestration.demonstration.model import (
    Calibration,
    GroundTruth,
    count_value,
    percent_value,
)

_IDVA_HEADER = [
    "Case ID",
    "Referral Date",
    "Referral Source",
    "Risk Level",
    "DASH Score",
    "MARAC Referral",
    "Repeat Victim",
    "Children in Household",
    "Pregnant",
    "Victim Gender",
    "Victim Age Band",
    "Case Closed Date",
    "Closure Reason",
]


def _yes_no(b: bool) -> str:
    return "Yes" if b else "No"


@dataclass
class _Case:
    case_id: str
    referral: date
    source: str
    risk_first: str
    risk_final: str
    risk_change: date | None  # when risk_first became risk_final
    dash_first: int | None
    dash_final: int | None
    marac: bool
    repeat: bool
    children: int
    pregnant: str
    gender: str
    age_band: str
    closed: date | None
    closure: str


def _dash(rng: random.Random, risk: str) -> int | None:
    if rng.random() < 0.05:
        return None
    lo, hi = {"High": (14, 27), "Medium": (10, 13), "Standard": (0, 9)}[risk]
    return rng.randint(lo, hi)


def generate_idva(
    rng: random.Random, quarters: list[date], scale: float, cal: Calibration
) -> tuple[list[_Case], dict[date, list[int]]]:
    """Cases and, per month, the screening figure as delivered in each successive file."""
    cases: list[_Case] = []
    last_q_by_fy: dict[int, date] = {}
    for q in quarters:
        last_q_by_fy[financial_year_start_year(q)] = q
    seq: dict[int, int] = defaultdict(int)
    repeat_rate = cal.repeat_rate if cal.repeat_rate is not None else rng.uniform(0.25, 0.32)
    for q in quarters:
        fy = financial_year_start_year(q)
        final_end = last_of_month(first_of_month(last_q_by_fy[fy], 2))  # the case's last file
        label = quarter_label(q)
        n = max(1, round(250 * scale * rng.uniform(0.93, 1.07)))
        high = cal.idva_high_by_quarter.get(label, round(n * rng.uniform(0.36, 0.44)))
        n = max(n, high)
        n_repeat = round(n * repeat_rate)
        finals = ["High"] * high + rng.choices(["Medium", "Standard"], [55, 45], k=n - high)
        rng.shuffle(finals)
        repeats = [True] * n_repeat + [False] * (n - n_repeat)
        rng.shuffle(repeats)
        q_end = last_of_month(first_of_month(q, 2))
        refs = sorted(q + timedelta(days=rng.randint(0, (q_end - q).days)) for _ in range(n))
        for ref, final, rep in zip(refs, finals, repeats, strict=True):
            seq[fy] += 1
            case_id = f"IDVA-{(fy) % 100:02d}-{seq[fy]:04d}"
            first, change = final, None
            if rng.random() < 0.2:
                # Reassessed: escalations to High and de-escalations after safety planning.
                first = rng.choice([r for r in ("High", "Medium", "Standard") if r != final])
                span = (final_end - ref).days
                change = ref + timedelta(days=rng.randint(1, max(1, min(span, 150))))
            closed, closure = None, ""
            if rng.random() < 0.8:
                closed = ref + timedelta(days=rng.randint(20, 240))
                if change is not None and closed < change:
                    closed = change + timedelta(days=rng.randint(1, 30))
                closure = rng.choices(
                    ["Support completed", "Disengaged", "Moved away", "Other"], [60, 25, 8, 7]
                )[0]
            ever_high = "High" in (first, final)
            cases.append(
                _Case(
                    case_id,
                    ref,
                    rng.choices(
                        ["Police", "MARAC", "Health", "Children's Social Care", "Self", "Other"],
                        [45, 10, 12, 10, 13, 10],
                    )[0],
                    first,
                    final,
                    change,
                    _dash(rng, first),
                    _dash(rng, final),
                    ever_high and rng.random() < 0.85 or (not ever_high and rng.random() < 0.04),
                    rep,
                    rng.choices([0, 1, 2, 3, 4], [35, 25, 22, 12, 6])[0],
                    rng.choices(["Yes", "No", "Unknown"], [6, 80, 14])[0],
                    rng.choices(["Female", "Male", "Other"], [92, 7, 1])[0],
                    rng.choices(
                        ["16-17", "18-24", "25-34", "35-44", "45-54", "55+"], [3, 22, 33, 24, 12, 6]
                    )[0],
                    closed,
                    closure,
                )
            )
    # Screening: the final figure per month, with earlier files showing a lower, later
    # revised count (screenings logged late).
    screening: dict[date, list[int]] = {}
    for q in quarters:
        for k in range(3):
            m = first_of_month(q, k)
            final = cal.screened_by_month.get(
                m, round(205 * scale * season(m) * rng.uniform(0.9, 1.1))
            )
            screening[m] = [final, rng.randint(2, 12)]
    return cases, screening


def _case_row(c: _Case, asof: date) -> list[object]:
    changed = c.risk_change is not None and c.risk_change <= asof
    risk = c.risk_final if (c.risk_change is None or changed) else c.risk_first
    dash = c.dash_final if (c.risk_change is None or changed) else c.dash_first
    high_yet = risk == "High" or (changed and c.risk_first == "High")
    closed = c.closed is not None and c.closed <= asof
    return [
        c.case_id,
        c.referral,
        c.source,
        risk,
        dash,
        _yes_no(c.marac and (high_yet or c.risk_first != "High" and c.risk_final != "High")),
        _yes_no(c.repeat),
        c.children,
        c.pregnant,
        c.gender,
        c.age_band,
        c.closed if closed else None,
        c.closure if closed else None,
    ]


def write_idva(
    rng: random.Random,
    cases: list[_Case],
    screening: dict[date, list[int]],
    quarters: list[date],
    folder: Path,
    gt: GroundTruth,
) -> None:
    """One workbook a quarter, each as the service's system shows the year's cases then."""
    latest: dict[str, list[object]] = {}
    latest_screen: dict[date, int] = {}
    files, total = [], 0
    qs_by_fy: dict[int, list[date]] = defaultdict(list)
    for q in quarters:
        qs_by_fy[financial_year_start_year(q)].append(q)
    for q in quarters:
        fy = financial_year_start_year(q)
        asof = last_of_month(first_of_month(q, 2))
        label = quarter_label(q)
        is_last = q == qs_by_fy[fy][-1]
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Cases"
        ws.append([f"IDVA Service - Case Extract - {label}"])
        ws.append([])
        ws.append(_IDVA_HEADER)
        fy_cases = [
            c for c in cases if financial_year_start_year(c.referral) == fy and c.referral <= asof
        ]
        for c in fy_cases:
            r = _case_row(c, asof)
            ws.append(r)
            latest[c.case_id] = r
        for col in "ABCDEFGHIJKLM":
            ws.column_dimensions[col].width = 16
        sc = wb.create_sheet("Screening")
        sc.append(["Month", "Incidents Screened"])
        m = financial_year_start(q)
        while m <= first_of_month(asof):
            if m in screening:
                final, late = screening[m]
                # Screenings are logged late: a month's figure rises in each later file
                # of the year, and the year's last file carries the final figure.
                age = quarter_number(q) - quarter_number(m)  # files since the month's own
                shown = final if is_last else max(0, final - late // (age + 1))
                sc.append([m, shown])
                latest_screen[m] = shown
            m = first_of_month(m, 1)
        for row in sc.iter_rows(min_row=2, max_col=1):
            row[0].number_format = "yyyy-mm-dd"
        year = financial_year_label(fy, "-")
        path = folder / f"idva_caseload_{year}_Q{quarter_number(q)}.xlsx"
        deterministic_xlsx(wb, path, datetime(asof.year, asof.month, asof.day, 9, 0, 0))
        files.append(path)
        total += len(fy_cases)
    gt.files["idva_caseload"] = files
    gt.data_rows["idva_caseload"] = total
    gt.records["idva_caseload"] = len(latest)
    _idva_truth(latest, latest_screen, gt)


def _idva_truth(
    latest: dict[str, list[object]], latest_screen: dict[date, int], gt: GroundTruth
) -> None:
    """Ground truth from the latest row of each case and of each screening month."""
    acc: dict[str, dict[str, list[int]]] = {
        c: defaultdict(lambda: [0, 0])
        for c in ("VA_IDVA_HIGH_RISK", "VA_REPEAT_RATE", "VA_MARAC_REFERRALS", "VA_SCREENED")
    }
    for r in latest.values():
        q = quarter_label(r[1])  # type: ignore[arg-type]
        acc["VA_IDVA_HIGH_RISK"][q][0] += r[3] == "High"
        acc["VA_MARAC_REFERRALS"][q][0] += r[5] == "Yes"
        acc["VA_REPEAT_RATE"][q][0] += r[6] == "Yes"
        acc["VA_REPEAT_RATE"][q][1] += 1
        gt.personal.case_ids.add(str(r[0]))
    for m, v in latest_screen.items():
        acc["VA_SCREENED"][quarter_label(m)][0] += v
    for c, byq in acc.items():
        gt.indicators[c] = {
            q: (percent_value(*v) if c == "VA_REPEAT_RATE" else count_value(v[0]))
            for q, v in sorted(byq.items())
        }
