"""The public version of the report: the same data with disclosure control on every count.

A pure transformation of :class:`~exports.report_model.ReportData` (NHS England method,
``exports/disclosure.py``); it reads nothing. Not to be confused with public *data*
(data.police.uk, ``PUBLIC_CRIME_FEED``), whose counts it leaves as published.
"""

from __future__ import annotations

import copy
from typing import Any

from exports.disclosure import sdc_count, sdc_percent
from exports.report_model import PUBLIC_CRIME_FEED, Indicator, ReportData

COUNT_FIELDS = ("value", "ytd_value", "ytd_prev_value", "prev_year_value", "provisional_value")


def _protect_row(row: dict[str, Any], unit: str) -> dict[str, Any]:
    """One quarter's figures under disclosure control (counts and parts of percentages)."""
    safe = dict(row)
    if unit == "count":
        for name in COUNT_FIELDS:
            if name in safe:
                safe[name] = sdc_count(safe[name])
    elif unit == "percent":
        safe["numerator"] = sdc_count(row.get("numerator"))
        safe["denominator"] = sdc_count(row.get("denominator"))
        if row.get("value") is not None:
            safe["value"] = sdc_percent(row.get("numerator"), row.get("denominator"))
        # Percentages whose parts are not at hand here are made safe by the caller (year to
        # date) or withheld (provisional and last year's quarter).
        safe["provisional_value"] = None
    return safe


def protect_indicator(indicator: Indicator) -> Indicator:
    """A copy of an indicator with every count under disclosure control."""
    safe = copy.deepcopy(indicator)
    safe.public = True
    if indicator.unit == "percent_diff":  # MoJ rates: not counts of people
        return safe
    if indicator.feed == PUBLIC_CRIME_FEED:  # published unrounded (PUBLIC_CRIME_FEED)
        return safe
    safe.row = _protect_row(indicator.row, indicator.unit) if indicator.row else {}
    safe.history = [_protect_row(p, indicator.unit) for p in indicator.history]
    if indicator.unit == "percent":
        # Last year's quarter from its own rounded parts (four quarters back in the history);
        # year to date from the rounded year-to-date parts.
        for back, point in zip([None] * 4 + safe.history, safe.history, strict=False):
            point["prev_year_value"] = back.get("value") if back else None
            point["ytd_value"] = None
        if indicator.row:
            safe.row["prev_year_value"] = safe.history[-1]["prev_year_value"]
            safe.row["ytd_value"] = (
                sdc_percent(*indicator.ytd_parts)
                if indicator.row.get("ytd_value") is not None
                else None
            )
            safe.row["ytd_prev_value"] = (
                sdc_percent(*indicator.ytd_prev_parts)
                if indicator.row.get("ytd_prev_value") is not None
                else None
            )
            safe.history[-1]["ytd_value"] = safe.row["ytd_value"]
        safe.ytd_parts = tuple(sdc_count(v) for v in indicator.ytd_parts)
        safe.ytd_prev_parts = tuple(sdc_count(v) for v in indicator.ytd_prev_parts)
    if indicator.last_published:
        last = dict(indicator.last_published)
        if indicator.unit == "count":
            last["value"] = sdc_count(last["value"])
            last["ytd_value"] = sdc_count(last.get("ytd_value"))
        else:
            last["value"] = None  # its parts are not at hand; say only when it was
            last["ytd_value"] = None
        safe.last_published = last
    if indicator.latest_position:
        position = dict(indicator.latest_position)
        position["value"] = sdc_count(position["value"])
        position["previous"] = sdc_count(position["previous"])
        safe.latest_position = position
    return safe


def public_version(data: ReportData) -> ReportData:
    """The same report with disclosure control on every count (NHS England method)."""
    safe = copy.copy(data)
    safe.indicators = [protect_indicator(i) for i in data.indicators]
    safe.public = True
    return safe
