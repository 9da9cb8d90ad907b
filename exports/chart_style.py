"""What every trend chart shares, drawn by plotly (exports/charts.py) or as static SVG
(exports/svg_charts.py): the colours, the font, and which quarters are gaps and why.

Kept apart from plotly so the e-mailable page never imports it.
"""

from __future__ import annotations

from typing import Any

from exports.disclosure import is_suppressed
from exports.report_model import Indicator
from exports.wording import STATUS_WORDS, number

THIS_YEAR = "#1d4f91"  # dark blue
LAST_YEAR = "#6f6f6f"  # grey, dashed
TARGET = "#000000"  # black, dash-dot
GAP = "#b35900"  # dark orange crosses
COMPARATOR = "#6a3d9a"  # purple, short dashes: the comparator group
FONT = "Arial, Helvetica, sans-serif"


def plotted(value: Any) -> float | None:
    """A figure as a chart plots it: None for no figure or a suppressed one."""
    return None if value is None or is_suppressed(value) else float(value)


def gap_reason(point: dict[str, Any], indicator: Indicator) -> str | None:
    """Why a quarter has no point on the chart, in words; None when it has one."""
    status = point.get("data_status")
    if status == "ok" and point.get("value") is not None and not is_suppressed(point["value"]):
        return None
    if status == "ok" and is_suppressed(point.get("value")):
        return "suppressed: a count from 1 to 7 ([c])"
    words = STATUS_WORDS.get(status, status or "no data")
    note = point.get("status_note")
    reason = f"{words}: {note}" if note else words
    provisional = point.get("provisional_value")
    if provisional is not None and status in ("pending", "missing"):
        reason += f" (provisional {number(provisional, indicator.unit)})"
    return reason
