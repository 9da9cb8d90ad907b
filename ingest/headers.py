"""Find and check a file's header: exactly the agreed column names, in the agreed order.

The same for a CSV line and a sheet row. A header in the wrong place is looked for among the
first ``HEADER_SEARCH_ROWS`` rows, so the partner is told where it is; a wrong header is named
by what is missing, unrecognised, spaced, repeated or out of order, without quoting a cell
that may be a record (SECURITY.md).
"""

from __future__ import annotations

from core.contracts import Table
from core.problems import reject
from ingest.limits import MAX_COLUMNS
from ingest.redaction import describe_cells, describe_text

# How far down a file or sheet to look for a misplaced header.
HEADER_SEARCH_ROWS = 12


def _normal_name(name: str) -> str:
    return " ".join(name.replace("\xa0", " ").split())


def _trimmed(values: list[str]) -> list[str]:
    values = list(values)
    while values and values[-1].strip() == "":
        values.pop()
    return values


def find_header(rows: list[list[str]], table: Table) -> int | None:
    """The 0-based index of the first of ``rows`` that is exactly the agreed header."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _trimmed(row) == table.source_names:
            return index
    return None


def check_header(found: list[str], table: Table, where: str) -> None:
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
        message = (
            f"the file has no header {where}: it holds none of the agreed column names "
            f"({', '.join(repr(c) for c in expected[:3])}, ...); add the header row, "
            "exactly as agreed, above the data"
        )
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
