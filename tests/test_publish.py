"""Readers never block a build: they read a published copy that is swapped in atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from exports.publish import published_path
from orchestration.cli import main
from orchestration.demonstration import partner_return_figures, write_partner_returns
from tests.conftest import TEST_KEYS

LA = "E08000026"
READER = """
import os, sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
first = con.execute("select count(*) from fct_indicator_quarter").fetchall()[0][0]
print("open", flush=True)
deadline = time.monotonic() + 300
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.2)
# The build has swapped a new copy in: this connection still reads the one it opened.
again = con.execute("select count(*) from fct_indicator_quarter").fetchall()[0][0]
assert first == again
print("reader ok", first)
"""


def test_a_reader_holding_the_published_file_does_not_block_a_build(tmp_path: Path) -> None:
    os.environ.update(TEST_KEYS)
    quarters = ["2014/15 Q1", "2014/15 Q2"]
    figures = partner_return_figures(quarters, seed=4)
    write_partner_returns(tmp_path / "landing", figures, quarters[:1])
    args = ["build", "--home", str(tmp_path), "--la-code", LA, "--as-of", "2014-11-15"]
    assert main(args) == 0
    published = published_path(tmp_path)
    assert published.exists()
    done = tmp_path / "build-finished"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published), str(done)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline().strip() == "open"
    # A new quarter arrives and is built while the reader holds the published file open.
    write_partner_returns(tmp_path / "landing", figures, quarters[1:])
    assert main(args) == 0
    assert reader.poll() is None  # still holding the published file open
    done.touch()
    output, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0 and "reader ok" in output
    with duckdb.connect(str(published), read_only=True) as con:
        statuses = con.execute(
            "select data_status from fct_indicator_quarter "
            "where indicator_code = 'GY_YOUTH_FTE' and fiscal_quarter = '2014/15 Q2'"
        ).fetchall()
    assert statuses == [("ok",)]  # the new copy holds the new quarter


def test_status_reads_the_published_copy_while_a_build_holds_the_warehouse(tmp_path: Path) -> None:
    os.environ.update(TEST_KEYS)
    quarters = ["2014/15 Q1"]
    write_partner_returns(tmp_path / "landing", partner_return_figures(quarters, seed=4), quarters)
    assert main(["build", "--home", str(tmp_path), "--la-code", LA, "--as-of", "2014-11-15"]) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)",
            str(tmp_path / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "status",
                "--home",
                str(tmp_path),
                "--la-code",
                LA,
                "--as-of",
                "2014-11-15",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        # Read from the last build's copy: the 2014/15 Q2 returns, due 30 October, are late
        # (exit 1, as the status itself says).
        assert result.returncode == 1, result.stderr
        assert json.loads(result.stdout)["severity"] == 1
        assert '"partner_returns"' in result.stdout
    finally:
        holder.kill()
        holder.wait()
