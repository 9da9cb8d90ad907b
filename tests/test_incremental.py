"""Incremental police models (stg_police__crimes, fct_crime): a new month, a revised old month
and a new LSOA lookup leave exactly the rows a from-scratch build gives (issue 8)."""

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
# fct_crime as a from-scratch build would make it: the views under it are never incremental.
FACT_COLUMNS = (
    "crime_reference, la_code, recorded_date, ho_class, category, is_ppv, "
    "is_domestic_abuse, is_knife_or_firearm, lsoa_code, is_force_wide, delivery_id"
)
FACT_EXPECTED = f"""
    select {FACT_COLUMNS} from intermediate.int_crimes_classified
    where not is_cancelled order by crime_reference
"""
FACT_BUILT = f"select {FACT_COLUMNS} from main.fct_crime order by crime_reference"


def build(home: Path) -> None:
    assert main(["build", "--home", str(home), "--la-code", LA_CODE, "--as-of", AS_OF]) == 0


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


# What only the incremental SQL of each model holds: the rows it picks to recompute.
INCREMENTAL_MARK = {"stg_police__crimes": "affected as (", "fct_crime": "deliveries_since as ("}


def compiled_sql(home: Path, model: str) -> str:
    """The SQL the last build ran for ``model``."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    [result] = [r for r in results["results"] if r["unique_id"] == f"model.csp.{model}"]
    return result["compiled_code"]


def was_incremental(home: Path, model: str) -> bool:
    """Whether the last build ran ``model`` as an incremental model (its compiled SQL picks the
    crimes to recompute), rather than rebuilding it."""
    return INCREMENTAL_MARK[model] in compiled_sql(home, model)


def recomputed_otherwise(home: Path) -> bool:
    """Whether fct_crime's last run also recomputed crimes by reference, for a reason other
    than a new delivery (a replaced delivery, a changed lookup): a slower query, left out of
    the compiled SQL when there are none."""
    return "affected_otherwise as (" in compiled_sql(home, "fct_crime")


def assert_built_incrementally_as_from_scratch(home: Path, *, otherwise: bool) -> None:
    """Both incremental models ran incrementally (fct_crime by reference too when
    ``otherwise``) and hold what a from-scratch build would."""
    assert was_incremental(home, "stg_police__crimes")
    assert was_incremental(home, "fct_crime")
    assert recomputed_otherwise(home) is otherwise
    assert query(home, BUILT) == query(home, EXPECTED)
    assert query(home, FACT_BUILT) == query(home, FACT_EXPECTED)


def revise(source: Path, target: Path, drop: str, cancel: str | None = None) -> None:
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


def cancelled_after_recorded(home: Path, file_name: str) -> str:
    """A crime that ``file_name`` cancels and an earlier month's file recorded."""
    [(ref,)] = query(
        home,
        f"""
        select c.crime_reference from raw.police_crime c join raw.deliveries d using (delivery_id)
        where d.file_name = '{file_name}' and d.status = 'loaded' and c.status = 'Cancelled'
          and c.crime_reference in (
            select c2.crime_reference from raw.police_crime c2
            join raw.deliveries d2 using (delivery_id)
            where d2.file_name < '{file_name}' and d2.status = 'loaded'
              and c2.status = 'Recorded')
        order by crime_reference limit 1""",
    )
    return ref


def only_in(home: Path, file_name: str) -> list[str]:
    """Recorded crimes of one delivered file that no other file holds."""
    return [
        ref
        for (ref,) in query(
            home,
            f"""
        select c.crime_reference from raw.police_crime c join raw.deliveries d using (delivery_id)
        where d.file_name = '{file_name}' and c.status = 'Recorded'
          and c.crime_reference not in (
            select c2.crime_reference from raw.police_crime c2
            join raw.deliveries d2 using (delivery_id) where d2.file_name <> '{file_name}')
        order by crime_reference limit 2""",
        )
    ]


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
    shutil.copyfile(
        extracts / "reference" / "lsoa_la_lookup.csv", home / "reference" / "lsoa_la_lookup.csv"
    )
    return home


def test_new_and_revised_months_update_staging_incrementally(
    tmp_path: Path, extracts: Path
) -> None:
    home = new_home(tmp_path, extracts)
    landing = home / "landing" / FEED
    files = sorted((extracts / "landing" / FEED).glob("*.csv"))
    last = max(f.stem.rsplit("_", 1)[1] for f in files)
    for path in files:
        if not path.stem.endswith(last):
            shutil.copyfile(path, landing / path.name)
    build(home)
    assert query(home, BUILT) == query(home, EXPECTED)
    assert query(home, FACT_BUILT) == query(home, FACT_EXPECTED)

    # A new month: only its references are recomputed, and the result is still exact.
    for path in files:
        if path.stem.endswith(last):
            shutil.copyfile(path, landing / path.name)
    build(home)
    assert_built_incrementally_as_from_scratch(home, otherwise=False)

    # A revised old month: a crime the revision omits is gone (it was in no other file), a
    # crime it cancels is cancelled.
    original = sorted(landing.glob("*_2014-05.csv"))[0]
    dropped, cancelled = only_in(home, original.name)
    revise(original, tmp_path / original.name, dropped, cancelled)
    shutil.copyfile(tmp_path / original.name, original)
    build(home)
    assert_built_incrementally_as_from_scratch(home, otherwise=True)
    built = query(home, BUILT)
    refs = {ref: status for ref, _, _, status in built}
    assert dropped not in refs
    assert refs[cancelled] == "Cancelled"
    statuses = query(
        home,
        f"select status from raw.deliveries where file_name = "
        f"'{original.name}' order by delivery_id",
    )
    assert statuses == [("superseded",), ("loaded",)]

    # A revision that leaves out a crime the month before recorded and this month cancelled:
    # the crime counts again, from the earlier month's row.
    later = sorted(landing.glob("*_2014-07.csv"))[0]
    restored = cancelled_after_recorded(home, later.name)
    assert query(
        home, f"select count(*) from main.fct_crime where crime_reference = '{restored}'"
    ) == [(0,)]
    revise(later, tmp_path / later.name, restored)
    shutil.copyfile(tmp_path / later.name, later)
    build(home)
    assert_built_incrementally_as_from_scratch(home, otherwise=True)
    assert query(
        home, f"select count(*) from main.fct_crime where crime_reference = '{restored}'"
    ) == [(1,)]


def test_a_new_lsoa_lookup_moves_crimes_without_a_full_refresh(
    tmp_path: Path, extracts: Path
) -> None:
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
    assert_built_incrementally_as_from_scratch(home, otherwise=True)
    assert query(home, counted.format(LA_CODE)) == [(0,)]
    assert query(home, counted.format("E08000099")) == [(before,)]


def test_a_crime_table_from_an_earlier_version_asks_for_a_full_refresh(
    tmp_path: Path, extracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = new_home(tmp_path, extracts)
    for path in sorted((extracts / "landing" / FEED).glob("*_2014-04.csv")):
        shutil.copyfile(path, home / "landing" / FEED / path.name)
    build(home)
    # As an earlier version left it: without the column the incremental run's probes read.
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("alter table main.fct_crime drop column is_force_wide")
    command = ["build", "--home", str(home), "--la-code", LA_CODE, "--as-of", AS_OF]
    capsys.readouterr()
    assert main(command) == 1
    printed = capsys.readouterr()
    failure = printed.out + printed.err
    assert "lacks is_force_wide" in failure and "csp build --full-refresh" in failure
    assert main([*command, "--full-refresh"]) == 0
    assert query(home, FACT_BUILT) == query(home, FACT_EXPECTED)
