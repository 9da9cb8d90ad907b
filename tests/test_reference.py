"""ingest.reference: ONS files recognised by header, checked against each other.

The files are real ONS rows (tests/data/public/ons/, cut by subset_ons.py; see the README
there), copied into temporary folders under names of the test's choosing.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from core.settings import ConfigError
from ingest.reference import ReferenceError, read_reference
from orchestration.config import resolve_partnership

ONS = Path(__file__).parent / "data" / "public" / "ons"
IMD_2019 = ONS / "LSOA_(2011)_to_LAD_(2019)_with_IMD_2019_Lookup_in_England.csv"
WARD_2017 = ONS / "LSOA_(2011)_to_Ward_(2017)_to_LAD_(2017)_Lookup_in_England_and_Wales.csv"
CSP_2019 = ONS / "LAD_to_CSP_to_PFA_(December_2019)_Lookup_in_England_and_Wales.csv"
SAPE_2019 = ONS / "SAPE_mid-2019_LSOA_persons_all_ages.csv"
SOMERSET_2019 = {"E07000187", "E07000188", "E07000189", "E07000246"}


def rows_of(path: Path) -> list[dict[str, str]]:
    """The file's rows read independently of the module under test."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def folder_with(tmp_path: Path, *files: tuple[Path, str]) -> Path:
    """A reference folder holding each source file under the name given."""
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    for source, name in files:
        shutil.copyfile(source, folder / name)
    return folder


@pytest.mark.parametrize(
    ("source", "layout", "vintage"),
    [
        (IMD_2019, "lsoa_lookup", 2019),
        (WARD_2017, "lsoa_lookup", 2017),
        (CSP_2019, "district_lookup", 2019),
        # No year in the name "a.csv": the header's "LA Code (2019 boundaries)" gives it.
        (SAPE_2019, "population", 2019),
    ],
)
def test_each_layout_is_recognised_by_its_header_whatever_the_name(
    tmp_path: Path, source: Path, layout: str, vintage: int
) -> None:
    data = read_reference(folder_with(tmp_path, (source, "a.csv")))
    (file,) = data.files
    assert (file.path.name, file.layout, file.vintage, file.used, file.note) == (
        "a.csv",
        layout,
        vintage,
        True,
        None,
    )
    assert file.rows == len(rows_of(source))
    table = {
        "lsoa_lookup": data.lsoa_lookup,
        "district_lookup": data.district_lookup,
        "population": data.population,
    }[layout]
    assert table is not None and table.num_rows > 0
    assert data.notes == ()


def test_lsoa_lookup_table_is_the_files_rows_sorted(tmp_path: Path) -> None:
    data = read_reference(folder_with(tmp_path, (IMD_2019, "lookup.csv")))
    expected = sorted((r["LSOA11CD"], r["LAD19CD"], r["LAD19NM"]) for r in rows_of(IMD_2019))
    lookup = data.lsoa_lookup
    assert lookup is not None
    assert lookup.schema == pa.schema(
        [(c, pa.string()) for c in ("lsoa_code", "la_code", "la_name", "force")]
    )
    assert (
        list(
            zip(
                *(lookup.column(c).to_pylist() for c in ("lsoa_code", "la_code", "la_name")),
                strict=True,
            )
        )
        == expected
    )
    assert lookup.column("force").null_count == lookup.num_rows


def test_district_lookup_keeps_quoted_names_and_somerset_has_four_districts(tmp_path: Path) -> None:
    data = read_reference(folder_with(tmp_path, (CSP_2019, "d.csv"), (IMD_2019, "l.csv")))
    districts = data.district_lookup
    assert districts is not None
    assert districts.column_names == [
        "la_code",
        "la_name",
        "csp_code",
        "csp_name",
        "pfa_code",
        "pfa_name",
    ]
    rows = districts.to_pylist()
    assert rows == sorted(rows, key=lambda r: (r["la_code"], r["csp_code"]))
    bristol = next(r for r in rows if r["la_code"] == "E06000023")
    assert bristol["la_name"] == "Bristol, City of"
    somerset = {r["la_code"] for r in rows if r["csp_code"] == "E22000369"}
    assert somerset == SOMERSET_2019
    # Every LSOA of those districts in the ONS file is in the lookup, under its district.
    lookup = data.lsoa_lookup
    assert lookup is not None
    raw = {r["LSOA11CD"] for r in rows_of(IMD_2019) if r["LAD19CD"] in SOMERSET_2019}
    found = {r["lsoa_code"]: r["la_code"] for r in lookup.to_pylist() if r["la_code"] in somerset}
    assert set(found) == raw and set(found.values()) == SOMERSET_2019
    assert data.notes == ()


def test_population_counts_with_thousands_separators(tmp_path: Path) -> None:
    data = read_reference(folder_with(tmp_path, (SAPE_2019, SAPE_2019.name)))
    # One raw line with a quoted "1,234" count, worked out here without the module's help.
    line = next(
        line
        for line in SAPE_2019.read_bytes().decode("utf-8-sig").splitlines()[1:]
        if line.endswith('"') and "," in line.rsplit('"', 2)[1]
    )
    lsoa = line.split(",", 1)[0]
    expected = int(line.rsplit('"', 2)[1].replace(",", ""))
    assert expected >= 1000
    population = data.population
    assert population is not None
    assert population.schema == pa.schema(
        [("lsoa_code", pa.string()), ("estimate_year", pa.int32()), ("population", pa.int32())]
    )
    rows = {r["lsoa_code"]: r for r in population.to_pylist()}
    assert rows[lsoa] == {"lsoa_code": lsoa, "estimate_year": 2019, "population": expected}
    assert len(rows) == len(rows_of(SAPE_2019))


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("SAPE_mid-2019_LSOA_persons_all_ages.csv", 2019),
        ("sape22dt2mid2020lsoasyoaestimatesunformatted.csv", 2020),
        ("estimates_mid_2018.csv", 2018),
        ("population 2021.csv", 2021),
        ("population.csv", 2019),  # the header's earliest boundary year
    ],
)
def test_population_estimate_year_from_name_else_header(
    tmp_path: Path, name: str, year: int
) -> None:
    data = read_reference(folder_with(tmp_path, (SAPE_2019, name)))
    assert data.files[0].vintage == year
    assert data.population is not None
    assert set(data.population.column("estimate_year").to_pylist()) == {year}


def test_population_without_any_year_asks_for_onss_name(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "pop.csv").write_text('LSOA Code,All Ages\nE01000001,"1,500"\n')
    data = read_reference(folder)
    assert data.population is None
    assert data.files[0].layout == "population" and not data.files[0].used
    (note,) = data.notes
    assert note.startswith("pop.csv: ") and "SAPE_mid-2019_LSOA_persons_all_ages.csv" in note


def test_legacy_lookup_is_still_read(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "mine.csv").write_text(
        "lsoa_code,la_code,la_name,force\n"
        "E01000002,E09000001,City of London,City of London\n"
        "E01000001,E09000001,City of London,City of London\n"
    )
    data = read_reference(folder)
    (file,) = data.files
    assert (file.layout, file.vintage, file.rows, file.used) == (
        "legacy_lsoa_lookup",
        None,
        2,
        True,
    )
    assert data.lsoa_lookup is not None
    assert data.lsoa_lookup.to_pylist()[0] == {
        "lsoa_code": "E01000001",
        "la_code": "E09000001",
        "la_name": "City of London",
        "force": "City of London",
    }


def test_configured_extra_lookup_is_read_as_if_in_the_folder(tmp_path: Path) -> None:
    extra = tmp_path / "elsewhere.csv"
    extra.write_text(
        "lsoa_code,la_code,la_name,force\nE01000001,E09000001,City of London,City of London\n"
    )
    data = read_reference(tmp_path / "no such folder", extra)
    assert [f.path for f in data.files] == [extra]
    assert data.lsoa_lookup is not None and data.lsoa_lookup.num_rows == 1
    with pytest.raises(ReferenceError, match="gone.csv"):
        read_reference(tmp_path, tmp_path / "gone.csv")


def test_2019_lookup_used_and_2017_noted_as_mismatched(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, (WARD_2017, "ward.csv"), (IMD_2019, "imd.csv"), (CSP_2019, "csp.csv")
    )
    data = read_reference(folder)
    used = {f.path.name: f.used for f in data.files}
    assert used == {"csp.csv": True, "imd.csv": True, "ward.csv": False}
    (note,) = data.notes
    assert note.startswith("ward.csv: not used") and "E07000190" in note
    assert "Taunton Deane" in note and "imd.csv" in note
    assert data.lsoa_lookup is not None
    assert "E07000246" in data.lsoa_lookup.column("la_code").to_pylist()


def test_only_a_mismatched_lookup_is_fatal_and_says_what_to_download(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, (WARD_2017, WARD_2017.name), (CSP_2019, "csp.csv"))
    with pytest.raises(ReferenceError) as raised:
        read_reference(folder)
    message = str(raised.value)
    assert "\n" not in message and str(tmp_path) not in message
    assert message.startswith(WARD_2017.name + ": ")
    for part in (
        "E07000190",
        "Taunton Deane",
        "2017",
        "2019",
        "csp.csv",
        "download the LSOA to local authority district lookup for 2019 from the ONS "
        "Open Geography Portal (geoportal.statistics.gov.uk)",
    ):
        assert part in message


def test_without_a_district_lookup_the_latest_lookup_wins(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, (WARD_2017, "z.csv"), (IMD_2019, "a.csv"))
    (folder / "legacy.csv").write_text(
        "lsoa_code,la_code,la_name,force\nE01000001,E09000001,City of London,City of London\n"
    )
    data = read_reference(folder)
    assert {f.path.name: f.used for f in data.files} == {
        "a.csv": True,
        "legacy.csv": False,
        "z.csv": False,
    }
    notes = dict(n.split(": ", 1) for n in data.notes)
    assert "a.csv" in notes["z.csv"] and "2017" in notes["z.csv"]
    assert "a.csv" in notes["legacy.csv"]


def test_later_district_lookup_wins(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, (CSP_2019, "new.csv"))
    lines = CSP_2019.read_text().replace("19CD", "17CD").replace("19NM", "17NM")
    (folder / "old.csv").write_text(lines)
    data = read_reference(folder)
    assert {f.path.name: (f.vintage, f.used) for f in data.files} == {
        "new.csv": (2019, True),
        "old.csv": (2017, False),
    }
    assert data.notes[0].startswith("old.csv: not used: new.csv")


def test_same_year_population_later_name_wins_and_gaps_are_noted(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, (SAPE_2019, "pop_2019_a.csv"), (IMD_2019, "imd.csv"))
    lines = SAPE_2019.read_bytes().splitlines(keepends=True)
    # The second file lacks two LSOAs of the lookup.
    (folder / "pop_2019_b.csv").write_bytes(b"".join(lines[:1] + lines[3:]))
    data = read_reference(folder)
    files = {f.path.name: f for f in data.files}
    assert not files["pop_2019_a.csv"].used and files["pop_2019_b.csv"].used
    notes = dict(n.split(": ", 1) for n in data.notes)
    assert "pop_2019_b.csv" in notes["pop_2019_a.csv"]
    gap = notes["pop_2019_b.csv"]
    missing = sorted(line.decode("utf-8-sig").split(",", 1)[0] for line in lines[1:3])
    assert gap.startswith("2 LSOAs of imd.csv") and all(m in gap for m in missing)
    assert data.population is not None
    assert data.population.num_rows == len(lines) - 3


def test_lsoa_in_two_districts_is_an_error_for_that_file(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "bad.csv").write_text(
        "LSOA11CD,LAD19CD,LAD19NM\nE01000001,E09000001,City of London\nE01000001,E09000007,Camden\n"
    )
    data = read_reference(folder)
    assert data.lsoa_lookup is None
    (note,) = data.notes
    assert note.startswith("bad.csv: LSOA E01000001 is in two districts")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("crimes.csv", b"Crime ID,Month,Reported by\nabc,2018-01,City of London Police\n"),
        ("garbage.csv", bytes(range(128, 256)) * 4),
        ("empty.csv", b""),
        ("lookup.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64),
        ("blank-first-line.csv", b"\n\nLSOA11CD,LAD19CD,LAD19NM\n"),
    ],
)
def test_a_bad_file_is_a_note_never_an_exception(tmp_path: Path, name: str, content: bytes) -> None:
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / name).write_bytes(content)
    data = read_reference(folder)
    assert (data.lsoa_lookup, data.district_lookup, data.population) == (None, None, None)
    (file,) = data.files
    assert (file.layout, file.used) == ("unknown", False)
    (note,) = data.notes
    assert note.startswith(f"{name}: ") and "\n" not in note
    for columns in (
        "LSOA11CD",
        "LADyyCD, LADyyNM, CSPyyCD, CSPyyNM, PFAyyCD, PFAyyNM",
        "LSOA Code, All Ages",
        "lsoa_code, la_code, la_name, force",
        "geoportal.statistics.gov.uk",
    ):
        assert columns in note


def test_an_oversized_field_is_a_note_and_the_csv_limit_is_restored(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "huge.csv").write_text(
        f'LSOA11CD,LAD19CD,LAD19NM\nE01000001,E09000001,"{"x" * (2 << 20)}"\n'
    )
    before = csv.field_size_limit()
    data = read_reference(folder)
    assert csv.field_size_limit() == before
    (note,) = data.notes
    assert note.startswith("huge.csv: cannot be read as CSV")


def test_hidden_files_and_subfolders_are_skipped(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, (IMD_2019, ".~lock.imd.csv#"), (CSP_2019, ".hidden.csv"))
    (folder / "old").mkdir()
    shutil.copyfile(WARD_2017, folder / "old" / "ward.csv")
    data = read_reference(folder)
    assert data.files == () and data.notes == ()


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    data = read_reference(tmp_path / "reference")
    assert (data.lsoa_lookup, data.district_lookup, data.population, data.files) == (
        None,
        None,
        None,
        (),
    )
    assert data.notes == ()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # A district stands for its whole partnership; the CSP code gives the same.
        ("E07000187", ("E22000369", "Somerset", tuple(sorted(SOMERSET_2019)))),
        ("E22000369", ("E22000369", "Somerset", tuple(sorted(SOMERSET_2019)))),
        # Bournemouth, Christchurch and Poole is in three CSPs in the December 2019 lookup: a
        # partnership of its own, as int_districts_partnered makes it.
        ("E06000058", ("E06000058", "Bournemouth, Christchurch and Poole", ("E06000058",))),
        # Dorset CSP keeps its own district and leaves the split one out.
        ("E22000367", ("E22000367", "Dorset", ("E06000059",))),
    ],
)
def test_partnership_resolved_by_the_real_district_lookup(
    tmp_path: Path, code: str, expected: tuple[str, str, tuple[str, ...]]
) -> None:
    folder_with(tmp_path, (CSP_2019, "lad_csp_pfa.csv"))
    assert resolve_partnership(tmp_path, code) == expected


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("E22000063", "shares its only district E06000058"),
        ("E99999999", "neither a Community Safety Partnership nor a district"),
    ],
)
def test_partnership_that_cannot_be_resolved_says_why(
    tmp_path: Path, code: str, words: str
) -> None:
    folder_with(tmp_path, (CSP_2019, "lad_csp_pfa.csv"))
    with pytest.raises(ConfigError, match=words):
        resolve_partnership(tmp_path, code)
