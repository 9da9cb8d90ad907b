"""core.periods: months, financial quarters (April to March) and how they are written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.periods import (
    Period,
    add_months,
    calendar_month,
    financial_quarter,
    financial_year_label,
    financial_year_start,
    financial_year_start_year,
    first_of_month,
    last_of_month,
    next_period,
    parse_quarter_label,
    period_containing,
    quarter_containing,
    quarter_ending,
    quarter_label,
    quarter_months_words,
    quarter_number,
    quarter_parts,
    quarter_slug,
    quarters_between,
    year_to_date_words,
)

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
LABELS = st.builds(
    lambda year, number: f"{financial_year_label(year)} Q{number}",
    st.integers(1900, 2200),
    st.integers(1, 4),
)
SETTINGS = settings(max_examples=200, deadline=None)


# --- months ------------------------------------------------------------------------------


def test_add_months_crosses_years_both_ways() -> None:
    assert add_months(2014, 12, 1) == (2015, 1)
    assert add_months(2015, 1, -1) == (2014, 12)
    assert add_months(2014, 3, 0) == (2014, 3)
    assert add_months(2014, 11, 14) == (2016, 1)
    assert add_months(2014, 2, -26) == (2011, 12)


def test_month_boundaries() -> None:
    assert first_of_month(date(2014, 12, 31), 1) == date(2015, 1, 1)
    assert first_of_month(date(2015, 1, 15), -1) == date(2014, 12, 1)
    assert first_of_month(date(2014, 7, 19)) == date(2014, 7, 1)
    assert last_of_month(date(2016, 2, 3)) == date(2016, 2, 29)
    assert last_of_month(date(2015, 2, 3)) == date(2015, 2, 28)
    assert last_of_month(date(2014, 12, 1)) == date(2014, 12, 31)
    assert calendar_month(2014, 7) == Period("2014-07", date(2014, 7, 1), date(2014, 7, 31))
    assert calendar_month(2015, 1).label == "2015-01"


# --- financial years and quarters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fy_start", "number", "label"),
    [
        (date(2014, 3, 31), 2013, 4, "2013/14 Q4"),  # March ends the financial year ...
        (date(2014, 4, 1), 2014, 1, "2014/15 Q1"),  # ... and 1 April starts the next
        (date(2014, 6, 30), 2014, 1, "2014/15 Q1"),
        (date(2014, 7, 1), 2014, 2, "2014/15 Q2"),
        (date(2014, 12, 31), 2014, 3, "2014/15 Q3"),  # December and January: one year apart,
        (date(2015, 1, 1), 2014, 4, "2014/15 Q4"),  # the same financial year
        (date(1999, 12, 31), 1999, 3, "1999/00 Q3"),  # the two-digit year wraps past a century
        (date(2000, 2, 1), 1999, 4, "1999/00 Q4"),
    ],
)
def test_financial_year_and_quarter_of_a_day(
    day: date, fy_start: int, number: int, label: str
) -> None:
    assert financial_year_start_year(day) == fy_start
    assert financial_year_start(day) == date(fy_start, 4, 1)
    assert quarter_number(day) == number
    assert quarter_label(day) == label


def test_financial_year_label() -> None:
    assert financial_year_label(2014) == "2014/15"
    assert financial_year_label(1999) == "1999/00"
    assert financial_year_label(2009, "-") == "2009-10"


def test_quarters_and_their_dates() -> None:
    assert financial_quarter(2014, 1) == Period("2014/15 Q1", date(2014, 4, 1), date(2014, 6, 30))
    assert financial_quarter(2014, 3) == Period("2014/15 Q3", date(2014, 10, 1), date(2014, 12, 31))
    # Q4 lies in the calendar year after the one the financial year is named from.
    assert financial_quarter(2014, 4) == Period("2014/15 Q4", date(2015, 1, 1), date(2015, 3, 31))
    assert financial_quarter(2015, 4).end == date(2016, 3, 31)
    assert quarter_ending(2015, 3) == financial_quarter(2014, 4)
    assert quarter_ending(2014, 12) == financial_quarter(2014, 3)
    assert quarter_containing(date(2015, 2, 14)) == financial_quarter(2014, 4)


# --- labels --------------------------------------------------------------------------------


def test_parse_quarter_label() -> None:
    assert parse_quarter_label("2014/15 Q2") == Period(
        "2014/15 Q2", date(2014, 7, 1), date(2014, 9, 30)
    )
    assert parse_quarter_label(" 2014/15 Q4 ").start == date(2015, 1, 1)
    assert parse_quarter_label("1999/00 Q4").end == date(2000, 3, 31)
    assert quarter_parts("2014/15 Q3") == (2014, 3)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2014/15 Q5", "a quarter is written like '2014/15 Q2', not '2014/15 Q5'"),
        ("2014/15 Q0", "a quarter is written like '2014/15 Q2', not '2014/15 Q0'"),
        ("2014-15 Q2", "a quarter is written like '2014/15 Q2', not '2014-15 Q2'"),
        ("14/15 Q2", "a quarter is written like '2014/15 Q2', not '14/15 Q2'"),
        ("2014/15 q2", "a quarter is written like '2014/15 Q2', not '2014/15 q2'"),
        ("2014/15", "a quarter is written like '2014/15 Q2', not '2014/15'"),
        ("", "a quarter is written like '2014/15 Q2', not ''"),
        ("2014/16 Q3", "'2014/16 Q3': 2014/16 is not a financial year"),
        ("1999/99 Q1", "'1999/99 Q1': 1999/99 is not a financial year"),
    ],
)
def test_bad_labels_say_what_a_quarter_looks_like(label: str, message: str) -> None:
    for parse in (
        parse_quarter_label,
        quarter_parts,
        quarter_slug,
        quarter_months_words,
        year_to_date_words,
    ):
        with pytest.raises(ValueError) as raised:
            parse(label)
        assert str(raised.value) == message


def test_slug_and_words() -> None:
    assert quarter_slug("2014/15 Q2") == "2014-15-Q2"
    assert quarter_slug("1999/00 Q4") == "1999-00-Q4"
    assert quarter_months_words("2014/15 Q2") == "July to September 2014"
    assert quarter_months_words("2014/15 Q4") == "January to March 2015"
    assert [year_to_date_words(f"2014/15 Q{n}") for n in range(1, 5)] == [
        "the first quarter of 2014/15",
        "the first half of 2014/15",
        "the first three quarters of 2014/15",
        "the whole of 2014/15",
    ]


# --- sequences of periods ----------------------------------------------------------------


def test_next_period_for_both_cadences() -> None:
    december = calendar_month(2014, 12)
    assert next_period(december, "monthly") == calendar_month(2015, 1)
    assert next_period(calendar_month(2015, 3), "monthly") == calendar_month(2015, 4)
    assert next_period(financial_quarter(2014, 3), "quarterly") == financial_quarter(2014, 4)
    assert next_period(financial_quarter(2014, 4), "quarterly") == financial_quarter(2015, 1)
    assert period_containing(date(2015, 3, 31), "monthly") == calendar_month(2015, 3)
    assert period_containing(date(2015, 3, 31), "quarterly") == financial_quarter(2014, 4)


def test_quarters_between() -> None:
    assert quarters_between("2013/14 Q3", "2014/15 Q2") == [
        "2013/14 Q3",
        "2013/14 Q4",
        "2014/15 Q1",
        "2014/15 Q2",
    ]
    assert quarters_between("1999/00 Q4", "2000/01 Q1") == ["1999/00 Q4", "2000/01 Q1"]
    assert quarters_between("2014/15 Q2", "2014/15 Q2") == ["2014/15 Q2"]
    assert quarters_between("2014/15 Q3", "2014/15 Q2") == []
    assert len(quarters_between("2012/13 Q1", "2014/15 Q2")) == 10


# --- properties -----------------------------------------------------------------------------


@SETTINGS
@given(DAYS)
def test_a_days_quarter_holds_it_and_its_label_reads_back(day: date) -> None:
    quarter = quarter_containing(day)
    assert quarter.start <= day <= quarter.end
    assert quarter.label == quarter_label(day)
    assert parse_quarter_label(quarter.label) == quarter
    assert quarter_ending(quarter.end.year, quarter.end.month) == quarter
    assert financial_year_start(day) <= quarter.start


@SETTINGS
@given(LABELS)
def test_labels_round_trip(label: str) -> None:
    period = parse_quarter_label(label)
    assert period.label == label
    assert quarter_label(period.start) == quarter_label(period.end) == label
    assert quarter_slug(label) == label.replace("/", "-").replace(" ", "-")
    year, number = quarter_parts(label)
    assert financial_quarter(year, number) == period
    assert quarter_months_words(label).endswith(str(period.end.year))


@SETTINGS
@given(DAYS, st.sampled_from(["monthly", "quarterly"]))
def test_periods_follow_each_other_without_gaps(day: date, cadence: str) -> None:
    period = period_containing(day, cadence)
    following = next_period(period, cadence)
    assert following.start == period.end + timedelta(days=1)
    assert period_containing(following.end, cadence) == following


@SETTINGS
@given(DAYS, st.integers(-40, 40))
def test_month_arithmetic(day: date, months: int) -> None:
    moved = first_of_month(day, months)
    assert moved.day == 1
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert first_of_month(moved, -months) == first_of_month(day)
    assert last_of_month(day) + timedelta(days=1) == first_of_month(day, 1)
