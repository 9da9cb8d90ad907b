"""The layout of a delivered CSV: where its header is, and what may stand above and below.

A plain CSV has its header on line 1 and nothing but records below it. A titled CSV (the
layout some partners' systems export) has a title, a period line and a blank line above the
header, and a blank line and a 'Notes:' block below the data. Lines are read with Python's
CSV reader and held to ``MAX_LINE_BYTES``, so a runaway line is named, never read whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from core.contracts import FeedContract
from core.periods import Period
from core.problems import reject
from ingest.encoding import check_encoding, line_too_long
from ingest.headers import HEADER_SEARCH_ROWS, check_header, find_header
from ingest.limits import MAX_LINE_BYTES
from ingest.redaction import describe_text

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _read_line(handle: io.TextIOBase, line_no: int) -> str:
    """One line of a text file, refused past ``MAX_LINE_BYTES`` rather than read whole."""
    line = handle.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise line_too_long(line_no)
    return line


def _parse_line(line: str, line_no: int) -> list[str]:
    """The fields of one CSV line; a line Python's reader refuses is a named rejection."""
    try:
        with csv_field_limit(MAX_LINE_BYTES):
            return next(csv.reader([line]), [])
    except csv.Error as error:
        raise reject(
            "csv_structure",
            f"line {line_no} cannot be read as CSV ({error})",
            row_count=1,
            examples=[{"line": line_no}],
        ) from None


@contextmanager
def csv_field_limit(limit: int) -> Iterator[None]:
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
    codec = check_encoding(path, contract)
    with path.open("r", encoding=codec, newline="") as handle:
        header = _parse_line(_read_line(handle, 1), 1)
        if header != table.source_names:
            top = [header] + [
                _parse_line(_read_line(handle, line_no), line_no)
                for line_no in range(2, HEADER_SEARCH_ROWS + 2)
            ]
            found_at = find_header(top, table)
            if found_at:
                raise reject(
                    "layout",
                    f"the header is on line {found_at + 1}, but it must be on line 1: remove "
                    "the title or blank lines above it",
                )
    check_header(header, table, "on line 1")
    return codec


def titled_csv_block(path: Path, contract: FeedContract, period: Period) -> list[str]:
    """The header and data lines of a CSV with a title and a period line above the header and
    notes below the data, once its encoding and that layout are checked."""
    table = contract.tables[0]
    codec = check_encoding(path, contract)
    lines = path.read_text(encoding=codec).splitlines()
    header_at = table.header_row - 1
    # Python's reader, with the field limit the rest of the file is held to (a field of
    # hundreds of kilobytes is then named by field_too_long, not a crash).
    top = [_parse_line(line, n) for n, line in enumerate(lines[:HEADER_SEARCH_ROWS], start=1)]
    found_at = find_header(top, table)
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
            raise reject(
                "layout",
                f"line {index + 1} should be blank (the header is on line {table.header_row})",
            )
    check_header(
        _parse_line(lines[header_at], table.header_row), table, f"on line {table.header_row}"
    )
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
    return lines[header_at:end]


def _check_period_line(line: str, period: Period, line_no: int) -> None:
    match = re.fullmatch(r"\s*Period:\s*([A-Za-z]+) (\d{4}) to ([A-Za-z]+) (\d{4})\s*,*", line)
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
