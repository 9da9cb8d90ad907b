"""Open a delivered .xlsx workbook without believing what it says about itself.

An .xlsx is a zip of XML parts, and openpyxl, even read-only, trusts them: it loads the whole
shared-strings table when the workbook is opened, reads its list of parts, sheets, names,
styles and links whole, and pads every row it reads out to the used range the sheet declares
(its ``<dimension>``). A file of a few kilobytes can so ask for gigabytes. Here the zip's
directory is checked, and every part is parsed as openpyxl's own parser would and its
elements counted (shared strings, rows, cells, and everything else), against
``ingest.limits`` before openpyxl is given the file; openpyxl then reads no part values do
not need (chart sheets, a sheet's links, other workbooks), and none more than once; a sheet's
declared range is checked before it is read; and rows are then read one at a time, cut to a
fixed width and counted. Such a file is a named rejection within seconds, in bounded memory,
and a real workbook reads as before.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.parsers import expat

from core.problems import RejectedFile, reject
from ingest.limits import (
    MAX_PART_ELEMENTS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_WORKBOOK_PARTS,
    MAX_WORKBOOK_UNPACKED_BYTES,
)
from ingest.redaction import safe_file_name

if TYPE_CHECKING:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

# An old .xls, and an .xlsx saved with a password (which Excel wraps in an encrypted
# container), start as an OLE2 compound file; an .xlsx starts as a zip.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGIC = b"PK"
# Excel stores parts deflated or not at all. Python's zip reader bounds what one read of a
# deflated part may unpack to, but not of a bzip2 or LZMA one (a few kilobytes of bzip2 can
# unpack to gigabytes in a single call), so a workbook using them is refused unread.
EXCEL_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
# Parts are parsed a chunk at a time, never held whole.
CHUNK_BYTES = 1 << 20
# A sheet's row and a shared-strings entry: openpyxl makes each, with all it holds, into one
# row or string and drops its elements. Their own limits bound how many a part holds, and
# MAX_PART_ELEMENTS what one holds; every other element of a part is its structure.
ROW, STRING = "row", "si"
# What the parts Excel writes hold, in words, to name the one refused beside its name in the
# zip; any other part is named by its name alone.
PART_ROLES = (
    (re.compile(r"\[Content_Types\]\.xml"), "list of its parts"),
    (re.compile(r"(?:.*/)?_rels/[^/]*\.rels"), "list of links between its parts"),
    (re.compile(r"xl/workbook\.xml"), "list of sheets and named ranges"),
    (re.compile(r"xl/styles\.xml"), "table of cell styles"),
    (re.compile(r"xl/sharedStrings\.xml"), "table of text values"),
    (re.compile(r"xl/worksheets/[^/]+\.xml"), "layout of a sheet (merged cells, formatting)"),
    (re.compile(r"docProps/[^/]+\.xml"), "document properties"),
)


def check_file_type(path: Path) -> None:
    """Refuse an empty file, an old .xls or password-protected workbook, and any non-zip."""
    with path.open("rb") as handle:
        magic = handle.read(8)
    if not magic:
        raise reject("empty_file", "the file is empty (0 bytes)")
    if magic.startswith(OLE2_MAGIC):
        raise reject(
            "workbook_format",
            "the workbook is an old-style .xls or is password-protected; save it as an "
            "unprotected .xlsx workbook",
        )
    if not magic.startswith(ZIP_MAGIC):
        raise reject("workbook_format", "the file is not an .xlsx workbook")


def check_archive(path: Path) -> None:
    """Refuse a workbook whose zip is damaged, too big unpacked, or holds too many elements.

    Only the zip's directory is trusted for sizes: Python's zip reader never returns more of
    a part than the directory declares (a part that holds more fails its checksum).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_parts(parts)
            for part in parts:
                with archive.open(part) as source:
                    _scan_part(source, PartCount(part.filename))
    except RejectedFile:
        raise
    except Exception as error:  # the zip module raises many types for a damaged archive
        raise unopenable(error) from None


def _check_parts(parts: list[zipfile.ZipInfo]) -> None:
    """The zip's directory: how many parts, what they unpack to, and how they are packed."""
    if len(parts) > MAX_WORKBOOK_PARTS:
        raise reject(
            "workbook_parts",
            f"the workbook is made of {len(parts):,} parts, where a workbook of this feed has "
            f"a few dozen at most (the limit is {MAX_WORKBOOK_PARTS:,}): it is not an "
            "ordinary Excel workbook; save the sheets again as a new .xlsx workbook",
        )
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_WORKBOOK_UNPACKED_BYTES:
        raise reject(
            "workbook_too_large",
            f"the workbook unpacks to {unpacked / (1 << 20):,.0f} MB, more than the "
            f"{MAX_WORKBOOK_UNPACKED_BYTES >> 20} MB a workbook of this feed may unpack to "
            "(a real return or caseload unpacks to under 1 MB): save the sheets with only the "
            "cells in use, without pictures or other embedded files",
        )
    if any(part.compress_type not in EXCEL_COMPRESSION for part in parts):
        raise reject(
            "workbook_format",
            "the workbook's parts are compressed in a way Excel never uses: save the "
            "sheets again from Excel as an .xlsx workbook",
        )


def _scan_part(source: IO[bytes], count: PartCount) -> None:
    """Parse a part a chunk at a time with expat, as openpyxl does, counting its elements.

    openpyxl parses with Python's ElementTree, which is expat (lxml would replace it, and is
    not installed), so the elements counted are those it would build: in any encoding
    (UTF-16 too), entities expanded, and never text in a comment that only looks like one.
    Every part is parsed, not only those named like the strings table or a sheet: the
    workbook's own relationships, not the parts' names, tell openpyxl which is which. A part
    that is not XML (a picture) or is damaged stops being counted where expat stops, which is
    where openpyxl's parser stops too.
    """
    parser = expat.ParserCreate()
    parser.ordered_attributes = True  # a list, not a dict, for attributes never looked at
    parser.StartElementHandler = count.start
    parser.EndElementHandler = count.end
    try:
        while chunk := source.read(CHUNK_BYTES):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        return


class PartCount:
    """The elements of one part, counted against the limits as expat reports them.

    openpyxl holds the whole strings table, and every child of a row (each read as a cell),
    in memory at once; it builds every other element of a part it reads whole, as objects
    or as a tree, before it looks at any of them. So a part may hold up to
    ``MAX_SHARED_STRINGS`` strings and ``MAX_SHEET_ROWS`` rows of at most
    ``MAX_SHEET_COLUMNS`` cells, each string or row at most ``MAX_PART_ELEMENTS`` elements
    in all, and up to ``MAX_PART_ELEMENTS`` elements besides (its structure).
    """

    def __init__(self, part: str) -> None:
        self.part = part
        self.depth = 0
        # The depth of the row or shared string open, 0 when none is; and whether a row.
        self.entry_depth = 0
        self.entry_is_row = False
        self.strings = self.rows = self.cells = self.entry_elements = self.elements = 0

    def start(self, tag: str, _attributes: list[str]) -> None:
        """Count an element as it begins: an entry, one of an entry's, or the structure."""
        self.depth += 1
        name = tag.rpartition(":")[2]  # <x:si> is the same element to openpyxl as <si>
        if name == ROW:
            self._count_row()
        elif name == STRING:
            self._count_string()
        if self.entry_depth:
            self._count_in_entry()
        elif name in (ROW, STRING):
            self.entry_depth, self.entry_is_row = self.depth, name == ROW
            self.cells = self.entry_elements = 0
        else:
            self._count_structure()

    def end(self, _tag: str) -> None:
        """Close the row or shared string open, if this element is it."""
        if self.depth == self.entry_depth:
            self.entry_depth = 0
        self.depth -= 1

    def _count_row(self) -> None:
        """A row begun: refused past ``MAX_SHEET_ROWS``."""
        self.rows += 1
        if self.rows > MAX_SHEET_ROWS:
            raise _too_many_rows("a sheet in the workbook")

    def _count_string(self) -> None:
        """A shared string begun: refused past ``MAX_SHARED_STRINGS``."""
        self.strings += 1
        if self.strings > MAX_SHARED_STRINGS:
            raise reject(
                "too_many_strings",
                f"the workbook's table of text values (its shared strings) has more than "
                f"{MAX_SHARED_STRINGS:,} entries, far more than the cells of any workbook "
                "of this feed: save the sheets with only the cells in use, as a new .xlsx "
                "workbook",
            )

    def _count_in_entry(self) -> None:
        """An element inside a row or shared string: a cell if a row's child, and held."""
        if self.entry_is_row and self.depth == self.entry_depth + 1:
            self._count_cell()
        self.entry_elements += 1
        if self.entry_elements > MAX_PART_ELEMENTS:
            entry = "a row" if self.entry_is_row else "a text value"
            raise _too_complex(f"{entry} in the workbook's part {_shown(self.part)}")

    def _count_cell(self) -> None:
        """A row's child begun, which openpyxl reads as a cell."""
        self.cells += 1
        if self.cells > MAX_SHEET_COLUMNS:
            raise reject(
                "too_many_columns",
                f"a row of a sheet in the workbook has more than {MAX_SHEET_COLUMNS} cells, "
                "far more than any sheet of this feed: delete the columns to the right "
                "of the table, or save the sheet with only the cells in use",
            )

    def _count_structure(self) -> None:
        """An element outside any row or shared string."""
        self.elements += 1
        if self.elements > MAX_PART_ELEMENTS:
            raise _too_complex(f"the workbook's {_described(self.part)}")


def _too_complex(where: str) -> RejectedFile:
    """The rejection of a part, row or text value holding more than ``MAX_PART_ELEMENTS``."""
    return reject(
        "workbook_too_complex",
        f"{where} holds more than {MAX_PART_ELEMENTS:,} entries, more than any return or "
        "caseload needs: save it again as a plain workbook with only the sheets agreed",
    )


def _described(part: str) -> str:
    """A part as a partner may recognise it: what it holds if known, and its name in the zip."""
    for pattern, role in PART_ROLES:
        if pattern.fullmatch(part):
            return f"{role} ({_shown(part)})"
    return f"part {_shown(part)}"


def _shown(part: str) -> str:
    """A part's name in the zip, which the sender chose: made printable and cut short."""
    return safe_file_name(part, 60)


def unopenable(error: Exception) -> RejectedFile:
    """The rejection of a workbook the zip module or openpyxl cannot open.

    The error's own text may quote the file's contents, so only its kind is named.
    """
    return reject(
        "workbook_format",
        f"the workbook cannot be opened ({type(error).__name__}): it is damaged, or is not "
        "an .xlsx workbook; save it again from Excel as an .xlsx workbook",
    )


@contextmanager
def open_workbook(path: Path) -> Iterator[Workbook]:
    """The workbook at ``path``, read-only with cached values, once its zip passes the checks."""
    check_file_type(path)
    check_archive(path)
    try:
        workbook = _load_values(path)
    except Exception as error:  # openpyxl raises many types for a damaged zip
        raise unopenable(error) from None
    try:
        yield workbook
    finally:
        workbook.close()


def _load_values(path: Path) -> Workbook:
    """openpyxl's read-only workbook with cached values, reading each part it needs once.

    For every sheet a workbook lists, openpyxl's reader parses that sheet's relationships
    (only to drop them, read-only), and for a chart sheet its drawing and every chart the
    drawing anchors; links to other workbooks it reads whole. Each part passes the limits,
    yet a few kilobytes listing one sheet a thousand times, or anchoring one chart a thousand
    times, make it parse the same part a thousand times: a minute, or gigabytes. Values need
    none of them, so the sheets are listed without them and links are not followed.
    """
    from openpyxl.reader.excel import (
        ExcelReader,  # a few hundred ms: only where one is read
    )

    reader = ExcelReader(path, read_only=True, data_only=True, keep_links=False)
    reader.read_worksheets = partial(_list_worksheets, reader)
    reader.read()
    return reader.wb


def _list_worksheets(reader: ExcelReader) -> None:
    """Add the workbook's worksheets to ``reader``'s workbook unread, as openpyxl lists them.

    openpyxl's own listing, read-only, less the relationships it drops. A chart sheet holds
    no values, so it is left out, as is a sheet whose part the zip does not hold. A sheet's
    part is listed once, under its first name: openpyxl reads the start of a sheet's part
    for each name it lists, so one part listed 100,000 times would be read 100,000 times.
    """
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    unlisted = set(reader.valid_files)
    for listed, relationship in reader.parser.find_sheets():
        if relationship.target in unlisted and "chartsheet" not in relationship.Type:
            unlisted.remove(relationship.target)
            sheet = ReadOnlyWorksheet(
                reader.wb, listed.name, relationship.target, reader.shared_strings
            )
            sheet.sheet_state = listed.state
            reader.wb._sheets.append(sheet)


def sheet_rows(sheet: ReadOnlyWorksheet) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sheet`` from row 1, one at a time, once its declared range is checked.

    Every row is as wide as the declared range, or ``MAX_SHEET_COLUMNS`` for a sheet that
    declares none, so a cell far to the right cannot make a row 16,384 values long; cells
    beyond that width are not read. The rows are those the sheet holds, however many it
    declares, and reading stops with ``too_many_rows`` past ``MAX_SHEET_ROWS``.
    """
    check_dimension(sheet)
    width = sheet.max_column or MAX_SHEET_COLUMNS
    sheet.reset_dimensions()
    yield from _counted(sheet.title, sheet.iter_rows(values_only=True, max_col=width))


def check_dimension(sheet: ReadOnlyWorksheet) -> None:
    """Refuse a sheet whose declared used range is beyond the sheet limits."""
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if rows > MAX_SHEET_ROWS or columns > MAX_SHEET_COLUMNS:
        raise reject(
            "workbook_dimension",
            f"sheet {sheet.title!r} says it uses {rows:,} rows and {columns:,} columns, where "
            f"a sheet of this feed may use at most {MAX_SHEET_ROWS:,} rows and "
            f"{MAX_SHEET_COLUMNS} columns: a stray cell far below or to the right of the "
            "table (or formatting applied to whole rows or columns) makes a sheet this big; "
            "delete the rows and columns outside the table, or save the sheet with only the "
            "cells in use",
        )


def _counted(title: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """``rows``, refused past ``MAX_SHEET_ROWS``; a parse error becomes a rejection.

    A row missing from the sheet's XML comes back as an empty one, and counts.
    """
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as error:  # openpyxl parses the sheet as it goes
            raise _unreadable(title, error) from None
        number += 1
        if number > MAX_SHEET_ROWS:
            raise _too_many_rows(f"sheet {title!r}")
        yield values


def _too_many_rows(where: str) -> RejectedFile:
    return reject(
        "too_many_rows",
        f"{where} has more than {MAX_SHEET_ROWS:,} rows, far more than any delivery of this "
        "feed: send only the table, and delete any rows below it (even empty or formatted "
        "ones)",
    )


def _unreadable(title: str, error: Exception) -> RejectedFile:
    """A sheet whose XML openpyxl cannot parse; the error's text may quote cells, so not shown."""
    return reject(
        "workbook_format",
        f"sheet {title!r} cannot be read ({type(error).__name__}): the workbook is damaged; "
        "save it again from Excel as an .xlsx workbook",
    )
