"""Stage a checked CSV in DuckDB: the all-text relation ``src``, with each row's line number.

DuckDB's own reader takes the file (never pandas), with the contract's columns and no
sniffing. Where it refuses the file, Python's reader finds the first malformed row and says
what it looks like: a footer, a row of the wrong width, an unclosed quote, mixed line breaks.
"""

from __future__ import annotations

import csv
import re
import sys
import tempfile
from pathlib import Path

import duckdb

from core.contracts import FeedContract, Table
from core.periods import Period
from core.problems import RejectedFile, reject
from ingest.csv_layout import check_csv_layout, csv_field_limit, titled_csv_block
from ingest.encoding import line_endings, utf8_copy
from ingest.limits import MAX_LINE_BYTES
from ingest.rule_sql import MAX_EXAMPLES

# Explicit columns and no sniffing: the contract, not DuckDB, says what the file holds.
CSV_READ_OPTIONS = (
    "header = true, auto_detect = false, delim = ',', quote = '\"', "
    "escape = '\"', strict_mode = true, null_padding = false, "
    f"max_line_size = {MAX_LINE_BYTES}"
)


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: Table, first_row: int) -> None:
    """Read a UTF-8 CSV (header on its first line) into `src`, all columns as text."""
    columns = {c.name: "varchar" for c in table.columns}
    try:
        con.execute(
            f"create or replace temp table src_raw as "
            f"select * from read_csv(?, {CSV_READ_OPTIONS}, columns = ?)",
            [str(path), columns],
        )
    except duckdb.Error as error:
        raise _structure_problem(path, table, first_row, error) from None
    con.execute(
        f"create or replace temp table src as "
        f"select row_number() over () + {first_row - 1} as _row, * from src_raw"
    )


def _first_line(error: Exception) -> str:
    """The reader's error without the file's contents: quoted text is left out."""
    first = str(error).strip().splitlines()[0][:300]
    return re.sub(r'"[^"]*"?|\'[^\']*\'?', "(…)", first)


def _structure_problem(path: Path, table: Table, first_row: int, error: Exception) -> RejectedFile:
    """Name the first malformed row of a CSV that DuckDB refused, and say what it looks like."""
    width = len(table.columns)
    bad: list[tuple[int, int]] = []  # (row, fields)
    total = 0
    try:
        with csv_field_limit(sys.maxsize), path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            next(reader, None)
            for index, record in enumerate(reader):
                total = index + 1
                if len(record) != width:
                    bad.append((first_row + index, len(record)))
    except csv.Error as parse_error:
        row = first_row + total
        return reject(
            "csv_structure",
            f"the file is not a well-formed CSV from row {row}: {parse_error} (an unclosed or "
            "stray quote?)",
            row_count=1,
            examples=[{"row": row}],
        )
    if not bad:
        crlf, lf = line_endings(path)
        if crlf and lf:
            return reject(
                "line_endings",
                f"the file mixes line endings ({crlf:,} lines end with CR LF, {lf:,} with LF "
                "alone), as when files from two programs are joined: save it again as CSV "
                "from one program",
            )
        return reject(
            "csv_structure",
            f"the file is not a well-formed CSV with the agreed columns ({_first_line(error)})",
        )
    last_row = first_row + total - 1
    trailing = [r for r, _ in bad] == list(range(bad[0][0], last_row + 1))
    if trailing and len(bad) <= 5:
        return reject(
            "footer_rows",
            f"the data is followed by {len(bad)} line(s) that are not data rows (a footnote, "
            f"a source line or a totals line?) from row {bad[0][0]}: send the data rows only",
            row_count=len(bad),
            examples=[{"row": r, "fields": n} for r, n in bad],
        )
    return reject(
        "csv_structure",
        f"{len(bad)} row(s) do not have the agreed {width} fields (a row with too many or too "
        f"few fields, or an unquoted comma), first at row {bad[0][0]} with {bad[0][1]}",
        row_count=len(bad),
        examples=[{"row": r, "fields": n} for r, n in bad[:MAX_EXAMPLES]],
    )


def stage_csv_file(con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract) -> None:
    """A plain CSV, header on line 1, once its encoding and layout are checked."""
    codec = check_csv_layout(path, contract)
    with utf8_copy(path, codec) as utf8:
        _stage_csv(con, utf8, contract.tables[0], first_row=2)


def stage_titled_csv(
    con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract, period: Period
) -> None:
    """A CSV with a title and a period line above the header and notes below the data."""
    table = contract.tables[0]
    lines = titled_csv_block(path, contract, period)
    with tempfile.TemporaryDirectory(prefix="csp-") as tmp:
        block = Path(tmp) / "data.csv"
        block.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _stage_csv(con, block, table, first_row=table.header_row + 1)
