"""Stage a workbook in DuckDB: each sheet of the contract as the all-text relation
``src_<table>``, with each row's row number.

Rows are read one at a time from a workbook ``ingest.workbook`` has opened within its limits.
The sheet's layout is checked on the way (title naming the file's quarter, header on its
agreed row, one block of records with nothing below it), and each cell becomes the text the
CSV path would have seen, so the same rules then run over either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.contracts import Column, FeedContract, Table
from core.periods import Period
from core.problems import reject
from ingest.headers import HEADER_SEARCH_ROWS, check_header, find_header
from ingest.redaction import describe_text, safe_file_name
from ingest.row_rules import TOTALS_LABEL
from ingest.rule_sql import DATE_FORMAT
from ingest.workbook import open_workbook, sheet_rows

EXAMPLE_QUARTER = "2014/15 Q2"


def _cell_text(value: Any, column: Column) -> str | None:
    """Workbook cell -> the text the CSV path would have seen; dates must be real dates."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if column.type == "date" and isinstance(value, (datetime, date)):
        return value.strftime(DATE_FORMAT)
    if column.type == "date":
        # Marked so the check names it: a date typed as text is not a real Excel date.
        return f"\x01{value}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.strftime(DATE_FORMAT)
    return str(value)


def stage_workbook(
    con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract, period: Period
) -> None:
    """Each sheet of the contract becomes `src_<table>`, its rows read one at a time."""
    with open_workbook(path) as workbook:
        for table in contract.tables:
            if table.sheet not in workbook.sheetnames:
                found = ", ".join(safe_file_name(n, 40) for n in workbook.sheetnames[:20])
                raise reject(
                    "missing_sheet",
                    f"the workbook has no sheet named {table.sheet!r} (sheets found: {found})",
                )
            _register_sheet(con, sheet_rows(workbook[table.sheet]), table, period)


def _quarters_named(title: str) -> str:
    """What a title row says of its period, without quoting the title: it may be a record."""
    quarters = sorted(set(re.findall(r"\b\d{4}/\d{2} Q[1-4]\b", title)))
    if quarters:
        return "names " + ", ".join(quarters)
    return f"names no quarter such as {EXAMPLE_QUARTER!r} ({describe_text(title.strip())})"


def _empty_row(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _register_sheet(
    con: duckdb.DuckDBPyConnection, rows: Iterator[tuple[Any, ...]], table: Table, period: Period
) -> None:
    where = f"in sheet {table.sheet!r}"
    # Only the rows a header may be on are held at once: a sheet can hold far more below.
    top = list(islice(rows, max(HEADER_SEARCH_ROWS, table.header_row)))
    as_text = [[str(v) if v is not None else "" for v in r] for r in top]
    found_at = find_header(as_text, table)
    if found_at is not None and found_at != table.header_row - 1:
        above = (
            f"the title on row {table.title_row}, then blank rows down to the header"
            if table.title_row
            else "nothing above it"
        )
        raise reject(
            "layout",
            f"the header {where} is on row {found_at + 1}, but the agreed layout has it on row "
            f"{table.header_row} ({above})",
        )
    if len(top) < table.header_row:
        raise reject("layout", f"sheet {table.sheet!r} has no header on row {table.header_row}")
    if table.title_row:
        title = " ".join(str(v) for v in top[table.title_row - 1] if v is not None)
        if not title.strip():
            raise reject(
                "layout", f"row {table.title_row} of sheet {table.sheet!r} should be the title"
            )
        if period.label not in title:
            raise reject(
                "period_mismatch",
                f"the file name says {period.label} but the title of sheet {table.sheet!r} "
                f"(row {table.title_row}) {_quarters_named(title)}",
            )
    header = [str(v).strip() if v is not None else "" for v in top[table.header_row - 1]]
    while header and header[-1] == "":
        header.pop()
    check_header(header, table, f"{where} (row {table.header_row})")
    records = _sheet_records(chain(top[table.header_row :], rows), table, where)
    arrays = {"_row": pa.array(range(table.header_row + 1, table.header_row + 1 + len(records)))}
    for index, column in enumerate(table.columns):
        arrays[column.name] = pa.array([r[index] for r in records], type=pa.string())
    con.register(f"src_{table.name}_arrow", pa.table(arrays))
    con.execute(
        f"create or replace temp table src_{table.name} as select * from src_{table.name}_arrow"
    )


def _sheet_records(
    body: Iterator[tuple[Any, ...]], table: Table, where: str
) -> list[list[str | None]]:
    """The rows under the header as text, down to the first empty row, with nothing below it."""
    width = len(table.columns)
    records: list[list[str | None]] = []
    for offset, values in enumerate(body):
        if _empty_row(values):
            _check_nothing_below(body, table.header_row + 1 + offset, where)
            break
        cells = list(values) + [None] * (width - len(values))
        if any(v not in (None, "") for v in cells[width:]):
            raise reject("layout", f"a row {where} has values beyond the agreed columns")
        records.append([_cell_text(v, c) for v, c in zip(cells, table.columns, strict=False)])
    return records


def _check_nothing_below(rest: Iterator[tuple[Any, ...]], gap_row: int, where: str) -> None:
    """Refuse any value in the rows after the empty row ``gap_row`` that ends the data.

    Rows below a gap are either data that would be lost or a footnote / totals line. They are
    read to the end of the sheet, which ``sheet_rows`` bounds.
    """
    for row_no, values in enumerate(rest, start=gap_row + 1):
        if _empty_row(values):
            continue
        first = next((v for v in values if v not in (None, "")), "")
        if re.match(TOTALS_LABEL, str(first), re.IGNORECASE):
            raise reject(
                "totals_row",
                f"row {row_no} {where} is a totals row ({str(first).strip()!r}); send the case "
                "rows only, without totals",
                row_count=1,
                examples=[{"row": row_no}],
            )
        raise reject(
            "layout",
            f"row {row_no} {where} has values below the blank row {gap_row}: the table must "
            "be one block with nothing under it (no notes, totals or further cases)",
            row_count=1,
            examples=[{"row": row_no}],
        )
