"""The command line as on-call, analysts and engineers use it (issue 26, items 1 to 3 and 6).

Each test runs the real ``csp`` on a copy of the built demonstration home, or on a home that
is wrong in the way a user gets it wrong; alerts go to a real HTTP receiver on loopback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.cli import COMMANDS
from tests.receivers import http_receiver

CSP = [sys.executable, "-m", "orchestration.cli"]
DEMO_AS_OF = "2014-12-04"


def csp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``csp ARGS`` in a process of its own."""
    return subprocess.run(
        [*CSP, *args], capture_output=True, text=True, check=False, env=env or dict(os.environ)
    )


@pytest.fixture(scope="module")
def home(built_demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the built demonstration home."""
    copy = tmp_path_factory.mktemp("cli") / "home"
    shutil.copytree(built_demo_home, copy, symlinks=True)
    return copy


# --- exit codes and output on-call can use -------------------------------------------------


@pytest.mark.parametrize(
    "as_of, code",
    [
        (DEMO_AS_OF, 0),  # every feed on time (MoJ suspended, police.uk not started)
        ("2014-12-16", 1),  # police_crime 2014-11, due 15 December, is late
        ("2015-03-01", 2),  # police_crime and treatment have stopped
    ],
)
def test_status_exits_as_a_monitoring_plugin(home: Path, as_of: str, code: int) -> None:
    run = csp("status", "--home", str(home), "--as-of", as_of)
    assert run.returncode == code, run.stdout + run.stderr
    monitor = csp("monitor", "--home", str(home), "--as-of", as_of, "--json")
    assert monitor.returncode == code
    report = json.loads(monitor.stdout)
    assert report["severity"] == code
    stopped = [f"{f['feed']} ({f['partner']})" for f in report["feeds"] if f["severity"] == 2]
    if code == 2:
        assert "police_crime (West Midlands Police)" in stopped
    else:
        assert not stopped


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, "2026-12-05"])
def test_the_status_table_fits_100_columns(home: Path, as_of: str) -> None:
    for extra in ([], ["--verbose"]):
        run = csp("status", "--home", str(home), "--as-of", as_of, *extra)
        lines = run.stdout.splitlines()
        assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    if as_of != DEMO_AS_OF:
        # Twelve years without files: the table says how many, --verbose lists them all.
        table = csp("status", "--home", str(home), "--as-of", as_of).stdout
        assert "48 from 2014/15 Q3" in table
        verbose = csp("status", "--home", str(home), "--as-of", as_of, "--verbose").stdout
        assert "2026/27 Q2 (due 2026-10-30)" in " ".join(verbose.split())


def test_monitor_names_the_partner_and_only_its_indicators(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy, symlinks=True, ignore=shutil.ignore_patterns("monitor"))
    with http_receiver() as (url, inbox):
        env = {**os.environ, "CSP_ALERT_URLS": url}
        run = csp("monitor", "--home", str(copy), "--as-of", "2015-02-15", env=env)
    assert run.returncode == 2, run.stderr  # the monthly feeds have stopped by then
    # Every line about a feed, judged or sent, names who sends it.
    printed = [
        line.removeprefix("sent: [Wolverhampton] ")
        for line in run.stdout.splitlines()
        if "overdue" in line
    ]
    assert printed and all(re.match(r"^\w+ \([^)]+\)[: ]", line) for line in printed), printed
    partners = ["probation", "iom", "gangs", "courts", "yot"]
    for partner in partners:
        assert f"partner_returns ({partner}): late, overdue 2014/15 Q3" in run.stdout
    # One alert per partner, each titled with the partner and listing what it owns.
    returns = {
        title: body for title, body in inbox.messages if title.startswith("[Wolverhampton] partner")
    }
    assert len(returns) == len(partners)
    probation = returns["[Wolverhampton] partner_returns (probation) is late: 2014/15 Q3 overdue"]
    assert "RR_EMPLOYMENT, RR_ACCOMMODATION for" in probation
    assert "RR_IOM" not in probation and "GY_" not in probation and "VA_" not in probation


def test_piping_into_head_is_quiet(home: Path) -> None:
    run = subprocess.run(
        f"{sys.executable} -m orchestration.cli status --home {home} --json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout == "{\n"
    assert run.stderr == ""


def test_no_date_after_the_as_of_date(home: Path) -> None:
    # The demonstration's files were received today, long after 4 December 2014.
    run = csp("status", "--home", str(home), "--as-of", DEMO_AS_OF, "--json")
    feeds = json.loads(run.stdout)["feeds"]
    assert all(f["last_received"] is None for f in feeds)
    verbose = csp("status", "--home", str(home), "--as-of", DEMO_AS_OF, "--verbose").stdout
    for found in re.findall(r"\d{4}-\d{2}-\d{2}", verbose):
        # Due dates lie ahead; nothing received, judged or printed lies after the as-of date
        # but the next due dates.
        assert found <= DEMO_AS_OF or found in {"2014-12-15", "2014-12-20", "2015-01-30"}


# --- inputs checked before anything is written ---------------------------------------------


def test_a_missing_home_is_an_error_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent-home"
    for command in ("status", "monitor", "report", "ingest", "doctor", "docs"):
        run = csp(command, "--home", str(missing), "--partnership", "E08000031")
        assert run.returncode != 0, command
        assert str(missing) in run.stderr + run.stdout, command
        assert not missing.exists(), command


def test_a_folder_that_is_no_home_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a home")
    run = csp("status", "--home", str(tmp_path), "--partnership", "E08000031")
    assert run.returncode == 2
    assert "holds none of a home's files" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_unknown_partnership_code_is_an_error_naming_where_codes_come_from(
    home: Path,
) -> None:
    run = csp("status", "--home", str(home), "--la-code", "XYZ")
    assert run.returncode == 2
    assert "'XYZ' is not a partnership code" in run.stderr
    assert "ONS" in run.stderr and "E22" in run.stderr


# --- a CLI in the ecosystem's style --------------------------------------------------------


def test_version() -> None:
    run = csp("--version")
    assert run.returncode == 0
    assert re.match(r"csp-warehouse \d+\.\d+\.\d+ \(dagster \d", run.stdout)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_description_and_an_example(command: str) -> None:
    run = csp(command, "--help")
    assert run.returncode == 0
    description = COMMANDS[command][1]
    assert " ".join(description.split()[:6]) in " ".join(run.stdout.split())
    assert "examples:\n  csp " + command in run.stdout


def test_global_options_go_before_or_after_the_command(home: Path) -> None:
    before = csp("--log-level", "INFO", "status", "--home", str(home), "--as-of", DEMO_AS_OF)
    after = csp("status", "--home", str(home), "--as-of", DEMO_AS_OF, "--log-level", "INFO")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout


def test_report_defaults_to_the_latest_quarter_with_data(home: Path) -> None:
    run = csp("report", "--home", str(home), "--as-of", DEMO_AS_OF)
    assert run.returncode == 0, run.stderr
    # 4 December 2014: Q3 has not ended, so Q2 (July to September) is the latest finished.
    assert "Report for 2014/15 Q2" in run.stdout
    assert (home / "exports" / "report-2014-15-Q2.html").is_file()


def test_rekey_of_an_unknown_key_names_the_three(home: Path) -> None:
    run = csp("rekey", "nothing", "--home", str(home), "--no-build")
    assert run.returncode != 0
    assert "domestic_abuse, offenders, treatment" in run.stderr, run.stderr


# --- csp doctor and csp docs ---------------------------------------------------------------


def test_doctor_passes_the_demonstration_home(home: Path) -> None:
    run = csp("doctor", "--home", str(home))
    assert run.returncode == 0, run.stdout
    for check in ("home", "configuration", "keys", "landing", "warehouse", "lock"):
        assert re.search(rf"^\[ok\] +{check} ", run.stdout, re.M), check
    assert max(len(line) for line in run.stdout.splitlines()) <= 100


def test_doctor_says_what_to_fix(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy, symlinks=True)
    shutil.rmtree(copy / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSP_PSEUDO_KEY")}
    run = csp("doctor", "--home", str(copy), env=env)
    assert run.returncode == 1
    assert re.search(r"^\[FIX\] +keys +no pseudonymisation key for ", run.stdout, re.M)
    assert "thing(s) to fix" in run.stdout
    # Reading only: no key file was made.
    assert not (copy / "keys").exists()


def test_docs_are_served_over_http(home: Path) -> None:
    server = subprocess.Popen(
        [*CSP, "docs", "--home", str(home), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = None
        deadline = time.monotonic() + 180
        while address is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line or server.poll() is None, server.stderr.read()
            found = re.search(r"http://[\d.]+:\d+/", line)
            address = found[0] if found else None
        assert address, "no address announced"
        with urllib.request.urlopen(address, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with urllib.request.urlopen(address + "manifest.json", timeout=10) as manifest:
            assert "nodes" in json.loads(manifest.read())
    finally:
        server.terminate()
        server.wait(timeout=10)
