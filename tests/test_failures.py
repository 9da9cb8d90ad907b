"""Failures that explain themselves (issue 22): each on a copy of one built home, with real
files and real processes. A damaged or held warehouse, a missing landing folder, a home held
by another command, an unexpected error, leftover partial files, and the same bad bytes under
two names counted as two rejections."""

from __future__ import annotations

import csv
import hashlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.contracts import all_contracts
from exports.publish import last_build_path, published_path
from orchestration.cli import main
from tests.conftest import TEST_KEYS, drop, example

LA = "E08000031"
AS_OF = "2014-12-04"
EXAMPLES = (
    "police_crime_2014-07.csv",
    "rny_treatment_2014-07.csv",
    "moj_reoffending_2013-12.csv",
    "idva_caseload_2014-15_Q2.xlsx",
)
FEED_OF = {
    "police_crime_2014-07.csv": "police_crime",
    "rny_treatment_2014-07.csv": "rny_treatment",
    "moj_reoffending_2013-12.csv": "moj_reoffending",
    "idva_caseload_2014-15_Q2.xlsx": "idva_caseload",
}
CSP = str(Path(sys.executable).with_name("csp"))
HOLD_WAREHOUSE = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, as the duckdb command line opens it
    print("held", flush=True)
    time.sleep(600)
""")
HOLD_HOME = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from orchestration.pipeline import home_lock
    with home_lock(Path(sys.argv[1]), command="csp build"):
        print("held", flush=True)
        time.sleep(600)
""")


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home built from the four example deliveries; every test works on a copy of it."""
    os.environ.update(TEST_KEYS)
    for variable in ("CSP_HOME", "CSP_AS_OF", "CSP_LA_CODE", "CSP_LA_NAME"):
        os.environ.pop(variable, None)
    home = tmp_path_factory.mktemp("built") / "home"
    for name in EXAMPLES:
        drop(home, FEED_OF[name], example(name))
    (home / "csp.toml").write_text(f'[partnership]\nla_code = "{LA}"\n')
    assert main(["build", "--home", str(home), "--as-of", AS_OF]) == 0
    assert published_path(home).is_file()
    return home


def copy_of(home: Path, tmp_path: Path) -> Path:
    """A private copy of the built home (modification times kept)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy, symlinks=True)
    return copy


def snapshot(home: Path) -> dict[str, tuple[str, int]]:
    """Every file of the home: its bytes' SHA-256 and modification time."""
    state = {}
    for path in sorted(home.rglob("*")):
        if path.is_file():
            stat = path.stat()
            # The home lock's file is rewritten by every command, and emptied again after.
            mtime = 0 if path.name == ".csp.lock" else stat.st_mtime_ns
            state[str(path.relative_to(home))] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                mtime,
            )
    return state


def csp(
    home: Path,
    command: str,
    *extra: str,
    level: str | None = None,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """``csp [--log-level LEVEL] COMMAND --home HOME --as-of AS_OF ...``, in-process."""
    argv = (["--log-level", level] if level else []) + [
        command,
        "--home",
        str(home),
        "--as-of",
        AS_OF,
        *extra,
    ]
    capsys.readouterr()
    code = main(argv)
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def paragraph(text: str) -> str:
    """The one paragraph a failure prints on stderr (and nothing else there)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def indicators(home: Path) -> list[dict[str, str]]:
    with (home / "exports" / "indicators.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_line(stream, timeout: float) -> str:
    """The next line of a child's pipe, or "" after ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    try:
        return stream.readline() if selector.select(timeout) else ""
    finally:
        selector.close()


def default_sigint() -> None:
    # A child inherits an ignored SIGINT (a background job's), and Python then never raises
    # KeyboardInterrupt: give it the default, as at a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- a damaged warehouse ----------------------------------------------------------------------


def damage(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(os.urandom(300_000))
    else:  # cut short, as by a full disk or an interrupted copy
        with path.open("r+b") as handle:
            handle.truncate(100_000)


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_warehouse_is_one_paragraph_and_changes_nothing(
    built_home: Path, tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    warehouse = home / "warehouse.duckdb"
    damage(warehouse, how)
    if how == "truncated":  # then the message cannot offer the last build's copy
        last_build_path(home).unlink()
    before = snapshot(home)
    for command in ("build", "ingest"):
        code, out, err = csp(home, command, "--strict", capsys=capsys)
        assert code == 1
        message = paragraph(err)
        assert "Traceback" not in out + err
        assert message.startswith(
            f"csp {command}: the warehouse {warehouse} cannot be opened: it looks damaged"
        )
        assert "Nothing was loaded or changed." in message
        assert f"mv {warehouse} {warehouse}.damaged" in message
        assert f"`csp {command} --home {home}` again" in message
        assert f"cannot rebuild from {home / 'archive'} alone" in message
        assert str(home / "exports" / "feed_deliveries.csv") in message
        assert snapshot(home) == before

    # What the message says to do works.
    figures = indicators(home)
    aside = Path(f"{warehouse}.damaged")
    if how == "garbage":
        assert f"cp {last_build_path(home)} {warehouse}" in message
        warehouse.rename(aside)
        shutil.copyfile(last_build_path(home), warehouse)
        code, out, err = csp(home, "build", "--strict", capsys=capsys)
        assert code == 0, err
        assert "4 file(s) in landing already loaded" in out  # nothing loaded twice
    else:
        assert "it starts a new warehouse from the files still in" in message
        warehouse.rename(aside)
        code, out, err = csp(home, "build", "--strict", capsys=capsys)
        assert code == 0, err
        assert "Deliveries: 4 loaded" in out
    assert indicators(home) == figures
    assert aside.read_bytes() != b""  # the damaged file is kept, for whoever asks what happened


# --- a warehouse held open by another program --------------------------------------------------


def test_a_warehouse_held_by_another_program_names_it_and_the_published_copy(
    built_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(home / "warehouse.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(holder.stdout, 60).strip() == "held"
        before = snapshot(home)
        for command in ("build", "ingest"):
            code, out, err = csp(home, command, capsys=capsys)
            assert code == 1
            message = paragraph(err)
            assert "Traceback" not in out + err
            assert message.startswith(
                f"csp {command}: the warehouse {home / 'warehouse.duckdb'}"
                " is open in another program"
            )
            assert f"process {holder.pid} (" in message
            assert f"analysts should open {published_path(home)} instead" in message
            assert f"run `csp {command} --home {home}` again" in message
        assert snapshot(home) == before
    finally:
        holder.kill()
        holder.wait()
    # Once it is closed, the same command goes through.
    code, out, err = csp(home, "ingest", capsys=capsys)
    assert code == 0, err


# --- a missing landing folder ------------------------------------------------------------------


def test_a_missing_landing_folder_warns_and_still_builds(
    built_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    shutil.rmtree(home / "landing")
    figures = indicators(home)
    feeds = list(all_contracts())
    for command, rest in (
        ("build", "the warehouse and exports are rebuilt from what is already loaded."),
        ("ingest", "the raw layer is as it was."),
    ):
        code, out, err = csp(home, command, "--strict", capsys=capsys)
        assert code == 0, err  # not a rejection, so not a failure even under --strict
        message = paragraph(err)
        assert "Traceback" not in out + err
        assert message.startswith(
            f"Warning: there is no landing folder at {home / 'landing'}, "
            f"so nothing was ingested; {rest}"
        )
        assert f"Partners' files go in {home / 'landing'}/<feed>/" in message
        assert ", ".join(feeds) in message and len(feeds) >= 4
        assert not (home / "landing").exists()  # a mistyped --home is not papered over
    assert indicators(home) == figures


# --- the home held by another command ----------------------------------------------------------


def test_a_home_held_by_another_command_says_who_and_can_be_given_up(
    built_home: Path, tmp_path: Path
) -> None:
    home = copy_of(built_home, tmp_path)
    env = {**os.environ, **TEST_KEYS}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_HOME, str(home)], stdout=subprocess.PIPE, text=True, env=env
    )
    waiting = None
    try:
        assert read_line(holder.stdout, 60).strip() == "held"
        waiting = subprocess.Popen(
            [CSP, "build", "--home", str(home), "--as-of", AS_OF],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=default_sigint,
        )
        message = read_line(waiting.stderr, 120).strip()
        assert message.startswith(
            f"Another csp command is already working on {home} "
            f"(csp build, process {holder.pid}, running since "
        )
        assert (
            "this csp build is waiting and will start by itself as soon as that one ends" in message
        )
        assert "press Ctrl-C to give up" in message
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 130
        assert "Traceback" not in out + err
        assert paragraph(err).startswith("csp build: stopped by Ctrl-C.")
    finally:
        for process in (holder, waiting):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


# --- an unexpected error -----------------------------------------------------------------------


def test_an_unexpected_error_is_one_paragraph_and_its_traceback_needs_debug(
    built_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    # Dagster's own run history damaged: nothing csp has a message for.
    (home / "dagster" / "history" / "runs.db").write_bytes(os.urandom(50_000))
    args = ["build", "--home", str(home), "--as-of", AS_OF]
    done = subprocess.run(
        [CSP, *args], capture_output=True, text=True, env={**os.environ, **TEST_KEYS}
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    message = paragraph(done.stderr)
    assert message.startswith(
        "csp build failed on an unexpected error: sqlalchemy.exc.DatabaseError: "
    )
    assert "file is not a database" in message
    assert "Run it again as `csp --log-level DEBUG build ...` to see the traceback." in message

    code, out, err = csp(home, "build", level="DEBUG", capsys=capsys)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("csp build failed on an unexpected error: ")
    assert "The traceback is above." in err


# --- leftover partial files --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ingest", "build"])
def test_leftover_partial_files_are_removed_but_never_in_landing(
    built_home: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    sha = hashlib.sha256(example("police_crime_2014-07.csv").read_bytes()).hexdigest()
    # Where a kill leaves them: ingest/archive_quarantine.py, exports/, LandedHashes
    # (ingest/arrivals.py).
    leftovers = [
        home / "archive" / "police_crime" / f"{sha}.csv.partial",
        home / "quarantine" / "rny_treatment" / "rny_treatment_2014-08.csv.partial",
        home / "exports" / ".indicators.csv.partial",
        home / "published" / ".warehouse.duckdb.4242.partial",
        home / "state" / "landed-hashes" / "police_crime.partial",
    ]
    upload = home / "landing" / "police_crime" / "police_crime_2014-08.csv.partial"
    an_hour_ago = time.time() - 3600
    for path in [*leftovers, upload]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
        os.utime(path, (an_hour_ago, an_hour_ago))
    # Written a moment ago: perhaps a run from the Dagster UI, which takes no home lock.
    in_progress = home / "published" / ".warehouse.duckdb.1.partial"  # pid 1 never builds
    in_progress.write_bytes(b"being written")
    upload_before = (upload.read_bytes(), upload.stat().st_mtime_ns)

    code, out, err = csp(home, command, "--strict", capsys=capsys)
    assert code == 0, out + err
    assert [p for p in leftovers if p.exists()] == []
    assert (upload.read_bytes(), upload.stat().st_mtime_ns) == upload_before
    assert in_progress.exists()


# --- every rejection counts --------------------------------------------------------------------


def test_the_same_bad_bytes_under_two_names_are_two_rejections(
    built_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = copy_of(built_home, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"not,a,police,extract\r\n1,2,3,4\r\n")
    for name in ("police_crime_2014-08.csv", "police_crime_2014-09.csv"):
        drop(home, "police_crime", bad, name)
    code, out, err = csp(home, "build", "--strict", capsys=capsys)
    assert code == 1, out + err
    assert "Deliveries: 2 rejected (4 file(s) in landing already loaded)" in out
    rejected = [line for line in out.splitlines() if line.startswith("  REJECTED ")]
    assert [line.split(":")[0] for line in rejected] == [
        "  REJECTED police_crime/police_crime_2014-08.csv",
        "  REJECTED police_crime/police_crime_2014-09.csv",
    ]
    assert "Traceback" not in out + err
