"""Read a delivered file exactly as its contract describes it, check it, and make it loadable.

Every file goes through the same three steps, whatever its format:

1. *stage*: the bytes become an all-text relation ``src`` in a private in-memory DuckDB
   (CSVs through DuckDB's own reader, never pandas; workbooks through openpyxl);
2. *check*: the contract's rules run as SQL over ``src`` and every breach is collected with its
   rows, so a partner is told everything wrong with a file at once;
3. *type*: one SELECT turns ``src`` into the warehouse's raw columns, pseudonymising
   identifiers on the way, so personal data never reaches the warehouse connection.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.sqltypes import VARCHAR

from core.contracts import Column, FeedContract, Table
from core.periods import Period
from core.problems import Problem, RejectedFile, reject  # noqa: F401
from ingest.limits import MAX_COLUMNS, MAX_LINE_BYTES, MAX_ROWS
from ingest.pseudonymise import AGE_BAND_SQL, Pseudonymiser
from ingest.redaction import describe_cells, describe_text, safe_file_name
from ingest.workbook import open_workbook, sheet_rows

MAX_EXAMPLES = 20
EXAMPLE_QUARTER = "2014/15 Q2"
UTF8_BOM = codecs.BOM_UTF8
DATE_FORMAT = "%d/%m/%Y"
INT32_MAX = 2**31 - 1
# A cell that labels a totals line rather than a record ("Total", "Totals:", "Grand total").
TOTALS_LABEL = r"^\s*(grand\s+)?totals?\s*:?\s*$"
# How far down a file or sheet to look for a misplaced header.
HEADER_SEARCH_ROWS = 12
# A run of characters that is UTF-8 read as Windows-1252 ("JosÃ©" for "José", "â€™" for "’").
MOJIBAKE = re.compile("[\u00c2\u00c3][^\x00-\x7f]|\u00e2[^\x00-\x7f]{2}")
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


# ---------------------------------------------------------------------------------------------
# Stage: bytes -> all-text relation `src` with a `_row` column (the row number in the file)
# ---------------------------------------------------------------------------------------------


def _mojibake(text: str) -> tuple[str, str] | None:
    """The first run of ``text`` that is UTF-8 misread as Windows-1252, and what it should say."""
    # Every such run starts with one of three letters; str.find is far faster than the regex.
    if not any(lead in text for lead in "\u00c2\u00c3\u00e2"):
        return None
    for match in MOJIBAKE.finditer(text):
        try:
            meant = match.group().encode("cp1252").decode("utf-8")
        except UnicodeError:
            continue
        return match.group(), meant
    return None


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8 with at least one non-ASCII character."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()


def _saved_as_utf8(contract: FeedContract) -> RejectedFile:
    return reject(
        "encoding",
        f"the file is saved as UTF-8, but this feed is sent in {contract.encoding} "
        "(Windows-1252): its accented letters and symbols would load garbled (e.g. "
        "'é' as 'Ã©'); export it again as Windows-1252 ('CSV', not 'CSV UTF-8')",
    )


def _check_encoding(path: Path, contract: FeedContract) -> str:
    """Check the byte-order mark, decodability and completeness; return the codec to read with.

    Also catches the ways a re-saved file goes wrong without failing to decode: a file meant
    to be Windows-1252 saved as UTF-8, text that was UTF-8 read as Windows-1252 and saved
    again (mojibake), a file of nothing but blank lines, and a file cut off mid-line.
    """
    with path.open("rb") as handle:
        head = handle.read(len(UTF8_BOM) * 2)
    if not head:
        raise reject("empty_file", "the file is empty (0 bytes)")
    has_bom = head.startswith(UTF8_BOM)
    if contract.byte_order_mark == "required" and not has_bom:
        raise reject(
            "byte_order_mark",
            "the file has no UTF-8 byte-order mark; this extract is saved from Excel as "
            "'CSV UTF-8' and always starts with one",
        )
    if head.startswith(UTF8_BOM * 2):
        raise reject("byte_order_mark", "the file starts with two byte-order marks")
    if contract.byte_order_mark == "forbidden" and has_bom:
        raise reject(
            "byte_order_mark",
            f"the file starts with a UTF-8 byte-order mark, but this feed is sent in "
            f"{contract.encoding}",
        )
    codec = "utf-8-sig" if contract.encoding == "utf-8" else contract.encoding or "utf-8"
    single_byte = codec not in ("utf-8", "utf-8-sig")
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    # For a single-byte feed: does the file also read as UTF-8 (with non-ASCII in it)?
    utf8_probe = codecs.getincrementaldecoder("utf-8")(errors="strict")
    utf8_ok, non_ascii, has_content = True, False, False
    line_no, offset, carry, last = 1, 0, "", b""
    line_length, saw_cr = 0, False  # bytes of the current line so far; any CR in the file
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            saw_cr = saw_cr or b"\r" in chunk
            line_length = _check_line_lengths(chunk, line_length, line_no, saw_cr)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_at = offset + error.start
                if single_byte and _is_utf8(path):
                    raise _saved_as_utf8(contract) from None
                raise reject(
                    "encoding",
                    f"the file is not valid {contract.encoding}: byte 0x{chunk[error.start]:02x} "
                    f"at byte offset {bad_at} (about line {line_no})",
                    row_count=1,
                    examples=[{"byte_offset": bad_at}],
                ) from None
            if "\x00" in text:
                raise reject("nul_bytes", "the file contains NUL bytes (a binary or damaged file)")
            if single_byte:
                non_ascii = non_ascii or not chunk.isascii()
                if utf8_ok:
                    try:
                        utf8_probe.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
            elif not chunk.isascii():
                found = _mojibake(carry + text)
                if found:
                    raise reject(
                        "mojibake",
                        f"the file holds garbled characters such as {found[0]!r} (about line "
                        f"{line_no}), which is {found[1]!r} after being read with the wrong "
                        "encoding and saved again; export the file afresh from the source "
                        "system as UTF-8",
                        row_count=1,
                        examples=[{"line": line_no, "found": found[0], "meant": found[1]}],
                    )
            if not single_byte:
                carry = text[-2:]
            has_content = has_content or bool(text.strip())
            line_no += text.count("\n")
            if line_no > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise reject(
                    "too_many_rows",
                    f"the file has more than {MAX_ROWS:,} lines, more than any delivery of "
                    "this feed could hold: send one period per file",
                )
            offset += len(chunk)
            last = chunk[-1:]
    if single_byte and non_ascii and utf8_ok:
        try:
            utf8_probe.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
        if utf8_ok:
            raise _saved_as_utf8(contract)
    if not has_content:
        raise reject("empty_file", "the file holds no header and no data, only blank lines")
    if saw_cr and line_no == 1:
        raise _cr_line_endings()
    if contract.ends_with_newline and last != b"\n":
        raise reject(
            "truncated",
            f"the file ends part-way through line {line_no} (the last line has no line break): "
            "it looks cut short, e.g. an upload that did not finish; send the whole file again",
            row_count=1,
            examples=[{"line": line_no}],
        )
    return codec


def _cr_line_endings() -> RejectedFile:
    return reject(
        "line_endings",
        "the lines of the file end with a carriage return alone (the old Mac format), which "
        "is not a line break to a CSV reader: save it again as CSV with Windows (CR LF) or "
        "Unix (LF) line endings",
    )


def _line_endings(path: Path) -> tuple[int, int]:
    """How many line breaks of the file are CR LF, and how many LF alone."""
    crlf = lf = 0
    ended_with_cr = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            crlf += chunk.count(b"\r\n") + (ended_with_cr and chunk.startswith(b"\n"))
            lf += chunk.count(b"\n")
            ended_with_cr = chunk.endswith(b"\r")
    return crlf, lf - crlf


def _check_line_lengths(chunk: bytes, carried: int, line_no: int, saw_cr: bool) -> int:
    """Refuse a line longer than ``MAX_LINE_BYTES``; return the length of the chunk's last line.

    A chunk is ``MAX_LINE_BYTES`` long, so a line too long always runs across a chunk's end:
    only the line carried over from earlier chunks needs counting.
    """
    first = chunk.find(b"\n")
    if first == -1:
        carried += len(chunk)
    elif carried + first <= MAX_LINE_BYTES:
        return len(chunk) - chunk.rfind(b"\n") - 1
    if carried > MAX_LINE_BYTES or first != -1:
        if saw_cr and line_no == 1:
            raise _cr_line_endings()
        raise _line_too_long(line_no)
    return carried


@contextmanager
def _utf8_copy(path: Path, codec: str) -> Iterator[Path]:
    """A UTF-8 view of the file for DuckDB, which reads only UTF-8 without extensions."""
    if codec in ("utf-8", "utf-8-sig"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="csp-") as tmp:
        target = Path(tmp) / path.name
        with path.open("r", encoding=codec, newline="") as src, target.open(
            "w", encoding="utf-8", newline=""
        ) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        yield target


def _normal_name(name: str) -> str:
    return " ".join(name.replace("\xa0", " ").split())


def _trimmed(values: list[str]) -> list[str]:
    values = list(values)
    while values and values[-1].strip() == "":
        values.pop()
    return values


def _find_header(rows: list[list[str]], table: Table) -> int | None:
    """The 0-based index of the first of ``rows`` that is exactly the agreed header."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _trimmed(row) == table.source_names:
            return index
    return None


def _check_header(found: list[str], table: Table, where: str) -> None:
    """The header must be exactly the agreed column names, in order.

    Only agreed names are quoted back: a cell that is not one may be the first record of a
    file sent without its header (a client's ID, name or date of birth), so it is described
    by position, length and kinds of character, never repeated (SECURITY.md).
    """
    expected = table.source_names
    if found == expected:
        return
    if len(found) > MAX_COLUMNS:
        raise reject(
            "too_many_columns",
            f"the header {where} has {len(found):,} columns, more than the {MAX_COLUMNS} any "
            f"file may have; this feed has {len(expected)}: is it the right file?",
            examples=[{"columns_found": len(found), "columns_agreed": len(expected)}],
        )
    known = set(expected)
    missing = [c for c in expected if c not in found]
    extra = [(index, cell) for index, cell in enumerate(found, start=1) if cell not in known]
    examples = [{"expected": expected, "found": describe_cells(found, known)}]
    spaced = {m: index for index, cell in extra for m in missing if _normal_name(cell) == m}
    if spaced:
        raise reject(
            "header",
            f"the header {where} has stray or non-breaking spaces in column names: "
            + ", ".join(f"{m!r} (column {index})" for m, index in spaced.items()),
            column=next(iter(spaced)),
            examples=examples,
        )
    if extra and len(missing) == len(expected):
        message = (f"the file has no header {where}: it holds none of the agreed column names "
                   f"({', '.join(repr(c) for c in expected[:3])}, ...); add the header row, "
                   "exactly as agreed, above the data")
    elif missing or extra:
        detail = []
        if missing:
            detail.append("missing " + ", ".join(repr(c) for c in missing))
        if extra:
            shown = [f"column {index} ({describe_text(cell)})" for index, cell in extra[:5]]
            more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
            detail.append("unrecognised " + ", ".join(shown) + more)
        message = f"the header {where} does not match the agreed columns: " + "; ".join(detail)
    elif len(found) != len(set(found)):
        message = f"the header {where} repeats a column"
    else:
        message = f"the columns {where} are in a different order from the agreed one"
    raise reject("header", message, examples=examples)


# Explicit columns and no sniffing: the contract, not DuckDB, says what the file holds.
CSV_READ_OPTIONS = ("header = true, auto_detect = false, delim = ',', quote = '\"', "
                    "escape = '\"', strict_mode = true, null_padding = false, "
                    f"max_line_size = {MAX_LINE_BYTES}")


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


def _structure_problem(path: Path, table: Table, first_row: int, error: Exception
                       ) -> RejectedFile:
    """Name the first malformed row of a CSV that DuckDB refused, and say what it looks like."""
    width = len(table.columns)
    bad: list[tuple[int, int]] = []  # (row, fields)
    total = 0
    try:
        with _csv_field_limit(sys.maxsize), path.open(encoding="utf-8-sig",
                                                      newline="") as handle:
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
        crlf, lf = _line_endings(path)
        if crlf and lf:
            return reject(
                "line_endings",
                f"the file mixes line endings ({crlf:,} lines end with CR LF, {lf:,} with LF "
                "alone), as when files from two programs are joined: save it again as CSV "
                "from one program",
            )
        return reject("csv_structure", "the file is not a well-formed CSV with the agreed "
                      f"columns ({_first_line(error)})")
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


def _read_line(handle: io.TextIOBase, line_no: int) -> str:
    """One line of a text file, refused past ``MAX_LINE_BYTES`` rather than read whole."""
    line = handle.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise _line_too_long(line_no)
    return line


def _line_too_long(line_no: int) -> RejectedFile:
    return reject(
        "line_too_long",
        f"line {line_no} is longer than {MAX_LINE_BYTES:,} characters, far more than any row "
        "of this feed: the file is damaged, is not this feed's CSV, or its line breaks were "
        "lost",
        row_count=1, examples=[{"line": line_no}],
    )


def _parse_line(line: str, line_no: int) -> list[str]:
    """The fields of one CSV line; a line Python's reader refuses is a named rejection."""
    try:
        with _csv_field_limit(MAX_LINE_BYTES):
            return next(csv.reader([line]), [])
    except csv.Error as error:
        raise reject("csv_structure", f"line {line_no} cannot be read as CSV ({error})",
                     row_count=1, examples=[{"line": line_no}]) from None


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Python's CSV reader with another field limit (its default, 128 KiB, is a process-wide
    setting), put back afterwards."""
    before = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def check_csv_layout(path: Path, contract: FeedContract) -> str:
    """The file-level checks of a plain CSV (encoding, completeness, header); return its codec."""
    table = contract.tables[0]
    codec = _check_encoding(path, contract)
    with path.open("r", encoding=codec, newline="") as handle:
        header = _parse_line(_read_line(handle, 1), 1)
        if header != table.source_names:
            top = [header] + [_parse_line(_read_line(handle, line_no), line_no)
                              for line_no in range(2, HEADER_SEARCH_ROWS + 2)]
            found_at = _find_header(top, table)
            if found_at:
                raise reject(
                    "layout",
                    f"the header is on line {found_at + 1}, but it must be on line 1: remove "
                    "the title or blank lines above it",
                )
    _check_header(header, table, "on line 1")
    return codec


def _stage_csv_file(con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract) -> None:
    codec = check_csv_layout(path, contract)
    with _utf8_copy(path, codec) as utf8:
        _stage_csv(con, utf8, contract.tables[0], first_row=2)


def _stage_titled_csv(
    con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract, period: Period
) -> None:
    """A CSV with a title and a period line above the header and notes below the data."""
    table = contract.tables[0]
    codec = _check_encoding(path, contract)
    lines = path.read_text(encoding=codec).splitlines()
    header_at = table.header_row - 1
    # Python's reader, with the field limit the rest of the file is held to (a field of
    # hundreds of kilobytes is then named by field_too_long, not a crash).
    top = [_parse_line(line, n) for n, line in enumerate(lines[:HEADER_SEARCH_ROWS], start=1)]
    found_at = _find_header(top, table)
    if found_at is not None and found_at != header_at:
        raise reject(
            "layout",
            f"the header is on line {found_at + 1}, but the agreed layout has it on line "
            f"{table.header_row} (the title on line 1, the period on line {table.period_row}, "
            "then a blank line): title or blank lines were added or removed",
        )
    if len(lines) <= header_at:
        raise reject("layout", f"the file has fewer than {table.header_row} lines")
    if not lines[0].strip() or "," in lines[0].strip().rstrip(","):
        raise reject("layout", "line 1 should be the table's title, not data or a header")
    if table.period_row:
        _check_period_line(lines[table.period_row - 1], period, table.period_row)
    for index in range(1, header_at):
        if index != (table.period_row or 0) - 1 and lines[index].strip(", "):
            raise reject("layout", f"line {index + 1} should be blank (the header is on line "
                         f"{table.header_row})")
    _check_header(_parse_line(lines[header_at], table.header_row), table,
                  f"on line {table.header_row}")
    end = header_at + 1
    while end < len(lines) and lines[end].strip(", "):
        end += 1
    trailing = [(i + 1, line) for i, line in enumerate(lines[end:], start=end) if line.strip(", ")]
    if trailing and not re.fullmatch(r"\s*Notes:?\s*,*", trailing[0][1]):
        raise reject(
            "layout",
            f"line {trailing[0][0]} follows a blank line after the data but is not the "
            "'Notes:' block",
        )
    if table.footer == "notes" and not trailing:
        raise reject(
            "layout",
            "the file ends without the blank line and 'Notes:' block that follow the table: "
            "it may be cut short, or the notes were removed",
        )
    with tempfile.TemporaryDirectory(prefix="csp-") as tmp:
        block = Path(tmp) / "data.csv"
        block.write_text("\n".join(lines[header_at:end]) + "\n", encoding="utf-8")
        _stage_csv(con, block, table, first_row=table.header_row + 1)


def _check_period_line(line: str, period: Period, line_no: int) -> None:
    match = re.fullmatch(
        r"\s*Period:\s*([A-Za-z]+) (\d{4}) to ([A-Za-z]+) (\d{4})\s*,*", line
    )
    if not match or match[1] not in MONTHS or match[3] not in MONTHS:
        raise reject(
            "layout",
            f"line {line_no} should state the period, e.g. 'Period: October 2013 to December "
            f"2013'; it holds something else ({describe_text(line.strip())})",
        )
    start = date(int(match[2]), MONTHS.index(match[1]) + 1, 1)
    end_month = (int(match[4]), MONTHS.index(match[3]) + 1)
    if start != period.start or end_month != (period.end.year, period.end.month):
        raise reject(
            "period_mismatch",
            f"the file name says {period.label} ({period.start:%B %Y} to {period.end:%B %Y}) "
            f"but line {line_no} gives {match[1]} {match[2]} to {match[3]} {match[4]}",
        )


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


def _stage_workbook(
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
    found_at = _find_header(as_text, table)
    if found_at is not None and found_at != table.header_row - 1:
        above = (f"the title on row {table.title_row}, then blank rows down to the header"
                 if table.title_row else "nothing above it")
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
            raise reject("layout", f"row {table.title_row} of sheet {table.sheet!r} should be "
                         "the title")
        if period.label not in title:
            raise reject(
                "period_mismatch",
                f"the file name says {period.label} but the title of sheet {table.sheet!r} "
                f"(row {table.title_row}) {_quarters_named(title)}",
            )
    header = [str(v).strip() if v is not None else "" for v in top[table.header_row - 1]]
    while header and header[-1] == "":
        header.pop()
    _check_header(header, table, f"{where} (row {table.header_row})")
    records = _sheet_records(chain(top[table.header_row:], rows), table, where)
    arrays = {"_row": pa.array(range(table.header_row + 1, table.header_row + 1 + len(records)))}
    for index, column in enumerate(table.columns):
        arrays[column.name] = pa.array([r[index] for r in records], type=pa.string())
    con.register(f"src_{table.name}_arrow", pa.table(arrays))
    con.execute(f"create or replace temp table src_{table.name} as "
                f"select * from src_{table.name}_arrow")


def _sheet_records(body: Iterator[tuple[Any, ...]], table: Table, where: str
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
        records.append([_cell_text(v, c) for v, c in zip(cells, table.columns)])
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
                row_count=1, examples=[{"row": row_no}],
            )
        raise reject(
            "layout",
            f"row {row_no} {where} has values below the blank row {gap_row}: the table must "
            "be one block with nothing under it (no notes, totals or further cases)",
            row_count=1, examples=[{"row": row_no}],
        )


# ---------------------------------------------------------------------------------------------
# Check: the contract's rules as SQL over `src`
# ---------------------------------------------------------------------------------------------


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_sql_str(v) for v in values) + ")"


@dataclass(frozen=True)
class PeriodSql:
    """The file's period as SQL: literals for one file, per-row columns for a bulk relation."""

    start: str
    end: str
    label: str

    @classmethod
    def of(cls, period: Period) -> "PeriodSql":
        """The literals of one delivery's period."""
        return cls(f"date '{period.start}'", f"date '{period.end}'", _sql_str(period.label))


# A bulk relation (ingest.bulk) carries each row's file period in these columns.
BULK_PERIOD = PeriodSql("_period_start", "_period_end", "_period_label")


# Numbers are stored as doubles, which hold every whole number up to 2**53 exactly and round
# beyond it; the exports also cast figures to 64-bit integers, which 2**53 is well within.
EXACT_WHOLE_MAX = 2**53


def _beyond_exact(c: str) -> str:
    """SQL: the number written in text column ``c`` is larger in magnitude than 2**53.

    Judged on the digits as written, not on the double they parse to: 2**53 + 1 parses to
    2**53 and would pass. Digits too many for a 128-bit integer (which includes any number
    too large for a double, so an infinite one) are too large too.
    """
    whole = f"try_cast(regexp_extract({c}, '^-?0*(\\d+)', 1) as hugeint)"
    return f"coalesce({whole} > {EXACT_WHOLE_MAX}, true)"


def _column_rules(column: Column, table: Table, period: Period | None,
                  bounds: PeriodSql | None = None, *, screen: bool = False
                  ) -> list[tuple[str, str, str]]:
    """(rule, SQL condition that is true for a bad row, message) for one column.

    ``bounds`` replaces the period's literals in the conditions (messages still name
    ``period``). ``screen`` drops what only keeps one bad value from counting under two
    rules, for a screen that asks whether any rule is broken (a quarter of its scan).
    """
    bounds = bounds or PeriodSql.of(period)
    c = column.name
    label = f"column {column.source!r}"
    rules: list[tuple[str, str, str]] = []
    present = f"{c} is not null"
    if column.suppressible and table.suppression_marker:
        present += f" and {c} <> {_sql_str(table.suppression_marker)}"
    if column.required:
        rules.append(("required", f"{c} is null", f"{label} is blank but must have a value"))
    if column.type == "date":
        valid = (f"regexp_full_match({c}, '\\d{{2}}/\\d{{2}}/\\d{{4}}') "
                 f"and try_strptime({c}, '{DATE_FORMAT}') is not null")
        # A value that breaks date_format is not also a future date, or one after the period.
        parses = "" if screen else f" and ({valid})"
        rules.append(("date_format", f"{present} and not ({valid})",
                      f"{label} must hold dates written dd/mm/yyyy (or real Excel dates in a "
                      f"workbook)"))
        parsed = f"try_strptime({c}, '{DATE_FORMAT}')::date"
        not_future = ""
        if table.no_future_dates:
            today = date.today()
            rules.append((
                "future_date",
                f"{present}{parses} and {parsed} > date '{today}'",
                f"{label} has dates in the future (after today, {today:%d/%m/%Y})",
            ))
            not_future = f" and {parsed} <= date '{today}'"
        if column.not_after_period:
            # A later month's file repeats earlier crimes with their original dates (a crime
            # cancelled after review), so only a date after the file's period is wrong.
            rules.append((
                "date_after_period",
                f"{present}{parses} and {parsed} > {bounds.end}{not_future}",
                f"{label} has dates after the end of the file's period "
                + (f"{period.label} ({period.end:%d/%m/%Y})" if period else ""),
            ))
    elif column.type == "quarter":
        # 'yyyy/yy Qn' with consecutive years; labels of one width sort in time order.
        valid = (f"regexp_full_match({c}, '\\d{{4}}/\\d{{2}} Q[1-4]') and "
                 f"(try_cast(substr({c}, 1, 4) as integer) + 1) % 100 = "
                 f"try_cast(substr({c}, 6, 2) as integer)")
        rules.append(("quarter_format", f"{present} and not ({valid})",
                      f"{label} must hold financial quarters written like '2014/15 Q2'"))
        if column.not_after_period:
            parses = "" if screen else f" and ({valid})"
            rules.append(("period_after_file",
                          f"{present}{parses} and {c} > {bounds.label}",
                          f"{label} has quarters after the file's own quarter "
                          + (period.label if period else "")))
    elif column.type == "month":
        valid = f"regexp_full_match({c}, '\\d{{4}}-(0[1-9]|1[0-2])')"
        rules.append(("month_format", f"{present} and not ({valid})",
                      f"{label} must hold months written like '2018-01'"))
        if column.matches_period:
            parses = "" if screen else f" and ({valid})"
            rules.append(("month_mismatch", f"{present}{parses} and {c} <> {bounds.label}",
                          f"{label} has months other than the one in the file name"
                          + (f" ({period.label})" if period else "")))
    elif column.type == "integer":
        pattern = r"-?\d{1,3}(,\d{3})+|-?\d+" if column.thousands else r"-?\d+"
        # The cast too: the raw column is a 32-bit integer, and a value it cannot hold must
        # be named here, not crash the load.
        fits = f"try_cast(replace({c}, ',', '') as integer) is not null"
        rules.append(("integer",
                      f"{present} and not (regexp_full_match({c}, '{pattern}') and {fits})",
                      f"{label} must hold whole numbers (at most {INT32_MAX:,} either side "
                      f"of zero)"))
    elif column.type == "number":
        written = f"regexp_full_match({c}, '-?\\d+(\\.\\d+)?')"
        rules.append(("number",
                      f"{present} and not ({written} and try_cast({c} as double) is not null)",
                      f"{label} must hold numbers"))
        # A workbook cell holding 1e300 reaches us as its 301 digits, a well-formed number
        # that no export could write (they round figures through a 64-bit whole number).
        well_formed = "" if screen else f" and {written}"
        rules.append(("number_too_large", f"{present}{well_formed} and {_beyond_exact(c)}",
                      f"{label} has numbers larger than the warehouse can hold exactly, which "
                      f"is at most {EXACT_WHOLE_MAX:,} either side of zero (2 to the power 53, "
                      "the largest whole number it stores without rounding)"))
    elif column.type == "flag":
        rules.append(("allowed_values", f"{present} and {c} not in ('Y', 'N')",
                      f"{label} must be Y or N"))
    elif column.type == "yes_no":
        rules.append(("allowed_values", f"{present} and {c} not in ('Yes', 'No')",
                      f"{label} must be Yes or No"))
    if column.allowed:
        rules.append(("allowed_values", f"{present} and {c} not in {_sql_list(column.allowed)}",
                      f"{label} has values outside the agreed list "
                      f"({', '.join(column.allowed)})"))
    if column.reference:
        rules.append(("unknown_code",
                      f"{present} and trim({c}) not in {_sql_list(column.reference)}",
                      f"{label} has codes that are not in the reference list "
                      f"{Path(column.reference_name or '').name}"))
    numeric = f"try_cast(replace({c}, ',', '') as double)"
    if column.type == "number" and not screen:
        # A number too large to hold is named as such, not also as out of range.
        numeric = f"(case when not {_beyond_exact(c)} then {numeric} end)"
    if column.minimum is not None:
        rules.append(("range", f"{present} and {numeric} < {column.minimum}",
                      f"{label} must not be below {column.minimum:g}"))
    if column.maximum is not None:
        rules.append(("range", f"{present} and {numeric} > {column.maximum}",
                      f"{label} must not be above {column.maximum:g}"))
    return rules


def _counts(con: duckdb.DuckDBPyConnection, relation: str, conditions: list[str]) -> list[int]:
    """How many rows meet each condition, in one scan of the relation."""
    if not conditions:
        return []
    counted = ", ".join(f"count(*) filter (where {c})" for c in conditions)
    return list(con.execute(f"select {counted} from {relation}").fetchall()[0])


def _example_rows(
    con: duckdb.DuckDBPyConnection, relation: str, condition: str, column: Column
) -> list[dict[str, Any]]:
    rows = con.execute(
        f"select _row, {column.name} from {relation} where {condition} order by _row limit ?",
        [MAX_EXAMPLES],
    ).fetchall()
    # Personal data is never echoed back, even into a rejection note.
    return [
        {"row": r, "value": "(withheld: personal data)" if column.pii
         else (v.lstrip("\x01") if isinstance(v, str) else v)}
        for r, v in rows
    ]


def _examples(
    con: duckdb.DuckDBPyConnection, relation: str, condition: str, column: Column
) -> tuple[int, list[dict[str, Any]]]:
    [count] = _counts(con, relation, [condition])
    return count, (_example_rows(con, relation, condition, column) if count else [])


def _row_numbers(con: duckdb.DuckDBPyConnection, relation: str, condition: str) -> list[int]:
    return [r for (r,) in con.execute(
        f"select _row from {relation} where {condition} order by _row limit {MAX_EXAMPLES}"
    ).fetchall()]


def check_table(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, period: Period,
    partner: str | None = None,
) -> list[Problem]:
    """Every contract rule broken by the staged relation, with counts and example rows."""
    problems: list[Problem] = []
    total = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    if total == 0:
        where = f" in sheet {table.sheet!r}" if table.sheet else ""
        return [Problem("no_data", f"the file has a header but no data rows{where}")]
    problems.extend(_row_problems(con, relation, table))
    problems.extend(_period_problems(con, relation, table, period))
    # Every column rule counted in one scan; examples fetched only for the rules broken.
    rules = [(column, *rule) for column in table.columns
             for rule in _column_rules(column, table, period)]
    counts = _counts(con, relation, [condition for _, _, condition, _ in rules])
    for (column, rule, condition, message), count in zip(rules, counts, strict=True):
        if count:
            problems.append(Problem(rule, f"{message}: {count} row(s)", column.source,
                                    count, _example_rows(con, relation, condition, column)))
    problems.extend(_key_problems(con, relation, table))
    problems.extend(_catalogue_problems(con, relation, table, partner))
    return problems


def files_breaking_rules(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> set[int]:
    """The files (``_file``) of a bulk relation that break a rule ``check_table`` reports.

    A screen, one scan per kind of rule over many files at once: it counts, it does not
    explain. A file it names is read again on its own, so the partner gets the same detailed
    rejection as ever. ``relation`` holds ``_file``, ``_row`` and the ``BULK_PERIOD`` columns
    beside the contract's text columns; tables with a catalogue are not screened this way.
    """
    if table.owner_column and table.catalogue:
        raise ValueError(f"table {table.name!r} has an indicator catalogue: read it alone")
    conditions = [_is_totals_label(c) for c in table.columns]
    conditions += [f"length({c.name}) > {table.max_field_length}" for c in table.columns]
    conditions += [condition for column in table.columns
                   for _, condition, _ in _column_rules(column, table, None, BULK_PERIOD,
                                                        screen=True)]
    broken = " or ".join(f"({c})" for c in conditions)
    failing = {f for (f,) in con.execute(
        f"select distinct _file from {relation} where {broken}").fetchall()}
    if table.period_column and table.period_majority is not None:
        d = f"try_strptime({table.column(table.period_column).name}, '{DATE_FORMAT}')::date"
        failing |= {f for (f,) in con.execute(
            f"""
            select _file from {relation} group by _file
            having count({d}) > 0 and count(*) filter (
                where {d} between _period_start and _period_end) / count({d}) < ?
            """, [table.period_majority]).fetchall()}
    keys = [k for k in table.record_key if k in {c.name for c in table.columns}]
    if keys:
        failing |= {f for (f,) in con.execute(
            f"""
            select distinct _file from {relation}
            where {' and '.join(f'{k} is not null' for k in keys)}
            group by _file, {', '.join(keys)} having count(*) > 1
            """).fetchall()}
    return failing


def _catalogue_problems(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, partner: str | None
) -> list[Problem]:
    """Indicator returns: known codes, owned by the sender, percentages agreeing with parts,
    and values the indicator can take (by its unit, and its own range in the catalogue)."""
    if not table.owner_column or not table.catalogue:
        return []
    rows = ", ".join(f"({_sql_str(i.code)}, {_sql_str(i.owner)}, {_sql_str(i.unit)}, "
                     f"{_sql_number(i.minimum)}, {_sql_number(i.maximum)})"
                     for i in table.catalogue)
    con.execute(f"create or replace temp table catalogue as "
                f"select * from (values {rows}) as t(code, owner, unit, min_value, max_value)"
                ).fetchall()
    code = table.column(table.owner_column)
    joined = (f"(select r.*, c.owner, c.unit, c.min_value, c.max_value from {relation} r "
              f"left join catalogue c on trim(r.{code.name}) = c.code)")
    number = "try_cast({} as double)"
    num, den, val = (number.format(n) for n in ("numerator", "denominator", "value"))
    rules = [
        ("unknown_code", f"{code.name} is not null and unit is null",
         f"column {code.source!r} has codes that are not in the indicator catalogue"),
        ("not_owner", f"unit is not null and coalesce(owner, '') <> {_sql_str(partner or '')}",
         f"column {code.source!r} has indicators that {partner or 'this partner'} does not "
         "own, so may not return"),
        ("ratio_parts_missing",
         f"unit = 'percent' and ({num} is null or {den} is null or {den} = 0)",
         "percentages need a Numerator and a non-zero Denominator"),
        ("ratio_inconsistent",
         f"unit = 'percent' and {den} > 0 and abs({val} - 100 * {num} / {den}) > 0.1",
         "'Value' must equal 100 × Numerator / Denominator (to within 0.1)"),
        ("count_with_parts",
         "unit = 'count' and (numerator is not null or denominator is not null)",
         "counts give 'Value' only: leave Numerator and Denominator blank"),
        ("integer", f"unit = 'count' and {val} <> round({val})",
         "counts must be whole numbers"),
    ]
    problems = []
    for rule, condition, message in rules:
        count, examples = _examples(con, joined, condition, code)
        if count:
            problems.append(Problem(rule, f"{message}: {count} row(s)", code.source, count,
                                    examples))
    problems.extend(_plausibility_problems(con, joined, table))
    return problems


def _sql_number(value: float | None) -> str:
    return "null::double" if value is None else f"{value!r}::double"


def _plausibility_problems(con: duckdb.DuckDBPyConnection, joined: str, table: Table
                           ) -> list[Problem]:
    """Returned figures no indicator can take, each its own rule, naming its limit and rows.

    ``ratio_inconsistent`` only compares Value with its parts, so 50 / 41 returned as 122%
    passes it and would publish a percentage over 100 (and a RAG it does not deserve).
    """
    code = table.column(table.owner_column or "")
    value, numerator, denominator = (table.column(n) for n in ("value", "numerator",
                                                                "denominator"))
    num, den, val = (f"try_cast({n} as double)" for n in ("numerator", "denominator", "value"))
    problems = []
    rules = [
        ("negative_count", value, None, f"unit = 'count' and {val} < 0",
         f"column {value.source!r} has counts below 0 (a count cannot be negative)"),
        ("numerator_above_denominator", numerator, denominator,
         f"unit = 'percent' and {num} > {den}",
         f"column {numerator.source!r} is larger than {denominator.source!r} (a percentage's "
         f"{numerator.source} counts some of its {denominator.source}, so can be at most the "
         f"{denominator.source}, and {value.source!r} at most 100)"),
        # Over 100 from a numerator above its denominator is named by the rule above.
        ("percent_out_of_range", value, None,
         f"unit = 'percent' and ({val} < 0 or {val} > 100) and coalesce({num} <= {den}, true)",
         f"column {value.source!r} has percentages below 0 or above 100"),
    ]
    for rule, column, beside, condition, message in rules:
        count, examples = _value_examples(con, joined, condition, column, code, beside)
        if count:
            problems.append(Problem(
                rule, f"{message}: {count} row(s), {_rows_named(examples, count, code)}",
                column.source, count, examples))
    outside = f"({val} < min_value or {val} > max_value)"
    count, examples = _value_examples(con, joined, outside, value, code)
    if count:
        ranges = con.execute(
            f"select distinct trim({code.name}), min_value, max_value from {joined} "
            f"where {outside} order by 1").fetchall()
        limits = "; ".join(f"{c} {_range_words(low, high)}" for c, low, high in ranges)
        problems.append(Problem(
            "indicator_range",
            f"column {value.source!r} has values outside the range the indicator catalogue "
            f"allows ({limits}): {count} row(s), {_rows_named(examples, count, code)}",
            value.source, count, examples))
    return problems


def _value_examples(con: duckdb.DuckDBPyConnection, relation: str, condition: str,
                    column: Column, code: Column, beside: Column | None = None
                    ) -> tuple[int, list[dict[str, Any]]]:
    """How many rows break a rule on a figure, and the first few: row, figure, indicator
    (and the figure ``beside`` it that the rule compares it with)."""
    [count] = _counts(con, relation, [condition])
    if not count:
        return 0, []
    other = beside.name if beside else "null"
    rows = con.execute(
        f"select _row, {column.name}, trim({code.name}), {other} from {relation} "
        f"where {condition} order by _row limit ?", [MAX_EXAMPLES]).fetchall()
    return count, [{"row": r, "value": v, code.source: c, **({beside.source: b} if beside
                                                                 else {})}
                   for r, v, c, b in rows]


def _rows_named(examples: list[dict[str, Any]], count: int, code: Column,
                shown: int = 5) -> str:
    """'row 2 (RR_IOM_PROLIFIC)' or 'rows 2 (RR_EMPLOYMENT), 3 (RR_ACCOMMODATION) and 1 more'."""
    named = [f"{e['row']} ({e[code.source]})" for e in examples[:shown]]
    more = f" and {count - len(named)} more" if count > len(named) else ""
    return ("row " if count == 1 else "rows ") + ", ".join(named) + more


def _range_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _is_totals_label(column: Column) -> str:
    """SQL: the cell labels a totals line. The LIKE spares the regex on almost every cell."""
    return (f"({column.name} ilike '%total%' and "
            f"regexp_matches({column.name}, {_sql_str(TOTALS_LABEL)}, 'i'))")


def _row_problems(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> list[Problem]:
    """Rows that are not records at all: totals lines, and fields no export could produce."""
    problems: list[Problem] = []
    totals = " or ".join(_is_totals_label(c) for c in table.columns)
    too_long = [f"length({c.name}) > {table.max_field_length}" for c in table.columns]
    count, *long_counts = _counts(con, relation, [totals, *too_long])
    if count:
        rows = _row_numbers(con, relation, totals)
        problems.append(Problem(
            "totals_row",
            f"{count} row(s) are totals lines ('Total'), not records, e.g. row {rows[0]}: "
            "send the record rows only, without totals",
            None, count, [{"row": r} for r in rows],
        ))
    for column, condition, count in zip(table.columns, too_long, long_counts, strict=True):
        if count:
            rows = _row_numbers(con, relation, condition)
            problems.append(Problem(
                "field_too_long",
                f"column {column.source!r} has values longer than {table.max_field_length:,} "
                f"characters (more than an Excel cell holds: a runaway quote or a damaged "
                f"export?): {count} row(s)",
                column.source, count, [{"row": r} for r in rows],
            ))
    return problems


def _period_problems(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, period: Period
) -> list[Problem]:
    """Most rows must be dated in the period the file name gives (``period_majority``)."""
    if not table.period_column or table.period_majority is None:
        return []
    column = table.column(table.period_column)
    parsed = f"try_strptime({column.name}, '{DATE_FORMAT}')::date"
    inside, dated, commonest = con.execute(
        f"""
        select count(*) filter (where d between date '{period.start}' and date '{period.end}'),
               count(d),
               mode(strftime(d, '%Y-%m'))
        from (select {parsed} as d from {relation})
        """
    ).fetchall()[0]
    if not dated or inside / dated >= table.period_majority:
        return []
    return [Problem(
        "period_mismatch",
        f"the file name gives the period {period.label}, but only {inside} of {dated} rows "
        f"have a {column.source!r} in it (most are in {commonest}): is the period in the file "
        f"name right?",
        column.source, dated - inside,
        [{"period_in_name": period.label, "rows_in_period": inside, "rows_dated": dated,
          "most_common_month": commonest}],
    )]


def _key_problems(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> list[Problem]:
    keys = [k for k in table.record_key if k in {c.name for c in table.columns}]
    if not keys:
        return []
    key_list = ", ".join(keys)
    duplicates = con.execute(
        f"""
        select list(_row order by _row) as rows_at
        from {relation} where {' and '.join(f'{k} is not null' for k in keys)}
        group by {key_list} having count(*) > 1 order by min(_row)
        """
    ).fetchall()
    if not duplicates:
        return []
    sources = " + ".join(repr(table.column(k).source) for k in keys)
    return [Problem(
        "duplicate_key",
        f"the record key {sources} appears more than once in the file: "
        f"{len(duplicates)} key(s) repeated",
        " + ".join(table.column(k).source for k in keys),
        sum(len(d[0]) for d in duplicates),
        [{"rows": d[0]} for d in duplicates[:MAX_EXAMPLES]],
    )]


# ---------------------------------------------------------------------------------------------
# Type: `src` -> warehouse raw columns
# ---------------------------------------------------------------------------------------------


def _typed_expression(column: Column, table: Table, domain: str | None,
                      lenient: bool = False) -> str:
    c = column.name
    marker = table.suppression_marker
    value = f"nullif({c}, {_sql_str(marker)})" if column.suppressible and marker else c
    parse = "try_strptime" if lenient else "strptime"
    if column.pii == "pseudonymise":
        return f"pseudonymise({_sql_str(domain or table.name)}, {c})"
    if column.pii == "age_band":
        dob = f"{parse}({c}, '{DATE_FORMAT}')::date"
        at = f"{parse}({column.age_at}, '{DATE_FORMAT}')::date"
        return AGE_BAND_SQL.format(dob=dob, at=at)
    if column.type == "date":
        return f"{parse}({value}, '{DATE_FORMAT}')::date"
    if column.type == "integer":
        whole = f"replace({value}, ',', '')"
        return f"try_cast({whole} as integer)" if lenient else f"{whole}::integer"
    if column.type == "number":
        return f"try_cast({value} as double)" if lenient else f"{value}::double"
    if column.type == "flag":
        return f"({value} = 'Y')"
    if column.type == "yes_no":
        return f"({value} = 'Yes')"
    return value


def typed_select(relation: str, table: Table, domain: str | None,
                 key_label: str | None = None, *, by_file: bool = False,
                 lenient: bool = False) -> str:
    """The SELECT that turns a staged relation into the raw table's columns.

    ``key_label`` (e.g. ``treatment/v2``) is written beside every token column. ``by_file``
    keeps a bulk relation's ``_file`` first and its rows in the relation's own order (file,
    then line), which spares sorting a whole chunk. ``lenient`` turns a value that
    does not parse into null instead of an error: for rows not yet screened, whose files are
    set aside if any rule is broken. On a file that passes ``check_table`` both give the same
    rows, since its rules require every value to parse.
    """
    columns = [f"{_typed_expression(c, table, domain, lenient)} as {c.name}"
               for c in table.loaded_columns]
    columns += [f"{_sql_str(key_label or '')} as {c.key_version_name}"
                for c in table.token_columns]
    expressions = ",\n    ".join(columns)
    first, order = ("_file, ", "") if by_file else ("", "\norder by _row")
    return f"select {first}_row as source_row,\n    {expressions}\nfrom {relation}{order}"


def key_label(pseudonymiser: Pseudonymiser, contract: FeedContract) -> str | None:
    """The key a feed's tokens are made with (``treatment/v2``), or None without tokens."""
    if not contract.pseudonym_domain:
        return None
    return pseudonymiser.key_for(contract.pseudonym_domain).label


@dataclass
class ReadResult:
    """A checked, typed delivery: one Arrow table per raw table."""

    tables: dict[str, pa.Table]

    @property
    def row_count(self) -> int:
        """Rows across all tables of the delivery."""
        return sum(t.num_rows for t in self.tables.values())


def _blank_to_null(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> None:
    # A blank cell is a missing value (SPEC.md), whether unquoted or written as "".
    assignments = ", ".join(f"{c.name} = nullif({c.name}, '')" for c in table.columns)
    con.execute(f"update {relation} set {assignments}")


def staging_connection(pseudonymiser: Pseudonymiser) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB to stage deliveries in, with ``pseudonymise(domain, value)``."""
    con = duckdb.connect(":memory:")
    con.create_function("pseudonymise", pseudonymiser.token, [VARCHAR, VARCHAR], VARCHAR,
                        side_effects=False)
    return con


def read_delivery(
    path: Path,
    contract: FeedContract,
    period: Period,
    pseudonymiser: Pseudonymiser,
    *,
    la_code: str | Sequence[str] | None,
    partner: str | None = None,
) -> ReadResult:
    """Read, check and type one delivered file; RejectedFile lists every problem found.

    Two layers: the contract's rules in SQL over every row of the file, then the feed's
    expectation suite (Great Expectations) over the typed rows, for the rules that compare
    columns or need the partnership (``la_code``; None skips the suite, for parser tests).
    """
    with staging_connection(pseudonymiser) as con:
        if contract.format == "xlsx":
            _stage_workbook(con, path, contract, period)
            relations = {t.name: f"src_{t.name}" for t in contract.tables}
        elif any(t.title_row for t in contract.tables):
            _stage_titled_csv(con, path, contract, period)
            relations = {contract.tables[0].name: "src"}
        else:
            _stage_csv_file(con, path, contract)
            relations = {contract.tables[0].name: "src"}
        problems: list[Problem] = []
        for table in contract.tables:
            relation = relations[table.name]
            _blank_to_null(con, relation, table)
            problems.extend(check_table(con, relation, table, period, partner))
        if problems:
            raise RejectedFile(problems)
        tables = {
            table.name: con.sql(
                typed_select(relations[table.name], table, contract.pseudonym_domain,
                             key_label(pseudonymiser, contract))
            ).fetch_arrow_table()
            for table in contract.tables
        }
    if la_code is not None:
        # Imported here: expectations builds on this module, and GX is slow to import.
        from expectations.validate import validate_delivery

        problems = validate_delivery(contract, tables, period, la_code=la_code)
        if problems:
            raise RejectedFile(problems)
    return ReadResult(tables)


def describe(problems: list[Problem]) -> str:
    """A one-paragraph summary of the problems, for logs, alerts and the deliveries table."""
    buffer = io.StringIO()
    for problem in problems:
        buffer.write(problem.message)
        shown = [e for e in problem.examples if "row" in e][:3]
        if shown:
            buffer.write(" (e.g. " + ", ".join(
                f"row {e['row']}" + (f": {e['value']!r}" if e.get("value") is not None else "")
                for e in shown) + ")")
        buffer.write("; ")
    return buffer.getvalue().rstrip("; ")
