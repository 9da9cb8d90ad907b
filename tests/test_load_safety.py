"""Load safety: killed mid-load, rerun, same warehouse; two builds at once, nothing corrupted.

Real processes are killed with SIGKILL (no clean-up handlers run), at moments drawn from a
seeded random generator so a failure can be replayed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.demonstration import generate_landing
from tests.conftest import TEST_KEYS

LA = "E08000026"
RAW_TABLES = ["police_crime", "rny_treatment", "idva_cases", "idva_screening", "moj_reoffending"]


def _csp(*args: str) -> subprocess.Popen:
    env = {**os.environ, **TEST_KEYS, "CSP_STABLE_SECONDS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _run(*args: str) -> str:
    process = _csp(*args)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    return output


def _fresh_home(landing: Path, root: Path) -> Path:
    home = root
    shutil.copytree(landing, home / "landing")  # copytree keeps modification times
    return home


def snapshot(home: Path) -> dict[str, list[tuple]]:
    """Everything the loads wrote, minus the wall-clock time of arrival."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            "deliveries": con.execute(
                "select delivery_id, feed, file_name, sha256, period_label, row_count, status "
                "from raw.deliveries order by delivery_id"
            ).fetchall()
        }
        for table in RAW_TABLES:
            tables[table] = con.execute(
                f"select * from raw.{table} order by delivery_id, source_row"
            ).fetchall()
    tables["archive"] = sorted(p.name for p in (home / "archive").glob("*/*"))
    return tables


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    staging = tmp_path_factory.mktemp("landing")
    generate_landing(
        staging,
        la_code=LA,
        la_name="Coventry",
        first_month=date(2013, 4, 1),
        last_month=date(2014, 3, 1),
        seed=3,
        scale=0.4,
    )
    # A bad file too: a rejection must also survive a kill exactly once.
    bad = staging / "rny_treatment" / "rny_treatment_2013-09.csv"
    bad.write_bytes(bad.read_bytes().replace(b",Court,", b",Courts,", 1))
    base = _fresh_home(staging, tmp_path_factory.mktemp("baseline"))
    started = time.perf_counter()
    _run("ingest", "--home", str(base), "--la-code", LA)
    seconds = time.perf_counter() - started
    return {"landing": staging, "baseline": snapshot(base), "seconds": seconds, "base_home": base}


@pytest.mark.parametrize("seed", range(20))
def test_killed_ingest_reruns_to_the_same_warehouse(
    scenario: dict, tmp_path: Path, seed: int
) -> None:
    home = _fresh_home(scenario["landing"], tmp_path)
    moment = random.Random(seed).uniform(0.5, scenario["seconds"])
    process = _csp("ingest", "--home", str(home), "--la-code", LA)
    time.sleep(moment)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    _run("ingest", "--home", str(home), "--la-code", LA)
    assert snapshot(home) == scenario["baseline"], f"killed after {moment:.2f} s"
    assert len(list((home / "quarantine" / "rny_treatment").glob("*.csv"))) == 1


def _indicators(home: Path) -> str:
    return (home / "exports" / "indicators.csv").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def built_baseline(scenario: dict) -> str:
    _run("build", "--home", str(scenario["base_home"]), "--la-code", LA, "--as-of", "2014-06-30")
    return _indicators(scenario["base_home"])


def test_killed_build_reruns_to_the_same_figures(
    scenario: dict, built_baseline: str, tmp_path: Path
) -> None:
    home = _fresh_home(scenario["landing"], tmp_path)
    process = _csp("build", "--home", str(home), "--la-code", LA, "--as-of", "2014-06-30")
    # Somewhere in the loads or the start of dbt.
    time.sleep(random.Random(99).uniform(2.0, 2.0 + scenario["seconds"]))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    _run("build", "--home", str(home), "--la-code", LA, "--as-of", "2014-06-30")
    assert _indicators(home) == built_baseline
    assert snapshot(home) == scenario["baseline"]


def test_two_builds_at_once_one_waits_and_both_succeed(
    scenario: dict, built_baseline: str, tmp_path: Path
) -> None:
    home = _fresh_home(scenario["landing"], tmp_path)
    args = ("build", "--home", str(home), "--la-code", LA, "--as-of", "2014-06-30")
    first = _csp(*args)
    time.sleep(1.0)
    second = _csp(*args)
    out_first, _ = first.communicate(timeout=600)
    out_second, _ = second.communicate(timeout=600)
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "waiting" in out_second
    assert _indicators(home) == built_baseline
    assert snapshot(home) == scenario["baseline"]
