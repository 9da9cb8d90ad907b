"""Safe to publish: statistical disclosure control and formula-injection escaping.

Small pure functions, used by every public output (report, CSV) and every spreadsheet-like
output (CSV, Excel).

Statistical disclosure control follows the NHS England method for counts:

- 0 stays 0;
- 1 to 7 is suppressed and shown as ``[c]``;
- 8 and over is rounded to the nearest 5;
- a percentage is computed from the rounded numerator and denominator (suppressed when
  either is suppressed);
- totals (years to date) are rounded independently of the figures they add up.
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
    "the rounded numerators and denominators, and are suppressed when either is suppressed. "
    "Totals, including year-to-date figures, are rounded independently, so they may not "
    "equal the sum of the rounded quarters. Differences from last year are calculated from "
    "the rounded figures."
)

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
    numerator: float | int | str | None, denominator: float | int | str | None, decimals: int = 1
) -> float | str | None:
    """A percentage from the rounded numerator and denominator (``[c]`` if either is)."""
    top, bottom = sdc_count(numerator), sdc_count(denominator)
    if top is None or bottom is None:
        return None
    if SUPPRESSED in (top, bottom):
        return SUPPRESSED
    if bottom == 0:
        return None
    return round(100.0 * float(top) / float(bottom), decimals)


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
