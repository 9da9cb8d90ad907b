"""The benchmark itself: it runs end to end and ends with the five lines BENCHMARKS.md quotes.

Slow (about a minute at the tiny size): `make test-slow`. The generator's files are also
checked against the contract here, quickly, in the default run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bench.generate import SCALES, Scale, generate
from bench.run import baseline_counts, floor_counts
from ingest.contracts import contract_for
from ingest.readers import read_delivery
from tests.conftest import REPO, test_pseudonymiser


def test_generated_extracts_follow_the_contract(tmp_path: Path) -> None:
    files = generate(tmp_path, Scale(forces=2, months=3, rows_per_force_month=400),
                     date(2014, 4, 1))
    contract = contract_for("police_crime")
    assert len(files) == 6
    for path in files:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        period = contract.period_from_file_name(path.name)
        result = read_delivery(path, contract, period, test_pseudonymiser(),
                               la_code="E08000031",
                               partner=contract.partner_from_file_name(path.name))
        assert result.row_count > 200
    again = generate(tmp_path / "again", Scale(forces=2, months=3, rows_per_force_month=400),
                     date(2014, 4, 1))
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in files]


def test_floor_and_pandas_baseline_agree(tmp_path: Path) -> None:
    files = generate(tmp_path, Scale(forces=2, months=4, rows_per_force_month=600),
                     date(2014, 1, 1))
    lookup = tmp_path / "reference" / "lsoa_la_lookup.csv"
    floor = floor_counts(files, lookup)
    assert len({row[0] for row in floor}) == 12  # 7 West Midlands authorities + 5 others
    assert sorted(floor) == sorted(baseline_counts(files, lookup))


@pytest.mark.slow
def test_benchmark_runs_and_prints_the_five_lines(tmp_path: Path) -> None:
    assert "tiny" in SCALES
    command = [sys.executable, "-m", "bench.run", "--scale", "tiny", "--work", str(tmp_path),
               "--results", str(tmp_path / "results")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-5:]
    patterns = [r"rows: \d+", r"ratio full/floor: \d+\.\d+", r"ratio baseline/full: \d+\.\d+",
                r"ratio incremental/full: \d+\.\d+", r"peak_rss_mib: \d+"]
    assert all(re.fullmatch(p, line) for p, line in zip(patterns, last, strict=True)), last
