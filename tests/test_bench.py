"""The benchmark itself: it runs end to end and ends with the five lines BENCHMARKS.md quotes.

Slow (a minute or two each at the tiny size): `make test-slow`. The generator's files are also
checked against the contract here, quickly, in the default run, and so is the lower bound
(``bench.lower_bound``), which takes a few seconds at the tiny size.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench import lower_bound
from bench.generate import SCALES, Scale, generate
from bench.run import (
    baseline_counts,
    floor_counts,
    last_month_split,
    run_measured,
    sql_list,
)
from core.contracts import contract_for
from ingest.readers import read_delivery
from tests.conftest import REPO, test_pseudonymiser


def test_generated_extracts_follow_the_contract(tmp_path: Path) -> None:
    files = generate(
        tmp_path, Scale(forces=2, months=3, rows_per_force_month=400), date(2014, 4, 1)
    )
    contract = contract_for("police_crime")
    assert len(files) == 6
    for path in files:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        period = contract.period_from_file_name(path.name)
        result = read_delivery(
            path,
            contract,
            period,
            test_pseudonymiser(),
            la_code="E08000031",
            partner=contract.partner_from_file_name(path.name),
        )
        assert result.row_count > 200
    again = generate(
        tmp_path / "again", Scale(forces=2, months=3, rows_per_force_month=400), date(2014, 4, 1)
    )
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in files]


def test_floor_and_pandas_baseline_agree(tmp_path: Path) -> None:
    files = generate(
        tmp_path, Scale(forces=2, months=4, rows_per_force_month=600), date(2014, 1, 1)
    )
    lookup = tmp_path / "reference" / "lsoa_la_lookup.csv"
    floor = floor_counts(files, lookup)
    assert len({row[0] for row in floor}) == 12  # 7 West Midlands authorities + 5 others
    assert sorted(floor) == sorted(baseline_counts(files, lookup))


def test_peak_memory_counts_every_process_of_the_build(tmp_path: Path) -> None:
    # The build's own process starts a child that holds 300 MiB: the peak must include it,
    # and say which process held it.
    child = (
        "import time; held = bytearray(300 * 2**20); "
        "held[::4096] = b'x' * len(held[::4096]); time.sleep(1.5)"
    )
    parent = (
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    )
    seconds, peak, make_up = run_measured([sys.executable, "-c", parent], {}, tmp_path / "log")
    assert seconds >= 1.5
    assert peak >= 300 * 2**20
    assert make_up["other"] >= 300 * 2**20 > make_up["csp build"]
    assert sum(make_up.values()) == peak


def test_lower_bound_brings_a_new_month_to_the_floors_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lower_bound.main(["--scale", "tiny", "--work", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "both give the floor's counts" in lines
    patterns = [
        r"ratio full/floor: \d+\.\d\d",
        r"ratio incremental/full: \d+\.\d{3}",
        r"new month allowed by both targets \(5% of 3x the floor\): \d+\.\d\d s",
    ]
    assert all(re.fullmatch(p, line) for p, line in zip(patterns, lines[-3:], strict=True))
    # The check means something only if the new month revises crimes already built.
    files = sorted((tmp_path / "tiny" / "data" / "landing" / "police_crime").glob("*.csv"))
    old, new = last_month_split(files, SCALES["tiny"])
    revised = duckdb.execute(
        f"select count(*) from read_csv({sql_list(new)}, all_varchar = true) "
        f'where "Crime Reference" in (select "Crime Reference" from '
        f"read_csv({sql_list(old)}, all_varchar = true))"
    ).fetchone()
    assert revised is not None and revised[0] > 0, "no crime of the new month was seen before"
    assert not list((tmp_path / "tiny").glob("lower-bound.duckdb*"))


@pytest.mark.slow
def test_benchmark_runs_and_prints_the_five_lines(tmp_path: Path) -> None:
    assert "tiny" in SCALES
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--scale",
        "tiny",
        "--work",
        str(tmp_path),
        "--results",
        str(tmp_path / "results"),
    ]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-5:]
    patterns = [
        r"rows: \d+",
        r"ratio full/floor: \d+\.\d+",
        r"ratio baseline/full: \d+\.\d+",
        r"ratio incremental/full: \d+\.\d+",
        r"peak_rss_mib: \d+",
    ]
    assert all(re.fullmatch(p, line) for p, line in zip(patterns, last, strict=True)), last
    result = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert set(result["peak_rss_mib_by_process"]) >= {"csp build", "dbt"}


@pytest.mark.slow
def test_sensor_benchmark_agrees_with_csp_build_and_prints_its_ratio(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.sensor", "--scale", "tiny", "--work", str(tmp_path)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert "the sensor's runs and csp build give the same police indicators" in lines
    patterns = [
        r"build: \d+\.\d\d s",
        r"sensor runs: \d+\.\d\d s",
        r"ratio sensor/build: \d+\.\d\d",
    ]
    assert all(re.fullmatch(p, line) for p, line in zip(patterns, lines[-3:], strict=True)), lines


def test_event_log_benchmark_prints_its_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.event_log import main

    main(["--events", "30", "--rounds", "1"])
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"ratio stock/ours: \d+\.\d\d", last), last
