"""The public version of the report: the same data with disclosure control on every count.

A pure transformation of :class:`~exports.report_model.ReportData` (NHS England method,
``exports/disclosure.py``); it reads nothing. Not to be confused with public *data*
(data.police.uk, ``PUBLIC_CRIME_FEED``), whose counts it leaves as published.

Counts are rounded (0 → 0, 1-7 → ``[c]``, 8+ → nearest 5). Percentages are the warehouse's own,
from the unrounded numerator and denominator, to one decimal place, or ``[c]`` when either part
is from 1 to 7: never recomputed from rounded counts, which moved employment from 44.7% to
42.1% (docs/indicators.md, "Disclosure control"). A RAG rating or direction of travel is kept
only when the figures shown give the same one as the unrounded figures, and is withheld
otherwise, so no badge or arrow contradicts the figures beside it.
"""

from __future__ import annotations

import copy
from typing import Any

from exports.disclosure import SUPPRESSED, is_suppressed, sdc_count, sdc_percent
from exports.report_model import PUBLIC_CRIME_FEED, Indicator, ReportData

COUNT_FIELDS = ("value", "ytd_value", "ytd_prev_value", "prev_year_value", "provisional_value")
# Amber: a target missed by no more than this share of the target's size
# (fct_indicator_quarter's rag_status; the report's method note says "5% of the target").
AMBER_SHARE = 0.05


def _shown(value: Any) -> float | None:
    """A shown figure as a number, or None when it is absent or suppressed."""
    if value is None or is_suppressed(value):
        return None
    return float(value)


def rating(value: Any, target: float | None, polarity: str) -> str | None:
    """Green, Amber or Red for ``value`` against ``target``, as fct_indicator_quarter rates.

    None when there is no target or no (shown) figure. Compared to six decimal places, as the
    mart compares in numeric(38, 6), so a figure exactly on the Amber boundary is Amber.
    """
    figure = _shown(value)
    if target is None or figure is None:
        return None
    if polarity == "lower_is_better":
        met = figure <= target
    else:
        met = figure >= target
    if met:
        return "Green"
    if round(abs(figure - target), 6) <= round(AMBER_SHARE * abs(target), 6):
        return "Amber"
    return "Red"


def direction(now: Any, before: Any, polarity: str) -> str | None:
    """Improving, worsening or no change from ``before`` to ``now``, as the mart judges it.

    None when there is no polarity or either (shown) figure is absent or suppressed.
    """
    current, previous = _shown(now), _shown(before)
    if polarity == "none" or current is None or previous is None:
        return None
    if current == previous:
        return "no change"
    if (polarity == "higher_is_better") == (current > previous):
        return "improving"
    return "worsening"


def _judge(safe: dict[str, Any], true: dict[str, Any], indicator: Indicator) -> None:
    """Keep the row's RAG and direction only where the shown figures give the same ones.

    The mart rates the year to date against the target and compares the quarter with the
    same quarter last year; the same pairs, as shown, must lead to the same judgement.
    """
    rag = true.get("rag_status")
    shown_rag = rating(safe.get("ytd_value"), indicator.target, indicator.polarity)
    safe["rag_status"] = rag if rag is not None and rag == shown_rag else None
    # Said so in the sentence (exports/wording.py), which must not give another reason.
    safe["rag_withheld"] = rag is not None and safe["rag_status"] is None
    trend = true.get("direction")
    shown_trend = direction(safe.get("value"), safe.get("prev_year_value"), indicator.polarity)
    safe["direction"] = trend if trend is not None and trend == shown_trend else None


def _percent(point: dict[str, Any] | None, field: str = "value") -> float | str | None:
    """A point's percentage from its own unrounded parts (``[c]`` when a part is small)."""
    if not point or point.get(field) is None:
        return None
    if point.get("numerator") is None or point.get("denominator") is None:
        # No parts to show it is safe: suppressed rather than published unchecked.
        return SUPPRESSED
    return sdc_percent(point["numerator"], point["denominator"], point[field])


def _protect_row(
    row: dict[str, Any], unit: str, year_before: dict[str, Any] | None
) -> dict[str, Any]:
    """One quarter's figures under disclosure control (counts and percentages).

    ``year_before`` is the same quarter a year earlier, unrounded (a percentage's last-year
    figure needs its own parts).
    """
    safe = dict(row)
    if unit == "count":
        for name in COUNT_FIELDS:
            if name in safe:
                safe[name] = sdc_count(safe[name])
    elif unit == "percent":
        safe["numerator"] = sdc_count(row.get("numerator"))
        safe["denominator"] = sdc_count(row.get("denominator"))
        safe["value"] = _percent(row)
        safe["prev_year_value"] = (
            _percent(year_before) if row.get("prev_year_value") is not None else None
        )
        # Year to date is made safe by the caller, from the year-to-date parts; provisional
        # percentages have no parts at hand and are withheld.
        safe["ytd_value"] = None
        safe["ytd_prev_value"] = None
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
    history = indicator.history
    # Four quarters back in the history is the same quarter last year.
    year_before = [None] * 4 + history
    safe.history = [
        _protect_row(point, indicator.unit, back)
        for point, back in zip(history, year_before, strict=False)
    ]
    if indicator.row:
        back = year_before[len(history) - 1] if history else None
        safe.row = _protect_row(indicator.row, indicator.unit, back)
        if indicator.unit == "percent":
            row = indicator.row
            safe.row["ytd_value"] = (
                sdc_percent(*indicator.ytd_parts, row["ytd_value"])
                if row.get("ytd_value") is not None
                else None
            )
            safe.row["ytd_prev_value"] = (
                sdc_percent(*indicator.ytd_prev_parts, row["ytd_prev_value"])
                if row.get("ytd_prev_value") is not None
                else None
            )
        _judge(safe.row, indicator.row, indicator)
    else:
        safe.row = {}
    for point, true in zip(safe.history, history, strict=True):
        _judge(point, true, indicator)
    if indicator.row and safe.history:
        # The history ends at the chosen quarter: the same figures as the row.
        safe.history[-1] = {**safe.history[-1], **safe.row}
    if indicator.unit == "percent":
        safe.ytd_parts = tuple(sdc_count(v) for v in indicator.ytd_parts)
        safe.ytd_prev_parts = tuple(sdc_count(v) for v in indicator.ytd_prev_parts)
    if indicator.last_published:
        safe.last_published = _protect_last(indicator)
    if indicator.latest_position:
        position = dict(indicator.latest_position)
        position["value"] = sdc_count(position["value"])
        position["previous"] = sdc_count(position["previous"])
        safe.latest_position = position
    return safe


def _protect_last(indicator: Indicator) -> dict[str, Any]:
    """The last published quarter before a gap, its figure under disclosure control."""
    last = dict(indicator.last_published or {})
    if indicator.unit == "count":
        last["value"] = sdc_count(last["value"])
        last["ytd_value"] = sdc_count(last.get("ytd_value"))
    else:
        # A percentage from its own parts when the quarter is in the history; else only when
        # it was (its parts are not at hand).
        point = next(
            (p for p in indicator.history if p["fiscal_quarter"] == last["fiscal_quarter"]),
            None,
        )
        last["value"] = _percent(point) if point else None
        last["ytd_value"] = None
    return last


def public_version(data: ReportData) -> ReportData:
    """The same report with disclosure control on every count (NHS England method)."""
    safe = copy.copy(data)
    safe.indicators = [protect_indicator(i) for i in data.indicators]
    safe.public = True
    return safe
