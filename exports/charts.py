"""One plotly trend chart per indicator: the quarters, last year's, the target, and the gaps.

Quarters without a published figure are gaps in the line; a marker along the bottom of the
chart carries the reason on hover (pending, missing, suspended, suppressed ...).
"""

from __future__ import annotations

import plotly.graph_objects as go

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

CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def trend_figure(indicator: Indicator) -> go.Figure:
    """The trend chart of one indicator over its charted quarters."""
    points = indicator.chart_points
    quarters = [p["fiscal_quarter"] for p in points]
    unit = indicator.unit
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=quarters,
            y=[plotted(p.get("value")) for p in points],
            name="This quarter",
            mode="lines+markers",
            connectgaps=False,
            line={"color": THIS_YEAR, "width": 3},
            marker={"size": 8, "symbol": "circle"},
            customdata=[number(p.get("value"), unit) for p in points],
            hovertemplate="%{x}: %{customdata}<extra>This quarter</extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=quarters,
            y=[plotted(p.get("prev_year_value")) for p in points],
            name="Same quarter last year",
            mode="lines+markers",
            connectgaps=False,
            line={"color": LAST_YEAR, "width": 2, "dash": "dash"},
            marker={"size": 6, "symbol": "square-open"},
            customdata=[number(p.get("prev_year_value"), unit) for p in points],
            hovertemplate="%{x} last year: %{customdata}<extra>Same quarter last year</extra>",
        )
    )
    if indicator.target is not None:
        if indicator.aggregation == "sum":
            # A year-to-date target is compared with the year to date, not with a quarter.
            figure.add_trace(
                go.Scatter(
                    x=quarters,
                    y=[plotted(p.get("ytd_value")) for p in points],
                    name="Year to date",
                    mode="lines+markers",
                    connectgaps=False,
                    line={"color": THIS_YEAR, "width": 1.5, "dash": "dot"},
                    marker={"size": 6, "symbol": "diamond"},
                    customdata=[number(p.get("ytd_value"), unit) for p in points],
                    hovertemplate="%{x}: %{customdata}<extra>Year to date</extra>",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=quarters,
                y=[float(indicator.target)] * len(quarters),
                name=f"Target ({number(indicator.target, unit)})",
                mode="lines",
                line={"color": TARGET, "width": 2, "dash": "dashdot"},
                hovertemplate=f"Target: {number(indicator.target, unit)}<extra></extra>",
            )
        )
    if indicator.comparator_label:
        figure.add_trace(
            go.Scatter(
                x=quarters,
                y=[plotted(p.get("comparator_value")) for p in points],
                name=indicator.comparator_label,
                mode="lines+markers",
                connectgaps=False,
                line={"color": COMPARATOR, "width": 2, "dash": "dash"},
                marker={"size": 5},
                customdata=[number(p.get("comparator_value"), unit) for p in points],
                hovertemplate=f"%{{x}}: %{{customdata}}<extra>{indicator.comparator_label}</extra>",
            )
        )
    gaps = [
        (p["fiscal_quarter"], reason)
        for p in points
        if (reason := gap_reason(p, indicator)) is not None
    ]
    if gaps:
        figure.add_trace(
            go.Scatter(
                x=[q for q, _ in gaps],
                y=[0.06] * len(gaps),
                yaxis="y2",
                name="No figure (hover for the reason)",
                mode="markers",
                marker={
                    "symbol": "x-thin-open",
                    "size": 11,
                    "color": GAP,
                    "line": {"width": 2, "color": GAP},
                },
                customdata=[reason for _, reason in gaps],
                hovertemplate="%{x}: %{customdata}<extra>No figure</extra>",
            )
        )
    has_values = any(plotted(p.get("value")) is not None for p in points)
    figure.update_layout(
        template="simple_white",
        height=300,
        margin={"l": 60, "r": 20, "t": 10, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1a1a1a"},
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": quarters,
            "title": None,
        },
        yaxis={
            "title": {
                "text": {
                    "count": "Number",
                    "percent": "Per cent",
                    "percent_diff": "% against predicted",
                }.get(unit, "")
            },
            "ticksuffix": "%" if unit != "count" else "",
            "rangemode": "tozero" if unit != "percent_diff" else "normal",
            "zeroline": True,
            "gridcolor": "#e5e5e5",
            "showgrid": True,
        },
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        annotations=[]
        if has_values
        else [
            {
                "text": "No published figures for these quarters",
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.55,
                "showarrow": False,
                "font": {"size": 13, "color": "#555555"},
            }
        ],
    )
    return figure


def chart_html(indicator: Indicator, div_id: str) -> str:
    """The chart as an HTML fragment (plotly.js is inlined once in the page's head)."""
    return trend_figure(indicator).to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=CONFIG,
        default_width="100%",
        default_height="300px",
    )
