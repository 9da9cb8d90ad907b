"""The scale benchmark: the whole pipeline against DuckDB alone and against pandas, one run.

    python -m bench.run --scale small        (make bench SCALE=small)

On the same generated force-wide police extracts (bench/generate.py) it measures:

- **floor**: DuckDB alone reading the CSVs and computing the quarterly police counts per local
  authority (latest row per crime reference, cancelled crimes dropped) in one query;
- **baseline**: what a user would otherwise write, pandas reading the same files and computing
  the same counts;
- **full**: ``csp build`` on a fresh home holding every month but the last (ingest with every
  contract check, Great Expectations, pseudonymisation, dbt and the exports), with the peak
  resident memory of all its processes;
- **incremental**: the last month arriving, and ``csp build`` again.

It checks the build's police indicators against the floor's counts, writes
``bench/results/<scale>.json`` and ends with exactly five lines: rows, the three ratios and
the peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb

from bench.generate import SCALES, Scale, generate
from core.periods import first_of_month

REPO = Path(__file__).resolve().parents[1]
FIRST_MONTH = date(2005, 4, 1)
PARTNERSHIP = "E08000031"  # Wolverhampton, in West Midlands: always among the forces
HO_CLASSES = REPO / "dbt_project" / "seeds" / "ho_offence_classes.csv"
# Counts compared between the floor, the baseline and the build.
INDICATORS = ("PV_PPV", "VA_DA_CRIMES", "GY_KNIFE_FIREARM")


def _month(offset: int) -> date:
    """The first day of the month ``offset`` months after FIRST_MONTH."""
    return first_of_month(FIRST_MONTH, offset)


# --- the floor: DuckDB alone ---------------------------------------------------------------

FLOOR_SQL = """
with

crimes as (

    select
        "Crime Reference" as crime_reference,
        strptime("Recorded Date", '%d/%m/%Y')::date as recorded_date,
        "HO Class" as ho_class,
        "Location Type" as location_type,
        "DA Flag" = 'Y' as is_da,
        "Knife Flag" = 'Y' or "Firearm Flag" = 'Y' as is_weapon,
        "Status" as status,
        "LSOA Code" as lsoa_code,
        regexp_extract(filename, '_(\\d{{4}}-\\d{{2}})\\.csv$', 1) as period
    from read_csv({files}, header = true, all_varchar = true, filename = true)

),

latest as (

    select * from crimes
    qualify row_number() over (partition by crime_reference order by period desc) = 1

),

counted as (

    select
        lookup.la_code,
        cast(date_trunc('quarter', recorded_date - interval 3 month) + interval 3 month
             as date) as quarter_start,
        count(*) filter (where classes.violence_with_injury
                         and location_type <> 'Dwelling') as pv_ppv,
        count(*) filter (where is_da) as va_da_crimes,
        count(*) filter (where is_weapon) as gy_knife_firearm
    from latest
    inner join read_csv('{lookup}', header = true) as lookup using (lsoa_code)
    inner join read_csv('{classes}', header = true,
                        types = {{'ho_class': 'varchar'}}) as classes using (ho_class)
    where status <> 'Cancelled'
    group by all

)

select * from counted order by la_code, quarter_start
"""


def sql_list(files: list[Path]) -> str:
    """A SQL list literal of file paths, for ``read_csv``."""
    return "[" + ", ".join(f"'{path}'" for path in files) + "]"


def floor_counts(files: list[Path], lookup: Path) -> list[tuple]:
    """(la_code, quarter_start, PPV, DA crimes, knife/firearm) in one DuckDB query."""
    with duckdb.connect() as con:
        return con.execute(
            FLOOR_SQL.format(files=sql_list(files), lookup=lookup, classes=HO_CLASSES)
        ).fetchall()


# --- the baseline: pandas -------------------------------------------------------------------


def baseline_counts(files: list[Path], lookup: Path) -> list[tuple]:
    """The same counts as a pandas user would compute them."""
    import pandas as pd

    columns = [
        "Crime Reference",
        "Recorded Date",
        "HO Class",
        "Location Type",
        "DA Flag",
        "Knife Flag",
        "Firearm Flag",
        "Status",
        "LSOA Code",
    ]
    frames = []
    for path in files:
        frame = pd.read_csv(path, usecols=columns, dtype=str, encoding="utf-8-sig")
        frame["period"] = path.stem.rsplit("_", 1)[1]
        frames.append(frame)
    crimes = pd.concat(frames, ignore_index=True)
    crimes = crimes.sort_values("period").drop_duplicates("Crime Reference", keep="last")
    crimes = crimes[crimes["Status"] != "Cancelled"]
    places = pd.read_csv(lookup, dtype=str)[["lsoa_code", "la_code"]]
    classes = pd.read_csv(HO_CLASSES, dtype={"ho_class": str})
    crimes = crimes.merge(places, left_on="LSOA Code", right_on="lsoa_code")
    crimes = crimes.merge(classes, left_on="HO Class", right_on="ho_class")
    recorded = pd.to_datetime(crimes["Recorded Date"], format="%d/%m/%Y")
    shifted = recorded - pd.DateOffset(months=3)
    crimes["quarter_start"] = (
        shifted.dt.to_period("Q").dt.start_time + pd.DateOffset(months=3)
    ).dt.date
    crimes["pv_ppv"] = crimes["violence_with_injury"].astype(str).str.lower().eq("true") & (
        crimes["Location Type"] != "Dwelling"
    )
    crimes["va_da_crimes"] = crimes["DA Flag"] == "Y"
    crimes["gy_knife_firearm"] = (crimes["Knife Flag"] == "Y") | (crimes["Firearm Flag"] == "Y")
    summed = (
        crimes.groupby(["la_code", "quarter_start"])[["pv_ppv", "va_da_crimes", "gy_knife_firearm"]]
        .sum()
        .reset_index()
    )
    return [
        (r.la_code, r.quarter_start, int(r.pv_ppv), int(r.va_da_crimes), int(r.gy_knife_firearm))
        for r in summed.itertuples()
    ]


# --- the pipeline, with the memory of all its processes ----------------------------------


def _rss_of_tree(root: int) -> dict[int, int]:
    """Resident bytes of ``root`` and of each of its descendants, by pid, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return {pid: rss[pid] for pid in tree if pid in rss}


def _role(pid: int, root: int) -> str:
    """What a process of the build is, for the peak's make-up: the build, dbt or other."""
    if pid == root:
        return "csp build"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ")
    except OSError:
        return "other"
    return "dbt" if b"/bin/dbt " in command else "other"


def run_measured(
    command: list[str], env: dict[str, str], log: Path
) -> tuple[float, int, dict[str, int]]:
    """Run ``command``: (seconds, peak resident bytes of its process tree, the peak's make-up
    in bytes by role: the build's own process, dbt, other)."""
    peak, make_up = 0, {}
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, make_up
            while not done.is_set():
                tree = _rss_of_tree(process.pid)
                if sum(tree.values()) > peak:
                    peak = sum(tree.values())
                    make_up = {}
                    for pid, rss in tree.items():
                        role = _role(pid, process.pid)
                        make_up[role] = make_up.get(role, 0) + rss
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({code}): see {log}")
    return seconds, peak, make_up


def _mib(make_up: dict[str, int]) -> str:
    return ", ".join(f"{role} {rss / 2**20:,.0f}" for role, rss in sorted(make_up.items()))


def build_command(home: Path, as_of: date) -> list[str]:
    """``csp build`` on the benchmark home."""
    return [
        sys.executable,
        "-m",
        "orchestration.cli",
        "build",
        "--home",
        str(home),
        "--la-code",
        PARTNERSHIP,
        "--as-of",
        as_of.isoformat(),
    ]


def build_env(home: Path) -> dict[str, str]:
    """A clean environment: benchmark keys (no personal data is generated), no waiting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_"))}
    env.update(
        {
            "CSP_STABLE_SECONDS": "0",
            "CSP_TARGET": "duckdb",
            "CSP_PSEUDO_KEY_TREATMENT": "benchmark-treatment-key-not-secret",
            "CSP_PSEUDO_KEY_DOMESTIC_ABUSE": "benchmark-domestic-abuse-key-not-secret",
        }
    )
    return env


def built_counts(warehouse: Path) -> dict[tuple[str, date], dict[str, float]]:
    """The partnership's police indicators as the build has them, by quarter."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select quarter_start, indicator_code, coalesce(value, provisional_value) "
            "from main.fct_indicator_quarter where la_code = ? and indicator_code in ?",
            [PARTNERSHIP, list(INDICATORS)],
        ).fetchall()
    found: dict[tuple[str, date], dict[str, float]] = {}
    for start, code, value in rows:
        found.setdefault((PARTNERSHIP, start), {})[code] = value
    return found


# --- the run --------------------------------------------------------------------------------


def prepare(scale_name: str, scale: Scale, data: Path) -> list[Path]:
    """The generated extracts for ``scale`` (made once, reused while the generator agrees)."""
    stamp = data / "generated.json"
    wanted = {
        "scale": scale_name,
        **scale.__dict__,
        "generator": (REPO / "bench" / "generate.py").stat().st_mtime,
    }
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return sorted((data / "landing" / "police_crime").glob("*.csv"))
    shutil.rmtree(data, ignore_errors=True)
    files = generate(data, scale, FIRST_MONTH)
    stamp.write_text(json.dumps(wanted))
    return sorted(files)


def fresh_home(home: Path, lookup: Path, files: list[Path]) -> Path:
    """A new benchmark home holding the LSOA lookup and ``files`` in landing (hard links);
    returns its police landing folder."""
    shutil.rmtree(home, ignore_errors=True)
    landing = home / "landing" / "police_crime"
    landing.mkdir(parents=True)
    (home / "reference").mkdir()
    shutil.copyfile(lookup, home / "reference" / "lsoa_la_lookup.csv")
    for path in files:
        os.link(path, landing / path.name)
    return landing


def last_month_split(files: list[Path], scale: Scale) -> tuple[list[Path], list[Path]]:
    """(every month but the last, the last month): the full build's files, the new month's."""
    last = f"{_month(scale.months - 1):%Y-%m}"
    return (
        [f for f in files if not f.stem.endswith(last)],
        [f for f in files if f.stem.endswith(last)],
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at one scale and print its figures."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument(
        "--work",
        default=str(REPO / "bench-work"),
        help="where generated files and the benchmark home go",
    )
    parser.add_argument(
        "--results",
        default=str(REPO / "bench" / "results"),
        help="where <scale>.json is written (BENCHMARKS.md reads it)",
    )
    parser.add_argument(
        "--skip-baseline",
        action="store_true",
        help="do not run pandas (its ratio is then reported as n/a)",
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    work = Path(args.work).resolve() / args.scale
    data = work / "data"
    print(
        f"scale {args.scale}: {scale.forces} force(s) x {scale.months} months, "
        f"about {scale.rows_per_force_month:,} crimes per force-month",
        flush=True,
    )
    started = time.perf_counter()
    files = prepare(args.scale, scale, data)
    print(
        f"generated {len(files)} extracts in {time.perf_counter() - started:.1f} s "
        f"({sum(f.stat().st_size for f in files) / 2**20:,.0f} MiB)",
        flush=True,
    )
    lookup = data / "reference" / "lsoa_la_lookup.csv"
    full_files, new_files = last_month_split(files, scale)

    # Counting the rows reads every file once, so the floor, the first to run, does not pay
    # for a cold page cache that the baseline and the build then find warm.
    rows = _rows(full_files)
    # The floor and the baseline, on exactly the files of the full build.
    started = time.perf_counter()
    floor = floor_counts(full_files, lookup)
    floor_seconds = time.perf_counter() - started
    print(f"floor (DuckDB alone): {floor_seconds:.2f} s", flush=True)
    baseline_seconds = None
    if not args.skip_baseline:
        started = time.perf_counter()
        baseline = baseline_counts(full_files, lookup)
        baseline_seconds = time.perf_counter() - started
        print(f"baseline (pandas): {baseline_seconds:.2f} s", flush=True)
        if sorted(baseline) != sorted(floor):
            raise SystemExit("pandas and DuckDB disagree on the counts: the benchmark is wrong")

    # The pipeline: a fresh home with every month but the last, then the last.
    home = work / "home"
    landing = fresh_home(home, lookup, full_files)
    as_of = _month(scale.months)
    env = build_env(home)
    full_seconds, full_rss, full_make_up = run_measured(
        build_command(home, as_of), env, work / "full-build.log"
    )
    print(
        f"full build: {full_seconds:.2f} s, peak {full_rss / 2**20:,.0f} MiB "
        f"({_mib(full_make_up)})",
        flush=True,
    )
    built = built_counts(home / "warehouse.duckdb")
    expected = {
        (la, start): dict(zip(INDICATORS, counts, strict=True))
        for la, start, *counts in floor
        if la == PARTNERSHIP
    }
    mismatched = [
        key
        for key, counts in expected.items()
        if {k: built.get(key, {}).get(k) for k in INDICATORS} != counts
    ]
    if mismatched:
        raise SystemExit(
            f"the build's indicators differ from the floor's counts for "
            f"{len(mismatched)} quarter(s), e.g. {mismatched[0]}"
        )
    print(
        f"the build's police indicators for {PARTNERSHIP} equal the floor's counts "
        f"({len(expected)} quarters)",
        flush=True,
    )
    for path in new_files:
        os.link(path, landing / path.name)
    incremental_seconds, incremental_rss, incremental_make_up = run_measured(
        build_command(home, as_of), env, work / "incremental-build.log"
    )
    print(
        f"incremental build (one new month, {len(new_files)} extracts): "
        f"{incremental_seconds:.2f} s, peak {incremental_rss / 2**20:,.0f} MiB "
        f"({_mib(incremental_make_up)})",
        flush=True,
    )

    peak_mib = max(full_rss, incremental_rss) / 2**20
    peak_make_up = full_make_up if full_rss >= incremental_rss else incremental_make_up
    result = {
        "scale": args.scale,
        "forces": scale.forces,
        "months": scale.months,
        "files": len(full_files),
        "rows": rows,
        "floor_seconds": round(floor_seconds, 3),
        "baseline_seconds": None if baseline_seconds is None else round(baseline_seconds, 3),
        "full_seconds": round(full_seconds, 3),
        "incremental_seconds": round(incremental_seconds, 3),
        "peak_rss_mib": round(peak_mib),
        "peak_rss_mib_by_process": {
            role: round(rss / 2**20) for role, rss in sorted(peak_make_up.items())
        },
        "machine": machine(),
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    baseline_ratio = "n/a" if baseline_seconds is None else f"{baseline_seconds / full_seconds:.2f}"
    print(f"rows: {rows}")
    print(f"ratio full/floor: {full_seconds / floor_seconds:.2f}")
    print(f"ratio baseline/full: {baseline_ratio}")
    print(f"ratio incremental/full: {incremental_seconds / full_seconds:.3f}")
    print(f"peak_rss_mib: {peak_mib:.0f}")
    return 0


def _rows(files: list[Path]) -> int:
    """Data rows in the files (lines less the header)."""
    total = 0
    for path in files:
        with path.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        total -= 1
    return total


def machine() -> dict[str, object]:
    """The machine the figures were measured on."""
    memory = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    cpu = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": memory,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


if __name__ == "__main__":
    sys.exit(main())
