"""Hostile workbooks are named rejections within seconds and in bounded memory (issue 22).

Each workbook is written here part by part with ``zipfile``, as a hostile sender could: a
sheet that declares the whole grid (A1:XFD1048576), tens of millions of shared strings packed
into a megabyte, a row of millions of cells, a stray cell in the last column, parts that
unpack to more than the limit, a list of parts or of sheets of a million entries, a sheet of a
million merged cells. The bombs are read in a child process whose peak memory is measured; the
real example workbooks, and a styled one openpyxl writes, must still load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import openpyxl
import openpyxl.xml
import pytest
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from core.contracts import contract_for
from core.problems import RejectedFile
from ingest.limits import (
    MAX_PART_ELEMENTS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_WORKBOOK_PARTS,
    MAX_WORKBOOK_UNPACKED_BYTES,
)
from ingest.readers import ReadResult, read_delivery
from ingest.workbook import open_workbook, sheet_rows
from tests.conftest import REPO, example, test_pseudonymiser

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
RETURN_NAME = "partner_return_probation_2014-15_Q2.xlsx"
# Peak memory (KiB, as Linux reports ru_maxrss) a child reading a bomb may reach, and how long
# it may take; before the limits the bombs took 2.5 GiB or more, for minutes.
MAX_CHILD_KIB = 3 << 19  # 1.5 GiB
CHILD_TIMEOUT_SECONDS = 120

Writer = Callable[[IO[bytes]], None]


# ---------------------------------------------------------------------------------------------
# Workbooks written part by part
# ---------------------------------------------------------------------------------------------


def write_xlsx(
    path: Path,
    sheets: dict[str, bytes | Writer],
    shared_strings: Writer | None = None,
    extra_parts: dict[str, bytes | Writer] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    strings_part: str = "xl/sharedStrings.xml",
) -> Path:
    """A minimal .xlsx openpyxl opens: the sheets in order, each part written as it comes.

    A part given as a writer is streamed into the zip, so a part of hundreds of megabytes is
    never held whole (ZIP64, since its size is not known in advance). An extra part named
    like one written here replaces it.
    """
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        f'ContentType="{SPREADSHEET}.worksheet+xml"/>'
        for n in range(1, len(names) + 1)
    )
    relations = "".join(
        f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(names) + 1)
    )
    if shared_strings:
        overrides += (
            f'<Override PartName="/{strings_part}" ContentType="{SPREADSHEET}.sharedStrings+xml"/>'
        )
        relations += (
            f'<Relationship Id="rIdStrings" Type="{RELATIONSHIPS}/sharedStrings" '
            f'Target="/{strings_part}"/>'
        )
    listed = "".join(
        f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, start=1)
    )
    parts: dict[str, bytes | Writer] = {
        "[Content_Types].xml": (
            f'<Types xmlns="{CONTENT_TYPES}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
            f"{overrides}</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f"<sheets>{listed}</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PACKAGE}">{relations}</Relationships>'
        ).encode(),
    }
    parts.update(
        {f"xl/worksheets/sheet{n}.xml": sheets[name] for n, name in enumerate(names, start=1)}
    )
    if shared_strings:
        parts[strings_part] = shared_strings
    parts.update(extra_parts or {})
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in parts.items():
            with archive.open(name, "w", force_zip64=True) as out:
                if isinstance(content, bytes):
                    out.write(content)
                else:
                    content(out)
    return path


def sheet_xml(rows: str, dimension: str | None = None) -> bytes:
    """A worksheet part holding ``rows``, declaring ``dimension`` as its used range if given."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{MAIN}">{declared}<sheetData>{rows}</sheetData></worksheet>'.encode()


def row_xml(number: int, cells: dict[str, object]) -> str:
    """One row: text as inline strings, numbers as numbers, keyed by column letters."""
    written = []
    for column, value in cells.items():
        reference = f"{column}{number}"
        if isinstance(value, str):
            written.append(f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>')
        else:
            written.append(f'<c r="{reference}"><v>{value}</v></c>')
    return f'<row r="{number}">{"".join(written)}</row>'


def return_rows() -> str:
    """The probation return's header and one good row, as in the example workbook."""
    header = contract_for("partner_returns").tables[0].source_names
    letters = [openpyxl.utils.get_column_letter(n) for n in range(1, len(header) + 1)]
    good = {
        "Indicator Code": "RR_ACCOMMODATION",
        "Period": "2014/15 Q2",
        "Numerator": 171,
        "Denominator": 198,
        "Value": 86.4,
    }
    return row_xml(1, dict(zip(letters, header, strict=True))) + row_xml(
        2,
        {letter: good[name] for letter, name in zip(letters, header, strict=True) if name in good},
    )


def shared_strings_xml(count: int, tag: str = "si") -> Writer:
    """A shared-strings part of ``count`` empty entries, written in blocks."""
    return part_writer(
        f'<sst xmlns="{MAIN}" xmlns:x="{MAIN}" count="{count}" uniqueCount="{count}">',
        f"<{tag}><t/></{tag}>".encode(),
        count,
        "</sst>",
    )


def part_writer(head: str, repeated: bytes, count: int, tail: str) -> Writer:
    """A part of ``head``, ``count`` times ``repeated``, then ``tail``, written in blocks."""

    def write(out: IO[bytes]) -> None:
        out.write(head.encode())
        block = 100_000
        for _ in range(count // block):
            out.write(repeated * block)
        out.write(repeated * (count % block))
        out.write(tail.encode())

    return write


def rows_writer(first: str, count: int) -> Writer:
    """A worksheet part with no dimension: ``first`` (XML rows), then ``count`` one-cell rows."""

    def write(out: IO[bytes]) -> None:
        out.write(f'<worksheet xmlns="{MAIN}"><sheetData>{first}'.encode())
        block = 10_000
        for start in range(3, count + 3, block):
            out.write(
                "".join(
                    f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>RR_X</t></is></c></row>'
                    for n in range(start, min(start + block, count + 3))
                ).encode()
            )
        out.write(b"</sheetData></worksheet>")

    return write


def read(
    path: Path, feed: str = "partner_returns", partner: str | None = "probation"
) -> ReadResult:
    contract = contract_for(feed)
    period = contract.period_from_file_name(path.name)
    assert period is not None, path.name
    return read_delivery(
        path,
        contract,
        period,
        test_pseudonymiser(),
        la_code=None,
        partner=partner if feed == "partner_returns" else None,
    )


def rejected_rule(path: Path, feed: str = "partner_returns") -> str:
    with pytest.raises(RejectedFile) as caught:
        read(path, feed)
    return caught.value.rule


# ---------------------------------------------------------------------------------------------
# The bombs, read in a child whose peak memory is measured
# ---------------------------------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from core.contracts import contract_for
from core.problems import RejectedFile
from ingest.readers import read_delivery
from tests.conftest import test_pseudonymiser

path, feed = Path(sys.argv[1]), sys.argv[2]
contract = contract_for(feed)
try:
    read_delivery(path, contract, contract.period_from_file_name(path.name),
                  test_pseudonymiser(), la_code=None)
except RejectedFile as rejected:
    print(rejected.rule)
else:
    print("accepted")
"""


def read_in_child(path: Path, feed: str = "partner_returns") -> tuple[str, int, float]:
    """The rule a child process rejects ``path`` by, its peak memory (KiB), and the seconds.

    The child is reaped with ``wait4``, which gives that child's own resource usage: what
    ``getrusage(RUSAGE_CHILDREN)`` would report, without the other children of the session.
    """
    with tempfile.TemporaryFile() as output:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), feed],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > CHILD_TIMEOUT_SECONDS:
                os.kill(child.pid, signal.SIGKILL)
                os.wait4(child.pid, 0)
                child.returncode = -signal.SIGKILL
                pytest.fail(f"reading {path.name} took over {CHILD_TIMEOUT_SECONDS} s")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read().decode(errors="replace")
    assert child.returncode == 0, printed
    return printed.strip().splitlines()[-1], usage.ru_maxrss, seconds


def whole_grid(path: Path) -> Path:
    """A few kilobytes: a header, one cell in the last row, and the whole grid declared.

    openpyxl would pad every row to 16,384 values, and read back every missing row.
    """
    return write_xlsx(
        path,
        {
            "Return": sheet_xml(
                return_rows() + row_xml(1_048_576, {"A": "x"}), dimension="A1:XFD1048576"
            )
        },
    )


def millions_of_strings(path: Path) -> Path:
    """26 million empty shared strings: under a megabyte packed, 338 MB unpacked.

    openpyxl loads the whole table as the workbook is opened.
    """
    return write_xlsx(
        path, {"Return": sheet_xml(return_rows())}, shared_strings=shared_strings_xml(26_000_000)
    )


def row_of_millions_of_cells(path: Path) -> Path:
    """One row of 15 million empty cells, within the size limit; the range declared is small.

    openpyxl builds every cell of a row before it returns the row.
    """
    cells = 15_000_000
    return write_xlsx(
        path,
        {
            "Return": part_writer(
                f'<worksheet xmlns="{MAIN}"><dimension ref="A1:F3"/><sheetData>{return_rows()}'
                '<row r="3">',
                b"<c/>",
                cells,
                "</row></sheetData></worksheet>",
            )
        },
    )


def millions_of_empty_rows(path: Path) -> Path:
    """Ten million empty rows, within the size limit, in a sheet that declares no range.

    openpyxl reads a sheet with no declared range to its end as the workbook is opened.
    """
    return write_xlsx(
        path,
        {
            "Return": part_writer(
                f'<worksheet xmlns="{MAIN}"><sheetData>{return_rows()}',
                b"<row/>",
                10_000_000,
                "</sheetData></worksheet>",
            )
        },
    )


# A bomb in a part openpyxl reads whole: a million entries, a few bytes each.
MILLION_ENTRIES = 1_200_000


def millions_of_content_types(path: Path) -> Path:
    """1.2 million entries in the list of parts: 48 MB unpacked, 140 KB packed.

    openpyxl builds the whole list as the workbook is opened (918 MB, 29 s before its limit).
    """
    return write_xlsx(
        path,
        {"Return": sheet_xml(return_rows())},
        extra_parts={
            "[Content_Types].xml": part_writer(
                f'<Types xmlns="{CONTENT_TYPES}"><Default Extension="rels" '
                'ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                f'ContentType="{SPREADSHEET}.sheet.main+xml"/><Override PartName="/xl/worksheets/'
                f'sheet1.xml" ContentType="{SPREADSHEET}.worksheet+xml"/>',
                b'<Default Extension="a" ContentType="b"/>',
                MILLION_ENTRIES,
                "</Types>",
            )
        },
    )


def millions_of_sheets(path: Path) -> Path:
    """1.2 million sheets listed in xl/workbook.xml, every one the return's own sheet.

    openpyxl builds the whole list, then a sheet for each entry (over 120 s before its limit).
    """
    return write_xlsx(
        path,
        {"Return": sheet_xml(return_rows())},
        extra_parts={
            "xl/workbook.xml": part_writer(
                f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
                '<sheet name="Return" sheetId="1" r:id="rId1"/>',
                b'<sheet name="Copy" sheetId="2" r:id="rId1"/>',
                MILLION_ENTRIES,
                "</sheets></workbook>",
            )
        },
    )


def merged_cells_writer(count: int) -> Writer:
    """The return's sheet with ``count`` merged ranges below the table."""
    return part_writer(
        f'<worksheet xmlns="{MAIN}"><sheetData>{return_rows()}</sheetData><mergeCells>',
        b'<mergeCell ref="A9:B9"/>',
        count,
        "</mergeCells></worksheet>",
    )


def millions_of_merged_cells(path: Path) -> Path:
    """1.2 million merged ranges in the return's sheet: 29 MB unpacked, 70 KB packed.

    openpyxl builds every range once it has read the sheet's rows.
    """
    return write_xlsx(path, {"Return": merged_cells_writer(MILLION_ENTRIES)})


@pytest.mark.parametrize(
    "make, rule, packed",
    [
        (whole_grid, "workbook_dimension", 8_000),
        (millions_of_strings, "workbook_too_large", 1_500_000),
        (row_of_millions_of_cells, "too_many_columns", 200_000),
        (millions_of_empty_rows, "too_many_rows", 200_000),
        (millions_of_content_types, "workbook_too_complex", 200_000),
        (millions_of_sheets, "workbook_too_complex", 200_000),
        (millions_of_merged_cells, "workbook_too_complex", 100_000),
    ],
    ids=["whole-grid", "strings", "cells", "rows", "content-types", "sheets", "merged-cells"],
)
def test_bomb_is_refused_quickly_in_bounded_memory(
    tmp_path: Path, make: Callable[[Path], Path], rule: str, packed: int
) -> None:
    bomb = make(tmp_path / RETURN_NAME)
    assert bomb.stat().st_size < packed
    found, peak_kib, seconds = read_in_child(bomb)
    assert found == rule
    assert peak_kib < MAX_CHILD_KIB, f"peak {peak_kib >> 10} MiB in {seconds:.1f} s"


# ---------------------------------------------------------------------------------------------
# Each limit, its own rule
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["si", "x:si"], ids=["plain", "namespace-prefixed"])
def test_too_many_shared_strings_within_the_size_limit(tmp_path: Path, tag: str) -> None:
    # Small enough to pass the size limit, so it is the count that refuses it; a prefixed tag
    # is the same element to openpyxl, so it counts the same.
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        shared_strings=shared_strings_xml(MAX_SHARED_STRINGS + 1, tag),
    )
    with zipfile.ZipFile(bomb) as archive:
        assert sum(p.file_size for p in archive.infolist()) < MAX_WORKBOOK_UNPACKED_BYTES
    assert rejected_rule(bomb) == "too_many_strings"


def test_shared_strings_part_under_another_name_is_counted(tmp_path: Path) -> None:
    # The content types, not the part's name, tell openpyxl where the table is.
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        shared_strings=shared_strings_xml(MAX_SHARED_STRINGS + 1),
        strings_part="xl/strings.bin",
    )
    assert rejected_rule(bomb) == "too_many_strings"


def test_parts_declared_larger_than_the_limit(tmp_path: Path) -> None:
    # An 'image' of zeros: tens of kilobytes packed, more than the limit unpacked.
    zeros = bytes(MAX_WORKBOOK_UNPACKED_BYTES + 1)
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        extra_parts={"xl/media/image1.png": zeros},
    )
    assert bomb.stat().st_size < 1_000_000
    problem = pytest.raises(RejectedFile, read, bomb).value.problems[0]
    assert problem.rule == "workbook_too_large"
    assert f"{MAX_WORKBOOK_UNPACKED_BYTES >> 20} MB" in problem.message


def test_too_many_parts(tmp_path: Path) -> None:
    extra = {f"customXml/item{n}.xml": b"<a/>" for n in range(MAX_WORKBOOK_PARTS)}
    bomb = write_xlsx(
        tmp_path / RETURN_NAME, {"Return": sheet_xml(return_rows())}, extra_parts=extra
    )
    assert rejected_rule(bomb) == "workbook_parts"


def test_compression_excel_never_uses(tmp_path: Path) -> None:
    # bzip2 would let a few kilobytes unpack to gigabytes in one read.
    odd = write_xlsx(
        tmp_path / RETURN_NAME, {"Return": sheet_xml(return_rows())}, compression=zipfile.ZIP_BZIP2
    )
    assert rejected_rule(odd) == "workbook_format"


@pytest.mark.parametrize(
    "sheet",
    [
        sheet_xml("", dimension="SECRET-CLIENT-NAME"),  # refused as the workbook is opened
        sheet_xml('<row r="SECRET-CLIENT-NAME"/>', dimension="A1:F2"),  # as the sheet is read
    ],
    ids=["when-opened", "when-read"],
)
def test_damaged_workbook_error_quotes_nothing_of_the_file(tmp_path: Path, sheet: bytes) -> None:
    # openpyxl's own error would quote the text it could not read.
    damaged = write_xlsx(tmp_path / RETURN_NAME, {"Return": sheet})
    problem = pytest.raises(RejectedFile, read, damaged).value.problems[0]
    assert problem.rule == "workbook_format"
    assert "SECRET" not in problem.message and str(tmp_path) not in problem.message


def test_stray_cell_in_the_last_column_as_excel_saves_it(tmp_path: Path) -> None:
    # Excel and openpyxl both declare the range the stray cell stretches the sheet to.
    book = openpyxl.load_workbook(example("idva_caseload_2014-15_Q2.xlsx"))
    book["Cases"]["XFD5"] = "x"
    path = tmp_path / "idva_caseload_2014-15_Q2.xlsx"
    book.save(path)
    assert rejected_rule(path, "idva_caseload") == "workbook_dimension"


def test_stray_cell_in_the_last_column_of_a_sheet_declaring_no_range(tmp_path: Path) -> None:
    # Without a declared range openpyxl pads a row out to its last cell: 16,384 values.
    path = write_xlsx(tmp_path / RETURN_NAME, {"Return": sheet_xml(row_xml(1, {"XFD": "x"}))})
    with open_workbook(path) as workbook:
        [row] = list(sheet_rows(workbook["Return"]))
    assert len(row) == MAX_SHEET_COLUMNS and set(row) == {None}
    # The row read holds no header, and says so.
    assert rejected_rule(path) == "header"


def test_value_beyond_the_agreed_columns_of_a_sheet_declaring_no_range(tmp_path: Path) -> None:
    last = openpyxl.utils.get_column_letter(MAX_SHEET_COLUMNS)
    path = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows() + row_xml(3, {"A": "RR_EMPLOYMENT", last: "stray"}))},
    )
    problem = pytest.raises(RejectedFile, read, path).value.problems[0]
    assert problem.rule == "layout" and "beyond the agreed columns" in problem.message


def test_more_rows_than_the_limit(tmp_path: Path) -> None:
    # Real rows, with no range declared: counted before openpyxl opens the workbook.
    path = write_xlsx(
        tmp_path / RETURN_NAME, {"Return": rows_writer(return_rows(), MAX_SHEET_ROWS)}
    )
    started = time.monotonic()
    assert rejected_rule(path) == "too_many_rows"
    assert time.monotonic() - started < 10


def test_more_cells_in_a_row_than_the_limit(tmp_path: Path) -> None:
    cells = {openpyxl.utils.get_column_letter(n): n for n in range(1, MAX_SHEET_COLUMNS + 2)}
    path = write_xlsx(
        tmp_path / RETURN_NAME, {"Return": sheet_xml(return_rows() + row_xml(3, cells))}
    )
    assert rejected_rule(path) == "too_many_columns"


def test_rows_missing_from_the_sheet_count_towards_the_limit(tmp_path: Path) -> None:
    # Three rows, the last far down: openpyxl reads back every row missing before it, empty,
    # and they count as they are read.
    path = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows() + row_xml(MAX_SHEET_ROWS + 1, {"A": "Total"}))},
    )
    assert rejected_rule(path) == "too_many_rows"


def test_rows_below_a_gap_are_still_refused(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows() + row_xml(50, {"A": "Total", "E": 3}))},
    )
    problem = pytest.raises(RejectedFile, read, path).value.problems[0]
    assert problem.rule == "totals_row" and problem.examples == [{"row": 50}]


# ---------------------------------------------------------------------------------------------
# Parts openpyxl reads whole, and what one row or text value holds
# ---------------------------------------------------------------------------------------------


def test_parse_is_expat_as_the_scan() -> None:
    # The scan counts what expat reports; with lxml installed openpyxl would parse most parts
    # with libxml2 instead, which need not stop where expat does.
    assert not openpyxl.xml.LXML


def test_merged_cells_up_to_the_limit_load_and_one_more_is_refused(tmp_path: Path) -> None:
    # The sheet's structure is <worksheet>, <sheetData> and <mergeCells>, then the ranges.
    ranges = MAX_PART_ELEMENTS - 3
    at_limit = write_xlsx(tmp_path / RETURN_NAME, {"Return": merged_cells_writer(ranges)})
    started = time.monotonic()
    assert read(at_limit).row_count == 1
    assert time.monotonic() - started < 10
    over = write_xlsx(tmp_path / RETURN_NAME, {"Return": merged_cells_writer(ranges + 1)})
    problem = pytest.raises(RejectedFile, read, over).value.problems[0]
    assert problem.rule == "workbook_too_complex"
    assert "layout of a sheet" in problem.message and "xl/worksheets/sheet1.xml" in problem.message
    assert f"{MAX_PART_ELEMENTS:,}" in problem.message


@pytest.mark.parametrize(
    "part, head, entry, tail, named",
    [
        (
            "xl/styles.xml",
            f'<styleSheet xmlns="{MAIN}"><fonts>',
            b"<font/>",
            "</fonts></styleSheet>",
            "table of cell styles (xl/styles.xml)",
        ),
        (
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>',
            b'<Relationship Id="x" Type="t" Target="SECRET"/>',
            "</Relationships>",
            "list of links between its parts",
        ),
        (
            "docProps/core.xml",
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">',
            b"<dc:title>SECRET</dc:title>",
            "</cp:coreProperties>",
            "document properties",
        ),
        ("customXml/item1.xml", "<a>", b"<b/>", "</a>", "part customXml/item1.xml"),
    ],
    ids=["styles", "relationships", "properties", "any-part"],
)
def test_part_with_more_entries_than_the_limit(
    tmp_path: Path, part: str, head: str, entry: bytes, tail: str, named: str
) -> None:
    # Whatever the part, openpyxl reading it or not: a few bytes an entry, far within the size
    # limit. The part is named, and nothing it holds is quoted.
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        extra_parts={part: part_writer(head, entry, MAX_PART_ELEMENTS, tail)},
    )
    problem = pytest.raises(RejectedFile, read, bomb).value.problems[0]
    assert problem.rule == "workbook_too_complex"
    assert named in problem.message and "SECRET" not in problem.message


def test_defined_names_count_with_the_sheets_listed(tmp_path: Path) -> None:
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        extra_parts={
            "xl/workbook.xml": part_writer(
                f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets><sheet name="Return" '
                'sheetId="1" r:id="rId1"/></sheets><definedNames>',
                b'<definedName name="SECRET">Return!$A$1</definedName>',
                MAX_PART_ELEMENTS,
                "</definedNames></workbook>",
            )
        },
    )
    problem = pytest.raises(RejectedFile, read, bomb).value.problems[0]
    assert problem.rule == "workbook_too_complex"
    assert "list of sheets and named ranges (xl/workbook.xml)" in problem.message
    assert "SECRET" not in problem.message


def test_elements_in_the_sheet_data_outside_any_row_count(tmp_path: Path) -> None:
    # openpyxl keeps every element of a sheet it does not read as a row until the sheet ends.
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {
            "Return": part_writer(
                f'<worksheet xmlns="{MAIN}"><sheetData>{return_rows()}',
                b"<x/>",
                MAX_PART_ELEMENTS,
                "</sheetData></worksheet>",
            )
        },
    )
    assert rejected_rule(bomb) == "workbook_too_complex"


def test_every_child_of_a_row_counts_as_a_cell(tmp_path: Path) -> None:
    # openpyxl reads each child of a row as a cell, whatever it is called.
    bomb = write_xlsx(
        tmp_path / RETURN_NAME,
        {
            "Return": sheet_xml(
                return_rows() + '<row r="3">' + "<x/>" * (MAX_SHEET_COLUMNS + 1) + "</row>"
            )
        },
    )
    assert rejected_rule(bomb) == "too_many_columns"


@pytest.mark.parametrize(
    "where, make",
    [
        (
            "a row",
            lambda head, tail: {
                "Return": part_writer(
                    f'<worksheet xmlns="{MAIN}"><sheetData>{return_rows()}<row r="3"><c r="A3" '
                    f't="inlineStr"><is>{head}',
                    b"<r><t>SECRET</t></r>",
                    MAX_PART_ELEMENTS // 2,
                    f"{tail}</is></c></row></sheetData></worksheet>",
                )
            },
        ),
        (
            "a text value",
            lambda head, tail: {
                "Return": sheet_xml(return_rows()),
                "strings": part_writer(
                    f'<sst xmlns="{MAIN}"><si>{head}',
                    b"<r><t>SECRET</t></r>",
                    MAX_PART_ELEMENTS // 2,
                    f"{tail}</si></sst>",
                ),
            },
        ),
    ],
    ids=["row", "shared-string"],
)
def test_row_or_text_value_holding_more_than_the_limit(
    tmp_path: Path, where: str, make: Callable[[str, str], dict]
) -> None:
    # One text value of tens of thousands of runs: openpyxl holds a row, or a shared string,
    # whole while it reads it.
    parts = make("<r><t>x</t></r>", "")
    strings = parts.pop("strings", None)
    bomb = write_xlsx(tmp_path / RETURN_NAME, parts, shared_strings=strings)
    problem = pytest.raises(RejectedFile, read, bomb).value.problems[0]
    assert problem.rule == "workbook_too_complex"
    assert problem.message.startswith(where) and "SECRET" not in problem.message


def test_shared_strings_in_utf16_are_counted(tmp_path: Path) -> None:
    # openpyxl reads a UTF-16 part as readily as UTF-8; its tags are no bytes a search for
    # '<si' would find.
    def utf16_strings(out: IO[bytes]) -> None:
        out.write(f'<?xml version="1.0" encoding="UTF-16"?><sst xmlns="{MAIN}">'.encode("utf-16"))
        block = 100_000
        for _ in range(MAX_SHARED_STRINGS // block + 1):
            out.write(("<si><t/></si>" * block).encode("utf-16-le"))
        out.write("</sst>".encode("utf-16-le"))

    bomb = write_xlsx(
        tmp_path / RETURN_NAME, {"Return": sheet_xml(return_rows())}, shared_strings=utf16_strings
    )
    assert rejected_rule(bomb) == "too_many_strings"


def test_text_in_a_comment_is_not_counted(tmp_path: Path) -> None:
    # A comment that only looks like rows builds nothing in openpyxl.
    path = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows() + "<!--" + "<row/>" * (MAX_SHEET_ROWS + 1) + "-->")},
    )
    assert read(path).row_count == 1


def test_one_sheet_listed_many_times_is_read_once(tmp_path: Path) -> None:
    # 3 KB: the return's sheet listed a thousand times, with 10,000 links of its own. openpyxl
    # would read the sheet's links, and the start of the sheet, once for each entry (a minute).
    listed = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        extra_parts={
            "xl/workbook.xml": part_writer(
                f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
                '<sheet name="Return" sheetId="1" r:id="rId1"/>',
                b'<sheet name="Copy" sheetId="2" r:id="rId1"/>',
                1_000,
                "</sheets></workbook>",
            ),
            "xl/worksheets/_rels/sheet1.xml.rels": part_writer(
                f'<Relationships xmlns="{PACKAGE}">',
                b'<Relationship Id="x" Type="t" Target="a"/>',
                10_000,
                "</Relationships>",
            ),
        },
    )
    started = time.monotonic()
    with open_workbook(listed) as workbook:
        assert workbook.sheetnames == ["Return"]
    assert read(listed).row_count == 1
    assert time.monotonic() - started < 10


def test_chart_sheet_is_not_read(tmp_path: Path) -> None:
    # openpyxl reads a chart sheet's drawing, and each chart it anchors, as often as anchored:
    # a 31 KB workbook anchoring one chart 2,000 times took 2.5 GB and 98 s. Values need none
    # of it, so a chart sheet is never opened (this one is not even XML).
    path = write_xlsx(
        tmp_path / RETURN_NAME,
        {"Return": sheet_xml(return_rows())},
        extra_parts={
            "xl/workbook.xml": (
                f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets><sheet name="Return" '
                'sheetId="1" r:id="rId1"/><sheet name="Chart" sheetId="2" r:id="rId2"/></sheets>'
                "</workbook>"
            ).encode(),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELATIONSHIPS}/'
                'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
                f'Type="{RELATIONSHIPS}/chartsheet" Target="chartsheets/sheet1.xml"/>'
                "</Relationships>"
            ).encode(),
            "xl/chartsheets/sheet1.xml": b"<not xml",
        },
    )
    with open_workbook(path) as workbook:
        assert workbook.sheetnames == ["Return"]
    assert read(path).row_count == 1


# ---------------------------------------------------------------------------------------------
# Real workbooks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, feed, partner",
    [
        ("idva_caseload_2014-15_Q2.xlsx", "idva_caseload", None),
        ("partner_return_probation_2014-15_Q2.xlsx", "partner_returns", "probation"),
        ("partner_return_iom_2014-15_Q2.xlsx", "partner_returns", "iom"),
    ],
)
def test_example_workbooks_still_load(name: str, feed: str, partner: str | None) -> None:
    result = read(example(name), feed, partner)
    assert result.row_count > 0


def test_styled_caseload_written_by_openpyxl_loads(tmp_path: Path) -> None:
    # A merged, filled title, a bold header, bordered rows with date formats: every part stays
    # far below the limit.
    book = openpyxl.load_workbook(example("idva_caseload_2014-15_Q2.xlsx"))
    cases = book["Cases"]
    cases.merge_cells("A1:M1")
    cases["A1"].font = Font(bold=True, size=14)
    cases["A1"].fill = PatternFill("solid", fgColor="DDEBF7")
    cases["A1"].alignment = Alignment(horizontal="center")
    for cell in cases[3]:
        cell.font = Font(bold=True)
    examples = [list(row) for row in cases.iter_rows(min_row=4, values_only=True) if row[0]]
    for number in range(300):
        cases.append([f"IDVA-14-{9000 + number}", *examples[number % len(examples)][1:]])
        cases.cell(cases.max_row, 1).border = Border(bottom=Side(style="thin"))
        cases.cell(cases.max_row, 2).number_format = "dd/mm/yyyy"
    path = tmp_path / "idva_caseload_2014-15_Q2.xlsx"
    book.save(path)
    assert read(path, "idva_caseload").tables["idva_cases"].num_rows == len(examples) + 300


def test_a_good_hand_written_return_loads(tmp_path: Path) -> None:
    result = read(write_xlsx(tmp_path / RETURN_NAME, {"Return": sheet_xml(return_rows())}))
    assert result.row_count == 1
