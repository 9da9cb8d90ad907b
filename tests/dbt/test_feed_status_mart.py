"""fct_feed_status against the Python reference, orchestration.feed_status.feed_status.

Every column of the mart must equal what feed_status returns for the same raw rows (read back
from raw.deliveries and raw.feed_calendar of the built warehouse) on the build's as-of date.
Two sets of builds: the shared scenario of dbt_scenario.py (the conftest builds, on the police
due date and the day after), and a small feed-status scenario built here for a few more as-of
dates, with `dbt build` limited to the models the mart needs (the builds run in parallel).
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from dbt_raw_tables import create_raw_tables, insert_rows
from dbt_scenario import LA

from core.dbt_project import dbt_environment
from core.feed_calendar import CalendarEntry
from orchestration.feed_status import Delivered, feed_status

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / ".venv" / "bin" / "dbt"
D = dt.date.fromisoformat
T = dt.datetime.fromisoformat

MART_COLUMNS = [
    "la_code", "feed_key", "feed", "partner", "cadence", "as_of_date", "state", "last_period",
    "last_received_at", "next_period", "next_due_date", "overdue_count", "overdue_periods",
    "first_overdue_due_date", "suspended_since", "suspension_reason", "last_quarantined_file",
    "is_due_soon",
]

# --- a small scenario for the feed status --------------------------------------------------------

STATUS_CALENDAR = [
    # feed, partner, cadence, due_days, calendar_start, suspended_since, suspension_reason
    ("police_crime", "Police", "monthly", 15, None, None, None),
    # Configured mid-month, before the first delivery (2014-10): 2014-09 is expected too.
    ("rny_treatment", "Treatment provider", "monthly", 20, D("2014-09-15"), None, None),
    ("idva_caseload", "IDVA service", "quarterly", 30, None, None, None),
    # Suspended on a quarter end: 2014/15 Q1 (ending that day) is still expected.
    ("moj_reoffending", "Ministry of Justice", "quarterly", 150, None, D("2014-06-30"),
     "MoJ publication paused"),
    # partner_returns configured per partner: probation delivers, iom never has (but has a
    # configured start), courts never has and is suspended.
    ("partner_returns", "probation", "quarterly", 30, None, None, None),
    ("partner_returns", "iom", "quarterly", 30, D("2014-04-01"), None, None),
    ("partner_returns", "courts", "quarterly", 30, None, D("2014-09-30"), "Courts return withdrawn"),
]

STATUS_DELIVERIES = [
    # feed, partner, period_label, period_start, period_end, received_at, status
    ("police_crime", "Police", "2014-09", "2014-09-01", "2014-09-30", "2014-10-10 09:00", "loaded"),
    ("police_crime", "Police", "2014-10", "2014-10-01", "2014-10-31", "2014-11-12 09:00", "superseded"),
    ("police_crime", "Police", "2014-10", "2014-10-01", "2014-10-31", "2014-11-14 09:00", "loaded"),
    ("police_crime", "Police", "2014-11", "2014-11-01", "2014-11-30", "2014-12-10 09:00", "loaded"),
    # The current month, delivered early: the next period is 2015-01, after the quarter.
    ("police_crime", "Police", "2014-12", "2014-12-01", "2014-12-31", "2014-12-19 09:00", "loaded"),
    ("police_crime", "Police", "2014-12", "2014-12-01", "2014-12-31", "2014-12-19 10:00", "rejected"),
    ("rny_treatment", "Treatment provider", "2014-10", "2014-10-01", "2014-10-31", "2014-11-18 09:00", "loaded"),
    ("idva_caseload", "IDVA service", "2014/15 Q1", "2014-04-01", "2014-06-30", "2014-07-20 09:00", "loaded"),
    ("idva_caseload", "IDVA service", "2014/15 Q2", "2014-07-01", "2014-09-30", "2014-10-25 09:00", "loaded"),
    # Two rejected files for Q3: the second in arrival order (delivery_id 11) carries the
    # earlier received_at, so the latest rejection by received_at is delivery 10.
    ("idva_caseload", "IDVA service", "2014/15 Q3", "2014-10-01", "2014-12-31", "2015-01-20 09:00", "rejected"),
    ("idva_caseload", "IDVA service", "2014/15 Q3", "2014-10-01", "2014-12-31", "2015-01-10 09:00", "rejected"),
    ("moj_reoffending", "Ministry of Justice", "2013/14 Q1", "2013-04-01", "2013-06-30", "2013-11-01 09:00", "loaded"),
    ("moj_reoffending", "Ministry of Justice", "2013/14 Q2", "2013-07-01", "2013-09-30", "2014-02-01 09:00", "loaded"),
    ("partner_returns", "Probation", "2014/15 Q1", "2014-04-01", "2014-06-30", "2014-07-25 09:00", "loaded"),
    ("partner_returns", "Probation", "2014/15 Q2", "2014-07-01", "2014-09-30", "2014-10-28 09:00", "loaded"),
]

# As-of dates for the status scenario:
#   2014-06-01  before moj's suspension (moj late, its calendar cut at 2014/15 Q1)
#   2014-12-20  rny_treatment's 2014-11 due date (one month missing: late, due soon)
#   2014-12-21  the day after (two months missing: stopped); police's December already in
STATUS_AS_OF = ["2014-06-01", "2014-12-20", "2014-12-21"]


def load_status_scenario(con) -> None:
    create_raw_tables(con)
    insert_rows(con, "partnership", [(LA, "Wolverhampton")])
    insert_rows(con, "feed_calendar", STATUS_CALENDAR)
    insert_rows(con, "deliveries", [
        (delivery_id, feed, partner, f"{feed}_{label}_{delivery_id}", f"sha{delivery_id}", label,
         D(start), D(end), 0, T(received), status, "bad header" if status == "rejected" else None, LA)
        for delivery_id, (feed, partner, label, start, end, received, status)
        in enumerate(STATUS_DELIVERIES, 1)
    ])


def _start_build(tmp: Path, as_of: str) -> tuple[Path, subprocess.Popen]:
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load_status_scenario(con)
    env = {**os.environ, **dbt_environment(warehouse, tmp / "logs")}
    process = subprocess.Popen(
        [str(DBT), "build", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project",
         "--target-path", str(tmp / "target"),
         # The mart and what it needs; dim_area and dim_feed for its relationship tests.
         "--select", "+fct_feed_status", "+dim_area", "+dim_feed",
         "--indirect-selection", "cautious",
         "--vars", f"{{as_of: '{as_of}', la_code: '{LA}'}}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return warehouse, process


@pytest.fixture(scope="module")
def status_warehouses(tmp_path_factory) -> dict[str, Path]:
    """The status scenario built once per as-of date of STATUS_AS_OF, builds in parallel."""
    started = {as_of: _start_build(tmp_path_factory.mktemp(f"feed_status_{as_of}"), as_of)
               for as_of in STATUS_AS_OF}
    built = {}
    for as_of, (warehouse, process) in started.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-6000:]
        built[as_of] = warehouse
    return built


# --- the Python reference on the same raw rows ---------------------------------------------------

def _feed_key(entry: CalendarEntry, calendar: list[CalendarEntry]) -> str:
    """As stg_csp__feed_calendar keys a calendar row."""
    rows = sum(1 for other in calendar if other.feed == entry.feed)
    return entry.feed if rows == 1 or entry.partner is None else f"{entry.feed}:{entry.partner}"


def _answers(entry: CalendarEntry, delivery_partner, calendar) -> bool:
    """The delivery counts towards this calendar row (per partner when so configured)."""
    per_partner = _feed_key(entry, calendar) != entry.feed
    return not per_partner or (delivery_partner or "").lower() == entry.partner.lower()


def python_statuses(path: Path, as_of: dt.date) -> dict[str, dict]:
    """feed_key -> the mart row feed_status gives for the warehouse's raw rows."""
    with duckdb.connect(str(path), read_only=True) as con:
        calendar = [CalendarEntry(*row) for row in con.execute(
            "select feed, partner, cadence, due_days_after_period_end, calendar_start, "
            "suspended_since, suspension_reason from raw.feed_calendar").fetchall()]
        deliveries = con.execute(
            "select partner, feed, period_label, period_start, received_at, status, file_name "
            "from raw.deliveries order by delivery_id").fetchall()
        la_code = con.execute("select max(la_code) from raw.partnership").fetchone()[0]
    statuses = {}
    for entry in calendar:
        mine = [Delivered(*row[1:]) for row in deliveries
                if row[1] == entry.feed and _answers(entry, row[0], calendar)]
        status = feed_status(entry, mine, as_of)
        statuses[_feed_key(entry, calendar)] = {
            "la_code": la_code,
            "feed_key": _feed_key(entry, calendar),
            "feed": status.feed,
            "partner": status.partner,
            "cadence": status.cadence,
            "as_of_date": status.as_of,
            "state": status.state,
            "last_period": status.last_period,
            "last_received_at": status.last_received,
            "next_period": status.next_period,
            "next_due_date": status.next_due,
            "overdue_count": len(status.overdue),
            "overdue_periods": ", ".join(p.label for p in status.overdue) or None,
            "first_overdue_due_date": status.overdue[0].due if status.overdue else None,
            "suspended_since": status.suspended_since,
            "suspension_reason": status.suspension_reason,
            "last_quarantined_file": status.last_quarantined,
            "is_due_soon": status.due_soon,
        }
    return statuses


def mart_statuses(path: Path) -> dict[str, dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute("select * from main.fct_feed_status")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
    assert names == MART_COLUMNS
    by_key = {row["feed_key"]: row for row in rows}
    assert len(by_key) == len(rows)
    return by_key


def assert_matches_python(path: Path, as_of: str) -> dict[str, dict]:
    mart = mart_statuses(path)
    expected = python_statuses(path, D(as_of))
    assert sorted(mart) == sorted(expected)
    for key in expected:
        assert mart[key] == expected[key], key
    return mart


# --- the shared scenario: police_crime 2014-11 due date and the day after ------------------------

@pytest.mark.parametrize("fixture, as_of", [("warehouse", "2014-12-15"),
                                            ("warehouse_day_after", "2014-12-16")])
def test_shared_scenario_matches_python(request, fixture, as_of):
    mart = assert_matches_python(request.getfixturevalue(fixture).path, as_of)
    police = mart["police_crime"]
    if as_of == "2014-12-15":
        # On the due date 2014-11 is not yet overdue: it is next, due today.
        assert (police["next_period"], police["next_due_date"], police["is_due_soon"]) == (
            "2014-11", D("2014-12-15"), True)
        assert "2014-11" not in police["overdue_periods"]
    else:
        assert police["overdue_periods"].endswith("2014-03, 2014-11")
        assert (police["next_period"], police["is_due_soon"]) == ("2014-12", False)
    assert mart["moj_reoffending"]["state"] == "suspended"
    assert mart["moj_reoffending"]["next_period"] is None
    assert mart["partner_returns"]["state"] == "not started"
    assert mart["idva_caseload"]["last_quarantined_file"] == "idva_caseload_2014/15 Q3"


# --- the status scenario -------------------------------------------------------------------------

@pytest.mark.parametrize("as_of", STATUS_AS_OF)
def test_status_scenario_matches_python(status_warehouses, as_of):
    assert_matches_python(status_warehouses[as_of], as_of)


def _state(status_warehouses, as_of, key):
    return mart_statuses(status_warehouses[as_of])[key]


def test_one_month_missing_on_its_due_date_then_two(status_warehouses):
    on_due = _state(status_warehouses, "2014-12-20", "rny_treatment")
    assert (on_due["state"], on_due["overdue_periods"], on_due["next_period"], on_due["is_due_soon"]) == (
        "late", "2014-09", "2014-11", True)
    day_after = _state(status_warehouses, "2014-12-21", "rny_treatment")
    assert (day_after["state"], day_after["overdue_count"], day_after["overdue_periods"]) == (
        "stopped", 2, "2014-09, 2014-11")
    assert (day_after["next_period"], day_after["next_due_date"]) == ("2014-12", D("2015-01-20"))
    assert day_after["first_overdue_due_date"] == D("2014-10-20")


def test_current_period_delivered_early_looks_past_the_quarter(status_warehouses):
    police = _state(status_warehouses, "2014-12-21", "police_crime")
    assert (police["state"], police["last_period"], police["last_received_at"]) == (
        "on time", "2014-12", T("2014-12-19 09:00"))
    assert (police["next_period"], police["next_due_date"]) == ("2015-01", D("2015-02-15"))
    assert police["last_quarantined_file"] == "police_crime_2014-12_6"


def test_suspended_feed(status_warehouses):
    before = _state(status_warehouses, "2014-06-01", "moj_reoffending")
    assert (before["state"], before["overdue_periods"], before["next_period"]) == (
        "late", "2013/14 Q3", "2013/14 Q4")
    after = _state(status_warehouses, "2014-12-20", "moj_reoffending")
    assert (after["state"], after["next_period"], after["next_due_date"], after["is_due_soon"]) == (
        "suspended", None, None, False)
    # Overdue periods up to the suspension (2014/15 Q1 ends on it) are still listed.
    assert after["overdue_periods"] == "2013/14 Q3, 2013/14 Q4, 2014/15 Q1"


def test_never_delivered_feeds(status_warehouses):
    statuses = mart_statuses(status_warehouses["2014-12-20"])
    assert statuses["partner_returns:probation"]["state"] == "on time"
    iom = statuses["partner_returns:iom"]     # configured start, nothing delivered
    assert (iom["state"], iom["overdue_periods"], iom["last_period"]) == (
        "stopped", "2014/15 Q1, 2014/15 Q2", None)
    courts = statuses["partner_returns:courts"]   # no start, but declared suspended
    assert (courts["state"], courts["suspended_since"]) == ("suspended", D("2014-09-30"))


def test_latest_rejection_by_received_at(status_warehouses):
    # Deliveries are not filtered by received_at: the January rejections count in December.
    idva = _state(status_warehouses, "2014-12-21", "idva_caseload")
    assert (idva["state"], idva["next_period"], idva["next_due_date"]) == (
        "on time", "2014/15 Q3", D("2015-01-30"))
    assert idva["last_quarantined_file"] == "idva_caseload_2014/15 Q3_10"
