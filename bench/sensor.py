"""One new month through Dagster's landing sensor, against ``csp build`` on the same month.

    python -m bench.sensor --scale medium        (make bench-sensor SCALE=medium)

``bench.run`` times ``csp build``. A data engineer who leaves ``csp ui`` running (Dagster's
webserver, daemon and code server) gets a run per delivered file from the landing sensor
instead. On a home built with every month but the last (as ``bench.run`` builds it), the
last month's files (one per force) then arrive twice, each on its own copy of that home:

- **build**: ``csp build`` on the command line, as in ``bench.run`` (the baseline);
- **sensor**: dropped into landing under ``csp ui``; timed from the first sensor run's
  start to the last one's end, and from the drop (which adds the sensor's two looks at a
  file, 30 s apart, and Dagster's queue).

Both copies must end with the same police indicators. The last three lines are
``build: X s``, ``sensor runs: Y s`` and ``ratio sensor/build: Z``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

from bench.dagster_ui import FINISHED, runs, serving, wait_for
from bench.generate import SCALES
from bench.run import (
    PARTNERSHIP,
    REPO,
    _month,
    build_command,
    build_env,
    built_counts,
    fresh_home,
    last_month_split,
    prepare,
)

# Folders of a home whose files a build rewrites: copied for real, like every file at the top
# (the warehouse). The rest (landing, archive: files are added, never changed) is hard-linked.
REWRITTEN = {"published", "state", "dagster", "dbt", "exports", "logs", "monitor"}
RUN_SECONDS = 3600


def copy_home(home: Path, target: Path) -> None:
    """A copy of a built home that a build can change without touching the original."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in home.iterdir():
        if not part.is_dir():
            shutil.copy2(part, target / part.name)
        elif part.name in REWRITTEN:
            shutil.copytree(part, target / part.name)
        else:
            shutil.copytree(part, target / part.name, copy_function=os.link)


def timed_build(home: Path, as_of: date, env: dict[str, str], log: Path) -> float:
    """Seconds ``csp build`` took on ``home``, its output in ``log``; stops if it failed."""
    started = time.perf_counter()
    with log.open("w") as sink:
        done = subprocess.run(
            build_command(home, as_of), env=env, stdout=sink, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"csp build failed on {home}: see {log}")
    return time.perf_counter() - started


def arrive(files: list[Path], home: Path) -> None:
    """The new month's files land (hard links, so complete at once)."""
    for path in files:
        os.link(path, home / "landing" / "police_crime" / path.name)


def sensor_seconds(
    home: Path, files: list[Path], env: dict[str, str], log: Path
) -> tuple[float, float]:
    """Drop ``files`` under ``csp ui`` over ``home``; wait for one successful run each.
    Returns (first run's start to last run's end, drop to last run's end) in seconds."""
    with serving(home, log, PARTNERSHIP, env) as port:
        before = {r["runId"] for r in runs(port)}
        dropped = time.time()
        arrive(files, home)

        def finished() -> list[dict] | None:
            new = [r for r in runs(port) if r["runId"] not in before]
            done = len(new) == len(files) and all(r["status"] in FINISHED for r in new)
            return new if done else None

        done = wait_for(f"{len(files)} sensor runs", finished, port, RUN_SECONDS)
    failed = [r["runId"] for r in done if r["status"] != "SUCCESS"]
    if failed:
        raise SystemExit(f"sensor runs failed: {failed} (see {log})")
    last_end = max(r["endTime"] for r in done)
    return last_end - min(r["startTime"] for r in done), last_end - dropped


def main(argv: list[str] | None = None) -> int:
    """Run the sensor benchmark at one scale and print its figures."""
    parser = argparse.ArgumentParser(prog="bench.sensor", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="tiny")
    parser.add_argument(
        "--work",
        default=str(REPO / "bench-work"),
        help="where generated files and the benchmark homes go",
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    work = Path(args.work).resolve() / args.scale
    data = work / "data"
    full_files, new_files = last_month_split(prepare(args.scale, scale, data), scale)
    as_of = _month(scale.months)
    base, by_build, by_sensor = (work / f"sensor-{name}" for name in ("base", "build", "sensor"))
    fresh_home(base, data / "reference" / "lsoa_la_lookup.csv", full_files)
    env = build_env(base)
    seconds = timed_build(base, as_of, env, work / "sensor-full-build.log")
    print(
        f"built {len(full_files)} extracts in {seconds:.1f} s; "
        f"the new month: {len(new_files)} extracts",
        flush=True,
    )
    copy_home(base, by_build)
    copy_home(base, by_sensor)

    arrive(new_files, by_build)
    build = timed_build(by_build, as_of, env, work / "sensor-csp-build.log")
    print(f"csp build: {build:.2f} s", flush=True)

    ui_env = {**env, "CSP_AS_OF": as_of.isoformat()}
    sensor, from_drop = sensor_seconds(by_sensor, new_files, ui_env, work / "sensor-ui.log")
    print(
        f"sensor: {sensor:.2f} s from the first run's start to the last run's end "
        f"({from_drop:.1f} s from the drop)",
        flush=True,
    )
    if built_counts(by_sensor / "warehouse.duckdb") != built_counts(by_build / "warehouse.duckdb"):
        raise SystemExit("the sensor's runs and csp build disagree on the police indicators")
    print("the sensor's runs and csp build give the same police indicators")
    for copy in (by_build, by_sensor):  # twice the warehouse and its published copy
        shutil.rmtree(copy)
    print(f"build: {build:.2f} s")
    print(f"sensor runs: {sensor:.2f} s")
    print(f"ratio sensor/build: {sensor / build:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
