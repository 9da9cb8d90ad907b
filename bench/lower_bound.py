"""The least any build could take: DuckDB alone doing only the work the police contract asks.

    python -m bench.lower_bound --scale medium        (make bench-bound SCALE=medium)

Issue 8 asks, at medium size, for a full build within 3× the floor and a new month in under
5% of the full build. The floor is one query that reads the CSVs and counts; a build must
also keep what it read. This measures that part alone, on the benchmark's own files and
against the floor in the same run, with none of the pipeline around it: no Python start, no
Dagster, no dbt, no Great Expectations, no pseudonymisation, no archive, no published copy.

- **least full build**: every month but the last read and typed into a raw table; a few of
  the contract's rules counted per file; the latest row of each crime reference, placed by
  LSOA and classed, written to ``fct_crime``; its references checked unique; the quarterly
  counts computed; a checkpoint.
- **least new month**: the last month read, screened and appended; the latest row recomputed
  for the references it touches only; those rows of ``fct_crime`` replaced; the touched
  references checked unique; the touched quarters counted again; a commit and a checkpoint.

Both run in one warm process on one connection, so they are a bound from below: whatever the
pipeline does besides is added to them. The run checks that the counts after the new month
equal the floor's over every file, and that the full build's equal the floor's over its own.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from bench.generate import SCALES
from bench.run import (
    HO_CLASSES,
    REPO,
    floor_counts,
    last_month_split,
    prepare,
    sql_list,
)

# The extract's columns typed as the raw table holds them; {files} is a SQL list of paths.
TYPED_ROWS = """
select
    file_index::integer + {first_delivery} as delivery_id,
    regexp_extract(filename, '_(\\d{{4}}-\\d{{2}})\\.csv$', 1) as period,
    "Crime Reference" as crime_reference,
    strptime("Recorded Date", '%d/%m/%Y')::date as recorded_date,
    strptime("Offence Date", '%d/%m/%Y')::date as offence_date,
    "HO Class" as ho_class,
    "Offence Description" as offence_description,
    "Location Type" as location_type,
    "DA Flag" = 'Y' as is_domestic_abuse,
    "Knife Flag" = 'Y' as is_knife,
    "Firearm Flag" = 'Y' as is_firearm,
    "Status" as status,
    try_cast("Victim Age" as integer) as victim_age,
    "LSOA Code" as lsoa_code,
    "Ward" as ward,
    "Sector" as sector
from read_csv({files}, header = true, all_varchar = true, filename = true)
"""

# Rows breaking a few of the contract's rules, per file: a lower bound of the screen.
SCREEN = """
select
    delivery_id,
    count(*) filter (where crime_reference is null or recorded_date is null
                     or not regexp_full_match(lsoa_code, 'E0[0-9]{{7}}')
                     or victim_age not between 0 and 120) as broken
from {rows}
group by all
"""

# The latest row of each reference in {rows}, kept unless cancelled, placed and classed.
LATEST_CRIMES = """
with

winners as (

    -- The keys ranked alone and the winning rows fetched by rowid: ranking whole rows made
    -- DuckDB sort every column (7.9 s against 6.2 s for the medium full build).
    select rowid as winner from {rows}
    qualify row_number() over (partition by crime_reference
                               order by period desc, delivery_id desc) = 1

),

latest as (

    select * from {rows} where rowid in (select winner from winners)

)

select
    lookup.la_code,
    latest.*,
    classes.violence_with_injury and latest.location_type <> 'Dwelling' as is_ppv,
    classes.ho_class is not null as is_classed
from latest
left join lookup using (lsoa_code)
left join classes using (ho_class)
where latest.status <> 'Cancelled'
"""

# The start of a crime's financial quarter (April to June is the first).
QUARTER = "cast(date_trunc('quarter', recorded_date - interval 3 month) + interval 3 month as date)"

# The floor's counts, from fct_crime: (la_code, quarter_start, PPV, DA, knife/firearm).
COUNTS = """
select
    la_code,
    {quarter} as quarter_start,
    count(*) filter (where is_ppv) as pv_ppv,
    count(*) filter (where is_domestic_abuse) as va_da_crimes,
    count(*) filter (where is_knife or is_firearm) as gy_knife_firearm
from fct_crime
where la_code is not null and is_classed {where}
group by all
"""


class Steps:
    """Times the named steps of one measured stretch."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.times: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        """End the step ``name`` now (it began where the last one ended)."""
        now = time.perf_counter()
        self.times.append((name, now - self.last))
        self.last = now

    @property
    def total(self) -> float:
        """Seconds from the start to the end of the last step."""
        return self.last - self.started

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.times)


def least_full_build(
    con: duckdb.DuckDBPyConnection, files: list[Path], lookup: Path
) -> tuple[Steps, list[tuple]]:
    """Build the raw table and ``fct_crime`` from ``files``; return the steps and counts."""
    con.execute(f"create table lookup as select * from read_csv('{lookup}', header = true)")
    con.execute(
        f"create table classes as select * from read_csv('{HO_CLASSES}', "
        f"header = true, types = {{'ho_class': 'varchar'}})"
    )
    steps = Steps()
    con.execute(
        "create table raw_crime as " + TYPED_ROWS.format(files=sql_list(files), first_delivery=0)
    )
    steps.mark("read and load")
    con.execute(SCREEN.format(rows="raw_crime")).fetchall()
    steps.mark("screen")
    con.execute("create table fct_crime as " + LATEST_CRIMES.format(rows="raw_crime"))
    steps.mark("latest rows")
    con.execute("select crime_reference from fct_crime group by all having count(*) > 1").fetchall()
    steps.mark("unique")
    counts = con.execute(COUNTS.format(quarter=QUARTER, where="")).fetchall()
    steps.mark("counts")
    con.execute("checkpoint")
    steps.mark("checkpoint")
    return steps, counts


def least_new_month(con: duckdb.DuckDBPyConnection, files: list[Path]) -> Steps:
    """Append ``files`` to the raw table and bring ``fct_crime`` and the counts up to date."""
    steps = Steps()
    con.execute("begin")
    first = con.execute("select max(delivery_id) + 1 from raw_crime").fetchone()[0]
    con.execute(
        "create temp table new_rows as "
        + TYPED_ROWS.format(files=sql_list(files), first_delivery=first)
    )
    steps.mark("read")
    con.execute(SCREEN.format(rows="new_rows")).fetchall()
    steps.mark("screen")
    con.execute("insert into raw_crime select * from new_rows")
    steps.mark("append")
    con.execute("create temp table touched as select distinct crime_reference from new_rows")
    # A touched crime's older rows still decide which row is its latest.
    con.execute(
        "create temp table touched_rows as "
        "select * from raw_crime semi join touched using (crime_reference)"
    )
    con.execute(
        "delete from fct_crime where crime_reference in (select crime_reference from touched)"
    )
    con.execute("insert into fct_crime " + LATEST_CRIMES.format(rows="touched_rows"))
    steps.mark("latest rows")
    con.execute(
        "select crime_reference from fct_crime semi join touched using "
        "(crime_reference) group by all having count(*) > 1"
    ).fetchall()
    steps.mark("unique")
    # Every quarter a touched crime was, or now is, recorded in (its rows hold both).
    touched_quarters = f"and {QUARTER} in (select distinct {QUARTER} from touched_rows)"
    con.execute(COUNTS.format(quarter=QUARTER, where=touched_quarters)).fetchall()
    steps.mark("counts")
    con.execute("commit")
    con.execute("checkpoint")
    steps.mark("commit and checkpoint")
    return steps


def timed(work: Callable[[], list[tuple]]) -> tuple[float, list[tuple]]:
    """Seconds ``work`` took, and what it returned."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    """Measure the floor, the least full build and the least new month at one scale."""
    parser = argparse.ArgumentParser(prog="bench.lower_bound", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="medium")
    parser.add_argument(
        "--work",
        default=str(REPO / "bench-work"),
        help="where the generated files are (made if missing) and the warehouse goes",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB's memory_limit for the build (default: DuckDB's own, "
        "80%% of the machine; the pipeline uses 512MB)",
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    work = Path(args.work).resolve() / args.scale
    files = prepare(args.scale, scale, work / "data")
    lookup = work / "data" / "reference" / "lsoa_la_lookup.csv"
    full_files, new_files = last_month_split(files, scale)
    for path in files:
        path.read_bytes()  # as bench.run does: no step pays for a cold page cache

    floor_seconds, floor = timed(lambda: floor_counts(full_files, lookup))
    print(f"floor (DuckDB alone, one query): {floor_seconds:.2f} s", flush=True)

    warehouse = work / "lower-bound.duckdb"
    warehouse_files = (warehouse, warehouse.with_name(warehouse.name + ".wal"))
    for path in warehouse_files:
        path.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(warehouse)) as con:
            if args.memory_limit:
                con.execute("set memory_limit = ?", [args.memory_limit])
            full, counts = least_full_build(con, full_files, lookup)
            print(f"least full build: {full.total:.2f} s ({full})", flush=True)
            if sorted(counts) != sorted(floor):
                raise SystemExit("the least full build's counts differ from the floor's")
            new = least_new_month(con, new_files)
            print(
                f"least new month ({len(new_files)} extracts): {new.total:.2f} s ({new})",
                flush=True,
            )
            after = con.execute(COUNTS.format(quarter=QUARTER, where="")).fetchall()
    finally:
        for path in warehouse_files:
            path.unlink(missing_ok=True)
    if sorted(after) != sorted(floor_counts(files, lookup)):
        raise SystemExit("after the new month the counts differ from the floor's over every file")
    print("both give the floor's counts")
    print(f"ratio full/floor: {full.total / floor_seconds:.2f}")
    print(f"ratio incremental/full: {new.total / full.total:.3f}")
    print(f"new month allowed by both targets (5% of 3x the floor): {0.15 * floor_seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
