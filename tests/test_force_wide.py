"""Force-wide police extracts: crimes are placed by LSOA, and a partnership's indicators built
from the whole force's files equal those built from its own rows alone (issue 8)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.generate import SCALES, generate
from orchestration.cli import main
from tests.conftest import TEST_KEYS

POLICE_INDICATORS = ("PV_PPV", "VA_DA_CRIMES", "GY_KNIFE_FIREARM")
WOLVERHAMPTON, COVENTRY = "E08000031", "E08000026"
AS_OF = "2014-11-20"


def split_for(source: Path, lookup: dict[str, str], la_code: str, target: Path) -> int:
    """The rows of a force-wide extract lying in ``la_code``, as that partnership's own
    extract (the same bytes per row, BOM and CRLF)."""
    text = source.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    kept = [r for r in rows[1:] if lookup.get(r[11]) == la_code]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([rows[0], *kept])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    return len(kept)


def police_rows(home: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (home / "exports" / "indicators.csv").open(newline="", encoding="utf-8") as handle:
        return {
            (r["indicator_code"], r["fiscal_quarter"]): r
            for r in csv.DictReader(handle)
            if r["indicator_code"] in POLICE_INDICATORS
        }


def build(home: Path, la_code: str) -> None:
    assert main(["build", "--home", str(home), "--la-code", la_code, "--as-of", AS_OF]) == 0


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import os

    os.environ.update(TEST_KEYS)
    force_wide = tmp_path_factory.mktemp("force")
    generate(force_wide, SCALES["tiny"], first_month=date(2014, 4, 1))
    with (force_wide / "reference" / "lsoa_la_lookup.csv").open(encoding="utf-8") as handle:
        lookup = {r["lsoa_code"]: r["la_code"] for r in csv.DictReader(handle)}
    homes = {"force": force_wide}
    for la_code in (WOLVERHAMPTON, COVENTRY):
        home = tmp_path_factory.mktemp(la_code)
        for source in sorted(
            (force_wide / "landing" / "police_crime").glob("police_crime_west-midlands_*.csv")
        ):
            month = source.stem.rsplit("_", 1)[1]
            kept = split_for(
                source,
                lookup,
                la_code,
                home / "landing" / "police_crime" / f"police_crime_{month}.csv",
            )
            assert kept > 20
        build(home, la_code)
        homes[la_code] = home
    return homes


@pytest.mark.parametrize("la_code", [WOLVERHAMPTON, COVENTRY])
def test_force_wide_extract_gives_the_partnerships_own_figures(
    homes: dict[str, Path], la_code: str
) -> None:
    build(homes["force"], la_code)
    from_force = police_rows(homes["force"])
    own = police_rows(homes[la_code])
    assert own and from_force.keys() == own.keys()
    counted = [r for r in own.values() if r["value"] not in ("", "0")]
    assert len(counted) >= 3
    assert from_force == own


def test_unknown_lsoas_are_reported_not_dropped(homes: dict[str, Path]) -> None:
    home = homes["force"]
    extract = sorted((home / "landing" / "police_crime").glob("*west-midlands*"))[-1]
    header, *lines = extract.read_bytes().decode("utf-8-sig").splitlines()
    assert extract.name.endswith("2014-09.csv")
    # October's extract: September's first rows moved a month on, the first two of them in
    # an LSOA the lookup lacks (LSOA, ward and sector are the last three columns).
    moved = [line.replace("/09/2014", "/10/2014") for line in lines[:40]]
    body = [
        header,
        *[
            f"{r.rsplit(',', 3)[0]},E01888888,Ward,Sector" if i < 2 else r
            for i, r in enumerate(moved)
        ],
    ]
    target = home / "landing" / "police_crime" / "police_crime_west-midlands_2014-10.csv"
    target.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([*body, ""]).encode("utf-8"))
    build(home, WOLVERHAMPTON)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "select file_name, force, lsoa_code, crimes "
            "from fct_police_unknown_lsoa where lsoa_code = 'E01888888'"
        ).fetchall()
        unplaced = con.execute("select count(*) from fct_crime where la_code is null").fetchone()[0]
    assert found == [(target.name, "west-midlands", "E01888888", 2)]
    assert unplaced >= 2


@pytest.mark.parametrize(
    "text, problem",
    [
        ("lsoa_code,la_code,la_name\nE01000001,E08000031,Wolverhampton\n", "missing column"),
        (
            "lsoa_code,la_code,la_name,force\nE01000001,E08000031,W,west-midlands\n"
            "E01000001,E08000026,C,west-midlands\n",
            "listed twice: E01000001",
        ),
        ("lsoa_code,la_code,la_name,force\nE01000001,,W,west-midlands\n", "needs an lsoa_code"),
    ],
)
def test_a_broken_lsoa_lookup_is_refused_by_name(tmp_path: Path, text: str, problem: str) -> None:
    from ingest.warehouse import LsoaLookupError, read_lsoa_lookup

    path = tmp_path / "lsoa_la_lookup.csv"
    path.write_text(text)
    with pytest.raises(LsoaLookupError, match=problem) as raised:
        read_lsoa_lookup(path)
    assert str(path) in str(raised.value)
