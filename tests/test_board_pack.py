"""The board pack's layout, print set-up and number storage, from hand-made report data.

No warehouse is built: these check exports/board_pack.py alone (issue 25 item 5). The pack
made from the demo warehouse is checked in tests/test_exports.py.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from exports.board_pack import INDICATOR_COLUMNS, interval_text, write_board_pack
from exports.report_model import FeedLine, Indicator, ReportData

QUARTER = "2014/15 Q2"


def _indicator(code: str, unit: str, row: dict[str, Any], **extra: Any) -> Indicator:
    indicator = Indicator(
        code=code,
        name=f"Indicator {code}",
        priority="Violence",
        feed="police_crime",
        owner=None,
        unit=unit,
        polarity="lower_is_better",
        aggregation="sum",
        target=extra.pop("target", None),
        definition=None,
        row=row,
        history=[],
    )
    for name, value in extra.items():
        # As a colleague's report model may carry them: attributes the dataclass lacks today.
        setattr(indicator, name, value)
    return indicator


def _data() -> ReportData:
    indicators = [
        _indicator(
            "PCT_ROW",
            "percent",
            {
                "data_status": "ok",
                "value": 45.8,
                "prev_year_value": 41.2,
                "ytd_value": None,
                "lower_95": 35.6,
                "upper_95": 54.7,
                "significance_vs_previous_year": "similar",
            },
            target=45.0,
        ),
        _indicator(
            "PCT_ATTR",
            "percent",
            {"data_status": "ok", "value": 12.5},
            lower_95=10.1,
            upper_95=15.3,
        ),
        _indicator("PCT_NONE", "percent", {"data_status": "ok", "value": 30.0}),
        _indicator(
            "PC_TOTAL",
            "count",
            {
                "data_status": "ok",
                "value": 1354,
                "rate_per_1000": 10.52,
                "rate_lower_95": 9.97,
                "rate_upper_95": 11.09,
            },
        ),
        _indicator("MISSING", "count", {"data_status": "missing", "value": None}),
        _indicator(
            "DIFF",
            "percent_diff",
            {"data_status": "ok", "value": -18.3},
            target=-12.0,
            comparator_label="Average of all MoJ authorities",
            history=[
                {"fiscal_quarter": "2014/15 Q1", "comparator_value": -2.0},
                {"fiscal_quarter": QUARTER, "comparator_value": -3.14},
            ],
        ),
    ]
    feeds = [
        FeedLine(
            feed="police_crime",
            partner=None,
            cadence=None,
            state="current",
            last_period=None,
            next_period=None,
            next_due=None,
            overdue_periods=None,
            suspension_reason=None,
            quarter_status="ok",
            quarter_note=None,
            indicator_count=6,
        )
    ]
    return ReportData(
        la_code="E08000031",
        la_name="Wolverhampton",
        quarter=QUARTER,
        quarter_start=date(2014, 7, 1),
        quarter_end=date(2014, 9, 30),
        as_of=date(2014, 12, 4),
        generated_at=datetime(2014, 12, 5, 9, 30),
        indicators=indicators,
        feeds=feeds,
    )


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    folder: Path = tmp_path_factory.mktemp("exports")
    return load_workbook(write_board_pack(_data(), folder))


def _rows(sheet) -> dict[str, dict[str, Any]]:
    """Table rows by code, as {header: cell}."""
    header = [c.value for c in sheet[3]]
    return {
        row[0].value: dict(zip(header, row, strict=False))
        for row in sheet.iter_rows(min_row=4)
        if row[0].value
    }


def test_title_and_dates_above_the_table(pack: Workbook) -> None:
    assert pack.sheetnames == ["Summary", "Violence", "Feed status"]
    for sheet in pack.worksheets:
        title = sheet["A1"].value
        assert title.startswith("Wolverhampton Community Safety Partnership (E08000031)")
        assert QUARTER in title and sheet["A1"].font.bold
        assert sheet["A2"].value == "Data as of 4 December 2014; generated 5 December 2014"
        assert sheet["A3"].value in ("Code", "Feed") and sheet["A3"].font.bold
        assert sheet.freeze_panes == "A4"
    assert [c.value for c in pack["Summary"][3]][: len(INDICATOR_COLUMNS)] == [
        name for name, _ in INDICATOR_COLUMNS
    ]


def test_print_setup_on_every_sheet(pack: Workbook) -> None:
    for sheet in pack.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows.replace("$", "") == "1:3"
        assert sheet.oddFooter.center.text == "Page &P of &N"


def test_percentages_are_fractions_and_counts_whole(pack: Workbook) -> None:
    for sheet in (pack["Summary"], pack["Violence"]):
        rows = _rows(sheet)
        pct = rows["PCT_ROW"]
        assert pct["This quarter"].value == pytest.approx(0.458)
        assert pct["This quarter"].number_format == "0.0%"
        assert pct["Same quarter last year"].value == pytest.approx(0.412)
        assert pct["Target"].value == pytest.approx(0.45)
        assert pct["Target"].number_format == "0.0%"
        diff = rows["DIFF"]
        assert diff["This quarter"].value == pytest.approx(-0.183)
        assert "%" in diff["This quarter"].number_format
        total = rows["PC_TOTAL"]
        assert total["This quarter"].value == 1354
        assert total["This quarter"].number_format == "#,##0"


def test_interval_beside_the_figure(pack: Workbook) -> None:
    rows = _rows(pack["Summary"])
    assert rows["PCT_ROW"]["95% interval"].value == (
        "35.6% to 54.7%; not significantly different from a year earlier"
    )
    assert rows["PCT_ATTR"]["95% interval"].value == "10.1% to 15.3%"
    assert rows["PCT_NONE"]["95% interval"].value is None
    assert rows["PC_TOTAL"]["95% interval"].value == (
        "9.97 to 11.09 per 1,000 residents (rate 10.52)"
    )


def test_comparator_beside_the_interval(pack: Workbook) -> None:
    rows = _rows(pack["Summary"])
    # The quarter's own comparator figure, not an earlier quarter's.
    assert rows["DIFF"]["Comparator"].value == "Average of all MoJ authorities: \u22123.1%"
    # No comparator group in the warehouse: an empty cell.
    assert rows["PCT_ROW"]["Comparator"].value is None


def test_interval_text_without_interval_fields() -> None:
    # A report model with none of the interval fields: no interval, and no error.
    assert interval_text(_indicator("X", "percent", {"value": 50.0})) is None


def test_missing_figures_are_explained_never_none(pack: Workbook) -> None:
    rows = _rows(pack["Summary"])
    assert rows["MISSING"]["This quarter"].value == "\u2013 missing"
    assert rows["PCT_ROW"]["Year to date"].value == "\u2013 no data"
    for sheet in pack.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and "None" in cell.value), (
                    sheet.title,
                    cell.coordinate,
                )
