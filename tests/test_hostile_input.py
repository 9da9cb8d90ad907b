"""Hostile and broken input, on a copy of the built demonstration home, through `csp build`.

Each case is a file (or a landing entry that is not a file) an attacker or a careless partner
could leave in landing. All of them go into one copy of the demonstration home, and one
`csp build` runs over them in its own process, as a deployment's would. Then:

* every case is refused or quarantined with its own named rule, and nothing of it is left in
  landing;
* the build exits 0 without a traceback, and its peak memory stays under 1.5 GiB, workbook
  bombs included;
* every indicator is exactly as it was: the hostile files changed no figure;
* no planted identifier and no secret a link pointed at is anywhere in the home, the console
  or the on-call alerts, except in the delivered bytes themselves (archive and quarantine);
* file names reach the console and the exports made harmless (no terminal escapes, no line
  breaks, no spreadsheet formula).

The build runs without root's power to read every file, so a file the pipeline's account
cannot read is unreadable here too, as it would be for a real service account.
"""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import openpyxl
import pytest

from tests.conftest import REPO, TEST_KEYS
from tests.receivers import http_receiver
from tests.test_workbook_limits import shared_strings_xml, sheet_xml, write_xlsx

AS_OF = "2014-12-04"
PEAK_MEMORY_BYTES = 1.5 * 2**30
PLANT = "ZQXPLANT" + secrets.token_hex(4).upper()
SECRET = "ZQXSECRET" + secrets.token_hex(4).upper()


@dataclass(frozen=True)
class Case:
    """One hostile landing entry and the rule that must refuse it."""

    feed: str
    name: str
    rule: str


def _without_root_file_access() -> None:
    """In the build's process: give up root's power to read any file (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH leave the bounding set, so the program run has neither)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@dataclass(frozen=True)
class Run:
    """A finished ``csp`` process."""

    returncode: int
    stdout: str
    stderr: str
    peak_bytes: int  # its largest resident memory


def csp(home: Path, *args: str, env: dict[str, str], scratch: Path) -> Run:
    """``csp`` in a process of its own, as a deployment runs it, with its peak memory."""
    out, err = scratch / "stdout.txt", scratch / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", *args, "--home", str(home)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_without_root_file_access if os.geteuid() == 0 else None,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        process.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        usage.ru_maxrss * 1024,
    )


# ---------------------------------------------------------------------------------------------
# The hostile files, each made from the home's own good deliveries
# ---------------------------------------------------------------------------------------------


def csv_rows(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def csv_bytes(rows: list[list[str]], encoding: str, prefix: bytes = b"") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return prefix + buffer.getvalue().encode(encoding)


def headerless_treatment(landing: Path) -> bytes:
    """A treatment extract sent without its header: its first record, a client's ID, date of
    birth, name and address, sits where the header should be."""
    rows = csv_rows(landing / "rny_treatment" / "rny_treatment_2014-10.csv", "cp1252")
    first = rows[1]
    first[0] = f"{PLANT}-CLIENT"
    first[1] = "29/02/1904"
    first[-1] = f"{PLANT}-NAME Zebedee Quatermass, 7 {PLANT}-ADDRESS Road"
    return csv_bytes(rows[1:], "cp1252")


def police(landing: Path) -> list[list[str]]:
    return csv_rows(landing / "police_crime" / "police_crime_2014-10.csv", "utf-8-sig")


def headerless_police(landing: Path) -> bytes:
    rows = police(landing)
    rows[1][0] = f"{PLANT}-CRIME"
    return csv_bytes(rows[1:], "utf-8", b"\xef\xbb\xbf")


def headerless_moj(landing: Path) -> bytes:
    lines = (
        (landing / "moj_reoffending" / "moj_reoffending_2013-12.csv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("LA Code"))
    first = lines[header + 1].split(",")
    first[1] = f"{PLANT}-AREA"
    lines[header : header + 2] = [",".join(first)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def idva_book(landing: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(landing / "idva_caseload" / "idva_caseload_2014-15_Q2.xlsx")


def headerless_idva(landing: Path, out: Path) -> bytes:
    """The case sheet with its title and header rows gone: a case is the first row."""
    book = idva_book(landing)
    sheet = book["Cases"]
    sheet.delete_rows(1, 3)
    sheet.cell(1, 1).value = f"{PLANT}-CASE"
    sheet.cell(2, 1).value = f"{PLANT}-CASE2"
    return saved(book, out)


def idva_case_as_title(landing: Path, out: Path) -> bytes:
    """A case written over the title row, which the period check reads."""
    book = idva_book(landing)
    sheet = book["Cases"]
    sheet.cell(1, 1).value = f"{PLANT}-TITLE Zebedee Quatermass"
    return saved(book, out)


def saved(book: openpyxl.Workbook, out: Path) -> bytes:
    path = out / f"book-{secrets.token_hex(4)}.xlsx"
    book.save(path)
    return path.read_bytes()


def probation_return(landing: Path, change: dict[str, dict[str, object]], out: Path) -> bytes:
    """The probation return for 2014/15 Q2 with some of its cells changed, by indicator code
    and column name (the partner resending a 'corrected' return)."""
    book = openpyxl.load_workbook(
        landing / "partner_returns" / "partner_return_probation_2014-15_Q2.xlsx"
    )
    sheet = book["Return"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        code = row[0].value
        for column, value in change.get(code, {}).items():
            row[header.index(column)].value = value
    return saved(book, out)


def iom_return(landing: Path, value: object, out: Path, quarter: str = "2014-15_Q2") -> bytes:
    book = openpyxl.load_workbook(
        landing / "partner_returns" / f"partner_return_iom_{quarter}.xlsx"
    )
    sheet = book["Return"]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("Value") + 1).value = value
    return saved(book, out)


def dimension_bomb(out: Path) -> bytes:
    """A few kilobytes declaring a sheet of 1,048,576 rows by 16,384 columns."""
    path = out / "dimension-bomb.xlsx"
    write_xlsx(path, {"Return": sheet_xml("", dimension="A1:XFD1048576")})
    return path.read_bytes()


def shared_strings_bomb(out: Path) -> bytes:
    """About a megabyte unpacking to 26 million shared strings."""
    path = out / "strings-bomb.xlsx"
    write_xlsx(path, {"Return": sheet_xml("")}, shared_strings=shared_strings_xml(26_000_000))
    return path.read_bytes()


def lay_hostile_landing(home: Path, out: Path, secret_file: Path) -> list[Case]:
    """Put every hostile entry in the home's landing; the cases, with the rule each breaks."""
    landing = home / "landing"
    cases: list[Case] = []

    def put(feed: str, name: str, data: bytes, rule: str) -> Path:
        path = landing / feed / name
        path.write_bytes(data)
        cases.append(Case(feed, name, rule))
        return path

    moj_headerless = headerless_moj(landing)  # before its source is replaced below
    # Personal data where the header should be, in every feed.
    put("rny_treatment", "rny_treatment_2011-01.csv", headerless_treatment(landing), "header")
    put("police_crime", "police_crime_2011-01.csv", headerless_police(landing), "header")
    put("moj_reoffending", "moj_reoffending_2013-12.csv", moj_headerless, "header")
    put(
        "idva_caseload",
        "idva_caseload_2011-12_Q1.xlsx",
        headerless_idva(landing, out),
        "period_mismatch",
    )
    put(
        "idva_caseload",
        "idva_caseload_2014-15_Q1.xlsx",
        idva_case_as_title(landing, out),
        "period_mismatch",
    )
    # The same bad bytes under two names: two rejections.
    put(
        "police_crime",
        "police_crime_west-midlands_2011-01.csv",
        headerless_police(landing),
        "duplicate_rejected",
    )

    # Landing entries that are not files, and a file the pipeline cannot read.
    folder = landing / "rny_treatment"
    (folder / "rny_treatment_2011-02.csv").symlink_to(secret_file)
    cases.append(Case("rny_treatment", "rny_treatment_2011-02.csv", "not_a_regular_file"))
    (landing / "police_crime" / "police_crime_2011-02.csv").symlink_to("/proc/self/environ")
    cases.append(Case("police_crime", "police_crime_2011-02.csv", "not_a_regular_file"))
    os.mkfifo(landing / "police_crime" / "police_crime_2011-03.csv")
    cases.append(Case("police_crime", "police_crime_2011-03.csv", "not_a_regular_file"))
    (landing / "idva_caseload" / "idva_caseload_2011-12_Q2.xlsx").mkdir()
    cases.append(Case("idva_caseload", "idva_caseload_2011-12_Q2.xlsx", "not_a_regular_file"))
    unreadable = put(
        "moj_reoffending", "moj_reoffending_2011-06.csv", moj_headerless + b"\n", "unreadable_file"
    )
    unreadable.chmod(0)

    # Files that crashed the build, and a number no warehouse type holds.
    good = (landing / "police_crime" / "police_crime_2014-10.csv").read_bytes()
    put(
        "police_crime", "police_crime_2011-04" + "x" * 226 + ".csv", good + b"\r\n" * 4, "file_name"
    )
    rows = police(landing)
    rows[0][0] = "A" * 140_000
    put(
        "police_crime",
        "police_crime_2011-05.csv",
        csv_bytes(rows, "utf-8", b"\xef\xbb\xbf"),
        "header",
    )
    rows = police(landing)
    rows[0] = rows[0] + [f"Extra {n}" for n in range(10_000)]
    put(
        "police_crime",
        "police_crime_2011-06.csv",
        csv_bytes(rows, "utf-8", b"\xef\xbb\xbf"),
        "too_many_columns",
    )
    put(
        "partner_returns",
        "partner_return_iom_2014-15_Q2.xlsx",
        iom_return(landing, 1e300, out),
        "number_too_large",
    )

    # Silent wrong figures: a negative count, a percentage over 100.
    put(
        "partner_returns",
        "partner_return_iom_2014-15_Q1.xlsx",
        iom_return(landing, -68, out, "2014-15_Q1"),
        "negative_count",
    )
    put(
        "partner_returns",
        "partner_return_probation_2014-15_Q2.xlsx",
        probation_return(
            landing, {"RR_EMPLOYMENT": {"Numerator": 50, "Denominator": 41, "Value": 122.0}}, out
        ),
        "numerator_above_denominator",
    )

    # Workbook bombs.
    put(
        "partner_returns",
        "partner_return_courts_2011-12_Q1.xlsx",
        dimension_bomb(out),
        "workbook_dimension",
    )
    put(
        "partner_returns",
        "partner_return_courts_2011-12_Q2.xlsx",
        shared_strings_bomb(out),
        "workbook_too_large",
    )

    # Names: a formula, a terminal escape and a line break, full-width digits, reason.json.
    put("police_crime", '=HYPERLINK("evil.example.org","x").csv', good + b"\r\n", "file_name")
    put(
        "police_crime",
        "police_crime_\x1b[2J\x1b[31mFORGED\nok 2011-07.csv",
        good + b"\r\n\r\n",
        "file_name",
    )
    put("police_crime", "police_crime_２０１１-０８.csv", good + b"\r\n" * 3, "file_name")
    put("police_crime", "reason.json", b'{"rule": "forged"}\n', "file_name")
    # Line endings that used to get misleading reasons.
    put("police_crime", "police_crime_2011-09.csv", good.replace(b"\r\n", b"\r"), "line_endings")
    lines = good.split(b"\r\n")
    mixed = b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(lines[:-1]))
    put("police_crime", "police_crime_2011-10.csv", mixed, "line_endings")
    return cases


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------


def texts_outside_deliveries(home: Path, quarantined: set[Path]) -> dict[Path, bytes]:
    """Every file of the home, except the delivered bytes (archive and quarantined files)."""
    found = {}
    for path in home.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.is_relative_to(home / "archive") or path in quarantined:
            continue
        if path.is_relative_to(home / "landing"):
            continue  # partners' own files, as sent
        found[path] = path.read_bytes()
    return found


def warehouse_texts(warehouse: Path) -> str:
    """Every value of every table of a DuckDB file, as text (its pages may be compressed)."""
    parts = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            parts.append(str(con.execute(f'select * from "{schema}"."{table}"').fetchall()))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def hostile_build(built_demo_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demonstration home, every hostile entry in its landing, built once."""
    home = tmp_path_factory.mktemp("hostile") / "home"
    shutil.copytree(built_demo_home, home, symlinks=True)
    before = (home / "exports" / "indicators.csv").read_bytes()
    out = tmp_path_factory.mktemp("made")
    secret_file = tmp_path_factory.mktemp("outside") / "service.key"
    secret_file.write_text(SECRET + "\n")
    cases = lay_hostile_landing(home, out, secret_file)
    env = {k: v for k, v in os.environ.items() if k not in TEST_KEYS}
    env["CSP_SECRET_FOR_TEST"] = SECRET  # what a link to /proc/self/environ would show
    with http_receiver() as (url, inbox):
        env["CSP_ALERT_URLS"] = url
        result = csp(home, "build", "--as-of", AS_OF, env=env, scratch=out)
    return home, cases, before, result, inbox, result.peak_bytes, secret_file


def quarantine_rules(home: Path) -> dict[tuple[str, str], str]:
    """(feed, file as recorded) -> rule, from every reason file of the quarantine."""
    rules = {}
    for path in (home / "quarantine").glob("*/*.reason.json"):
        reason = json.loads(path.read_text(encoding="utf-8"))
        rules[(reason["feed"], reason["file"])] = reason["rule"]
    return rules


def test_build_exits_cleanly_within_memory(hostile_build) -> None:
    home, _, _, result, _, peak, _ = hostile_build
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert peak < PEAK_MEMORY_BYTES, f"peak memory {peak / 2**30:.2f} GiB"


def test_every_case_is_refused_for_its_own_rule(hostile_build) -> None:
    from ingest.redaction import safe_file_name

    home, cases, _, _, _, _, _ = hostile_build
    rules = quarantine_rules(home)
    wrong = {
        (c.feed, c.name): rules.get((c.feed, safe_file_name(c.name)))
        for c in cases
        if rules.get((c.feed, safe_file_name(c.name))) != c.rule
    }
    assert not wrong, f"refused for another rule, or not at all: {wrong}"
    for case in cases:
        assert not os.path.lexists(home / "landing" / case.feed / case.name), case


def test_figures_are_unchanged(hostile_build) -> None:
    home, _, before, _, _, _, _ = hostile_build
    assert (home / "exports" / "indicators.csv").read_bytes() == before


def test_no_planted_identifier_or_secret_leaves_the_delivered_bytes(hostile_build) -> None:
    home, _, _, result, inbox, _, secret_file = hostile_build
    quarantined = {
        p for p in (home / "quarantine").glob("*/*") if not p.name.endswith("reason.json")
    }
    for path, data in texts_outside_deliveries(home, quarantined).items():
        for marker in (PLANT, SECRET):
            assert marker.encode() not in data, f"{marker} in {path}"
    for warehouse in (home / "warehouse.duckdb", home / "published" / "warehouse.duckdb"):
        text = warehouse_texts(warehouse)
        assert PLANT not in text and SECRET not in text, warehouse
    console = result.stdout + result.stderr
    alerts = " ".join(t + " " + b for t, b in inbox.messages)
    assert alerts, "no alert arrived: the receiver would see nothing either way"
    for marker in (PLANT, SECRET):
        assert marker not in console and marker not in alerts
    # The link's target was neither moved nor copied.
    assert secret_file.read_text().strip() == SECRET
    assert not any(SECRET.encode() in p.read_bytes() for p in quarantined if p.is_file())


def test_personal_files_are_owner_only(hostile_build) -> None:
    home = hostile_build[0]
    for top in ("archive", "quarantine", "keys"):
        for path in [home / top, *(home / top).rglob("*")]:
            mode = path.lstat().st_mode & 0o777
            assert mode & 0o077 == 0, f"{path} is {mode:o}"
    assert (home / "warehouse.duckdb").stat().st_mode & 0o077 == 0


def test_names_are_harmless_on_the_console_and_in_exports(hostile_build) -> None:
    home, _, _, result, inbox, _, _ = hostile_build
    console = result.stdout + result.stderr
    assert "\x1b" not in console
    assert not any(line.startswith("ok 2011-07") for line in console.splitlines())
    assert all("\x1b" not in t + b for t, b in inbox.messages)
    with (home / "exports" / "feed_deliveries.csv").open(encoding="utf-8", newline="") as f:
        names = [row["file_name"] for row in csv.DictReader(f)]
    assert '\'=HYPERLINK("evil.example.org","x").csv' in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)


def test_strict_counts_every_rejection_whatever_its_name(hostile_build, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(hostile_build[0], home, symlinks=True)
    landing = home / "landing" / "police_crime"
    bad = headerless_police(home / "landing")
    (landing / "police_crime_2011-11.csv").write_bytes(bad)
    (landing / "police_crime_west-midlands_2011-11.csv").write_bytes(bad)
    env = {k: v for k, v in os.environ.items() if k not in TEST_KEYS}
    result = csp(home, "ingest", "--strict", env=env, scratch=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 rejected" in result.stdout, result.stdout
    for name in ("police_crime_2011-11.csv", "police_crime_west-midlands_2011-11.csv"):
        assert f"REJECTED police_crime/{name}" in result.stdout
