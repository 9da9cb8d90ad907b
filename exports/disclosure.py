"""Safe to publish: statistical disclosure control and formula-injection escaping.

Small pure functions, used by every public output (report, CSV) and every spreadsheet-like
output (CSV, Excel).

Statistical disclosure control follows the NHS England method for counts:

- 0 stays 0;
- 1 to 7 is suppressed and shown as ``[c]``;
- 8 and over is rounded to the nearest 5;
- totals (years to date) are rounded independently of the figures they add up.

Percentages follow NHS England's and Fingertips' practice: calculated from the unrounded
numerator and denominator and shown to one decimal place, never recomputed from the rounded
counts; suppressed (``[c]``) when the numerator or the denominator is a count the rule above
suppresses (1 to 7). A percentage of 0 out of 8 or more is shown, as the count 0 is. The
numerator and denominator themselves are shown as counts (rounded).

Judgements (RAG rating, direction of travel) are made on the unrounded figures; the public
version shows one only when the figures it shows lead to the same judgement
(``exports/report_public.py``), so a rating or an arrow never contradicts the figures beside it.
"""

from __future__ import annotations

import math
from typing import Any

SUPPRESSED = "[c]"
# Largest count that is suppressed rather than rounded.
SUPPRESS_UP_TO = 7
ROUND_TO = 5

METHOD_NOTE = (
    "Counts in this public version are protected by statistical disclosure control "
    "(NHS England method): 0 is shown as 0; counts from 1 to 7 are suppressed and shown as "
    "[c]; counts of 8 or more are rounded to the nearest 5. Percentages are calculated from "
    "the unrounded figures and shown to one decimal place; a percentage is suppressed ([c]) "
    "when its numerator or denominator is from 1 to 7, so it may not equal the rounded "
    "numerator divided by the rounded denominator. Totals, including year-to-date figures, "
    "are rounded independently, so they may not equal the sum of the rounded quarters. "
    "Differences from last year are calculated from the figures as shown. A RAG rating or "
    "direction of travel is shown only when the figures as shown give the same one as the "
    "unrounded figures, and is otherwise withheld (not rated, not assessed)."
)
# The CSV's method column, by unit (public_csv in exports/report.py).
CSV_METHOD = {
    "count": "count: 0 as 0, 1 to 7 as [c], 8 or more rounded to the nearest 5",
    "percent": (
        "percentage from unrounded figures, 1 dp; [c] when numerator or denominator is 1 to 7; "
        "numerator and denominator rounded as counts"
    ),
    "percent_diff": "MoJ rate difference, shown as published",
}
CSV_METHOD_PUBLISHED = "published unrounded by data.police.uk, shown as published"

# A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def sdc_count(value: float | int | str | None) -> int | str | None:
    """One count under the NHS England rule: 0 → 0, 1-7 → ``[c]``, 8+ → nearest 5.

    ``None`` (no figure) stays ``None``; an already suppressed ``[c]`` stays suppressed.
    Halves round up (a count is a whole number, so only rounding of a non-integer input
    could meet one).
    """
    if value is None or value == SUPPRESSED:
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    number = float(value)
    if number < 0:
        raise ValueError(f"a count cannot be negative: {value!r}")
    whole = int(math.floor(number + 0.5))
    if whole == 0:
        return 0
    if whole <= SUPPRESS_UP_TO:
        return SUPPRESSED
    return int(ROUND_TO * math.floor(whole / ROUND_TO + 0.5))


def sdc_percent(
    numerator: float | int | str | None,
    denominator: float | int | str | None,
    value: float | None = None,
    decimals: int = 1,
) -> float | str | None:
    """A percentage from the *unrounded* numerator and denominator, or ``[c]``.

    ``[c]`` when either part is a count of 1 to 7 (or already suppressed); ``None`` when a
    part is missing or the denominator is 0. ``value``, when given, is the percentage as the
    warehouse computed it (from the same unrounded parts) and is the one shown, so the public
    figure is the published one to ``decimals`` places. It is never computed from the rounded
    counts: rounding both parts to 5 can move a percentage by several points (NHS England's
    and Fingertips' practice; docs/indicators.md, "Disclosure control").
    """
    top, bottom = sdc_count(numerator), sdc_count(denominator)
    if top is None or bottom is None:
        return None
    if SUPPRESSED in (top, bottom):
        return SUPPRESSED
    # Neither part is None nor [c] here: sdc_count returned a number for both.
    top_value, bottom_value = float(str(numerator)), float(str(denominator))
    if bottom_value == 0:
        return None
    if value is None:
        value = 100.0 * top_value / bottom_value
    return round(float(value), decimals)


def is_suppressed(value: Any) -> bool:
    """The value is the suppression marker."""
    return value == SUPPRESSED


def escape_cell(value: Any) -> Any:
    """A text cell safe to open in a spreadsheet: a leading ``'`` before formula characters.

    Only text is escaped; numbers (including negative ones) stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_row(row: dict[str, Any] | list[Any]) -> Any:
    """Every cell of a row (a dict or a list) through :func:`escape_cell`."""
    if isinstance(row, dict):
        return {key: escape_cell(value) for key, value in row.items()}
    return [escape_cell(value) for value in row]


def escape_sql(column: str) -> str:
    """SQL (DuckDB) doing :func:`escape_cell` on a text column, for ``COPY ... TO`` exports."""
    quoted = '"' + column.replace('"', '""') + '"'
    return (
        f"case when left({quoted}, 1) in ('=', '+', '-', '@', chr(9), chr(13)) "
        f"then '''' || {quoted} else {quoted} end"
    )
