"""ONS geography and population files in a home's ``reference/`` folder, recognised by header.

A partnership downloads these files itself, from the ONS Open Geography Portal and ons.gov.uk,
and drops them in ``reference/``. Their names are not reliable (the portal renames downloads,
browsers add " (1)", people tidy names), so a file is recognised by its header alone:

* an LSOA to local authority district lookup (``LSOA11CD`` or ``LSOA21CD`` with ``LADyyCD``,
  ``LADyyNM``; the year of the district columns is its vintage);
* the project's older lookup, ``lsoa_code, la_code, la_name, force`` (vintage unknown);
* a district to Community Safety Partnership to police force area lookup (``LADyyCD,
  LADyyNM, CSPyyCD, CSPyyNM, PFAyyCD, PFAyyNM``);
* ONS small-area population estimates (``LSOA Code``, ``All Ages``).

Districts merge (Taunton Deane and West Somerset became Somerset West and Taunton in 2019),
so files of different vintages can disagree; the district lookup decides which LSOA lookup
fits it. A bad file is never a traceback: it becomes a one-line note naming it, what was
expected and what to download, and is ignored. Only an LSOA lookup that cannot be used with
the district lookup at all is fatal (:class:`ReferenceError`), because indicators by district
would silently lose whole districts.

Lower layer: imports only the standard library, pyarrow and :mod:`ingest.warehouse`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa

from ingest.warehouse import LsoaLookupError, read_lsoa_lookup

LSOA_LOOKUP = "lsoa_lookup"
LEGACY_LSOA_LOOKUP = "legacy_lsoa_lookup"
DISTRICT_LOOKUP = "district_lookup"
POPULATION = "population"
UNKNOWN = "unknown"

LSOA_LOOKUP_SCHEMA = pa.schema(
    [(c, pa.string()) for c in ("lsoa_code", "la_code", "la_name", "force")]
)
DISTRICT_LOOKUP_SCHEMA = pa.schema(
    [
        (c, pa.string())
        for c in ("la_code", "la_name", "csp_code", "csp_name", "pfa_code", "pfa_name")
    ]
)
POPULATION_SCHEMA = pa.schema(
    [("lsoa_code", pa.string()), ("estimate_year", pa.int32()), ("population", pa.int32())]
)

# Python's CSV reader refuses fields over its limit (a process-wide setting, 128 KiB by
# default); no real cell of these files comes near 1 MiB, so a larger one means a file that
# is not what its header says, and is reported rather than read into memory.
MAX_FIELD_CHARS = 1 << 20
# A header line longer than this is not one of the layouts (the longest is under 300).
MAX_HEADER_CHARS = 64 * 1024
# Shown file names and cell values: printable and short, so a note stays one line.
MAX_SHOWN_NAME = 120
MAX_SHOWN_VALUE = 40

PORTAL = "the ONS Open Geography Portal (geoportal.statistics.gov.uk)"
EXPECTED = (
    "expected the columns of an LSOA to local authority district lookup (LSOA11CD or "
    "LSOA21CD, LADyyCD, LADyyNM) or of a district to Community Safety Partnership to police "
    "force area lookup (LADyyCD, LADyyNM, CSPyyCD, CSPyyNM, PFAyyCD, PFAyyNM), as CSV from "
    f"{PORTAL}; of ONS small-area population estimates by LSOA (LSOA Code, All Ages), as CSV "
    "from ons.gov.uk; or of a lookup with columns lsoa_code, la_code, la_name, force"
)
SAPE_EXAMPLE = "SAPE_mid-2019_LSOA_persons_all_ages.csv"
# What to download again when a recognised file turns out to be damaged or cut short.
DOWNLOAD = {
    "lsoa_lookup": "download the LSOA to local authority district lookup (columns LSOA11CD "
    f"or LSOA21CD, LADyyCD, LADyyNM) again from {PORTAL}",
    "legacy_lsoa_lookup": "expected columns lsoa_code, la_code, la_name, force, or download "
    "the LSOA to local authority district lookup (LSOA11CD or LSOA21CD, "
    f"LADyyCD, LADyyNM) from {PORTAL}",
    "district_lookup": "download the district to Community Safety Partnership to police force "
    "area lookup (columns LADyyCD, LADyyNM, CSPyyCD, CSPyyNM, PFAyyCD, "
    f"PFAyyNM) again from {PORTAL}",
    "population": "download ONS's small-area population estimates by LSOA (columns LSOA "
    "Code, All Ages) again from ons.gov.uk",
    "unknown": EXPECTED,
}

_LSOA_CODE_COLUMNS = ("lsoa11cd", "lsoa21cd")
_YEAR_PAIR = re.compile(r"(lad|csp|pfa)(\d\d)(cd|nm)")
_MID_YEAR = re.compile(r"mid[-_ ]?((?:19|20)\d\d)(?!\d)", re.IGNORECASE)
_LONE_YEAR = re.compile(r"(?<!\d)(199\d|20\d\d)(?!\d)")
# A count as ONS writes it: digits, perhaps grouped in thousands with commas ("1,954").
_COUNT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_INT32_MAX = 2**31 - 1


class ReferenceError(ValueError):  # noqa: A001 - the name other modules are written against
    """A fatal problem with the reference files; ``str(error)`` is the one-line message."""


@dataclass(frozen=True)
class ReferenceFile:
    """One file found in ``reference/`` (or configured), what it is and whether it is used."""

    path: Path
    # "lsoa_lookup" | "legacy_lsoa_lookup" | "district_lookup" | "population" | "unknown"
    layout: str
    vintage: int | None  # lookup year, or the estimate year for population
    rows: int
    used: bool
    note: str | None  # why it was not used / what is wrong (None when used cleanly)


@dataclass(frozen=True)
class ReferenceData:
    """The reference tables chosen for the warehouse, and every file looked at."""

    lsoa_lookup: pa.Table | None  # lsoa_code, la_code, la_name, force (force null for ONS)
    district_lookup: pa.Table | None  # la_code, la_name, csp_code, csp_name, pfa_code, pfa_name
    population: pa.Table | None  # lsoa_code, estimate_year (int32), population (int32)
    files: tuple[ReferenceFile, ...]

    @property
    def notes(self) -> tuple[str, ...]:
        """``"<file name>: <note>"`` for every file with a note, in the order of ``files``."""
        return tuple(f"{_shown(f.path.name)}: {f.note}" for f in self.files if f.note)


class _Unusable(Exception):
    """A file that cannot be used; the message (without the file name) becomes its note."""


@dataclass
class _Candidate:
    """What reading one file found; mutable while the files are compared."""

    path: Path
    layout: str = UNKNOWN
    vintage: int | None = None
    rows: int = 0
    note: str | None = None
    used: bool = False
    # lsoa_code → la_code (lookups), or lsoa_code → population (population files).
    values: dict[str, str] | dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # la_code → la_name (lookups)
    forces: dict[str, str | None] = field(default_factory=dict)  # lsoa_code → force (legacy)
    districts: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.note is None

    @property
    def name(self) -> str:
        return _shown(self.path.name)

    def frozen(self) -> ReferenceFile:
        return ReferenceFile(self.path, self.layout, self.vintage, self.rows, self.used, self.note)


def read_reference(folder: Path, extra: Path | None = None) -> ReferenceData:
    """Read, check and choose the reference files in ``folder`` (and ``extra``).

    ``folder`` may not exist: then every table is None and there are no files. ``extra`` is
    the LSOA lookup configured in ``csp.toml`` (``[police] lsoa_lookup``), read as if it
    were in the folder; it must exist. Hidden files and sub-folders are skipped. Raises
    :class:`ReferenceError` when LSOA lookups are present but none agrees with the district
    lookup, or when ``extra`` or the folder cannot be read.
    """
    paths = _reference_paths(folder, extra)
    candidates = [_read_file(path) for path in paths]

    district = _choose_district_lookup(candidates)
    lookup = _choose_lsoa_lookup(candidates, district)
    _check_population(candidates, lookup)

    populations = [c for c in candidates if c.layout == POPULATION and c.used]
    return ReferenceData(
        lsoa_lookup=_lsoa_table(lookup) if lookup is not None else None,
        district_lookup=_district_table(district) if district is not None else None,
        population=_population_table(populations) if populations else None,
        files=tuple(c.frozen() for c in candidates),
    )


def read_district_lookup(folder: Path) -> pa.Table | None:
    """Only the district → CSP → police force area lookup of ``folder``, or None.

    For resolving a partnership's code on every command: every file's header is looked at,
    but only a district lookup is read through (a few hundred rows, where the LSOA lookups
    and population estimates are tens of thousands).
    """
    candidates = []
    for path in _reference_paths(folder, None):
        try:
            with (
                _csv_field_limit(MAX_FIELD_CHARS),
                path.open(encoding="utf-8-sig", newline="") as handle,
            ):
                _sniff(path)
                probe = _Candidate(path)
                _recognise(probe, _header(handle))
        except (_Unusable, UnicodeDecodeError, csv.Error, OSError):
            continue  # read_reference notes it at the build
        if probe.layout == DISTRICT_LOOKUP:
            candidates.append(_read_file(path))
    district = _choose_district_lookup(candidates)
    return _district_table(district) if district is not None else None


# --- finding and reading files ---------------------------------------------------------------


def _reference_paths(folder: Path, extra: Path | None) -> list[Path]:
    """The folder's visible files in name order, then ``extra`` unless it is one of them."""
    paths: list[Path] = []
    try:
        if folder.is_dir():
            # Hidden files are the system's or an editor's (.DS_Store, .~lock), not downloads.
            paths = sorted(
                (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()),
                key=lambda p: p.name,
            )
    except OSError as error:
        raise ReferenceError(
            f"{_shown(folder.name)}: the reference folder cannot be read "
            f"({error.strerror or type(error).__name__})"
        ) from None
    if extra is not None:
        if not extra.is_file():
            raise ReferenceError(
                f"{_shown(extra.name)}: the LSOA lookup named in csp.toml ([police] "
                "lsoa_lookup) does not exist or is not a file; put the file there, or "
                "remove the setting and drop the ONS lookup in the reference folder"
            )
        known = {p.resolve() for p in paths}
        if extra.resolve() not in known:
            paths.append(extra)
    return paths


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Python's CSV field limit (process-wide) set for a block, and put back afterwards."""
    before = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _read_file(path: Path) -> _Candidate:
    """One file read into a candidate; any problem becomes its note, never an exception."""
    candidate = _Candidate(path)
    try:
        _sniff(path)
        with (
            _csv_field_limit(MAX_FIELD_CHARS),
            path.open(encoding="utf-8-sig", newline="") as handle,
        ):
            header = _header(handle)
            _recognise(candidate, header)
            if candidate.layout == LEGACY_LSOA_LOOKUP:
                pass  # read below, by the warehouse's own reader, once the handle is closed
            elif candidate.layout == LSOA_LOOKUP:
                _read_lsoa_lookup(candidate, header, handle)
            elif candidate.layout == DISTRICT_LOOKUP:
                _read_district_lookup(candidate, header, handle)
            elif candidate.layout == POPULATION:
                _read_population(candidate, header, handle)
        if candidate.layout == LEGACY_LSOA_LOOKUP:
            _read_legacy_lookup(candidate)
    except _Unusable as problem:
        candidate.note = str(problem)
    except UnicodeDecodeError:
        candidate.note = (
            'not UTF-8 text (save it from Excel as "CSV UTF-8"); ' + DOWNLOAD[candidate.layout]
        )
    except csv.Error as error:
        candidate.note = f"cannot be read as CSV ({error}); " + DOWNLOAD[candidate.layout]
    except OSError as error:
        # str(error) would show the full path; the reason alone is enough beside the name.
        candidate.note = f"cannot be read ({error.strerror or type(error).__name__})"
    if candidate.note is not None:
        candidate.used = False
    return candidate


def _sniff(path: Path) -> None:
    """Reject files that are plainly not CSV text before decoding them, with a useful hint."""
    with path.open("rb") as handle:
        start = handle.read(4096)
    if not start:
        raise _Unusable("the file is empty; " + EXPECTED)
    if start.startswith(b"PK\x03\x04") or start.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Unusable(
            "this is an Excel workbook (or another zip), not CSV: download the "
            "CSV version instead; " + EXPECTED
        )
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Unusable(
            'this is UTF-16 text (Excel\'s "Unicode text"): save it as '
            '"CSV UTF-8" instead; ' + EXPECTED
        )
    if b"\x00" in start:
        raise _Unusable("this is a binary file, not CSV; " + EXPECTED)


def _header(handle: IO[str]) -> list[str]:
    """The first line's cells, trimmed (the codec already dropped a byte-order mark)."""
    line = handle.readline(MAX_HEADER_CHARS)
    if not line.strip():
        raise _Unusable("the first line is blank, so there is no header; " + EXPECTED)
    if len(line) >= MAX_HEADER_CHARS and not line.endswith(("\n", "\r")):
        raise _Unusable("the first line is too long to be a header; " + EXPECTED)
    cells = next(csv.reader([line]), [])
    # A second byte-order mark (a file saved twice by a careless tool) is not part of a name.
    return [cell.strip().lstrip("\ufeff").strip() for cell in cells]


def _latest_pair(header: list[str], prefix: str) -> tuple[int, int, int] | None:
    """The year and column indexes of the latest ``<prefix>yyCD``/``<prefix>yyNM`` pair."""
    found: dict[str, dict[str, int]] = {}
    for index, cell in enumerate(header):
        match = _YEAR_PAIR.fullmatch(cell.lower())
        if match and match.group(1) == prefix:
            found.setdefault(match.group(2), {}).setdefault(match.group(3), index)
    pairs = [
        (2000 + int(yy), cols["cd"], cols["nm"])
        for yy, cols in found.items()
        if "cd" in cols and "nm" in cols
    ]
    return max(pairs) if pairs else None


def _recognise(candidate: _Candidate, header: list[str]) -> None:
    """Set the candidate's layout (and a lookup's vintage) from the header alone."""
    lower = [cell.lower() for cell in header]
    district = _latest_pair(header, "lad")
    if district and any(c in lower for c in _LSOA_CODE_COLUMNS):
        candidate.layout, candidate.vintage = LSOA_LOOKUP, district[0]
    elif district and _latest_pair(header, "csp") and _latest_pair(header, "pfa"):
        candidate.layout, candidate.vintage = DISTRICT_LOOKUP, district[0]
    elif "lsoa code" in _squeezed(lower) and "all ages" in _squeezed(lower):
        candidate.layout = POPULATION
    elif "lsoa_code" in lower and "la_code" in lower:
        candidate.layout = LEGACY_LSOA_LOOKUP
    else:
        # The header is not quoted: a file dropped here by mistake may start with a record.
        raise _Unusable(
            f"not a recognised reference file (its header has {len(header)} "
            f"column{'s' if len(header) != 1 else ''}); " + EXPECTED
        )


def _squeezed(cells: list[str]) -> list[str]:
    """Cells with runs of spaces made one, so "LSOA  Code" matches "LSOA Code"."""
    return [" ".join(cell.split()) for cell in cells]


def _rows(handle: IO[str], width: int, layout: str) -> Iterator[tuple[int, list[str]]]:
    """The data rows after the header, with their line numbers; blank rows are skipped."""
    reader = csv.reader(handle)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num + 1  # the header was read before the reader started
        if len(cells) < width:
            raise _Unusable(
                f"line {line} has {len(cells)} cells, too few for the columns "
                f"its header names; {DOWNLOAD[layout]}"
            )
        yield line, cells


def _read_lsoa_lookup(candidate: _Candidate, header: list[str], handle: IO[str]) -> None:
    """An ONS LSOA → district lookup: one district per LSOA (ward rows may repeat it)."""
    lower = [cell.lower() for cell in header]
    lsoa_at = next(lower.index(c) for c in _LSOA_CODE_COLUMNS if c in lower)
    pair = _latest_pair(header, "lad")
    assert pair is not None  # _recognise found it
    _, code_at, name_at = pair
    mapping: dict[str, str] = {}
    for line, cells in _rows(handle, max(lsoa_at, code_at, name_at) + 1, LSOA_LOOKUP):
        candidate.rows += 1
        lsoa, la_code = cells[lsoa_at].strip(), cells[code_at].strip()
        if not lsoa or not la_code:
            raise _Unusable(
                f"line {line} has no LSOA code or no district code; " + DOWNLOAD[LSOA_LOOKUP]
            )
        before = mapping.setdefault(lsoa, la_code)
        if before != la_code:
            raise _Unusable(
                f"LSOA {_shown(lsoa, MAX_SHOWN_VALUE)} is in two districts "
                f"({_shown(before, MAX_SHOWN_VALUE)} and {_shown(la_code, MAX_SHOWN_VALUE)}, "
                f"line {line}), so this is not an LSOA to district lookup; " + DOWNLOAD[LSOA_LOOKUP]
            )
        candidate.names.setdefault(la_code, cells[name_at].strip())
    if not mapping:
        raise _Unusable("an LSOA lookup header but no rows; " + DOWNLOAD[LSOA_LOOKUP])
    candidate.values = mapping


def _read_legacy_lookup(candidate: _Candidate) -> None:
    """The project's own ``lsoa_code, la_code, la_name, force`` lookup, read as it always was."""
    try:
        table = read_lsoa_lookup(candidate.path)
    except (LsoaLookupError, pa.ArrowException, ValueError, OSError) as error:
        # The warehouse's messages start with the full path; only the name is shown here.
        text = str(error).replace(str(candidate.path), candidate.name)
        text = text.removeprefix(f"{candidate.name}: ").splitlines()[0] if text else ""
        raise _Unusable(f"{_shown(text, 300)}; " + DOWNLOAD[LEGACY_LSOA_LOOKUP]) from None
    rows = table.to_pylist()
    candidate.rows = len(rows)
    if not rows:
        raise _Unusable("a lookup header but no rows; " + DOWNLOAD[LEGACY_LSOA_LOOKUP])
    candidate.values = {row["lsoa_code"]: row["la_code"] for row in rows}
    candidate.forces = {row["lsoa_code"]: row["force"] for row in rows}
    for row in rows:
        candidate.names.setdefault(row["la_code"], row["la_name"] or "")


def _read_district_lookup(candidate: _Candidate, header: list[str], handle: IO[str]) -> None:
    """An ONS district → CSP → police force area lookup.

    A district may appear once per partnership (in 2019 Bournemouth, Christchurch and Poole
    was three partnerships), so repeated district codes are kept; identical rows are not.
    """
    columns = [_latest_pair(header, prefix) for prefix in ("lad", "csp", "pfa")]
    indexes = [i for pair in columns if pair for i in pair[1:]]
    rows: set[tuple[str, str, str, str, str, str]] = set()
    for line, cells in _rows(handle, max(indexes) + 1, DISTRICT_LOOKUP):
        candidate.rows += 1
        values = tuple(cells[i].strip() for i in indexes)
        if not values[0] or not values[2]:
            raise _Unusable(
                f"line {line} has no district or no partnership code; " + DOWNLOAD[DISTRICT_LOOKUP]
            )
        rows.add(values)  # type: ignore[arg-type]  # six columns by construction
    if not rows:
        raise _Unusable("a district lookup header but no rows; " + DOWNLOAD[DISTRICT_LOOKUP])
    candidate.districts = sorted(rows)
    candidate.names = {row[0]: row[1] for row in candidate.districts}


def _estimate_year(path: Path, header: list[str]) -> int | None:
    """The estimate year: ONS's file name says it (``mid-2019``); else a lone year in the name;
    else the earliest year in the header (``LA Code (2019 boundaries)``)."""
    for pattern in (_MID_YEAR, _LONE_YEAR):
        years = {int(y) for y in pattern.findall(path.name)}
        if len(years) == 1:
            return years.pop()
    years = {int(y) for cell in header for y in _LONE_YEAR.findall(cell)}
    return min(years) if years else None


def _read_population(candidate: _Candidate, header: list[str], handle: IO[str]) -> None:
    """ONS small-area population estimates: the ``All Ages`` count of each LSOA."""
    squeezed = _squeezed([cell.lower() for cell in header])
    lsoa_at, count_at = squeezed.index("lsoa code"), squeezed.index("all ages")
    candidate.vintage = _estimate_year(candidate.path, header)
    if candidate.vintage is None:
        raise _Unusable(
            "population estimates, but neither the file name nor the header says "
            f"which year: keep ONS's name for it (e.g. {SAPE_EXAMPLE}), or put "
            "the year in the name"
        )
    counts: dict[str, int] = {}
    for line, cells in _rows(handle, max(lsoa_at, count_at) + 1, POPULATION):
        candidate.rows += 1
        lsoa, text = cells[lsoa_at].strip(), cells[count_at].strip()
        if not lsoa:
            raise _Unusable(f"line {line} has no LSOA Code; " + DOWNLOAD[POPULATION])
        # Thousands separators as ONS writes them; anything else is not a count.
        if not _COUNT.fullmatch(text) or int(text.replace(",", "")) > _INT32_MAX:
            raise _Unusable(
                f"line {line}: All Ages is not a count of people (a whole number, "
                "commas allowed between thousands); " + DOWNLOAD[POPULATION]
            )
        if lsoa in counts:
            raise _Unusable(
                f"LSOA {_shown(lsoa, MAX_SHOWN_VALUE)} is listed twice (line "
                f"{line}); " + DOWNLOAD[POPULATION]
            )
        counts[lsoa] = int(text.replace(",", ""))
    if not counts:
        raise _Unusable("a population header but no rows; " + DOWNLOAD[POPULATION])
    candidate.values = counts


# --- choosing among the files ----------------------------------------------------------------


def _later_note(chosen: _Candidate, other: _Candidate) -> str:
    """Why ``other`` lost to ``chosen`` when both could be used."""
    if chosen.vintage == other.vintage:
        return (
            f"not used: {chosen.name} is used instead (same vintage, "
            f"{_vintage(other.vintage)}; the later file name in sort order wins)"
        )
    return (
        f"not used: {chosen.name} is used instead (vintage {_vintage(chosen.vintage)}, "
        f"later than this file's {_vintage(other.vintage)})"
    )


def _vintage(year: int | None) -> str:
    return "unknown" if year is None else str(year)


def _choose_district_lookup(candidates: list[_Candidate]) -> _Candidate | None:
    """The latest district lookup; the others are noted."""
    readable = [c for c in candidates if c.layout == DISTRICT_LOOKUP and c.readable]
    if not readable:
        return None
    chosen = max(readable, key=lambda c: (c.vintage or 0, c.path.name))
    chosen.used = True
    for other in readable:
        if other is not chosen:
            other.note = _later_note(chosen, other)
    return chosen


def _lacking(lookup: _Candidate, district: _Candidate | None) -> list[str]:
    """The districts of an LSOA lookup that the district lookup does not have, sorted."""
    if district is None:
        return []
    return sorted(set(lookup.values.values()) - set(district.names))  # type: ignore[arg-type]


def _lacking_text(lookup: _Candidate, lacking: list[str], district: _Candidate) -> str:
    """``its district E07000190 (Taunton Deane) and 1 other are not in <file> (2019)``."""
    code = lacking[0]
    others = len(lacking) - 1
    more = f" and {others} other{'s' if others != 1 else ''}" if others else ""
    verb = "are" if others else "is"
    ours = (
        f"this lookup's are of {lookup.vintage}"
        if lookup.vintage is not None
        else "this lookup's vintage is unknown"
    )
    return (
        f"its district {_shown(code, MAX_SHOWN_VALUE)} "
        f"({_shown(lookup.names.get(code, ''), MAX_SHOWN_VALUE)}){more} {verb} not in "
        f"{district.name} (districts of {_vintage(district.vintage)}; {ours})"
    )


def _choose_lsoa_lookup(
    candidates: list[_Candidate], district: _Candidate | None
) -> _Candidate | None:
    """The LSOA lookup that agrees with the district lookup, latest vintage first.

    ONS layouts rank above the legacy one, whose vintage is unknown. Raises ReferenceError if
    there are lookups but none agrees: using one would drop whole districts from indicators.
    """
    readable = [
        c for c in candidates if c.layout in (LSOA_LOOKUP, LEGACY_LSOA_LOOKUP) and c.readable
    ]
    if not readable:
        return None

    def rank(c: _Candidate) -> tuple[bool, int, str]:
        return (c.layout == LSOA_LOOKUP, c.vintage or 0, c.path.name)

    lacking = {id(c): _lacking(c, district) for c in readable}
    consistent = [c for c in readable if not lacking[id(c)]]
    if not consistent:
        assert district is not None  # without a district lookup every lookup is consistent
        best = max(readable, key=rank)
        year = district.vintage
        raise ReferenceError(
            f"{best.name}: {_lacking_text(best, lacking[id(best)], district)}; download the "
            f"LSOA to local authority district lookup for {_vintage(year)} from the ONS Open "
            "Geography Portal (geoportal.statistics.gov.uk)"
        )
    chosen = max(consistent, key=rank)
    chosen.used = True
    for other in readable:
        if other is chosen:
            continue
        if lacking[id(other)]:
            assert district is not None
            other.note = (
                f"not used: {_lacking_text(other, lacking[id(other)], district)}; "
                f"{chosen.name} is used instead"
            )
        elif other.layout != chosen.layout:
            other.note = (
                f"not used: {chosen.name} is used instead (an ONS lookup of "
                f"{_vintage(chosen.vintage)}, preferred to one of unknown vintage)"
            )
        else:
            other.note = _later_note(chosen, other)
    return chosen


def _check_population(candidates: list[_Candidate], lookup: _Candidate | None) -> None:
    """One population file per estimate year; note LSOAs of the lookup that one lacks."""
    by_year: dict[int, list[_Candidate]] = {}
    for c in candidates:
        if c.layout == POPULATION and c.readable and c.vintage is not None:
            by_year.setdefault(c.vintage, []).append(c)
    for files in by_year.values():
        # A second download of the same year is most likely a correction, named later.
        chosen = max(files, key=lambda c: c.path.name)
        chosen.used = True
        for other in files:
            if other is not chosen:
                other.note = _later_note(chosen, other)
        if lookup is not None:
            missing = sorted(set(lookup.values) - set(chosen.values))
            if missing:
                examples = ", ".join(_shown(m, MAX_SHOWN_VALUE) for m in missing[:2])
                chosen.note = (
                    f"{len(missing)} LSOA{'s' if len(missing) != 1 else ''} of "
                    f"{lookup.name} {'have' if len(missing) != 1 else 'has'} no "
                    f"population here (e.g. {examples}); they will have no rates: "
                    "download the estimates for the same LSOA boundaries "
                    "from ons.gov.uk"
                )


# --- tables ----------------------------------------------------------------------------------


def _lsoa_table(lookup: _Candidate) -> pa.Table:
    """lsoa_code, la_code, la_name, force, sorted by LSOA (force only in the legacy layout)."""
    codes = sorted(lookup.values)
    la_codes = [str(lookup.values[c]) for c in codes]
    return pa.table(
        {
            "lsoa_code": codes,
            "la_code": la_codes,
            "la_name": [lookup.names.get(la) for la in la_codes],
            "force": [lookup.forces.get(c) for c in codes],
        },
        schema=LSOA_LOOKUP_SCHEMA,
    )


def _district_table(district: _Candidate) -> pa.Table:
    """The district lookup's rows, sorted by district then partnership."""
    columns = list(zip(*district.districts, strict=True))
    return pa.table(
        dict(zip(DISTRICT_LOOKUP_SCHEMA.names, columns, strict=True)), schema=DISTRICT_LOOKUP_SCHEMA
    )


def _population_table(files: list[_Candidate]) -> pa.Table:
    """Every used estimate year's counts, sorted by LSOA then year."""
    rows = sorted((lsoa, f.vintage, count) for f in files for lsoa, count in f.values.items())
    lsoas, years, counts = (list(c) for c in zip(*rows, strict=True))
    return pa.table(
        {"lsoa_code": lsoas, "estimate_year": years, "population": counts}, schema=POPULATION_SCHEMA
    )


def _shown(text: str, limit: int = MAX_SHOWN_NAME) -> str:
    """Text from a file or its name fit for a one-line message: printable and bounded."""
    # Control, format and separator characters could forge or break log lines.
    shown = "".join(
        c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") else "?"
        for c in text
    )
    if len(shown) <= limit:
        return shown
    _stem, dot, extension = shown.rpartition(".")
    if dot and len(extension) <= 8:
        return shown[: limit - len(extension) - 2] + "…." + extension
    return shown[: limit - 1] + "…"
