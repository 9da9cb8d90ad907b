"""The board pack: an Excel workbook of the quarter for the partnership board (openpyxl).

Sheets: ``Summary`` (every indicator), one per strategic priority, ``Feed status``. Every
sheet opens with the partnership, quarter and dates (rows 1-2) above its table, whose header
is frozen and repeated on each printed page; every sheet prints landscape, one page wide,
with page numbers in the footer. Numbers are stored as numbers with number formats (counts
``#,##0``; percentages as fractions, 0.458 shown ``45.8%``), a figure the quarter lacks is a
dash with the reason (never "None"), a 95% interval is shown beside the figure where the
report data carries one and the comparator group's figure where the warehouse holds one
(``Indicator.comparator_label``), RAG cells are filled and say their rating in words, and every text
cell goes through the formula-injection escape.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from exports.disclosure import escape_cell, is_suppressed
from exports.report_model import Indicator, ReportData
from exports.wording import STATUS_WORDS, data_note, headline, number, rag_word

COUNT_FORMAT = "#,##0"
# The warehouse holds percentages as percentage points (45.8); the pack stores the fraction
# (0.458) so that Excel's own percent format shows "45.8%" and sums and charts stay right.
PERCENT_FORMAT = "0.0%"
# The reoffending difference is signed, as the report prints it ("-18.3%", "+2.0%").
PERCENT_DIFF_FORMAT = "+0.0%;-0.0%;0.0%"
# The title and date lines sit above the table; the header row follows them.
TITLE_ROW, DATE_ROW, HEADER_ROW = 1, 2, 3
# The interval column's comparison with the same quarter a year earlier.
PREVIOUS_YEAR_WORDS = {
    "better": "significantly better than a year earlier",
    "similar": "not significantly different from a year earlier",
    "worse": "significantly worse than a year earlier",
}
# A figure the quarter lacks: a dash and the reason, so no cell is blank by accident.
DASH = "\u2013"
RAG_FILLS = {
    "Green": PatternFill("solid", start_color="00703C", end_color="00703C"),
    "Amber": PatternFill("solid", start_color="FFBF47", end_color="FFBF47"),
    "Red": PatternFill("solid", start_color="D4351C", end_color="D4351C"),
}
RAG_FONTS = {
    "Green": Font(bold=True, color="FFFFFF"),
    "Amber": Font(bold=True, color="000000"),
    "Red": Font(bold=True, color="FFFFFF"),
}
HEADER_FILL = PatternFill("solid", start_color="1D4F91", end_color="1D4F91")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Border(bottom=Side(style="thin", color="B1B4B6"))
# Sheet names: at most 31 characters, none of []:*?/\ .
SHEET_NAMES = {"Violence Against Women and Girls": "VAWG"}

INDICATOR_COLUMNS: list[tuple[str, int]] = [
    ("Code", 22),
    ("Indicator", 46),
    ("Priority", 26),
    ("Unit", 12),
    ("This quarter", 13),
    ("95% interval", 24),
    ("Comparator", 24),
    ("Same quarter last year", 13),
    ("Year to date", 13),
    ("Same period last year", 13),
    ("Target", 10),
    ("RAG", 11),
    ("Direction of travel", 16),
    ("Data status", 20),
    ("Commentary", 90),
]
FEED_COLUMNS: list[tuple[str, int]] = [
    ("Feed", 20),
    ("Partner", 24),
    ("Cadence", 11),
    ("Data for the quarter", 18),
    ("Delivery state", 14),
    ("Last period received", 18),
    ("Next period", 12),
    ("Next due", 12),
    ("Overdue periods", 24),
    ("Indicators", 11),
    ("Note", 80),
]


def sheet_name(priority: str) -> str:
    """A valid, recognisable sheet name for a priority."""
    name = SHEET_NAMES.get(priority, priority)
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31]


def _long_date(day: date | datetime) -> str:
    """``4 December 2014``: the report's own date style, without a platform-specific format."""
    return f"{day.day} {day:%B %Y}"


def _title(data: ReportData) -> str:
    return (
        f"{data.la_name} Community Safety Partnership ({data.la_code}) board pack, {data.quarter}"
    )


def _dates(data: ReportData) -> str:
    as_of = _long_date(data.as_of) if data.as_of else "not recorded"
    return f"Data as of {as_of}; generated {_long_date(data.generated_at)}"


def _top(sheet: Worksheet, data: ReportData, heading: str) -> None:
    """The title and date lines above the table, on every sheet."""
    title = sheet.cell(row=TITLE_ROW, column=1, value=escape_cell(f"{_title(data)}: {heading}"))
    title.font = Font(bold=True, size=14)
    sheet.cell(row=DATE_ROW, column=1, value=escape_cell(_dates(data))).font = Font(italic=True)


def _header(sheet: Worksheet, columns: list[tuple[str, int]], row: int = HEADER_ROW) -> None:
    for index, (title, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=row, column=index, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = width
    # Frozen under the header, so the title, dates and header stay on screen when scrolling.
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
    sheet.row_dimensions[row].height = 32


def _print_setup(sheet: Worksheet, data: ReportData) -> None:
    """Landscape, one page wide (as many pages tall as needed), the title, dates and header
    repeated on every printed page, and the partnership, quarter and page numbers in the
    footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    # 0: no limit on the number of pages tall (fitting a long sheet onto one page would
    # shrink the print past reading).
    sheet.page_setup.fitToHeight = 0
    if sheet.sheet_properties.pageSetUpPr is None:
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    else:
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    # Header and footer codes: &P is the page number, &N the number of pages, && a literal &.
    sheet.oddFooter.left.text = f"{data.la_name} CSP, {data.quarter}".replace("&", "&&")
    sheet.oddFooter.center.text = "Page &P of &N"
    sheet.oddFooter.right.text = sheet.title.replace("&", "&&")


def _percent_fraction(value: Any) -> float:
    # Rounded to shed binary noise (45.8 / 100 = 0.45799999999999996) without losing any
    # figure the warehouse holds.
    return round(float(value) / 100, 10)


def _number_cell(
    sheet: Worksheet, row: int, column: int, value: Any, unit: str, missing: str | None
) -> None:
    """A figure as a number with its format; ``[c]`` when suppressed; when absent, a dash
    and ``missing`` (the reason), or an empty cell when ``missing`` is None."""
    cell = sheet.cell(row=row, column=column)
    if value is None:
        cell.value = f"{DASH} {missing}" if missing else None
        cell.alignment = Alignment(horizontal="right", vertical="top")
    elif is_suppressed(value):
        cell.value = value
        cell.alignment = Alignment(horizontal="right", vertical="top")
    elif unit == "count":
        cell.value = int(round(float(value)))
        cell.number_format = COUNT_FORMAT
    else:
        cell.value = _percent_fraction(value)
        cell.number_format = PERCENT_DIFF_FORMAT if unit == "percent_diff" else PERCENT_FORMAT


def _text(sheet: Worksheet, row: int, column: int, value: Any, wrap: bool = False) -> None:
    # An empty string is written as an empty cell, and None never becomes the text "None".
    cell = sheet.cell(row=row, column=column, value=escape_cell(value) if value != "" else None)
    cell.alignment = Alignment(wrap_text=wrap, vertical="top")


def _field(indicator: Indicator, name: str) -> Any:
    """An interval or comparison field of the indicator, or of its quarter's row.

    Read with getattr so that the pack works whether or not the report model carries the
    field yet: fct_indicator_quarter has the police.uk rate's interval, and ``lower_95``,
    ``upper_95`` and ``significance_vs_previous_year`` are being added to it.
    """
    value = getattr(indicator, name, None)
    return indicator.row.get(name) if value is None else value


def interval_text(indicator: Indicator) -> str | None:
    """The 95% interval beside the quarter's figure ("35.6% to 54.8%"), or None if none.

    An interval of the figure itself (``lower_95``/``upper_95``, in the figure's unit: Wilson
    for a percent, Byar's for a count, fct_indicator_quarter.yml) comes first, followed by
    the comparison with a year earlier when the row has one; otherwise the interval of the
    police.uk rate per 1,000 residents (Byar's method, fct_indicator_quarter), which is of
    the rate, not the count, and so says so. Rates have two decimal places, as in the
    analyst exports (exports/indicators.py).
    """
    unit = indicator.unit
    lower, upper = _field(indicator, "lower_95"), _field(indicator, "upper_95")
    if lower is not None and upper is not None:
        text = f"{number(lower, unit)} to {number(upper, unit)}"
    else:
        lower, upper = _field(indicator, "rate_lower_95"), _field(indicator, "rate_upper_95")
        if lower is None or upper is None:
            return None
        rate = _field(indicator, "rate_per_1000")
        text = f"{float(lower):,.2f} to {float(upper):,.2f} per 1,000 residents"
        if rate is not None:
            text += f" (rate {float(rate):,.2f})"
    # fct_indicator_quarter.yml: better, similar or worse than the same quarter a year
    # earlier by whether the two quarters' 95% intervals overlap; "similar" means not shown
    # to differ.
    compared = _field(indicator, "significance_vs_previous_year")
    if compared in PREVIOUS_YEAR_WORDS:
        text += f"; {PREVIOUS_YEAR_WORDS[compared]}"
    return text


def comparator_text(indicator: Indicator) -> str | None:
    """The comparator group's figure in the quarter ("Average of all MoJ authorities:
    -3.1%"), or None where the warehouse holds no other area for the indicator."""
    value = indicator.chart_points[-1].get("comparator_value") if indicator.history else None
    if not indicator.comparator_label or value is None:
        return None
    return f"{indicator.comparator_label}: {number(value, indicator.unit)}"


def _missing_reason(indicator: Indicator) -> str:
    """Why the quarter has no figure, in a word or two (the commentary says more)."""
    if indicator.status == "ok":
        return "no figure returned"
    return STATUS_WORDS.get(indicator.status, indicator.status).split(" (")[0].lower()


def _indicator_row(sheet: Worksheet, row: int, indicator: Indicator, quarter: str) -> None:
    values = indicator.row
    unit = indicator.unit
    column = {title: index for index, (title, _) in enumerate(INDICATOR_COLUMNS, start=1)}
    _text(sheet, row, column["Code"], indicator.code)
    _text(sheet, row, column["Indicator"], indicator.name, wrap=True)
    _text(sheet, row, column["Priority"], indicator.priority)
    _text(sheet, row, column["Unit"], unit)
    _number_cell(
        sheet, row, column["This quarter"], values.get("value"), unit, _missing_reason(indicator)
    )
    interval = interval_text(indicator) if values.get("value") is not None else None
    _text(sheet, row, column["95% interval"], interval, wrap=True)
    _text(sheet, row, column["Comparator"], comparator_text(indicator), wrap=True)
    for title, name in (
        ("Same quarter last year", "prev_year_value"),
        ("Year to date", "ytd_value"),
        ("Same period last year", "ytd_prev_value"),
    ):
        _number_cell(sheet, row, column[title], values.get(name), unit, "no data")
    # No target: left empty, since the RAG column says "No target".
    _number_cell(sheet, row, column["Target"], indicator.target, unit, None)
    rag = rag_word(indicator)
    cell = sheet.cell(row=row, column=column["RAG"], value=rag)
    if rag in RAG_FILLS:
        cell.fill, cell.font = RAG_FILLS[rag], RAG_FONTS[rag]
    cell.alignment = Alignment(horizontal="center", vertical="top")
    _text(sheet, row, column["Direction of travel"], values.get("direction") or "")
    _text(sheet, row, column["Data status"], STATUS_WORDS.get(indicator.status, indicator.status))
    commentary = (
        headline(indicator, quarter)
        if indicator.status == "ok" and values.get("value") is not None
        else data_note(indicator)
    )
    _text(sheet, row, column["Commentary"], commentary, wrap=True)
    for index in column.values():
        sheet.cell(row=row, column=index).border = THIN


def _indicator_sheet(
    sheet: Worksheet, data: ReportData, heading: str, indicators: list[Indicator]
) -> int:
    """Title, header and one row per indicator; the last row written."""
    _top(sheet, data, heading)
    _header(sheet, INDICATOR_COLUMNS)
    row = HEADER_ROW
    for indicator in indicators:
        row += 1
        _indicator_row(sheet, row, indicator, data.quarter)
    last = get_column_letter(len(INDICATOR_COLUMNS))
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(row, HEADER_ROW + 1)}"
    _print_setup(sheet, data)
    return row


def build_board_pack(data: ReportData) -> Workbook:
    """The workbook (not saved)."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    row = _indicator_sheet(
        summary, data, "Summary", [i for _, items in data.priorities for i in items]
    )
    # The RAG and status totals below the table.
    row += 2
    summary.cell(row=row, column=2, value="Indicators by RAG rating and data status").font = Font(
        bold=True
    )
    for word, count in {
        **data.rag_counts(),
        **{STATUS_WORDS[s]: n for s, n in data.status_counts().items()},
    }.items():
        row += 1
        label = summary.cell(row=row, column=2, value=word)
        if word in RAG_FILLS:
            label.fill, label.font = RAG_FILLS[word], RAG_FONTS[word]
        total = summary.cell(row=row, column=5, value=count)
        total.number_format = COUNT_FORMAT

    for priority, items in data.priorities:
        _indicator_sheet(book.create_sheet(sheet_name(priority)), data, priority, items)

    feeds = book.create_sheet("Feed status")
    _top(feeds, data, "Feed status")
    _header(feeds, FEED_COLUMNS)
    row = HEADER_ROW
    for feed in data.feeds:
        row += 1
        note = (feed.suspension_reason if feed.state == "suspended" else feed.quarter_note) or ""
        values = [
            feed.feed,
            feed.partner or "",
            feed.cadence or "",
            STATUS_WORDS.get(feed.quarter_status, feed.quarter_status),
            feed.state,
            feed.last_period or "",
            feed.next_period or "",
            None,
            feed.overdue_periods or "",
            None,
            note,
        ]
        for column, value in enumerate(values, start=1):
            _text(feeds, row, column, value, wrap=column == len(values))
        due = feeds.cell(row=row, column=8, value=feed.next_due)
        due.number_format = "dd/mm/yyyy"
        count = feeds.cell(row=row, column=10, value=feed.indicator_count)
        count.number_format = COUNT_FORMAT
    feeds.auto_filter.ref = (
        f"A{HEADER_ROW}:{get_column_letter(len(FEED_COLUMNS))}{max(row, HEADER_ROW + 1)}"
    )
    _print_setup(feeds, data)
    book.properties.title = f"Board pack {data.quarter}"
    book.properties.creator = "csp-warehouse"
    return book


def write_board_pack(data: ReportData, exports: Path) -> Path:
    """Save ``board-pack-<quarter>.xlsx`` under the exports folder (atomically)."""
    target = exports / f"board-pack-{data.slug}.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    build_board_pack(data).save(partial)
    partial.replace(target)
    return target
