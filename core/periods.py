"""Delivery periods: calendar months and financial quarters (April to March), and their labels.

The one home of every period rule: a quarter is written ``2014/15 Q2``, in words ``July to
September 2014``, in a file name ``2014-15-Q2``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER_PATTERN = re.compile(r"(\d{4})/(\d{2}) Q([1-4])")


@dataclass(frozen=True)
class Period:
    """A delivery period: a calendar month or a financial quarter."""

    label: str  # "2014-07" or "2014/15 Q2"
    start: date
    end: date


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
    """(year, month) ``months`` after (or before, when negative) ``year``-``month``."""
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def first_of_month(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after (before, when negative) ``day``'s month."""
    return date(*add_months(day.year, day.month, months), 1)


def last_of_month(day: date) -> date:
    """The last day of ``day``'s month."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def financial_year_start_year(day: date) -> int:
    """The calendar year in whose April the financial year holding ``day`` starts."""
    return day.year if day.month >= 4 else day.year - 1


def financial_year_start(day: date) -> date:
    """1 April of the financial year holding ``day``."""
    return date(financial_year_start_year(day), 4, 1)


def financial_year_label(start_year: int, separator: str = "/") -> str:
    """``2014/15`` for the financial year from April 2014 (``2014-15`` with separator "-")."""
    return f"{start_year}{separator}{(start_year + 1) % 100:02d}"


def quarter_number(day: date) -> int:
    """The financial quarter (1-4) holding ``day``: April to June is Q1."""
    return (day.month - 4) % 12 // 3 + 1


def calendar_month(year: int, month: int) -> Period:
    """The calendar month as a period labelled ``YYYY-MM``."""
    start = date(year, month, 1)
    return Period(f"{year:04d}-{month:02d}", start, last_of_month(start))


def financial_quarter(fy_start_year: int, quarter: int) -> Period:
    """Quarter ``quarter`` (1-4) of the financial year that starts in April ``fy_start_year``."""
    first_month = 4 + 3 * (quarter - 1)
    year = fy_start_year + (first_month - 1) // 12
    month = (first_month - 1) % 12 + 1
    start = date(year, month, 1)
    end = calendar_month(*add_months(year, month, 2)).end
    return Period(quarter_label(start), start, end)


def quarter_ending(year: int, month: int) -> Period:
    """The financial quarter whose last month is ``year``-``month``."""
    start_year, start_month = add_months(year, month, -2)
    return quarter_containing(date(start_year, start_month, 1))


def quarter_containing(day: date) -> Period:
    """The financial quarter holding ``day``."""
    return financial_quarter(financial_year_start_year(day), quarter_number(day))


def quarter_label(day: date) -> str:
    """``2014/15 Q2`` for any date in July to September 2014."""
    return f"{financial_year_label(financial_year_start_year(day))} Q{quarter_number(day)}"


def quarter_parts(label: str) -> tuple[int, int]:
    """``2014/15 Q2`` -> (2014, 2): the financial year's first year and the quarter number.

    ValueError, with a message fit for the user, when the label is not a quarter.
    """
    match = QUARTER_PATTERN.fullmatch(label.strip())
    if not match:
        raise ValueError(f"a quarter is written like '2014/15 Q2', not {label!r}")
    start_year, end_year, number = int(match[1]), int(match[2]), int(match[3])
    if (start_year + 1) % 100 != end_year:
        raise ValueError(f"{label!r}: {start_year}/{end_year:02d} is not a financial year")
    return start_year, number


def parse_quarter_label(label: str) -> Period:
    """The period for a label written ``2014/15 Q2``; ValueError when it is not one."""
    return financial_quarter(*quarter_parts(label))


def quarter_slug(label: str) -> str:
    """A file-name-safe form of a quarter: ``2014/15 Q2`` -> ``2014-15-Q2``."""
    start_year, number = quarter_parts(label)
    return f"{financial_year_label(start_year, '-')}-Q{number}"


def quarter_months_words(label: str) -> str:
    """The months of a quarter in words: ``2014/15 Q2`` -> ``July to September 2014``."""
    period = parse_quarter_label(label)
    return f"{period.start:%B} to {period.end:%B %Y}"


def year_to_date_words(label: str) -> str:
    """How the 2014 report names a year to date: ``the first half of 2014/15`` for Q2."""
    start_year, number = quarter_parts(label)
    year = financial_year_label(start_year)
    return {
        1: f"the first quarter of {year}",
        2: f"the first half of {year}",
        3: f"the first three quarters of {year}",
        4: f"the whole of {year}",
    }[number]


def period_containing(day: date, cadence: str) -> Period:
    """The month (``monthly``) or financial quarter (otherwise) holding ``day``."""
    if cadence == "monthly":
        return calendar_month(day.year, day.month)
    return quarter_containing(day)


def next_period(period: Period, cadence: str) -> Period:
    """The month or quarter after ``period``."""
    return period_containing(period.end + timedelta(days=1), cadence)


def quarters_between(first: str, last: str) -> list[str]:
    """Every quarter label from ``first`` to ``last`` inclusive, in order."""
    out, period = [], parse_quarter_label(first)
    end = parse_quarter_label(last)
    while period.start <= end.start:
        out.append(period.label)
        period = next_period(period, "quarterly")
    return out
