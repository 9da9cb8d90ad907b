"""The quarterly performance report: one self-contained HTML file, readable with scripts off.

Each chart is a static inline SVG (exports/svg_charts.py), so the page can be e-mailed: mail
clients run no JavaScript. The interactive plotly version (plotly.js, ~4.8 MB, inlined) is
written alongside only when asked for (issue 25, item 4).

    write_report(warehouse, exports, "2014/15 Q2")
        → report-2014-15-Q2.html
    write_report(..., interactive=True)
        → + report-2014-15-Q2-interactive.html (and -public-interactive.html with ``public``)
    write_report(..., public=True)
        → + report-2014-15-Q2-public.html and indicators-2014-15-Q2-public.csv
    write_quarter_outputs(settings, "2014/15 Q2", public=...)
        → the above, the board pack and the analyst exports

Reading is in ``exports/report_data.py``; this module only renders what it is given.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from core.periods import quarter_months_words
from core.settings import Settings
from exports.analyst import write_analyst_exports
from exports.disclosure import CSV_METHOD, CSV_METHOD_PUBLISHED, METHOD_NOTE, escape_cell
from exports.marts import open_marts
from exports.report_data import latest_quarter_with_data, read_report_data
from exports.report_model import PUBLIC_CRIME_FEED, Indicator, PublicCrime, ReportData
from exports.report_public import public_version
from exports.spine import spine_svg
from exports.svg_charts import trend_svg
from exports.wording import (
    STATUS_WORDS,
    direction_word,
    headline,
    latest_position,
    number,
    rag_word,
)

if TYPE_CHECKING:
    import duckdb

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The public-data indicators charted in full; the other crime types are a table.
CHARTED_PUBLIC_CRIME = ("PC_TOTAL", "PC_ANTI_SOCIAL_BEHAVIOUR")
POLARITY_WORDS = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
    "none": "no better direction",
}


def _chart_html(indicator: Indicator, div_id: str) -> str:
    # Imported here: plotly's graph objects are needed only for the interactive version.
    from exports.charts import chart_html

    return chart_html(indicator, div_id)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # Nothing in the bundle may close the inline <script> early.
    return get_plotlyjs().replace("</script", "<\\/script")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _rag_css(word: str) -> str:
    return word.lower() if word in ("Green", "Amber", "Red") else "none"


def _chart_label(indicator: Indicator) -> str:
    points = indicator.chart_points
    shown = [
        f"{p['fiscal_quarter']} {number(p.get('value'), indicator.unit, 'no figure')}"
        for p in points
    ]
    target = (
        f"; target {number(indicator.target, indicator.unit)}"
        if indicator.target is not None
        else ""
    )
    return (
        f"Trend chart of {indicator.name}, {points[0]['fiscal_quarter']} to "
        f"{points[-1]['fiscal_quarter']}: " + ", ".join(shown) + target + "."
    )


SIGNIFICANCE_WORDS = {
    "better": "significantly better than",
    "similar": "not significantly different from",
    "worse": "significantly worse than",
}


def interval_words(indicator: Indicator, public: bool = False) -> str:
    """The quarter's 95% interval and what it says against the target and last year, in words;
    "" where the indicator has none.

    A public version shows intervals only for data.police.uk figures, published unrounded:
    the limits of a partner's count or percentage would give back the unrounded figures its
    disclosure control withholds (docs/indicators.md, "Disclosure control").
    """
    row, unit = indicator.row, indicator.unit
    lower, upper = row.get("lower_95"), row.get("upper_95")
    if lower is None or upper is None or (public and indicator.feed != PUBLIC_CRIME_FEED):
        return ""
    text = (
        f"95% confidence interval {number(lower, unit)} to {number(upper, unit)} "
        f"({row.get('significance_method') or 'method not recorded'})"
    )
    judged = [
        f"{SIGNIFICANCE_WORDS[row[key]]} {against}"
        for key, against in (
            ("significance_vs_target", "the target"),
            ("significance_vs_previous_year", "the same quarter last year"),
        )
        if row.get(key) in SIGNIFICANCE_WORDS
    ]
    return text + (": " + "; ".join(judged) if judged else "")


def _item(
    indicator: Indicator, quarter: str, interactive: bool = False, public: bool = False
) -> dict[str, Any]:
    row, unit = indicator.row, indicator.unit
    rag = rag_word(indicator)
    anchor = _anchor(indicator.code)
    return {
        "indicator": indicator,
        "anchor": anchor,
        "value": number(row.get("value"), unit),
        "prev_year": number(row.get("prev_year_value"), unit),
        "ytd": number(row.get("ytd_value"), unit),
        "ytd_prev": number(row.get("ytd_prev_value"), unit),
        "target": number(indicator.target, unit, "No target"),
        "rag": rag,
        "rag_css": _rag_css(rag),
        "direction": direction_word(indicator),
        "interval": interval_words(indicator, public),
        "polarity": POLARITY_WORDS.get(indicator.polarity, indicator.polarity),
        "headline": headline(indicator, quarter),
        "latest": latest_position(indicator),
        "chart": Markup(_chart_html(indicator, f"chart-{anchor}")) if interactive else "",  # noqa: S704
        "svg": Markup(trend_svg(indicator, f"svg-{anchor}")),  # noqa: S704 (every text escaped)
        "chart_label": _chart_label(indicator),
        "points": [
            {
                "quarter": p["fiscal_quarter"],
                "value": number(p.get("value"), unit, "–"),
                "prev": number(p.get("prev_year_value"), unit, "–"),
                "status": STATUS_WORDS.get(p.get("data_status"), p.get("data_status")),
                "note": p.get("status_note") or "",
            }
            for p in indicator.chart_points
        ],
    }


def summary_sentence(data: ReportData) -> str:
    """'Of 24 indicators, 0 are Green, ...; 12 have complete data for the quarter ...'"""
    rag = data.rag_counts()
    status = data.status_counts()
    rated = rag["Green"] + rag["Amber"] + rag["Red"]
    parts = [f"{len(data.indicators)} indicators are reported for {data.quarter}."]
    if rated:
        parts.append(
            f"Of the {rated} rated against a target, {rag['Green']} "
            f"{'is' if rag['Green'] == 1 else 'are'} Green, {rag['Amber']} Amber and "
            f"{rag['Red']} Red."
        )
    else:
        parts.append("None can be rated against a target this quarter.")
    absent = [
        f"{n} {STATUS_WORDS[s].split(' (')[0].lower()}"
        for s, n in status.items()
        if s != "ok" and n
    ]
    parts.append(
        f"{status['ok']} have complete data for the quarter"
        + (f"; {', '.join(absent)}." if absent else ".")
    )
    return " ".join(parts)


def _rate(value: float | None) -> str:
    return "N/A" if value is None else f"{value:,.1f}"


def _interval(row: dict[str, Any]) -> str:
    lower, upper = row.get("rate_lower_95"), row.get("rate_upper_95")
    return "N/A" if lower is None or upper is None else f"{lower:,.1f} to {upper:,.1f}"


def comparison_sentence(data: ReportData, crime: PublicCrime) -> str:
    """The partnership's recorded-crime rate against its force's, in words."""
    this = crime.this
    if this is None:
        return (
            f"No data.police.uk file of {data.la_name}'s force covers {data.quarter}, "
            "so it cannot be compared with the force's other partnerships."
        )
    if this["rate_per_1000"] is None:
        return (
            f"{data.la_name} has no population estimate, so its rate cannot be compared "
            "with the force's other partnerships."
        )
    rate = (
        f"{data.la_name}'s rate of recorded crime, {_rate(this['rate_per_1000'])} per "
        f"1,000 residents (95% interval {_interval(this)}),"
    )
    if (this["partnerships_in_force"] or 0) < 2:
        return (
            f"{rate} has no other partnership of its force to be compared with in the files loaded."
        )
    partial = "" if this["is_complete"] else " The force's files for the quarter are incomplete."
    return (
        f"{rate} ranks {this['rank_in_force']} of {this['partnerships_in_force']} "
        f"partnerships of its force (1 = lowest rate) and is {this['compared_with_force']} "
        f"than the force's rate of {_rate(this['force_rate_per_1000'])} per 1,000 "
        f"(Byar's method).{partial}"
    ).replace("not significantly different than", "not significantly different from")


def _public_crime_context(
    data: ReportData, items: list[Indicator], interactive: bool = False
) -> dict[str, Any] | None:
    """What the data.police.uk section shows (None when the report has no such section)."""
    crime = data.public_crime
    if crime is None:
        return None
    total = next((i for i in items if i.code == "PC_TOTAL"), None)
    population = total.row.get("population") if total else None
    return {
        "crime": crime,
        "loaded": crime.loaded,
        "population": f"{population:,}" if population else None,
        "rows": [
            {
                "indicator": i,
                "anchor": _anchor(i.code) if i.code in CHARTED_PUBLIC_CRIME else None,
                "value": number(i.row.get("value"), i.unit),
                "prev_year": number(i.row.get("prev_year_value"), i.unit),
                "rate": _rate(i.row.get("rate_per_1000")),
                "interval": _interval(i.row),
                "direction": direction_word(i),
            }
            for i in items
        ],
        "charted": [
            _item(i, data.quarter, interactive) for i in items if i.code in CHARTED_PUBLIC_CRIME
        ],
        "sentence": comparison_sentence(data, crime) if crime.loaded else None,
        "comparison": [
            {
                **row,
                "rate": _rate(row["rate_per_1000"]),
                "interval": _interval(row),
                "records_text": f"{row['records']:,}",
            }
            for row in crime.comparison
        ],
        "not_fed": crime.not_fed,
    }


def render_report(data: ReportData, interactive: bool = False) -> str:
    """The report as one HTML document."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html.j2")
    ordinary = [
        (p, items)
        for p, items in data.priorities
        if not all(i.feed == PUBLIC_CRIME_FEED for i in items)
    ]
    public_items = [i for i in data.indicators if i.feed == PUBLIC_CRIME_FEED]
    priorities = [
        (
            number_,
            priority,
            _anchor(priority),
            [_item(i, data.quarter, interactive, data.public) for i in items],
        )
        for number_, (priority, items) in enumerate(ordinary, start=2)
    ]
    title = f"{data.la_name} Community Safety Partnership: performance report, {data.quarter}" + (
        " (public version)" if data.public else ""
    )
    return template.render(
        data=data,
        title=title,
        quarter_words=quarter_months_words(data.quarter),
        interactive=interactive,
        plotly_js=Markup(_plotly_js()) if interactive else "",  # noqa: S704 (plotly's own)
        rag_counts=data.rag_counts(),
        status_counts=data.status_counts(),
        status_words=STATUS_WORDS,
        priorities=priorities,
        summary_sentence=summary_sentence(data),
        method_note=METHOD_NOTE,
        public_crime=_public_crime_context(data, public_items, interactive),
        benchmarks=[
            {"benchmark": b, "svg": Markup(spine_svg(b))}  # noqa: S704 (every text escaped)
            for b in data.benchmarks
        ],
        public_crime_title=(
            public_items[0].priority
            if public_items
            else "Recorded crime and anti-social behaviour (data.police.uk)"
        ),
    )


def _write_atomically(target: Path, text: str, newline: str | None = None) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with partial.open("w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
    partial.replace(target)
    return target


PUBLIC_CSV_COLUMNS = [
    "indicator_code",
    "indicator_name",
    "priority",
    "fiscal_quarter",
    "data_status",
    "unit",
    "value",
    "numerator",
    "denominator",
    "ytd_value",
    "ytd_prev_value",
    "prev_year_value",
    "target",
    "rag_status",
    "direction",
    "status_note",
    # How the row's figures were protected (exports/disclosure.py, CSV_METHOD).
    "disclosure_method",
]


def _csv_number(value: Any, unit: str) -> Any:
    """Plain numbers as indicators.csv writes them: 86, 44.7; [c] stays; empty for none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if unit == "count":
        return int(round(float(value)))
    return round(float(value), 1)


def public_csv(data: ReportData) -> str:
    """The quarter's indicators under disclosure control, every text cell escaped."""
    if not data.public:
        raise ValueError("public_csv needs the public version (report_public.public_version)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PUBLIC_CSV_COLUMNS)
    for _, items in data.priorities:
        for indicator in items:
            row = indicator.row
            parts_unit = "count" if indicator.unit == "percent" else indicator.unit
            values = {
                "indicator_code": indicator.code,
                "indicator_name": indicator.name,
                "priority": indicator.priority,
                "fiscal_quarter": data.quarter,
                "data_status": indicator.status,
                "unit": indicator.unit,
                "value": _csv_number(row.get("value"), indicator.unit),
                "numerator": _csv_number(row.get("numerator"), parts_unit),
                "denominator": _csv_number(row.get("denominator"), parts_unit),
                "ytd_value": _csv_number(row.get("ytd_value"), indicator.unit),
                "ytd_prev_value": _csv_number(row.get("ytd_prev_value"), indicator.unit),
                "prev_year_value": _csv_number(row.get("prev_year_value"), indicator.unit),
                "target": _csv_number(indicator.target, indicator.unit),
                "rag_status": row.get("rag_status") or "",
                "direction": row.get("direction") or "",
                "status_note": row.get("status_note") or "",
                "disclosure_method": (
                    CSV_METHOD_PUBLISHED
                    if indicator.feed == PUBLIC_CRIME_FEED
                    else CSV_METHOD.get(indicator.unit, "")
                ),
            }
            writer.writerow([escape_cell(values[c]) for c in PUBLIC_CSV_COLUMNS])
    return buffer.getvalue()


def write_report(
    warehouse: Path | duckdb.DuckDBPyConnection,
    exports: Path,
    quarter: str,
    public: bool = False,
    la_code: str | None = None,
    la_name: str | None = None,
    data: ReportData | None = None,
    interactive: bool = False,
) -> dict[str, Path]:
    """Write report-<quarter>.html (and the public report and CSV with ``public``).

    The reports draw their charts as static SVG; ``interactive`` also writes each report's
    plotly version, report-<quarter>[-public]-interactive.html.
    """
    data = data or read_report_data(warehouse, quarter, la_code=la_code, la_name=la_name)
    written = {
        "report": _write_atomically(exports / f"report-{data.slug}.html", render_report(data))
    }
    if interactive:
        written["interactive_report"] = _write_atomically(
            exports / f"report-{data.slug}-interactive.html", render_report(data, True)
        )
    if public:
        safe = public_version(data)
        written["public_report"] = _write_atomically(
            exports / f"report-{data.slug}-public.html", render_report(safe)
        )
        if interactive:
            written["public_interactive"] = _write_atomically(
                exports / f"report-{data.slug}-public-interactive.html",
                render_report(safe, True),
            )
        written["public_csv"] = _write_atomically(
            exports / f"indicators-{data.slug}-public.csv", public_csv(safe), newline=""
        )
    return written


def write_quarter_outputs(
    settings: Settings,
    quarter: str | None,
    public: bool = False,
    analyst: bool = True,
    interactive: bool = False,
    announce: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Everything ``csp report`` writes: the report(s), the board pack, the analyst exports.

    All of it is read as an analyst reads: the published DuckDB copy (never the file a build
    writes), or on Postgres the marts as csp_analyst sees them (exports/marts.py). With no
    ``quarter``, the latest quarter with data as of the settings' date, which ``announce`` is
    told.
    """
    # Imported here: openpyxl costs 0.5 to 0.7 s (measured), and Dagster imports this module
    # each time it loads the definitions.
    from exports.board_pack import write_board_pack

    # A name only when configured (else the warehouse's dim_area names the partnership).
    name = settings.la_name if settings.la_name != settings.la_code else None
    with open_marts(settings) as marts:
        if quarter is None:
            quarter = latest_quarter_with_data(marts, settings.la_code, settings.as_of)
            if announce is not None:
                announce(quarter)
        data = read_report_data(marts, quarter, la_code=settings.la_code, la_name=name)
        written = write_report(
            marts, settings.exports, quarter, public=public, data=data, interactive=interactive
        )
        written["board_pack"] = write_board_pack(data, settings.exports)
        if analyst:
            written.update(write_analyst_exports(settings, marts))
    return written
