"""The trend chart of one indicator as a static inline SVG: readable with scripts off.

Mail clients run no JavaScript, so the e-mailed report draws each chart as SVG markup written
here in plain Python (issue 25, item 4): the same series as ``exports.charts.trend_figure`` (the
quarters, the same quarter last year, the year to date where a target is set on it, the
target, the comparator group's figure where the warehouse holds one) with gaps for the
quarters without a figure, each gap's reason written out beneath the chart (there is no hover
in an e-mail). Nothing is fetched and no script is needed.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from html import escape
from typing import Any

from exports.chart_style import (
    COMPARATOR,
    FONT,
    GAP,
    LAST_YEAR,
    TARGET,
    THIS_YEAR,
    gap_reason,
    plotted,
)
from exports.report_model import Indicator
from exports.wording import number

WIDTH = 900  # the viewBox's width: the page's 1000px column less its padding
PLOT_HEIGHT = 220
LEFT, RIGHT, TOP = 78, 24, 40
LINE_HEIGHT = 17
NOTE_CHARACTERS = 130  # Arial at 12px averages ~6px a character: 130 fill ~800px
AXIS_TITLES = {"count": "Number", "percent": "Per cent", "percent_diff": "% against predicted"}


def _text(value: str) -> str:
    return escape(value, quote=True)


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round tick interval (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks``."""
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def _range(values: list[float], unit: str) -> tuple[float, float, float]:
    """The y axis's low, high and step; from zero as the plotly chart ('tozero') but for
    percent_diff, which is drawn either side of zero."""
    low = min([*values, 0.0]) if unit == "percent_diff" else 0.0
    high = max([*values, 0.0])
    if unit == "percent_diff":
        high = max(high, 0.0)
    if high == low:
        high = low + (1.0 if unit == "count" else 10.0)
    step = _nice_step(high - low)
    if unit == "count":
        step = max(step, 1.0)  # never a tick at half a count
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _tick(value: float, step: float, unit: str) -> str:
    decimals = 0 if float(step).is_integer() else 1
    text = f"{value:,.{decimals}f}".replace("-", "−")
    return text if unit == "count" else f"{text}%"


def _polyline_segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points: a quarter without a figure breaks the line (no joining)."""
    segments: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append(point)
    return [s for s in segments if s]


def _path(segment: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)


def trend_svg(indicator: Indicator, svg_id: str) -> str:
    """The indicator's trend chart as an ``<svg>`` element with its own title and description.

    ``svg_id`` must be unique in the page: the <title> and <desc> are referenced by id.
    """
    points = indicator.chart_points
    unit = indicator.unit
    quarters = [p["fiscal_quarter"] for p in points]
    series: list[dict[str, Any]] = [
        {
            "name": "This quarter",
            "key": "value",
            "color": THIS_YEAR,
            "width": 3,
            "dash": "",
            "marker": "circle",
        },
        {
            "name": "Same quarter last year",
            "key": "prev_year_value",
            "color": LAST_YEAR,
            "width": 2,
            "dash": "8 5",
            "marker": "square",
        },
    ]
    if indicator.target is not None and indicator.aggregation == "sum":
        # As charts.trend_figure: a year-to-date target is compared with the year to date.
        series.append(
            {
                "name": "Year to date",
                "key": "ytd_value",
                "color": THIS_YEAR,
                "width": 1.5,
                "dash": "2 4",
                "marker": "diamond",
            }
        )
    if indicator.comparator_label:
        series.append(
            {
                "name": indicator.comparator_label,
                "key": "comparator_value",
                "color": COMPARATOR,
                "width": 2,
                "dash": "5 3",
                "marker": "dot",
            }
        )
    for line in series:
        line["values"] = [plotted(p.get(line["key"])) for p in points]
    drawn = [v for line in series for v in line["values"] if v is not None]
    if indicator.target is not None:
        drawn.append(float(indicator.target))
    low, high, step = _range(drawn, unit)

    gaps = [
        (p["fiscal_quarter"], reason)
        for p in points
        if (reason := gap_reason(p, indicator)) is not None
    ]
    notes = [
        line
        for quarters_, reason in _runs(gaps, quarters)
        for line in textwrap.wrap(
            f"× {quarters_}: no figure ({reason})", NOTE_CHARACTERS, subsequent_indent="    "
        )
    ]
    bottom = TOP + PLOT_HEIGHT
    legend_y = bottom + 52
    legend = _legend(series, indicator, gaps, legend_y)
    notes_y = legend_y + LINE_HEIGHT * (legend.rows - 1)
    height = notes_y + 14 + LINE_HEIGHT * len(notes) + (8 if notes else 0)
    plot_width = WIDTH - LEFT - RIGHT
    band = plot_width / max(len(quarters), 1)

    def x_at(index: int) -> float:
        return LEFT + band * (index + 0.5)

    def y_at(value: float) -> float:
        return bottom - (value - low) / (high - low) * PLOT_HEIGHT

    title = f"{indicator.name}: trend by quarter"
    shown = ", ".join(
        f"{q} {number(p.get('value'), unit, 'no figure')}"
        for q, p in zip(quarters, points, strict=True)
    )
    description = (
        f"{indicator.name}, {quarters[0]} to {quarters[-1]}: {shown}"
        + (f"; target {number(indicator.target, unit)}" if indicator.target is not None else "")
        + (
            f"; {indicator.comparator_label.lower()}: "
            + ", ".join(
                f"{p['fiscal_quarter']} {number(p.get('comparator_value'), unit, 'none')}"
                for p in points
            )
            if indicator.comparator_label
            else ""
        )
        + "."
        + "".join(f" {q}: no figure ({r})." for q, r in gaps)
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-svg" id="{_text(svg_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{_text(svg_id)}-title {_text(svg_id)}-desc" '
        f'font-family="{FONT}" font-size="12" '
        'style="max-width:100%;height:auto;display:block">',
        f'<title id="{_text(svg_id)}-title">{_text(title)}</title>',
        f'<desc id="{_text(svg_id)}-desc">{_text(description)}</desc>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold" fill="#1a1a1a">'
        f"{_text(title)}</text>",
    ]
    # Grid and y axis.
    ticks = round((high - low) / step)
    for n in range(ticks + 1):
        value = low + n * step
        y = y_at(value)
        colour = "#1a1a1a" if value == 0 else "#e5e5e5"
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#1a1a1a">'
            f"{_text(_tick(value, step, unit))}</text>"
        )
    out.append(
        f'<text transform="translate(18 {TOP + PLOT_HEIGHT / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="#1a1a1a">{_text(AXIS_TITLES.get(unit, ""))}</text>'
    )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="#1a1a1a" '
        'stroke-width="1"/>'
    )
    # The x axis: a quarter label in two lines ("2014/15" over "Q2") so eight or more fit.
    for index, quarter in enumerate(quarters):
        year, _, part = quarter.partition(" ")
        x = x_at(index)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#1a1a1a"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 19}" text-anchor="middle" fill="#1a1a1a">'
            f'{_text(year)}<tspan x="{x:.1f}" dy="14">{_text(part)}</tspan></text>'
        )
    # The target, then the series (this quarter last, on top).
    if indicator.target is not None:
        y = y_at(float(indicator.target))
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{TARGET}" '
            'stroke-width="2" stroke-dasharray="10 4 2 4"/>'
        )
    for line in reversed(series):
        coords = [None if v is None else (x_at(i), y_at(v)) for i, v in enumerate(line["values"])]
        dash = f' stroke-dasharray="{line["dash"]}"' if line["dash"] else ""
        out.append(f'<g class="series"><title>{_text(line["name"])}</title>')
        for segment in _polyline_segments(coords):
            out.append(
                f'<polyline points="{_path(segment)}" fill="none" stroke="{line["color"]}" '
                f'stroke-width="{line["width"]}"{dash} stroke-linejoin="round"/>'
            )
        for point in coords:
            if point is not None:
                out.append(_marker(line["marker"], point, line["color"]))
        out.append("</g>")
    # The quarter's own figures written by their points: no hover to read them by.
    for index, point in enumerate(points):
        value = plotted(point.get("value"))
        if value is not None:
            out.append(
                f'<text class="value" x="{x_at(index):.1f}" y="{y_at(value) - 10:.1f}" '
                'text-anchor="middle" '
                f'font-size="11" fill="{THIS_YEAR}" stroke="#ffffff" stroke-width="3" '
                f'paint-order="stroke">{_text(number(point.get("value"), unit))}</text>'
            )
    # Gaps: a cross on the axis, the reason in its tooltip and written out below.
    quarter_index = {q: i for i, q in enumerate(quarters)}
    for quarter, reason in gaps:
        x, y = x_at(quarter_index[quarter]), bottom - 12
        out.append(
            f'<g class="gap"><title>{_text(f"{quarter}: no figure ({reason})")}</title>'
            f'<path d="M{x - 6:.1f},{y - 6:.1f} L{x + 6:.1f},{y + 6:.1f} '
            f'M{x - 6:.1f},{y + 6:.1f} L{x + 6:.1f},{y - 6:.1f}" stroke="{GAP}" '
            'stroke-width="2.5"/></g>'
        )
    if not any(v is not None for v in series[0]["values"]):
        out.append(
            f'<text x="{LEFT + plot_width / 2:.1f}" y="{TOP + PLOT_HEIGHT * 0.45:.1f}" '
            'text-anchor="middle" font-size="13" fill="#555555">'
            "No published figures for these quarters</text>"
        )
    out.extend(legend.lines)
    for n, note in enumerate(notes):
        out.append(
            f'<text x="{LEFT}" y="{notes_y + 24 + n * LINE_HEIGHT}" fill="{GAP}" '
            f'xml:space="preserve">{_text(note)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _runs(gaps: list[tuple[str, str]], quarters: list[str]) -> list[tuple[str, str]]:
    """Consecutive quarters with the same reason as one note: "2013/14 Q4 to 2014/15 Q2"."""
    runs: list[list[Any]] = []
    for quarter, reason in gaps:
        index = quarters.index(quarter)
        if runs and runs[-1][2] == reason and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index, reason])
    return [
        (quarters[a] if a == b else f"{quarters[a]} to {quarters[b]}", reason)
        for a, b, reason in runs
    ]


def _marker(shape: str, point: tuple[float, float], colour: str) -> str:
    x, y = point
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'
    if shape == "dot":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
    if shape == "square":
        return (
            f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="1.5"/>'
        )
    return (
        f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} '
        f'L{x - 5:.1f},{y:.1f} Z" fill="{colour}"/>'
    )


@dataclass
class Legend:
    """The legend's SVG elements and how many rows of keys it takes."""

    lines: list[str]
    rows: int


def _legend(
    series: list[dict[str, Any]], indicator: Indicator, gaps: list[Any], y: float
) -> Legend:
    """Rows of keys, sample line and name, about 7px a character of name; a key that would
    run past the plot's right edge starts a new row."""
    entries = [(s["name"], s["color"], s["width"], s["dash"]) for s in series]
    if indicator.target is not None:
        entries.append(
            (f"Target ({number(indicator.target, indicator.unit)})", TARGET, 2, "10 4 2 4")
        )
    if gaps:
        entries.append(("No figure (see below)", GAP, 0, ""))
    out, x, row = [], float(LEFT), 0
    for name, colour, width, dash in entries:
        key_width = 34 + 7 * len(name)
        if x > LEFT and x + key_width > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        at = y + row * LINE_HEIGHT
        if width:
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{x:.1f}" x2="{x + 28:.1f}" y1="{at - 4}" y2="{at - 4}" '
                f'stroke="{colour}" stroke-width="{width}"{dashes}/>'
            )
        else:  # the gap's cross
            out.append(
                f'<path d="M{x + 9:.1f},{at - 9} L{x + 19:.1f},{at + 1} M{x + 9:.1f},{at + 1} '
                f'L{x + 19:.1f},{at - 9}" stroke="{colour}" stroke-width="2.5"/>'
            )
        out.append(f'<text x="{x + 34:.1f}" y="{at}" fill="#1a1a1a">{_text(name)}</text>')
        x += key_width + 22
    return Legend(out, row + 1)
