"""The smaller partners' quarterly returns (docs/feeds.md §5): one workbook a partner a quarter."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import openpyxl

from core.periods import parse_quarter_label, quarter_parts
from exports.return_template import HEADER, template_file_name
from orchestration.demonstration.common import deterministic_xlsx
from orchestration.demonstration.model import IndicatorValue, count_value, percent_value

PARTNER_CODES: dict[str, tuple[str, ...]] = {
    "probation": ("RR_EMPLOYMENT", "RR_ACCOMMODATION"),
    "iom": ("RR_IOM_PROLIFIC", "RR_IOM_HCCU", "RR_IOM_DA", "RR_IOM_GANG"),
    "gangs": ("GY_GANG_REFERRALS", "GY_CRISIS_CALLOUTS"),
    "courts": ("VA_COURT_PERPETRATORS", "VA_PROSECUTION_SUCCESS"),
    "yot": ("GY_YOUTH_FTE",),
}
PERCENT_CODES = {"RR_EMPLOYMENT", "RR_ACCOMMODATION", "VA_PROSECUTION_SUCCESS"}
# Typical quarterly sizes: (numerator share, denominator) for percentages, value for counts.
_RETURN_SHAPES: dict[str, tuple[float, int]] = {
    "RR_EMPLOYMENT": (0.44, 95),
    "RR_ACCOMMODATION": (0.86, 95),
    "VA_PROSECUTION_SUCCESS": (0.70, 125),
    "RR_IOM_PROLIFIC": (0, 66),
    "RR_IOM_HCCU": (0, 58),
    "RR_IOM_DA": (0, 9),
    "RR_IOM_GANG": (0, 40),
    "GY_GANG_REFERRALS": (0, 4),
    "GY_CRISIS_CALLOUTS": (0, 3),
    "VA_COURT_PERPETRATORS": (0, 225),
    "GY_YOUTH_FTE": (0, 30),
}


def partner_return_figures(
    quarters: Sequence[str],
    seed: int,
    fixed: Mapping[str, Mapping[str, tuple[int, int] | int]] | None = None,
) -> dict[str, dict[str, IndicatorValue]]:
    """Every partner-return indicator for every quarter: fixed figures where given, else
    plausible ones drawn from the seed (deterministic)."""
    rng = random.Random(seed)
    figures: dict[str, dict[str, IndicatorValue]] = defaultdict(dict)
    for codes in PARTNER_CODES.values():
        for code in codes:
            share, size = _RETURN_SHAPES[code]
            for quarter in quarters:
                given = (fixed or {}).get(code, {}).get(quarter)
                if code in PERCENT_CODES:
                    if given is None:
                        denominator = max(1, size + rng.randint(-10, 10))
                        drawn = share + rng.uniform(-0.05, 0.05)
                        numerator = round(denominator * min(1, max(0, drawn)))
                        given = (numerator, denominator)
                    figures[code][quarter] = percent_value(*given)
                else:
                    if given is None:
                        given = max(0, size + rng.randint(-max(1, size // 6), max(1, size // 6)))
                    figures[code][quarter] = count_value(given)
    return dict(figures)


def write_partner_returns(
    landing: Path,
    figures: Mapping[str, Mapping[str, IndicatorValue]],
    quarters: Sequence[str],
    partners: Sequence[str] = tuple(PARTNER_CODES),
) -> list[Path]:
    """One return per partner per quarter, laid out as docs/feeds.md §5 describes, under the
    name ``csp template`` gives it (exports/return_template.py)."""
    folder = landing / "partner_returns"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for partner in partners:
        for quarter in quarters:
            wb = openpyxl.Workbook()
            sheet = wb.active
            sheet.title = "Return"
            sheet.append(HEADER)
            for code in PARTNER_CODES[partner]:
                figure = figures[code][quarter]
                if code in PERCENT_CODES:
                    sheet.append(
                        [
                            code,
                            quarter,
                            figure.numerator,
                            figure.denominator,
                            round(100 * figure.numerator / figure.denominator, 1),
                            None,
                        ]
                    )
                else:
                    sheet.append([code, quarter, None, None, figure.value, None])
            path = folder / template_file_name(partner, parse_quarter_label(quarter))
            fy, q = quarter_parts(quarter)
            stamp = datetime(fy + (q == 4), {1: 7, 2: 10, 3: 1, 4: 4}[q], 10)
            deterministic_xlsx(wb, path, stamp)
            written.append(path)
    return written
