"""Disclosure control, formula-injection escaping, the board pack and the analyst exports."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from exports.board_pack import INDICATOR_COLUMNS
from exports.disclosure import (
    METHOD_NOTE,
    SUPPRESSED,
    escape_cell,
    escape_row,
    escape_sql,
    sdc_count,
    sdc_percent,
)
from exports.report_data import read_report_data
from tests.test_report import QUARTER, SLUG, report_home  # noqa: F401 (the shared home)

# A board pack column's index in a row, by its header.
COLUMN = {title: index for index, (title, _) in enumerate(INDICATOR_COLUMNS)}

# --- statistical disclosure control (NHS England method) -----------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, 0),
        (1, SUPPRESSED),
        (3, SUPPRESSED),
        (7, SUPPRESSED),
        (8, 10),
        (9, 10),
        (10, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (744, 745),
        (1354, 1355),
        (1551, 1550),
        (None, None),
        (SUPPRESSED, SUPPRESSED),
        (7.0, SUPPRESSED),
        (12.0, 10),
    ],
)
def test_sdc_count(count, shown) -> None:
    assert sdc_count(count) == shown


def test_sdc_count_refuses_negative_counts() -> None:
    with pytest.raises(ValueError):
        sdc_count(-3)


def test_sdc_percent_from_unrounded_parts() -> None:
    # 18/24 = 75.0% unrounded (the rounded parts 20/25 would give 80.0%: never shown).
    assert sdc_percent(18, 24) == 75.0
    assert sdc_percent(77, 266) == round(100 * 77 / 266, 1)
    # Employment, 2014/15 Q2 year to date: 42/94 is published as 44.7% (40/95 would be 42.1%).
    assert sdc_percent(42, 94) == 44.7
    assert sdc_percent(42, 94, 44.68) == 44.7  # the warehouse's own value, to 1 dp
    assert sdc_percent(3, 24) == SUPPRESSED  # numerator suppressed
    assert sdc_percent(12, 6) == SUPPRESSED  # denominator suppressed
    assert sdc_percent(8, 8) == 100.0  # both parts 8 or more: shown
    assert sdc_percent(0, 40) == 0.0  # a count of 0 is shown, so is 0%
    assert sdc_percent(0, 0) is None
    assert sdc_percent(None, 40) is None


def test_method_note_states_the_rules() -> None:
    for words in (
        "1 to 7",
        "[c]",
        "nearest 5",
        "calculated from the unrounded figures",
        "numerator or denominator is from 1 to 7",
        "independently",
        "withheld",
    ):
        assert words in METHOD_NOTE


# --- formula injection --------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_escape_cell_prefixes_formula_text(text: str) -> None:
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Wolverhampton", "", "a=b", "MoJ: note", 5, -12.0, None, 3.5])
def test_escape_cell_leaves_safe_values(value) -> None:
    assert escape_cell(value) == value


def test_escape_row() -> None:
    assert escape_row(["=1", 2, "x"]) == ["'=1", 2, "x"]
    assert escape_row({"a": "@x", "b": -1}) == {"a": "'@x", "b": -1}


def test_escape_sql_matches_escape_cell() -> None:
    samples = DANGEROUS + ["Wolverhampton", "", "a=b", None]
    with duckdb.connect() as con:
        con.execute("create table t (v varchar)")
        con.executemany("insert into t values (?)", [[s] for s in samples])
        got = [r[0] for r in con.execute(f"select {escape_sql('v')} from t").fetchall()]
    assert got == [escape_cell(s) for s in samples]


# --- the board pack -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def board_pack(report_home: Path):  # noqa: F811
    return load_workbook(report_home / "exports" / f"board-pack-{SLUG}.xlsx")


def _rows_by_code(sheet) -> dict[str, list]:
    # Rows 1-2 are the title and dates, row 3 the header: the table starts at row 4.
    return {row[0].value: row for row in sheet.iter_rows(min_row=4) if row[0].value}


def test_board_pack_sheets(board_pack) -> None:
    assert board_pack.sheetnames == [
        "Summary",
        "Reducing Reoffending",
        "Substance Misuse",
        "Gangs and Youth Crime",
        "VAWG",
        "Violence",
        "Feed status",
    ]
    for sheet in board_pack.worksheets:
        assert sheet.freeze_panes == "A4", sheet.title
        assert sheet["A1"].font.bold and "Community Safety Partnership" in sheet["A1"].value
        assert QUARTER in sheet["A1"].value
        assert sheet["A2"].value.startswith("Data as of 4 December 2014; generated ")
        assert sheet["A3"].value in ("Code", "Feed") and sheet["A3"].font.bold
        assert sheet.column_dimensions["B"].width >= 20


def test_board_pack_print_setup(board_pack) -> None:
    for sheet in board_pack.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows.replace("$", "") == "1:3"
        assert "&P" in sheet.oddFooter.center.text


def test_board_pack_has_no_none(board_pack) -> None:
    for sheet in board_pack.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and "None" in cell.value), (
                    sheet.title,
                    cell.coordinate,
                    cell.value,
                )


def test_board_pack_known_figures(report_home: Path, board_pack) -> None:  # noqa: F811
    summary = _rows_by_code(board_pack["Summary"])
    vawg = _rows_by_code(board_pack["VAWG"])
    for rows in (summary, vawg):
        screened = rows["VA_SCREENED"]
        assert screened[COLUMN["Year to date"]].value == 1354 and isinstance(
            screened[COLUMN["Year to date"]].value, int
        )
        assert screened[COLUMN["Year to date"]].number_format == "#,##0"
        assert rows["VA_IDVA_HIGH_RISK"][COLUMN["Year to date"]].value == 205
        da = rows["VA_DA_CRIMES"]
        assert (da[COLUMN["Year to date"]].value, da[COLUMN["Same period last year"]].value) == (
            1551,
            1100,
        )
    ppv = summary["PV_PPV"]
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    expected = {i.code: i for i in data.indicators}
    assert ppv[COLUMN["This quarter"]].value == expected["PV_PPV"].row["value"]
    assert ppv[COLUMN["Year to date"]].value == expected["PV_PPV"].row["ytd_value"]
    # Percentages are stored as fractions with a percent format (45.8 -> 0.458, "45.8%").
    repeat = summary["VA_REPEAT_RATE"]
    assert (
        isinstance(repeat[COLUMN["This quarter"]].value, float)
        and repeat[COLUMN["This quarter"]].number_format == "0.0%"
    )
    assert repeat[COLUMN["This quarter"]].value == pytest.approx(
        expected["VA_REPEAT_RATE"].row["value"] / 100
    )
    for code, indicator in expected.items():
        if indicator.unit != "count" and isinstance(
            summary[code][COLUMN["This quarter"]].value, float
        ):
            assert "%" in summary[code][COLUMN["This quarter"]].number_format, code
            assert abs(summary[code][COLUMN["This quarter"]].value) <= 1, code


def test_board_pack_rag_cells(report_home: Path, board_pack) -> None:  # noqa: F811
    data = read_report_data(report_home / "warehouse.duckdb", QUARTER)
    summary = _rows_by_code(board_pack["Summary"])
    fills = {"Green": "00703C", "Amber": "FFBF47", "Red": "D4351C"}
    rated = 0
    for indicator in data.indicators:
        cell = summary[indicator.code][COLUMN["RAG"]]
        rag = indicator.row.get("rag_status")
        if rag:
            assert cell.value == rag  # in words, not only colour
            assert cell.fill.start_color.rgb.endswith(fills[rag])
            rated += 1
        else:
            assert cell.value in ("No target", "Not rated")
    # The MoJ's last figure is Green but suspended now: Not rated, with the reason.
    moj = summary["RR_REOFFEND_DIFF"]
    assert (
        moj[COLUMN["RAG"]].value == "Not rated"
        and "Transforming Rehabilitation" in moj[COLUMN["Commentary"]].value
    )
    assert moj[COLUMN["This quarter"]].value == "\u2013 suspended"
    assert rated == sum(1 for i in data.indicators if i.row.get("rag_status"))


def test_board_pack_feed_status(board_pack) -> None:
    rows = _rows_by_code(board_pack["Feed status"])
    assert {"police_crime", "rny_treatment", "idva_caseload", "moj_reoffending"} <= set(rows)
    moj = rows["moj_reoffending"]
    assert moj[4].value == "suspended" and "Transforming Rehabilitation" in moj[10].value


def test_board_pack_text_is_escaped(board_pack) -> None:
    for sheet in board_pack.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (
                        sheet.title,
                        cell.coordinate,
                        cell.value,
                    )


# --- the analyst exports ------------------------------------------------------------------


def test_every_mart_as_parquet_and_csv(report_home: Path) -> None:  # noqa: F811
    folder = report_home / "exports" / "marts"
    with duckdb.connect(str(report_home / "warehouse.duckdb"), read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main' "
                "and (table_name like 'dim_%' or table_name like 'fct_%')"
            ).fetchall()
        ]
        assert {"fct_indicator_quarter", "dim_indicator", "fct_crime"} <= set(marts)
        for table in marts:
            rows = con.execute(f"select count(*) from main.{table}").fetchone()[0]
            parquet = folder / f"{table}.parquet"
            assert con.execute(f"select count(*) from '{parquet}'").fetchone()[0] == rows
            with (folder / f"{table}.csv").open(newline="") as handle:
                assert sum(1 for _ in csv.DictReader(handle)) == rows, table


def test_mart_csv_text_is_escaped(tmp_path: Path) -> None:
    from exports.analyst import write_mart_exports

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table main.dim_x (name varchar, n integer)")
        con.execute("insert into main.dim_x values ('=cmd|calc', -5), ('plain', 3)")
        con.execute("create table main.other (v varchar)")
    written = write_mart_exports(warehouse, tmp_path / "marts")
    assert sorted(p.name for p in written) == ["dim_x.csv", "dim_x.parquet"]
    with (tmp_path / "marts" / "dim_x.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{"name": "'=cmd|calc", "n": "-5"}, {"name": "plain", "n": "3"}]


def test_dbt_docs_site(report_home: Path) -> None:  # noqa: F811
    docs = report_home / "exports" / "docs"
    assert (docs / "index.html").is_file() and (docs / "catalog.json").is_file()
    static = (docs / "static_index.html").read_text(encoding="utf-8")
    # The lineage from each mart back to its source feed is in the embedded manifest.
    assert "fct_indicator_quarter" in static and "source.csp." in static
