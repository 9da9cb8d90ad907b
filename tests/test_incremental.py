"""Incremental police staging (stg_police__crimes): a new month and a revised old month leave
exactly the rows a from-scratch latest-row-wins over current deliveries gives (issue 8)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.generate import SCALES, generate
from orchestration.cli import main
from tests.conftest import TEST_KEYS

LA_CODE = "E08000031"
AS_OF = "2014-11-20"
FEED = "police_crime"

# Latest row wins, written independently of the model: per crime reference, the row of the
# current delivery with the latest period, then the latest delivery, then the latest line.
EXPECTED = """
    select crime_reference, delivery_id, source_row, status
    from (
        select r.*, row_number() over (
            partition by r.crime_reference
            order by d.period_start desc, d.delivery_id desc, r.source_row desc) as n
        from raw.police_crime r
        join raw.deliveries d using (delivery_id)
        where d.status = 'loaded'
    ) where n = 1
    order by crime_reference
"""
BUILT = """
    select crime_reference, delivery_id, source_row, status
    from staging.stg_police__crimes order by crime_reference
"""


def build(home: Path) -> None:
    assert main(["build", "--home", str(home), "--la-code", LA_CODE, "--as-of", AS_OF]) == 0


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def staging_was_incremental(home: Path) -> bool:
    """Whether the last build ran stg_police__crimes as an incremental model (its compiled SQL
    picks the affected references), rather than rebuilding it."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    [staging] = [r for r in results["results"]
                 if r["unique_id"] == "model.csp.stg_police__crimes"]
    return "affected as (" in staging["compiled_code"]


def revise(source: Path, target: Path, drop: str, cancel: str) -> None:
    """A revised extract: crime ``drop`` left out, crime ``cancel`` cancelled."""
    header, *rows = source.read_bytes().split(b"\r\n")
    revised = []
    for row in rows[:-1]:
        fields = row.split(b",")
        if fields[0].decode() == drop:
            continue
        if fields[0].decode() == cancel:
            fields[9] = b"Cancelled"
        revised.append(b",".join(fields))
    target.write_bytes(b"\r\n".join([header, *revised]) + b"\r\n")


def only_in(home: Path, file_name: str) -> list[str]:
    """Recorded crimes of one delivered file that no other file holds."""
    return [ref for (ref,) in query(home, f"""
        select c.crime_reference from raw.police_crime c join raw.deliveries d using (delivery_id)
        where d.file_name = '{file_name}' and c.status = 'Recorded'
          and c.crime_reference not in (
            select c2.crime_reference from raw.police_crime c2
            join raw.deliveries d2 using (delivery_id) where d2.file_name <> '{file_name}')
        order by crime_reference limit 2""")]


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    generate(folder, SCALES["tiny"], first_month=date(2014, 4, 1))
    return folder


def new_home(tmp_path: Path, extracts: Path) -> Path:
    """An empty home with the generated LSOA lookup and a police landing folder."""
    os.environ.update(TEST_KEYS)
    home = tmp_path / "home"
    (home / "landing" / FEED).mkdir(parents=True)
    (home / "reference").mkdir()
    shutil.copyfile(extracts / "reference" / "lsoa_la_lookup.csv",
                    home / "reference" / "lsoa_la_lookup.csv")
    return home


def test_new_and_revised_months_update_staging_incrementally(
        tmp_path: Path, extracts: Path) -> None:
    home = new_home(tmp_path, extracts)
    landing = home / "landing" / FEED
    files = sorted((extracts / "landing" / FEED).glob("*.csv"))
    last = max(f.stem.rsplit("_", 1)[1] for f in files)
    for path in files:
        if not path.stem.endswith(last):
            shutil.copyfile(path, landing / path.name)
    build(home)
    assert query(home, BUILT) == query(home, EXPECTED)

    # A new month: only its references are recomputed, and the result is still exact.
    for path in files:
        if path.stem.endswith(last):
            shutil.copyfile(path, landing / path.name)
    build(home)
    assert staging_was_incremental(home)
    assert query(home, BUILT) == query(home, EXPECTED)

    # A revised old month: a crime the revision omits is gone (it was in no other file), a
    # crime it cancels is cancelled.
    original = sorted(landing.glob("*_2014-05.csv"))[0]
    dropped, cancelled = only_in(home, original.name)
    revise(original, tmp_path / original.name, dropped, cancelled)
    shutil.copyfile(tmp_path / original.name, original)
    build(home)
    assert staging_was_incremental(home)
    built = query(home, BUILT)
    assert built == query(home, EXPECTED)
    refs = {ref: status for ref, _, _, status in built}
    assert dropped not in refs
    assert refs[cancelled] == "Cancelled"
    statuses = query(home, f"select status from raw.deliveries where file_name = "
                           f"'{original.name}' order by delivery_id")
    assert statuses == [("superseded",), ("loaded",)]


def test_a_new_lsoa_lookup_moves_crimes_without_a_full_refresh(
        tmp_path: Path, extracts: Path) -> None:
    home = new_home(tmp_path, extracts)
    landing = home / "landing" / FEED
    lookup = home / "reference" / "lsoa_la_lookup.csv"
    for path in sorted((extracts / "landing" / FEED).glob("*_2014-0[45].csv")):
        shutil.copyfile(path, landing / path.name)
    build(home)
    counted = "select count(*) from main.fct_crime where la_code = '{}'"
    [(before,)] = query(home, counted.format(LA_CODE))
    assert before > 0
    # Every LSOA of the partnership moves to another authority code.
    text = lookup.read_text(encoding="utf-8").replace(LA_CODE, "E08000099")
    lookup.write_text(text, encoding="utf-8")
    build(home)
    assert staging_was_incremental(home)
    assert query(home, counted.format(LA_CODE)) == [(0,)]
    assert query(home, counted.format("E08000099")) == [(before,)]
