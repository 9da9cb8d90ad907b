"""Hostile deliveries, generated at random: each ends loaded or quarantined, and keeps its secrets.

Landing is written by partners, so the ingest must survive whatever bytes and names arrive
there. Hypothesis derives deliveries from the good example of each feed and drops each into a
home of its own (a copy of a home that already holds the good delivery, or of an empty one):

* CSV feeds (police crime, treatment, MoJ): cells replaced by huge numbers, ``NaN``, full-width
  digits, control characters, terminal escapes, quotes and very long text; rows dropped,
  duplicated, copied over others (over the header and the title too) and widened; then the
  bytes themselves replaced, inserted, deleted, truncated, given other line endings (CR, LF,
  CR LF, mixed), NUL bytes and bytes invalid in the feed's encoding;
* workbooks (IDVA caseload, partner returns) edited with openpyxl: cells replaced by text,
  numbers, dates and huge floats, rows inserted and deleted, rows copied over the title and
  the header, sheets added, renamed and removed, values beyond the agreed columns; and raw
  zips: truncated, garbage after ``PK``, bytes flipped, a part's XML mutated;
* good files under hostile names: control characters, newlines, escape sequences, a leading
  ``=``, right-to-left overrides, full-width digits, names ending ``.reason.json`` and names
  up to 255 bytes long.

Before mutating, distinctive markers (``ZQXPLANT`` + hex, new for each example) are planted:
in every personal column (the treatment Client ID and Keyworker Notes, a date of birth, the
IDVA Case ID), and in the free-text columns of the first data row of every feed. A
"headerless" variant removes the header, so the planted row sits where the header should be;
another copies it over the title (or above the header where there is no title).

For every example the ingest must return without raising; every landed file must end
``loaded``, ``duplicate`` or ``rejected``, and a rejection must name the rule broken rather than
say that a reader raised (the ingest's last resort, ``could_not_check``, keeps such a file from
stopping the build, but hides a reader that fails on input it should describe); a rejected file
must have a reason, be gone from landing and sit in quarantine beside a ``reason.json`` naming
its rule; no file may be left in landing unless it loaded (or was already loaded); and every
file name shown must be one printable line of at most 120 characters. No marker may appear
anywhere in the home outside the delivered bytes themselves (the archive, the quarantined file,
the landed file that loaded): not in reason files, logs, outcomes or the warehouse, whose file
is scanned byte by byte and whose tables are queried (DuckDB may store strings compressed).
The one exception is a free-text marker of a delivery that loaded, which the warehouse holds as
delivered; a personal marker is never in the warehouse, loaded or not.

Markers are planted only where the readers promise never to quote a value: personal columns,
free-text columns (no rule looks at their values), header and title rows, and cells beyond the
agreed columns. A value in a column with rules (a flag, a code, a date) is shown in a
rejection's examples so the partner can find it; random values (never markers) go there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from core.contracts import Column, Table, contract_for
from ingest.arrivals import IGNORED_PREFIXES, IGNORED_SUFFIXES
from ingest.landing import Outcome, ingest_feed, log_lines
from ingest.limits import MAX_LINE_BYTES
from ingest.redaction import MAX_SHOWN_NAME
from tests.conftest import drop, example, test_pseudonymiser
from tests.test_bad_inputs import (
    GOOD,
    idva_book,
    moj_bytes,
    moj_lines,
    police_bytes,
    police_rows,
    treatment_bytes,
    treatment_rows,
)

LA = "E08000031"
PLANT = "ZQXPLANT"
EXAMPLES = {**GOOD, "partner_returns": "partner_return_probation_2014-15_Q2.xlsx"}
CSV_FEEDS = ("police_crime", "rny_treatment", "moj_reoffending")
XLSX_FEEDS = ("idva_caseload", "partner_returns")
ALL_FEEDS = CSV_FEEDS + XLSX_FEEDS
# The good delivery of a seeded home stays in landing under this name: it comes round again as a
# duplicate, and makes two files of the feed (police crime then takes the bulk path).
EARLIER = "earlier copy of "
WAREHOUSE = "warehouse.duckdb"
# No explain phase: it re-runs a failing example hundreds of times (half a minute here).
FUZZ = dict(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Markers:
    """What was planted in one delivery, as the strings to look for."""

    personal: tuple[str, ...]  # never outside the delivered bytes, loaded or not
    free: tuple[str, ...]  # free text: in the warehouse only when the delivery loaded

    def every(self) -> tuple[str, ...]:
        """Every marker, whatever it may become."""
        return self.personal + self.free


def personal_marker(tag: int, n: object = "") -> str:
    """A personal identifier planted in a cell (every such cell of a delivery shares a prefix)."""
    return f"{PLANT}{tag:010x}P{n}"


def free_marker(tag: int, n: object = "") -> str:
    """A free-text value planted in a column loaded as delivered."""
    return f"{PLANT}{tag:010x}N{n}"


def markers_of(tag: int, dob: date | None) -> Markers:
    """The needles for a delivery planted with ``tag`` (and ``dob`` as a date of birth)."""
    personal = [personal_marker(tag)]
    if dob is not None:
        personal += [dob.strftime("%d/%m/%Y"), dob.isoformat()]
    return Markers(tuple(personal), (free_marker(tag),))


def assume_no_marker_drawn(drawn: Any, markers: Markers) -> None:
    """Discard an example whose drawn values hold a marker (Hypothesis copies values between
    draws, so a cell may be drawn equal to the date of birth): a marker must be planted."""
    if isinstance(drawn, (str, bytes)):
        assume(not found_in(drawn, markers.every()))
    elif isinstance(drawn, (list, tuple)):
        for item in drawn:
            assume_no_marker_drawn(item, markers)


def is_free_text(column: Column, table: Table) -> bool:
    """A column no rule reads the values of, so no rejection ever quotes it."""
    return (
        column.type == "text"
        and not column.allowed
        and not column.reference
        and not column.pii
        and column.name != table.owner_column
    )


def planted_value(column: Column, table: Table, tag: int, n: object) -> str | None:
    """The marker a cell of ``column`` gets, or None where the readers may quote its value."""
    if column.pii in ("pseudonymise", "drop"):
        return personal_marker(tag, n)
    if is_free_text(column, table):
        return free_marker(tag, n)
    return None


# ---------------------------------------------------------------------------------------------
# CSV deliveries
# ---------------------------------------------------------------------------------------------

HEADER_INDEX = {"police_crime": 0, "rny_treatment": 0, "moj_reoffending": 3}


def csv_line(record: list[str]) -> str:
    """One CSV record as a line without its terminator."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(record)
    return buffer.getvalue()


def csv_rows(feed: str) -> list[list[str]]:
    """The good example of a CSV feed as records (the MoJ table's title lines included)."""
    if feed == "police_crime":
        return police_rows()
    if feed == "rny_treatment":
        return treatment_rows()
    return [next(csv.reader([line]), []) for line in moj_lines()]


def cp1252_safe(text: str) -> str:
    """``text`` with what Windows-1252 cannot hold replaced, as a partner's export would."""
    return text.encode("cp1252", errors="replace").decode("cp1252")


def csv_encode(feed: str, rows: list[list[str]]) -> bytes:
    """Records written as the feed's partner writes them."""
    if feed == "police_crime":
        return police_bytes(rows)
    if feed == "rny_treatment":
        return treatment_bytes([[cp1252_safe(c) for c in r] for r in rows])
    return moj_bytes([csv_line(r) for r in rows])


def plant_csv(feed: str, rows: list[list[str]], tag: int, dob: date) -> Markers:
    """Plant markers in the personal columns of every record and the free text of the first."""
    table = contract_for(feed).tables[0]
    first = HEADER_INDEX[feed] + 1
    width = len(table.columns)
    data = [r for r in rows[first:] if len(r) == width]
    has_dob = False
    for n, record in enumerate(data):
        for index, column in enumerate(table.columns):
            if column.pii == "age_band" and n == 0:
                record[index] = dob.strftime("%d/%m/%Y")
                has_dob = True
            elif column.pii == "drop":
                record[index] = f"Seen by {personal_marker(tag, n)} at home, 3 Church Street"
            elif column.pii or n == 0:
                value = planted_value(column, table, tag, f"{n}c{index}")
                if value is not None:
                    record[index] = value
    return markers_of(tag, dob if has_dob else None)


LONG = st.sampled_from([1_000, 33_000, 140_000, MAX_LINE_BYTES + 10])
SPECIAL_CELLS = [
    "1" + "0" * 300,
    "1e300",
    "-1e300",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "１２",
    "２０１４",
    "０９/０７/２０１４",
    "¼",
    "Ⅻ",
    "²",
    "\x1b[2J\x1b[H",
    "\x1b]8;;http://x.example\x07x",
    "\x07",
    "\x00",
    "\t",
    '"',
    '""',
    "'",
    "=1+1",
    "@SUM(A1)",
    "\u202e",
    "\ufeff",
    "\u2028",
    "Total",
    "..",
    "",
    " ",
    "\xa0",
    "9" * 20,
    "-1",
    "2147483648",
    "9007199254740993",
    "31/02/2014",
    "00/00/0000",
    "01/07/2014",
    "99/99/9999",
    "1,024",
    "N",
    "Y",
    "Yes",
]
# Text of one Unicode general category (a fraction, a combining mark, a format character...):
# what a reader describes instead of quoting must be describable whatever it holds.
CATEGORIES = (
    "Lu",
    "Ll",
    "Lt",
    "Lm",
    "Lo",
    "Mn",
    "Mc",
    "Me",
    "Nd",
    "Nl",
    "No",
    "Pc",
    "Pd",
    "Ps",
    "Pe",
    "Pi",
    "Pf",
    "Po",
    "Sm",
    "Sc",
    "Sk",
    "So",
    "Zs",
    "Zl",
    "Zp",
    "Cc",
    "Cf",
    "Co",
)
UNICODE_TEXT = st.sampled_from(CATEGORIES).flatmap(
    lambda category: st.text(st.characters(categories=(category,)), min_size=1, max_size=4)
)
CELL = st.one_of(
    st.sampled_from(SPECIAL_CELLS),
    UNICODE_TEXT,
    st.text(max_size=20),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
    # Never a year a planted date of birth may have (``DOB``): a value must not be a marker.
    st.dates(date(1, 1, 1), date(9999, 12, 31))
    .filter(lambda d: not 1921 <= d.year <= 1939)
    .map(lambda d: f"{d.day:02}/{d.month:02}/{d.year:04}"),
    LONG.map(lambda n: ("long", n)),
)
ROW_OP = st.one_of(
    # Rows lean to the top, where the header (and the MoJ title and period lines) are.
    st.tuples(
        st.just("cell"), st.one_of(st.integers(0, 3), st.integers(0, 40)), st.integers(0, 18), CELL
    ),
    st.tuples(st.just("add_column"), st.sampled_from(["all", "header", "data"])),
    st.tuples(st.just("copy_row"), st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.just("drop_row"), st.integers(0, 40)),
    st.tuples(st.just("dup_row"), st.integers(0, 40)),
)
SPECIAL_BYTES = [
    b'"',
    b'""',
    b",",
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x81",
    b"\x8d\x8f\x90\x9d",
    b"\xef\xbb\xbf",
    b"\x1b[31m",
    b"\x1b]0;x\x07",
    b"\x07\x08\x0b\x0c\x7f",
    "１２３".encode(),
    "\u202e".encode(),
    "\u2028".encode(),
    b"1" + b"0" * 300,
    b"1e300",
    b"-0",
    b"NaN",
    b"inf",
    b"\xc2\xa0",
    b"Total,",
    b"\x93quoted\x94",
]
PAYLOAD = st.one_of(
    st.binary(min_size=1, max_size=12),
    st.sampled_from(SPECIAL_BYTES),
    LONG.map(lambda n: ("long", n)),
)
POSITION = st.integers(0, 1 << 16)
BYTE_OP = st.one_of(
    st.tuples(st.just("insert"), POSITION, PAYLOAD),
    st.tuples(st.just("overwrite"), POSITION, PAYLOAD),
    st.tuples(st.just("delete"), POSITION, st.integers(1, 64)),
    st.tuples(st.just("truncate"), POSITION),
    st.tuples(
        st.just("endings"), st.sampled_from(["CR", "LF", "CRLF", "mixed"]), st.integers(0, 1000)
    ),
    st.tuples(st.just("drop_line"), st.integers(0, 40)),
    st.tuples(st.just("dup_line"), st.integers(0, 40)),
    st.tuples(st.just("swap_lines"), st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.just("insert_line"), st.integers(0, 40), PAYLOAD),
)
# Half the examples keep their bytes as written, so that their cells reach the value rules.
BYTE_OPS = st.one_of(st.just([]), st.lists(BYTE_OP, min_size=1, max_size=4))
TAG = st.integers(0, 2**40 - 1)
# The first record where the header or the title should be ("headerless"): a test of its own,
# and elsewhere one example in five, with other mutations.
PLACE = st.sampled_from(["header", "title"])
SOMETIMES = st.one_of(st.none(), st.none(), st.none(), PLACE)
DOB = st.dates(date(1921, 1, 1), date(1939, 12, 31))


def materialise(value: Any, filler: str | bytes) -> Any:
    """A drawn value, with ``("long", n)`` (kept short in Hypothesis' reports) made n long."""
    if isinstance(value, tuple) and value[:1] == ("long",):
        return filler * value[1]
    return value


def apply_row_op(rows: list[list[str]], op: tuple[Any, ...], tag: int, width: int) -> None:
    """Apply one record-level mutation (``ROW_OP``) to ``rows`` in place."""
    if not rows:
        return
    kind = op[0]
    if kind == "cell":
        record = rows[op[1] % len(rows)]
        column = op[2]
        record.extend([""] * (column + 1 - len(record)))
        record[column] = materialise(op[3], "y")
    elif kind == "add_column":
        header = next((i for i, r in enumerate(rows) if len(r) == width), 0)
        for n, record in enumerate(rows):
            in_scope = {"all": True, "header": n == header, "data": n > header}[op[1]]
            if in_scope:
                # Beyond the agreed columns: nothing there may ever be quoted or loaded.
                record.append(personal_marker(tag, f"x{n}"))
    elif kind == "copy_row":
        rows[op[2] % len(rows)] = list(rows[op[1] % len(rows)])
    elif kind == "drop_row":
        del rows[op[1] % len(rows)]
    elif kind == "dup_row":
        at = op[1] % len(rows)
        rows.insert(at, list(rows[at]))


def _lines(data: bytes) -> list[bytes]:
    """The lines of a file's bytes, each with its own line break (CR, LF or CR LF)."""
    return data.splitlines(keepends=True)


def apply_byte_op(data: bytes, op: tuple[Any, ...]) -> bytes:
    """Apply one byte-level mutation (``BYTE_OP``) to a file's bytes."""
    kind = op[0]
    if kind in ("insert", "overwrite", "delete", "truncate"):
        at = op[1] % (len(data) + 1)
        if kind == "insert":
            return data[:at] + materialise(op[2], b"x") + data[at:]
        if kind == "overwrite":
            payload = materialise(op[2], b"x")
            return data[:at] + payload + data[at + len(payload) :]
        if kind == "delete":
            return data[:at] + data[at + op[2] :]
        return data[:at]
    if kind == "endings":
        rng = random.Random(op[2])
        endings = {
            "CR": [b"\r"],
            "LF": [b"\n"],
            "CRLF": [b"\r\n"],
            "mixed": [b"\r", b"\n", b"\r\n"],
        }[op[1]]
        bare = [line.rstrip(b"\r\n") for line in _lines(data)]
        return b"".join(line + rng.choice(endings) for line in bare)
    lines = _lines(data)
    if not lines:
        return data
    at = op[1] % len(lines)
    if kind == "drop_line":
        del lines[at]
    elif kind == "dup_line":
        lines.insert(at, lines[at])
    elif kind == "swap_lines":
        other = op[2] % len(lines)
        lines[at], lines[other] = lines[other], lines[at]
    elif kind == "insert_line":
        lines.insert(at, materialise(op[2], b"x") + b"\r\n")
    return b"".join(lines)


def misplace_in_csv(feed: str, rows: list[list[str]], place: str) -> None:
    """Put the first record where the header or the title should be (see ``misplace_in_book``)."""
    table = contract_for(feed).tables[0]
    header = HEADER_INDEX[feed]
    record = list(rows[header + 1])
    if place == "header":
        del rows[header]
    elif table.title_row:
        rows[table.title_row - 1] = record
    else:
        rows.insert(0, record)


def csv_delivery(
    feed: str,
    tag: int,
    dob: date,
    misplaced: str | None,
    row_ops: Iterable[tuple[Any, ...]],
    byte_ops: Iterable[tuple[Any, ...]],
) -> tuple[bytes, Markers]:
    """A planted, mutated delivery of a CSV feed, and what was planted in it."""
    rows = csv_rows(feed)
    markers = plant_csv(feed, rows, tag, dob)
    assume_no_marker_drawn([row_ops, byte_ops], markers)
    if misplaced:
        misplace_in_csv(feed, rows, misplaced)
    width = len(contract_for(feed).tables[0].columns)
    for op in row_ops:
        apply_row_op(rows, op, tag, width)
    data = csv_encode(feed, rows)
    for op in byte_ops:
        data = apply_byte_op(data, op)
    return data, markers


# ---------------------------------------------------------------------------------------------
# Workbook deliveries
# ---------------------------------------------------------------------------------------------


def good_book(feed: str) -> openpyxl.Workbook:
    """The good example workbook of an xlsx feed, editable."""
    if feed == "idva_caseload":
        return idva_book()
    return openpyxl.load_workbook(example(EXAMPLES[feed]))


def table_of_sheet(feed: str, title: str) -> Table | None:
    """The contract's table read from the sheet named ``title``, if any."""
    return next((t for t in contract_for(feed).tables if t.sheet == title), None)


def plant_book(feed: str, book: openpyxl.Workbook, tag: int) -> Markers:
    """Plant markers in the personal columns of every record and the free text of the first."""
    for table in contract_for(feed).tables:
        sheet = book[table.sheet]
        for n, row in enumerate(range(table.header_row + 1, sheet.max_row + 1)):
            if all(c.value is None for c in sheet[row]):
                break
            for index, column in enumerate(table.columns, start=1):
                if column.pii or n == 0:
                    value = planted_value(column, table, tag, f"{row}c{index}")
                    if value is not None:
                        sheet.cell(row, index).value = value
    return markers_of(tag, None)


def xlsx_plant_value(feed: str, sheet_title: str, row: int, column: int, tag: int) -> str | None:
    """The marker a cell gets where the readers promise never to quote it, else None.

    Title and header rows, cells beyond the agreed columns and sheets the contract does not
    read are personal (never quoted, never loaded); below the header a cell is as its column.
    """
    table = table_of_sheet(feed, sheet_title)
    if table is None or row <= table.header_row or column > len(table.columns):
        return personal_marker(tag, f"{row}r{column}")
    return planted_value(table.columns[column - 1], table, tag, f"{row}r{column}")


def printable_for_xlsx(text: str) -> str:
    """Text openpyxl can store (it refuses most control characters)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


XCELL = st.one_of(
    st.text(max_size=20).map(printable_for_xlsx),
    UNICODE_TEXT.map(printable_for_xlsx),
    st.integers(-(10**18), 10**18),
    st.floats(),
    st.sampled_from(
        [
            1e300,
            -1e300,
            1.7976931348623157e308,
            -0.0,
            float(2**53 + 2),
            10**300,
            "1" + "0" * 300,
            "NaN",
            "１２",
            "¼",
            "\u202e",
            "=1+1",
            "Total",
            "",
            " ",
            "09/07/2014",
            "2014/15 Q2",
            "2014/15 Q3",
            "Yes",
            "High",
        ]
    ),
    st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)),
    st.dates(date(1900, 3, 1), date(9999, 12, 31)),
    st.booleans(),
    st.none(),
)
SHEET_NAMES = st.one_of(
    st.sampled_from(["Cases", "cases", "Screening", "Return", "Return ", "Sheet1", "CASES"]),
    st.text(st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=31),
)
# Sheet and cell positions lean to the first sheet and the top left, where titles and headers are.
SHEET = st.one_of(st.just(0), st.integers(0, 3))
TOP_ROW = st.one_of(st.integers(1, 4), st.integers(1, 14))
LEFT_COLUMN = st.one_of(st.just(1), st.integers(1, 16))
XLSX_OP = st.one_of(
    st.tuples(st.just("plant"), SHEET, TOP_ROW, LEFT_COLUMN),
    st.tuples(st.just("cell"), SHEET, TOP_ROW, LEFT_COLUMN, XCELL),
    st.tuples(st.just("delete_rows"), SHEET, st.integers(1, 8), st.integers(1, 2)),
    st.tuples(st.just("insert_rows"), SHEET, st.integers(1, 8), st.integers(1, 2)),
    st.tuples(st.just("copy_row"), SHEET, TOP_ROW, TOP_ROW),
    st.tuples(st.just("add_sheet"), SHEET_NAMES, st.lists(XCELL, max_size=6)),
    st.tuples(st.just("rename_sheet"), SHEET, SHEET_NAMES),
    st.tuples(st.just("remove_sheet"), SHEET),
)


def apply_xlsx_ops(
    feed: str, book: openpyxl.Workbook, ops: list[tuple[Any, ...]], tag: int
) -> None:
    """Apply ``XLSX_OP`` edits: markers first (placed by the agreed layout), then the rest.

    An edit openpyxl refuses (a sheet name it will not take) is left out: only files openpyxl
    writes are wanted here; broken ones come from the raw-zip test.
    """
    ordered = [op for op in ops if op[0] == "plant"] + [op for op in ops if op[0] != "plant"]
    for op in ordered:
        kind = op[0]
        sheets = book.worksheets
        sheet = sheets[op[1] % len(sheets)] if isinstance(op[1], int) else None
        try:
            if kind == "plant":
                value = xlsx_plant_value(feed, sheet.title, op[2], op[3], tag)
                if value is not None:
                    sheet.cell(op[2], op[3]).value = value
            elif kind == "cell":
                sheet.cell(op[2], op[3]).value = op[4]
            elif kind == "delete_rows":
                sheet.delete_rows(op[2], op[3])
            elif kind == "insert_rows":
                sheet.insert_rows(op[2], op[3])
            elif kind == "copy_row":
                for column in range(1, sheet.max_column + 1):
                    sheet.cell(op[3], column).value = sheet.cell(op[2], column).value
            elif kind == "add_sheet":
                extra = book.create_sheet(op[1])
                extra.append(op[2])
                extra.append([personal_marker(tag, "sheet")])
            elif kind == "rename_sheet":
                sheet.title = op[2]
            elif kind == "remove_sheet" and len(sheets) > 1:
                book.remove(sheet)
        except ValueError:
            continue


def book_bytes(book: openpyxl.Workbook) -> bytes:
    """The workbook saved as an .xlsx file's bytes."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def misplace_in_book(feed: str, book: openpyxl.Workbook, place: str) -> None:
    """Put the first record of the feed's first sheet where its header or title should be.

    ``header``: the header row deleted, so the record moves up into its place. ``title``:
    the record copied over the title row (above the header, for a sheet without a title).
    """
    table = contract_for(feed).tables[0]
    if table.sheet not in book.sheetnames:
        return
    sheet = book[table.sheet]
    if place == "header":
        sheet.delete_rows(table.header_row)
        return
    record = [c.value for c in sheet[table.header_row + 1]]
    if not table.title_row:
        sheet.insert_rows(1)
    for column, value in enumerate(record, start=1):
        sheet.cell(table.title_row or 1, column).value = value


def xlsx_delivery(
    feed: str, tag: int, misplaced: str | None, ops: list[tuple[Any, ...]]
) -> tuple[bytes, Markers]:
    """A planted, edited workbook of an xlsx feed, and what was planted in it."""
    book = good_book(feed)
    markers = plant_book(feed, book, tag)
    assume_no_marker_drawn(ops, markers)
    apply_xlsx_ops(feed, book, ops, tag)
    if misplaced:
        misplace_in_book(feed, book, misplaced)
    return book_bytes(book), markers


ZIP_OP = st.one_of(
    st.tuples(st.just("truncate"), POSITION),
    st.tuples(st.just("after_pk"), st.binary(max_size=200)),
    st.tuples(st.just("flip"), POSITION, st.integers(0, 255)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("part"), st.integers(0, 20), st.lists(BYTE_OP, min_size=1, max_size=3)),
    st.tuples(st.just("drop_part"), st.integers(0, 20)),
    st.tuples(
        st.just("stored"),
    ),
)


def rebuild_zip(data: bytes, change: Any) -> bytes:
    """The zip rewritten part by part; ``change(index, info, bytes)`` gives each part's new
    bytes, or None to leave the part out."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for index, info in enumerate(source.infolist()):
            content = change(index, info, source.read(info))
            if content is not None:
                target.writestr(info, content)
    return out.getvalue()


def apply_zip_op(data: bytes, op: tuple[Any, ...]) -> bytes:
    """Apply one ``ZIP_OP`` to a workbook's bytes (later ones may find it no zip any more)."""
    try:
        return _zip_op(data, op)
    except Exception:  # noqa: BLE001 - an earlier op left no zip to rebuild: keep the bytes
        return data


def _zip_op(data: bytes, op: tuple[Any, ...]) -> bytes:
    """``apply_zip_op`` without the guard: may raise on a zip an earlier op broke."""
    kind = op[0]
    if kind == "truncate":
        return data[: op[1] % (len(data) + 1)]
    if kind == "after_pk":
        return b"PK" + op[1]
    if kind == "flip":
        if not data:
            return data
        at = op[1] % len(data)
        return data[:at] + bytes([op[2]]) + data[at + 1 :]
    if kind == "append":
        return data + op[1]
    if kind == "stored":

        def store(index: int, info: zipfile.ZipInfo, content: bytes) -> bytes:
            info.compress_type = zipfile.ZIP_STORED
            return content

        return rebuild_zip(data, store)
    count = len(zipfile.ZipFile(io.BytesIO(data)).infolist()) or 1
    chosen = op[1] % count

    def mutate(index: int, info: zipfile.ZipInfo, content: bytes) -> bytes | None:
        if index != chosen:
            return content
        if kind == "drop_part":
            return None
        for byte_op in op[2]:
            content = apply_byte_op(content, byte_op)
        return content

    return rebuild_zip(data, mutate)


# ---------------------------------------------------------------------------------------------
# Values in the cells of records, the layout left as agreed
# ---------------------------------------------------------------------------------------------

# (table, record, column, value): positions wrap round the agreed table, so that every edit
# lands in a record's agreed cell and the file gets as far as the value rules.
CSV_EDIT = st.tuples(st.integers(0, 1), st.integers(0, 30), st.integers(0, 30), CELL)
XLSX_EDIT = st.tuples(st.integers(0, 1), st.integers(0, 30), st.integers(0, 30), XCELL)


def edited_csv(
    feed: str, tag: int, dob: date, edits: list[tuple[Any, ...]]
) -> tuple[bytes, Markers]:
    """A planted CSV delivery with ``CSV_EDIT`` values written into its records' cells."""
    rows = csv_rows(feed)
    markers = plant_csv(feed, rows, tag, dob)
    assume_no_marker_drawn(edits, markers)
    width = len(contract_for(feed).tables[0].columns)
    first = HEADER_INDEX[feed] + 1
    count = next((n for n, r in enumerate(rows[first:]) if len(r) != width), len(rows) - first)
    for _, record, column, value in edits:
        rows[first + record % count][column % width] = materialise(value, "y")
    return csv_encode(feed, rows), markers


def edited_xlsx(feed: str, tag: int, edits: list[tuple[Any, ...]]) -> tuple[bytes, Markers]:
    """A planted workbook with ``XLSX_EDIT`` values written into its records' cells."""
    book = good_book(feed)
    markers = plant_book(feed, book, tag)
    assume_no_marker_drawn(edits, markers)
    tables = contract_for(feed).tables
    for which, record, column, value in edits:
        table = tables[which % len(tables)]
        sheet = book[table.sheet]
        first = table.header_row + 1
        count = next(
            (
                n
                for n, row in enumerate(range(first, sheet.max_row + 1))
                if all(c.value is None for c in sheet[row])
            ),
            sheet.max_row + 1 - first,
        )
        sheet.cell(first + record % max(count, 1), 1 + column % len(table.columns)).value = value
    return book_bytes(book), markers


def misplaced_delivery(
    feed: str, place: str, tag: int, dob: date, odd_column: int, odd_text: str
) -> tuple[bytes, Markers]:
    """A planted delivery whose first record sits where the header or title should be, with
    ``odd_text`` in one of the cells of that record."""
    if feed in CSV_FEEDS:
        rows = csv_rows(feed)
        markers = plant_csv(feed, rows, tag, dob)
        misplace_in_csv(feed, rows, place)
        record = rows[HEADER_INDEX[feed] if place == "header" else 0]
        record[odd_column % len(record)] = odd_text
        return csv_encode(feed, rows), markers
    book = good_book(feed)
    markers = plant_book(feed, book, tag)
    misplace_in_book(feed, book, place)
    table = contract_for(feed).tables[0]
    row = table.header_row if place == "header" else table.title_row or 1
    column = 1 + odd_column % len(table.columns)
    book[table.sheet].cell(row, column).value = printable_for_xlsx(odd_text) or None
    return book_bytes(book), markers


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
HOSTILE_BITS = [
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x07",
    "\x7f",
    "\x85",
    "=",
    '=HYPERLINK("http://x.example")',
    "+",
    "-",
    "@",
    "\u202e",
    "\u200b",
    "\u2028",
    "\ufeff",
    "１２",
    "é",
    "€",
    "😀",
    " ",
    "..",
    ".reason.json",
    "reason.json",
    ".csv",
    ".xlsx",
    ".partial.csv",
]


def valid_name(name: str) -> bool:
    """A name Linux takes for a file: no '/' or NUL, not '.' or '..', 1 to 255 bytes."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return 0 < size <= 255 and "/" not in name and "\x00" not in name and name not in (".", "..")


@st.composite
def hostile_names(draw: st.DrawFn, canonical: str) -> str:
    """A name a partner (or an attacker who can write to landing) could give a good file."""
    stem, dot, ext = canonical.rpartition(".")
    bits = st.sampled_from(HOSTILE_BITS)
    kind = draw(st.sampled_from(["wrapped", "random", "full_width", "long", "reason", "exact"]))
    if kind == "wrapped":
        name = (
            "".join(draw(st.lists(bits, max_size=3)))
            + canonical
            + "".join(draw(st.lists(bits, max_size=3)))
        )
    elif kind == "random":
        name = draw(
            st.text(
                st.characters(exclude_characters="/\x00", exclude_categories=("Cs",)),
                min_size=1,
                max_size=60,
            )
        )
    elif kind == "full_width":
        name = canonical.translate(FULL_WIDTH)
    elif kind == "long":
        filler = draw(st.sampled_from(["x", "é", "€", "😀", "\x1b", "\u202e", "\n"]))
        count = draw(st.one_of(st.just(255), st.integers(1, 255)))  # often up to 255 bytes
        tail = draw(st.sampled_from(["", dot + ext, ".reason.json", canonical]))
        name = (filler * count)[:255] + tail
        while len(name.encode("utf-8")) > 255:
            name = name[1:]
    elif kind == "reason":
        name = canonical + draw(st.sampled_from([".reason.json", "reason.json"]))
    else:
        name = canonical
    if not valid_name(name):
        name = canonical
    return name


def ignored_by_design(name: str) -> bool:
    """Names the ingest leaves alone on purpose: a copy still being written, a lock file."""
    return name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# Homes, and running one delivery
# ---------------------------------------------------------------------------------------------


def ingest(home: Path, feed: str) -> list[Outcome]:
    """The ingest of one feed, as the pipeline runs it for a partnership."""
    return ingest_feed(
        feed, home=home, warehouse=home / WAREHOUSE, pseudonymiser=test_pseudonymiser(), la_code=LA
    )


class Homes:
    """Template homes built once per module, and fresh copies of them for each example."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seeded: dict[str, Path] = {}
        self._empty: Path | None = None

    def seeded(self, feed: str) -> Path:
        """A home holding the feed's good delivery, loaded, and still in landing (renamed)."""
        if feed not in self._seeded:
            home = Path(tempfile.mkdtemp(prefix=f"seeded-{feed}-", dir=self.root))
            (home / "landing").mkdir()
            landed = drop(home, feed, example(EXAMPLES[feed]))
            [good] = ingest(home, feed)
            assert good.action == "loaded", good.reason
            landed.rename(landed.with_name(EARLIER + landed.name))
            self._seeded[feed] = home
        return self._seeded[feed]

    def empty(self) -> Path:
        """A home with a landing folder and an empty warehouse."""
        if self._empty is None:
            home = Path(tempfile.mkdtemp(prefix="empty-", dir=self.root))
            (home / "landing").mkdir()
            ingest(home, "police_crime")
            self._empty = home
        return self._empty

    @contextmanager
    def copy(self, template: Path) -> Iterator[Path]:
        """A fresh copy of ``template``, removed afterwards."""
        scratch = Path(tempfile.mkdtemp(prefix="example-", dir=self.root))
        home = scratch / "home"
        shutil.copytree(template, home, symlinks=True)
        try:
            yield home
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Homes:
    """The module's template homes."""
    return Homes(tmp_path_factory.mktemp("fuzz"))


def deliver(
    homes: Homes, template: Path, feed: str, name: str, data: bytes, markers: Markers
) -> None:
    """Drop ``data`` as ``landing/<feed>/<name>`` in a copy of ``template``, ingest the feed,
    and check every property of the module docstring."""
    with homes.copy(template) as home:
        folder = home / "landing" / feed
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        landed = {entry: (folder / entry).read_bytes() for entry in os.listdir(folder)}
        outcomes = ingest(home, feed)
        note(f"outcomes: {[o.as_dict() for o in outcomes]}")
        for outcome in outcomes:
            if outcome.sha256 == sha(data):
                rule = outcome.problems[0].rule if outcome.problems else ""
                event(f"{feed}: {outcome.action} {rule}".rstrip())
        check_outcomes(home, feed, landed, outcomes)
        check_manifest_names(home)
        loaded = any(o.action == "loaded" and o.sha256 == sha(data) for o in outcomes)
        check_no_leak(home, feed, landed, outcomes, markers, loaded)


# ---------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------


def sha(data: bytes) -> str:
    """SHA-256 of bytes, as the ingest names a delivery."""
    return hashlib.sha256(data).hexdigest()


def is_reason_file(name: str) -> bool:
    """Whether a quarantine entry is a reason file rather than a delivery."""
    return name == "reason.json" or name.endswith(".reason.json")


def shown_name_problem(name: Any) -> str | None:
    """Why ``name`` is not fit to show (None when it is): one printable line, bounded."""
    if not isinstance(name, str):
        return f"not text: {name!r}"
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cf")]
    if bad:
        return f"control or format characters {bad!r} in {name!r}"
    if len(name) > MAX_SHOWN_NAME:
        return f"{len(name)} characters (more than {MAX_SHOWN_NAME}): {name!r}"
    return None


# ``landing.could_not_check``: a file quarantined because a reader raised where no rule
# foresaw it (an unreadable file, an OSError, is a rejection a partner can act on).
READER_CRASHED = ("the reader stopped on it", "needs more memory than the pipeline has")


def quarantined_copies(home: Path, feed: str, data: bytes) -> list[Path]:
    """Files of ``quarantine/<feed>/`` holding exactly ``data`` (the delivery, as moved)."""
    folder = home / "quarantine" / feed
    if not folder.is_dir():
        return []
    return [
        folder / n
        for n in os.listdir(folder)
        if (folder / n).is_file()
        and not (folder / n).is_symlink()
        and (folder / n).read_bytes() == data
    ]


def check_outcomes(
    home: Path, feed: str, landed: dict[str, bytes], outcomes: list[Outcome]
) -> None:
    """Each landed file loaded, a duplicate, or quarantined with its reason; none stuck."""
    taken = {n: d for n, d in landed.items() if not ignored_by_design(n)}
    assert sorted(o.sha256 for o in outcomes) == sorted(sha(d) for d in taken.values()), (
        "outcomes do not match the landed files one for one"
    )
    for outcome in outcomes:
        assert outcome.action in ("loaded", "duplicate", "rejected"), outcome.as_dict()
        crashed = [
            p.message
            for p in outcome.problems
            if p.rule == "unreadable_file" and any(words in p.message for words in READER_CRASHED)
        ]
        assert not crashed, f"a reader raised instead of naming a rule: {crashed}"
        problem = shown_name_problem(outcome.file_name)
        assert problem is None, f"outcome file name: {problem}"
    folder = home / "landing" / feed
    for name, data in taken.items():
        outcome = next(o for o in outcomes if o.sha256 == sha(data))
        if outcome.action == "rejected":
            assert outcome.reason and str(outcome.reason).strip(), outcome.as_dict()
            assert not os.path.lexists(folder / name), f"rejected {name!r} still in landing"
            copies = quarantined_copies(home, feed, data)
            assert copies, f"rejected {name!r} is not in quarantine"
            reasons = [q.with_name(q.name + ".reason.json") for q in copies]
            assert any(r.is_file() for r in reasons), f"no reason file beside {copies}"
            for reason_path in (r for r in reasons if r.is_file()):
                reason = json.loads(reason_path.read_text(encoding="utf-8"))
                assert isinstance(reason.get("rule"), str) and reason["rule"].strip(), reason
                problem = shown_name_problem(reason.get("file"))
                assert problem is None, f"reason.json file name: {problem}"
        elif outcome.action == "loaded":
            archived = home / "archive" / feed / f"{outcome.sha256}{Path(name).suffix.lower()}"
            assert archived.is_file() and archived.read_bytes() == data, (
                f"loaded {name!r} is not archived as {archived.name}"
            )
    for name in os.listdir(folder):
        if ignored_by_design(name):
            assert name in landed, f"the ingest left {name!r} in landing"
            continue
        assert name in taken, f"{name!r} appeared in landing"
        outcome = next(o for o in outcomes if o.sha256 == sha(taken[name]))
        assert outcome.action in ("loaded", "duplicate"), f"{name!r} left in landing"


def check_manifest_names(home: Path) -> None:
    """Every file name the warehouse's manifest holds is fit to show (it reaches exports)."""
    with duckdb.connect(str(home / WAREHOUSE), read_only=True) as con:
        names = [n for (n,) in con.execute("select file_name from raw.deliveries").fetchall()]
    for name in names:
        problem = shown_name_problem(name)
        assert problem is None, f"raw.deliveries file name: {problem}"


def found_in(text: str | bytes, needles: Iterable[str]) -> list[str]:
    """The needles that occur in ``text``."""
    if isinstance(text, bytes):
        return [n for n in needles if n.encode("ascii") in text]
    return [n for n in needles if n in text]


def warehouse_text(home: Path) -> Iterator[tuple[str, str]]:
    """(table, its rows as text) for every table of the warehouse, read after the ingest."""
    with duckdb.connect(str(home / WAREHOUSE), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            yield f"{schema}.{table}", "\n".join(" ".join(str(v) for v in r) for r in rows)


def check_no_leak(
    home: Path,
    feed: str,
    landed: dict[str, bytes],
    outcomes: list[Outcome],
    markers: Markers,
    loaded: bool,
) -> None:
    """No marker anywhere outside the delivered bytes (free text in the warehouse if loaded)."""
    delivered = set(landed.values())
    for outcome in outcomes:
        shown = " ".join(
            [
                str(outcome.reason),
                outcome.file_name,
                json.dumps([p.as_dict() for p in outcome.problems], default=str),
            ]
        )
        leaked = found_in(shown, markers.every())
        assert not leaked, f"{leaked} in the outcome: {outcome.as_dict()}"
    for _level, line in log_lines(feed, outcomes):
        assert not found_in(line, markers.every()), f"marker in a log line: {line!r}"
    own_copies = {home / "quarantine" / feed, home / "landing" / feed}
    for folder, _, files in os.walk(home):
        here = Path(folder)
        if here == home / "archive" or home / "archive" in here.parents:
            continue
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if here in own_copies and data in delivered:
                continue  # the delivery itself, quarantined or left in landing once loaded
            in_warehouse = here == home and name.startswith(WAREHOUSE)
            needles = markers.personal if in_warehouse and loaded else markers.every()
            leaked = found_in(data, needles)
            assert not leaked, f"{leaked} in {path.relative_to(home)}"
    for table, text in warehouse_text(home):
        needles = markers.personal if loaded else markers.every()
        leaked = found_in(text, needles)
        assert not leaked, f"{leaked} in the warehouse table {table}"


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ALL_FEEDS)
def test_planted_good_delivery_loads_without_its_personal_data(feed: str, homes: Homes) -> None:
    """The fuzzers' starting point: a planted, unmutated file loads, and the checks hold.

    So the markers are where the readers really read, and an example is rejected for what
    was done to it, not for the planting.
    """
    if feed in CSV_FEEDS:
        assert csv_encode(feed, csv_rows(feed)) == example(EXAMPLES[feed]).read_bytes()
        data, markers = csv_delivery(feed, 0x1234567, date(1931, 5, 17), None, [], [])
    else:
        data, markers = xlsx_delivery(feed, 0x1234567, None, [])
    with homes.copy(homes.empty()) as home:
        drop_path = home / "landing" / feed / EXAMPLES[feed]
        drop_path.parent.mkdir(parents=True, exist_ok=True)
        drop_path.write_bytes(data)
        [outcome] = ingest(home, feed)
        assert outcome.action == "loaded", outcome.reason
        check_no_leak(home, feed, {EXAMPLES[feed]: data}, [outcome], markers, loaded=True)
        tables = dict(warehouse_text(home))
        if any(
            not c.pii and is_free_text(c, t) for t in contract_for(feed).tables for c in t.columns
        ):
            assert any(found_in(text, markers.free) for text in tables.values())


@settings(max_examples=40, **FUZZ)
@given(
    feed=st.sampled_from(CSV_FEEDS),
    tag=TAG,
    dob=DOB,
    misplaced=SOMETIMES,
    row_ops=st.lists(ROW_OP, max_size=3),
    byte_ops=BYTE_OPS,
)
def test_mutated_csv_delivery_is_loaded_or_quarantined_and_leaks_nothing(
    homes: Homes,
    feed: str,
    tag: int,
    dob: date,
    misplaced: str | None,
    row_ops: list[tuple[Any, ...]],
    byte_ops: list[tuple[Any, ...]],
) -> None:
    """Records and bytes of a planted CSV mutated at random, in a home with the good file."""
    data, markers = csv_delivery(feed, tag, dob, misplaced, row_ops, byte_ops)
    deliver(homes, homes.seeded(feed), feed, EXAMPLES[feed], data, markers)


@settings(max_examples=40, **FUZZ)
@given(
    feed=st.sampled_from(ALL_FEEDS),
    tag=TAG,
    dob=DOB,
    csv_edits=st.lists(CSV_EDIT, min_size=1, max_size=4),
    xlsx_edits=st.lists(XLSX_EDIT, min_size=1, max_size=4),
)
def test_hostile_cell_values_are_loaded_or_quarantined_and_leak_nothing(
    homes: Homes,
    feed: str,
    tag: int,
    dob: date,
    csv_edits: list[tuple[Any, ...]],
    xlsx_edits: list[tuple[Any, ...]],
) -> None:
    """Huge numbers, NaN, full-width digits, escapes, odd dates and long text in records."""
    if feed in CSV_FEEDS:
        data, markers = edited_csv(feed, tag, dob, csv_edits)
    else:
        data, markers = edited_xlsx(feed, tag, xlsx_edits)
    deliver(homes, homes.seeded(feed), feed, EXAMPLES[feed], data, markers)


@settings(max_examples=30, **FUZZ)
@given(
    feed=st.sampled_from(ALL_FEEDS),
    place=PLACE,
    tag=TAG,
    dob=DOB,
    odd_column=st.integers(0, 30),
    odd_text=UNICODE_TEXT,
    byte_ops=st.lists(BYTE_OP, max_size=1),
)
def test_first_record_where_header_or_title_should_be_is_never_quoted(
    homes: Homes,
    feed: str,
    place: str,
    tag: int,
    dob: date,
    odd_column: int,
    odd_text: str,
    byte_ops: list[tuple[Any, ...]],
) -> None:
    """A file sent without its header (or with a record over its title): the planted first
    record is read where the header (or title) should be, and must only be described, even
    with a cell of any kind of character in it."""
    data, markers = misplaced_delivery(feed, place, tag, dob, odd_column, odd_text)
    assume_no_marker_drawn([odd_text, byte_ops], markers)
    for op in byte_ops:
        data = apply_byte_op(data, op)
    deliver(homes, homes.seeded(feed), feed, EXAMPLES[feed], data, markers)


@settings(max_examples=40, **FUZZ)
@given(
    feed=st.sampled_from(XLSX_FEEDS),
    tag=TAG,
    misplaced=SOMETIMES,
    ops=st.lists(XLSX_OP, max_size=5),
)
def test_edited_workbook_is_loaded_or_quarantined_and_leaks_nothing(
    homes: Homes, feed: str, tag: int, misplaced: str | None, ops: list[tuple[Any, ...]]
) -> None:
    """A planted workbook edited at random with openpyxl: cells, rows and sheets."""
    data, markers = xlsx_delivery(feed, tag, misplaced, ops)
    deliver(homes, homes.seeded(feed), feed, EXAMPLES[feed], data, markers)


@settings(max_examples=30, **FUZZ)
@given(feed=st.sampled_from(XLSX_FEEDS), tag=TAG, ops=st.lists(ZIP_OP, min_size=1, max_size=3))
def test_damaged_workbook_zip_is_loaded_or_quarantined_and_leaks_nothing(
    homes: Homes, feed: str, tag: int, ops: list[tuple[Any, ...]]
) -> None:
    """A planted workbook whose zip is damaged: cut short, garbage after PK, a part's XML
    mutated or left out, bytes flipped."""
    data, markers = xlsx_delivery(feed, tag, None, [])
    assume_no_marker_drawn(ops, markers)
    for op in ops:
        data = apply_zip_op(data, op)
    deliver(homes, homes.seeded(feed), feed, EXAMPLES[feed], data, markers)


@st.composite
def named_delivery(draw: st.DrawFn) -> tuple[str, str]:
    """(feed, a hostile name for its good file)."""
    feed = draw(st.sampled_from(ALL_FEEDS))
    return feed, draw(hostile_names(EXAMPLES[feed]))


@settings(max_examples=40, **FUZZ)
@given(named=named_delivery(), tag=TAG, dob=DOB)
def test_good_file_under_hostile_name_is_taken_and_shown_safely(
    homes: Homes, named: tuple[str, str], tag: int, dob: date
) -> None:
    """A good (planted) file under a hostile name, in an empty home: it loads (under the
    agreed name) or is quarantined, and its name is shown as one bounded printable line."""
    feed, name = named
    if feed in CSV_FEEDS:
        data, markers = csv_delivery(feed, tag, dob, None, [], [])
    else:
        data, markers = xlsx_delivery(feed, tag, None, [])
    deliver(homes, homes.empty(), feed, name, data, markers)
