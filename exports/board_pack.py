"""The board pack: an Excel workbook of the quarter for the partnership board (openpyxl).

Sheets: ``Summary`` (every indicator), one per strategic priority, ``Feed status``. Numbers
are stored as numbers with number formats (counts ``#,##0``, percentages ``0.0``), RAG cells
are filled and say their rating in words, header rows are frozen, column widths are set, and
every text cell goes through the formula-injection escape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from exports.disclosure import escape_cell, is_suppressed
from exports.report_model import Indicator, ReportData
from exports.wording import STATUS_WORDS, data_note, headline, rag_word

COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0.0"
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


def _header(sheet, columns: list[tuple[str, int]], row: int = 1) -> None:
    for index, (title, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=row, column=index, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
    sheet.row_dimensions[row].height = 32


def _number_cell(sheet, row: int, column: int, value: Any, unit: str) -> None:
    cell = sheet.cell(row=row, column=column)
    if value is None:
        cell.value = None
    elif is_suppressed(value):
        cell.value = value
        cell.alignment = Alignment(horizontal="right")
    else:
        cell.value = float(value) if unit != "count" else int(round(float(value)))
        cell.number_format = COUNT_FORMAT if unit == "count" else PERCENT_FORMAT


def _text(sheet, row: int, column: int, value: Any, wrap: bool = False) -> None:
    cell = sheet.cell(row=row, column=column, value=escape_cell(value))
    cell.alignment = Alignment(wrap_text=wrap, vertical="top")


def _indicator_row(sheet, row: int, indicator: Indicator, quarter: str) -> None:
    values = indicator.row
    unit = indicator.unit
    _text(sheet, row, 1, indicator.code)
    _text(sheet, row, 2, indicator.name, wrap=True)
    _text(sheet, row, 3, indicator.priority)
    _text(sheet, row, 4, unit)
    for column, name in (
        (5, "value"),
        (6, "prev_year_value"),
        (7, "ytd_value"),
        (8, "ytd_prev_value"),
    ):
        _number_cell(sheet, row, column, values.get(name), unit)
    _number_cell(sheet, row, 9, indicator.target, unit)
    rag = rag_word(indicator)
    cell = sheet.cell(row=row, column=10, value=rag)
    if rag in RAG_FILLS:
        cell.fill, cell.font = RAG_FILLS[rag], RAG_FONTS[rag]
    cell.alignment = Alignment(horizontal="center", vertical="top")
    _text(sheet, row, 11, values.get("direction") or "")
    _text(sheet, row, 12, STATUS_WORDS.get(indicator.status, indicator.status))
    commentary = (
        headline(indicator, quarter)
        if indicator.status == "ok" and values.get("value") is not None
        else data_note(indicator)
    )
    _text(sheet, row, 13, commentary, wrap=True)
    for column in range(1, len(INDICATOR_COLUMNS) + 1):
        sheet.cell(row=row, column=column).border = THIN


def build_board_pack(data: ReportData) -> Workbook:
    """The workbook (not saved)."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    _header(summary, INDICATOR_COLUMNS)
    row = 2
    for _, items in data.priorities:
        for indicator in items:
            _indicator_row(summary, row, indicator, data.quarter)
            row += 1
    summary.auto_filter.ref = f"A1:{get_column_letter(len(INDICATOR_COLUMNS))}{row - 1}"
    # The RAG and status totals below the table.
    row += 1
    summary.cell(
        row=row,
        column=2,
        value=f"{data.la_name} ({data.la_code}), {data.quarter}, "
        f"data as at {data.as_of or 'unknown'}",
    ).font = Font(bold=True)
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
        sheet = book.create_sheet(sheet_name(priority))
        _header(sheet, INDICATOR_COLUMNS)
        for offset, indicator in enumerate(items, start=2):
            _indicator_row(sheet, offset, indicator, data.quarter)

    feeds = book.create_sheet("Feed status")
    _header(feeds, FEED_COLUMNS)
    for row, feed in enumerate(data.feeds, start=2):
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
