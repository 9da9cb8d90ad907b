"""Bulk ingest (ingest/bulk.py): many files checked and loaded together reach exactly the
verdicts, rows and manifest that the file-at-a-time path reaches, bad files included."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bench.generate import SCALES, generate
from core.contracts import all_contracts, contract_for
from ingest.arrivals import LandedHashes, landed_files
from ingest.bulk import takes_bulk
from ingest.landing import ingest_feed, ingest_file, ingest_in_bulk
from ingest.warehouse import connect, ensure_raw_schema
from tests.conftest import test_pseudonymiser

LA_CODE = "E08000031"
FEED = "police_crime"


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Twelve good force-wide extracts: two forces, six months."""
    folder = tmp_path_factory.mktemp("generated")
    return sorted(generate(folder, SCALES["tiny"], first_month=date(2014, 4, 1)))


def read_rows(path: Path) -> tuple[bytes, list[bytes]]:
    """Header line and data lines of an extract, as bytes (BOM kept on the header)."""
    header, *rows = path.read_bytes().split(b"\r\n")
    assert rows[-1] == b""
    return header, rows[:-1]


def write_rows(path: Path, header: bytes, rows: list[bytes]) -> Path:
    path.write_bytes(b"\r\n".join([header, *rows]) + b"\r\n")
    return path


def land(home: Path, sources: list[Path]) -> list[Path]:
    """Copy files into the landing folder in this order of arrival (distinct mtimes)."""
    folder = home / "landing" / FEED
    folder.mkdir(parents=True, exist_ok=True)
    landed = []
    for n, source in enumerate(sources):
        target = folder / source.name
        shutil.copyfile(source, target)
        stamp = 1_700_000_000 + n
        os.utime(target, (stamp, stamp))
        landed.append(target)
    assert landed_files(home / "landing", FEED) == landed
    return landed


def warehouse_state(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    """The manifest (without ids and times) and the raw rows (with their file, not their id).

    By file, then delivery: a file the bulk path sets aside is taken after its chunk, so its
    delivery id differs, as it may.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        manifest = con.execute(
            "select file_name, partner, period_label, row_count, status, "
            "coalesce(split_part(rejection_reason, ':', 1), '') "
            "from raw.deliveries order by file_name, delivery_id"
        ).fetchall()
        rows = con.execute(
            "select d.file_name, r.* exclude (delivery_id) from raw.police_crime r "
            "join raw.deliveries d using (delivery_id) order by all"
        ).fetchall()
    return manifest, rows


def ingest_one_by_one(home: Path, warehouse: Path) -> None:
    contract = contract_for(FEED)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        for path in landed_files(home / "landing", FEED):
            ingest_file(
                path,
                contract,
                home=home,
                con=con,
                pseudonymiser=test_pseudonymiser(),
                la_code=LA_CODE,
            )


def ingest_bulk(home: Path, warehouse: Path, chunk_bytes: int) -> list:
    contract = contract_for(FEED)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        return ingest_in_bulk(
            landed_files(home / "landing", FEED),
            contract,
            home=home,
            con=con,
            pseudonymiser=test_pseudonymiser(),
            la_code=LA_CODE,
            chunk_bytes=chunk_bytes,
        )


def both_ways(
    tmp_path: Path, sources: list[Path], chunk_bytes: int = 10**9
) -> tuple[Path, Path, list]:
    """The same arrivals ingested one by one and in bulk; (single home, bulk home, outcomes)."""
    single, bulk = tmp_path / "single", tmp_path / "bulk"
    land(single, sources)
    land(bulk, sources)
    ingest_one_by_one(single, single / "warehouse.duckdb")
    outcomes = ingest_bulk(bulk, bulk / "warehouse.duckdb", chunk_bytes)
    return single, bulk, outcomes


def reason(home: Path, name: str) -> dict:
    return json.loads((home / "quarantine" / FEED / f"{name}.reason.json").read_text())


def test_police_is_taken_in_bulk_and_workbooks_are_not() -> None:
    taken = {feed for feed, contract in all_contracts().items() if takes_bulk(contract)}
    assert FEED in taken
    assert "moj_reoffending" not in taken  # it must contain the partnership's own row
    assert "partner_returns" not in taken  # a workbook
    assert "rny_treatment" not in taken  # Windows-1252: copied to UTF-8 one file at a time


@pytest.mark.parametrize("chunk_bytes", [10**9, 100_000], ids=["one-chunk", "many-chunks"])
def test_good_files_load_exactly_as_one_by_one(
    tmp_path: Path, extracts: list[Path], chunk_bytes: int
) -> None:
    single, bulk, outcomes = both_ways(tmp_path, extracts, chunk_bytes)
    assert [(o.action, o.in_bulk) for o in outcomes] == [("loaded", True)] * len(extracts)
    assert [o.file_name for o in outcomes] == [p.name for p in extracts]
    assert warehouse_state(bulk / "warehouse.duckdb") == warehouse_state(
        single / "warehouse.duckdb"
    )
    # Every loaded file was archived under its bytes' hash first.
    assert len(list((bulk / "archive" / FEED).iterdir())) == len(extracts)


def _day(text: bytes) -> date:
    return datetime.strptime(text.decode(), "%d/%m/%Y").date()


def bad_variants(source: Path, folder: Path) -> dict[str, Path]:
    """One broken copy of ``source`` per kind of problem, keyed by the rule it breaks.

    Each is sent under the source's month by a force of its own, so none revises a good file.
    """
    header, rows = read_rows(source)
    month = source.stem.rsplit("_", 1)[1]
    folder.mkdir(parents=True, exist_ok=True)
    forces = iter(
        [
            "bedfordshire",
            "cambridgeshire",
            "cheshire",
            "cumbria",
            "derbyshire",
            "devon-and-cornwall",
        ]
    )

    def name() -> Path:
        return folder / f"police_crime_{next(forces)}_{month}.csv"

    out = {}
    # Offence after recorded: only the expectation suite compares the two dates.
    fields = [r.split(b",") for r in rows]
    for f in fields:
        recorded = _day(f[1])
        if recorded.day < 28:
            f[2] = (recorded + timedelta(days=1)).strftime("%d/%m/%Y").encode()
            break
    out["offence_after_recorded"] = write_rows(name(), header, [b",".join(f) for f in fields])
    # A record key twice: the SQL screen's per-file key check.
    out["duplicate_key"] = write_rows(name(), header, rows + rows[3:4])
    # A row with one field too many: DuckDB refuses the whole read and names the file.
    out["csv_structure"] = write_rows(name(), header, rows[:5] + [rows[5] + b",extra"] + rows[6:])
    # A header and no rows.
    out["no_data"] = write_rows(name(), header, [])
    # A crime recorded after the end of the file's month (the screen's date rules).
    fields = [r.split(b",") for r in rows]
    next_month = date(int(month[:4]), int(month[5:7]), 15) + timedelta(days=31)
    fields[7][1] = next_month.strftime("%d/%m/%Y").encode()
    out["date_after_period"] = write_rows(name(), header, [b",".join(f) for f in fields])
    # No readable date in any row: the screen names the file. The suite, which sees those
    # dates as missing in more rows than it lists, cannot tell which file holds them, and is
    # asked again without the screen's files rather than sending the whole chunk alone.
    out["date_format"] = write_rows(
        name(), header, [b",".join([f[0], b"n/a", *f[2:]]) for f in fields]
    )
    return out


@pytest.mark.parametrize("chunk_bytes", [10**9, 60_000], ids=["one-chunk", "many-chunks"])
def test_bad_files_are_rejected_as_one_by_one_and_the_rest_load(
    tmp_path: Path, extracts: list[Path], chunk_bytes: int
) -> None:
    bad = bad_variants(extracts[0], tmp_path / "bad")
    arrivals = extracts[:6] + list(bad.values()) + extracts[6:]
    single, bulk, outcomes = both_ways(tmp_path, arrivals, chunk_bytes)
    assert warehouse_state(bulk / "warehouse.duckdb") == warehouse_state(
        single / "warehouse.duckdb"
    )
    actions = {o.file_name: o.action for o in outcomes}
    # Each bad file, and only those, was named by the screen or the suite and taken alone.
    assert {o.file_name for o in outcomes if not o.in_bulk} == {p.name for p in bad.values()}
    for rule, path in bad.items():
        assert actions[path.name] == "rejected", rule
        got, want = reason(bulk, path.name), reason(single, path.name)
        assert rule in [p["rule"] for p in got["problems"]], (rule, got["summary"])
        assert got["problems"] == want["problems"]
    assert [actions[p.name] for p in extracts] == ["loaded"] * len(extracts)


def test_a_revision_supersedes_the_original_loaded_in_bulk(
    tmp_path: Path, extracts: list[Path]
) -> None:
    header, rows = read_rows(extracts[1])
    (tmp_path / "revised").mkdir()
    revision = write_rows(
        tmp_path / "revised" / extracts[1].name,
        header,
        [rows[0].replace(b",Recorded,", b",Cancelled,", 1), *rows[1:]],
    )
    single, bulk = tmp_path / "single", tmp_path / "bulk"
    for home in (single, bulk):
        land(home, extracts[:4])
    ingest_one_by_one(single, single / "warehouse.duckdb")
    ingest_bulk(bulk, bulk / "warehouse.duckdb", 10**9)
    for home in (single, bulk):
        shutil.copyfile(revision, home / "landing" / FEED / extracts[1].name)
    ingest_one_by_one(single, single / "warehouse.duckdb")
    outcomes = ingest_bulk(bulk, bulk / "warehouse.duckdb", 10**9)
    assert sorted(o.action for o in outcomes) == ["duplicate"] * 3 + ["loaded"]
    manifest, _ = warehouse_state(bulk / "warehouse.duckdb")
    assert manifest == warehouse_state(single / "warehouse.duckdb")[0]
    assert [m[4] for m in manifest if m[0] == extracts[1].name] == ["superseded", "loaded"]


def test_the_same_bytes_twice_in_one_batch_load_once(tmp_path: Path, extracts: list[Path]) -> None:
    twin = tmp_path / "twin"
    twin.mkdir()
    month = extracts[0].stem.rsplit("_", 1)[1]
    copy = shutil.copyfile(extracts[0], twin / f"police_crime_cheshire_{month}.csv")
    single, bulk, outcomes = both_ways(tmp_path, [*extracts[:3], copy])
    assert [o.action for o in outcomes] == ["loaded"] * 3 + ["duplicate"]
    assert warehouse_state(bulk / "warehouse.duckdb") == warehouse_state(
        single / "warehouse.duckdb"
    )


def test_ingest_feed_takes_a_backlog_in_bulk(tmp_path: Path, extracts: list[Path]) -> None:
    home = tmp_path / "home"
    land(home, extracts)
    outcomes = ingest_feed(
        FEED,
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=test_pseudonymiser(),
        la_code=LA_CODE,
    )
    assert [o.action for o in outcomes] == ["loaded"] * len(extracts)
    rows = sum(len(read_rows(p)[1]) for p in extracts)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.police_crime").fetchone()[0] == rows


def test_bytes_known_from_earlier_runs_are_duplicates_as_one_by_one(
    tmp_path: Path, extracts: list[Path]
) -> None:
    # The second run sees the first run's files still in landing, a loaded file's bytes under
    # a new name, a rejected file's bytes under a new name, and two new months.
    bad = bad_variants(extracts[0], tmp_path / "bad")["duplicate_key"]
    single, bulk, _ = both_ways(tmp_path, [*extracts[:4], bad])
    again = tmp_path / "again"
    again.mkdir()
    month = extracts[0].stem.rsplit("_", 1)[1]
    resent_good = shutil.copyfile(extracts[1], again / f"police_crime_cumbria_{month}.csv")
    resent_bad = shutil.copyfile(bad, again / f"police_crime_cheshire_{month}.csv")
    later = [resent_good, resent_bad, *extracts[4:6]]
    for home in (single, bulk):
        land_after(home, later)
    ingest_one_by_one(single, single / "warehouse.duckdb")
    outcomes = ingest_bulk(bulk, bulk / "warehouse.duckdb", 10**9)
    actions = {o.file_name: (o.action, o.reason) for o in outcomes}
    assert [actions[p.name][0] for p in extracts[:6]] == ["duplicate"] * 4 + ["loaded"] * 2
    assert actions[resent_good.name][0] == "duplicate"
    # Bad bytes sent again are a rejection of this run too, whatever their new name.
    assert actions[resent_bad.name][0] == "rejected"
    assert actions[resent_good.name][1].startswith(f"same bytes as {extracts[1].name}")
    assert reason(bulk, resent_bad.name)["problems"] == reason(single, resent_bad.name)["problems"]
    assert reason(bulk, resent_bad.name)["problems"][0]["rule"] == "duplicate_rejected"
    assert warehouse_state(bulk / "warehouse.duckdb") == warehouse_state(
        single / "warehouse.duckdb"
    )


def land_after(home: Path, sources: list[Path]) -> None:
    """Copy more files into a landing folder that already holds some, arriving later."""
    folder = home / "landing" / FEED
    for n, source in enumerate(sources):
        target = folder / source.name
        shutil.copyfile(source, target)
        stamp = 1_800_000_000 + n
        os.utime(target, (stamp, stamp))


def test_a_second_run_knows_the_files_it_loaded_without_reading_them(
    tmp_path: Path, extracts: list[Path]
) -> None:
    home = tmp_path / "home"
    land(home, extracts[:4])
    time.sleep(2.1)  # hashes of files written less than two seconds ago are not kept

    def run(feed: str = FEED) -> list:
        return ingest_feed(
            feed,
            home=home,
            warehouse=home / "warehouse.duckdb",
            pseudonymiser=test_pseudonymiser(),
            la_code=LA_CODE,
        )

    assert [o.action for o in run()] == ["loaded"] * 4
    assert run("idva_caseload") == []  # another feed keeps its own store
    store = home / "state" / "landed-hashes" / f"{FEED}.json"
    remembered = json.loads(store.read_text())
    assert sorted(remembered) == sorted(str(p) for p in landed_files(home / "landing", FEED))
    assert [o.action for o in run()] == ["duplicate"] * 4
    assert json.loads(store.read_text()) == remembered
    hashes = LandedHashes.of_feed(home, FEED)
    assert [hashes.sha256(p) for p in landed_files(home / "landing", FEED)] == [
        remembered[str(p)][5] for p in landed_files(home / "landing", FEED)
    ]
    assert hashes.hits == 4
