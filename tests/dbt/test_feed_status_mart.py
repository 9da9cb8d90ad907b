"""fct_feed_status and the quarter statuses, built from the feed calendar judged in Python.

core/feed_status.py is the one home of the calendar rule: every build judges the calendar there
and writes raw.feed_status and raw.feed_periods before dbt (ingest/warehouse.py), and these
builds do the same (dbt_raw_tables.judge_feeds). What is left to go wrong in SQL is the reading:
the mart must give, column by column, what feed_statuses gives for the same raw rows; the
quarter statuses must count, word and judge the judged periods as the hand-worked answers
below say; and a judgement of another day must fail the build rather than be read.

Two sets of builds: the shared scenario of dbt_scenario.py (the conftest builds, on the police
due date and the day after), and a small feed-status scenario built here for a few more as-of
dates, with `dbt build` limited to the models the statuses need (the builds run in parallel).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import duckdb
import pytest
from dbt_command import REPO, dbt_build_command, dbt_env
from dbt_raw_tables import create_raw_tables, insert_rows, judge_feeds
from dbt_scenario import LA

from core.feed_status import feed_statuses
from ingest.warehouse import read_deliveries, read_feed_calendar

D = dt.date.fromisoformat
T = dt.datetime.fromisoformat

MART_COLUMNS = [
    "la_code",
    "feed_key",
    "feed",
    "partner",
    "cadence",
    "as_of_date",
    "state",
    "last_period",
    "last_received_at",
    "next_period",
    "next_due_date",
    "overdue_count",
    "overdue_periods",
    "first_overdue_due_date",
    "suspended_since",
    "suspension_reason",
    "last_quarantined_file",
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
    (
        "moj_reoffending",
        "Ministry of Justice",
        "quarterly",
        150,
        None,
        D("2014-06-30"),
        "MoJ publication paused",
    ),
    # partner_returns configured per partner: probation delivers, iom never has (but has a
    # configured start), courts never has and is suspended.
    ("partner_returns", "probation", "quarterly", 30, None, None, None),
    ("partner_returns", "iom", "quarterly", 30, D("2014-04-01"), None, None),
    (
        "partner_returns",
        "courts",
        "quarterly",
        30,
        None,
        D("2014-09-30"),
        "Courts return withdrawn",
    ),
]

STATUS_DELIVERIES = [
    # feed, partner, period_label, period_start, period_end, received_at, status
    ("police_crime", "Police", "2014-09", "2014-09-01", "2014-09-30", "2014-10-10 09:00", "loaded"),
    (
        "police_crime",
        "Police",
        "2014-10",
        "2014-10-01",
        "2014-10-31",
        "2014-11-12 09:00",
        "superseded",
    ),
    ("police_crime", "Police", "2014-10", "2014-10-01", "2014-10-31", "2014-11-14 09:00", "loaded"),
    ("police_crime", "Police", "2014-11", "2014-11-01", "2014-11-30", "2014-12-10 09:00", "loaded"),
    # The current month, delivered early: the next period is 2015-01, after the quarter.
    ("police_crime", "Police", "2014-12", "2014-12-01", "2014-12-31", "2014-12-19 09:00", "loaded"),
    (
        "police_crime",
        "Police",
        "2014-12",
        "2014-12-01",
        "2014-12-31",
        "2014-12-19 10:00",
        "rejected",
    ),
    (
        "rny_treatment",
        "Treatment provider",
        "2014-10",
        "2014-10-01",
        "2014-10-31",
        "2014-11-18 09:00",
        "loaded",
    ),
    (
        "idva_caseload",
        "IDVA service",
        "2014/15 Q1",
        "2014-04-01",
        "2014-06-30",
        "2014-07-20 09:00",
        "loaded",
    ),
    (
        "idva_caseload",
        "IDVA service",
        "2014/15 Q2",
        "2014-07-01",
        "2014-09-30",
        "2014-10-25 09:00",
        "loaded",
    ),
    # Two rejected files for Q3: the second in arrival order (delivery_id 11) carries the
    # earlier received_at, so the latest rejection by received_at is delivery 10.
    (
        "idva_caseload",
        "IDVA service",
        "2014/15 Q3",
        "2014-10-01",
        "2014-12-31",
        "2015-01-20 09:00",
        "rejected",
    ),
    (
        "idva_caseload",
        "IDVA service",
        "2014/15 Q3",
        "2014-10-01",
        "2014-12-31",
        "2015-01-10 09:00",
        "rejected",
    ),
    (
        "moj_reoffending",
        "Ministry of Justice",
        "2013/14 Q1",
        "2013-04-01",
        "2013-06-30",
        "2013-11-01 09:00",
        "loaded",
    ),
    (
        "moj_reoffending",
        "Ministry of Justice",
        "2013/14 Q2",
        "2013-07-01",
        "2013-09-30",
        "2014-02-01 09:00",
        "loaded",
    ),
    (
        "partner_returns",
        "Probation",
        "2014/15 Q1",
        "2014-04-01",
        "2014-06-30",
        "2014-07-25 09:00",
        "loaded",
    ),
    (
        "partner_returns",
        "Probation",
        "2014/15 Q2",
        "2014-07-01",
        "2014-09-30",
        "2014-10-28 09:00",
        "loaded",
    ),
]

# As-of dates for the status scenario:
#   2014-06-01  before moj's suspension (moj late, its calendar cut at 2014/15 Q1)
#   2014-12-20  rny_treatment's 2014-11 due date (one month missing: late, due soon)
#   2014-12-21  the day after (two months missing: stopped); police's December already in
STATUS_AS_OF = ["2014-06-01", "2014-12-20", "2014-12-21"]


def load_status_scenario(con) -> None:
    """Create the raw tables and insert the status scenario."""
    create_raw_tables(con)
    insert_rows(con, "partnership", [(LA, "Wolverhampton")])
    insert_rows(con, "feed_calendar", STATUS_CALENDAR)
    insert_rows(
        con,
        "deliveries",
        [
            (
                delivery_id,
                feed,
                partner,
                f"{feed}_{label}_{delivery_id}",
                f"sha{delivery_id}",
                label,
                D(start),
                D(end),
                0,
                T(received),
                status,
                "bad header" if status == "rejected" else None,
                LA,
            )
            for delivery_id, (feed, partner, label, start, end, received, status) in enumerate(
                STATUS_DELIVERIES, 1
            )
        ],
    )


def _dbt(tmp: Path, warehouse: Path, as_of: str, select: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        dbt_build_command(tmp, as_of, LA, "--select", *select, "--indirect-selection", "cautious"),
        cwd=REPO,
        env=dbt_env(warehouse, tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _start_build(
    tmp: Path, as_of: str, judged_on: str | None = None, select: tuple[str, ...] = ()
) -> tuple[Path, subprocess.Popen]:
    """Load the status scenario, judge it on ``judged_on`` (the build's as_of unless given)
    and start dbt build on ``as_of``."""
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load_status_scenario(con)
        judge_feeds(con, judged_on or as_of)
    # The mart, the quarter statuses and what they need; dim_area and dim_feed for the
    # mart's relationship tests.
    select = select or ("+fct_feed_status", "+int_feed_quarters_statused", "+dim_area", "+dim_feed")
    return warehouse, _dbt(tmp, warehouse, as_of, list(select))


@pytest.fixture(scope="module")
def status_warehouses(tmp_path_factory) -> dict[str, Path]:
    """The status scenario built once per as-of date of STATUS_AS_OF, builds in parallel."""
    started = {
        as_of: _start_build(tmp_path_factory.mktemp(f"feed_status_{as_of}"), as_of)
        for as_of in STATUS_AS_OF
    }
    built = {}
    for as_of, (warehouse, process) in started.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-6000:]
        built[as_of] = warehouse
    return built


# --- what feed_statuses gives for the warehouse's raw rows ---------------------------------------


def python_statuses(path: Path, as_of: dt.date) -> dict[str, dict]:
    """feed_key -> the mart row feed_statuses gives for the warehouse's raw rows."""
    with duckdb.connect(str(path), read_only=True) as con:
        calendar = read_feed_calendar(con)
        deliveries = read_deliveries(con)
        la_code = con.execute("select max(la_code) from raw.partnership").fetchone()[0]
    keys = {
        entry: entry.feed
        if sum(e.feed == entry.feed for e in calendar) == 1 or entry.partner is None
        else f"{entry.feed}:{entry.partner}"
        for entry in calendar
    }
    statuses = {}
    for entry, status in zip(calendar, feed_statuses(calendar, deliveries, as_of), strict=True):
        statuses[keys[entry]] = {
            "la_code": la_code,
            "feed_key": keys[entry],
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
    """feed_key -> the row of fct_feed_status."""
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute("select * from main.fct_feed_status")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert names == MART_COLUMNS
    by_key = {row["feed_key"]: row for row in rows}
    assert len(by_key) == len(rows)
    return by_key


def assert_matches_python(path: Path, as_of: str) -> dict[str, dict]:
    """Every row and column of the mart is what feed_statuses says; return the mart."""
    mart = mart_statuses(path)
    expected = python_statuses(path, D(as_of))
    assert sorted(mart) == sorted(expected)
    for key in expected:
        assert mart[key] == expected[key], key
    return mart


def quarter_statuses(path: Path) -> dict[tuple[str, str], tuple]:
    """(feed_key, fiscal quarter) -> (expected, delivered, data_status, status_note)."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select feed_key, fiscal_quarter, expected_periods, delivered_periods, data_status,"
            " status_note from intermediate.int_feed_quarters_statused"
        ).fetchall()
    return {(key, quarter): tuple(rest) for key, quarter, *rest in rows}


# --- the shared scenario: police_crime 2014-11 due date and the day after ------------------------


@pytest.mark.parametrize(
    "fixture, as_of", [("warehouse", "2014-12-15"), ("warehouse_day_after", "2014-12-16")]
)
def test_shared_scenario_matches_python(request, fixture, as_of):
    path = request.getfixturevalue(fixture).path
    mart = assert_matches_python(path, as_of)
    police = mart["police_crime"]
    quarters = quarter_statuses(path)
    if as_of == "2014-12-15":
        # On the due date 2014-11 is not yet overdue: it is next, due today.
        assert (police["next_period"], police["next_due_date"], police["is_due_soon"]) == (
            "2014-11",
            D("2014-12-15"),
            True,
        )
        assert "2014-11" not in police["overdue_periods"]
        assert quarters[("police_crime", "2014/15 Q3")] == (
            3,
            1,
            "pending",
            "police_crime 2014-11 not yet received (due 2014-12-15); "
            "police_crime 2014-12 not yet received (due 2015-01-15)",
        )
    else:
        assert police["overdue_periods"].endswith("2014-03, 2014-11")
        assert (police["next_period"], police["is_due_soon"]) == ("2014-12", False)
        assert quarters[("police_crime", "2014/15 Q3")] == (
            3,
            1,
            "missing",
            "police_crime 2014-11 not received (due 2014-12-15)",
        )
    assert mart["moj_reoffending"]["state"] == "suspended"
    assert mart["moj_reoffending"]["next_period"] is None
    assert mart["partner_returns"]["state"] == "not started"
    assert mart["idva_caseload"]["last_quarantined_file"] == "idva_caseload_2014/15 Q3"
    # Configured from 2014-01 though first delivered in 2014-04: 2013/14 Q4 is expected.
    assert quarters[("rny_treatment", "2013/14 Q4")] == (
        3,
        0,
        "missing",
        "rny_treatment 2014-01 not received (due 2014-02-20); "
        "rny_treatment 2014-02 not received (due 2014-03-20); "
        "rny_treatment 2014-03 not received (due 2014-04-20)",
    )


# --- the status scenario -------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", STATUS_AS_OF)
def test_status_scenario_matches_python(status_warehouses, as_of):
    assert_matches_python(status_warehouses[as_of], as_of)


def _state(status_warehouses, as_of, key):
    return mart_statuses(status_warehouses[as_of])[key]


def test_one_month_missing_on_its_due_date_then_two(status_warehouses):
    on_due = _state(status_warehouses, "2014-12-20", "rny_treatment")
    assert (
        on_due["state"],
        on_due["overdue_periods"],
        on_due["next_period"],
        on_due["is_due_soon"],
    ) == ("late", "2014-09", "2014-11", True)
    day_after = _state(status_warehouses, "2014-12-21", "rny_treatment")
    assert (day_after["state"], day_after["overdue_count"], day_after["overdue_periods"]) == (
        "stopped",
        2,
        "2014-09, 2014-11",
    )
    assert (day_after["next_period"], day_after["next_due_date"]) == ("2014-12", D("2015-01-20"))
    assert day_after["first_overdue_due_date"] == D("2014-10-20")


def test_current_period_delivered_early_looks_past_the_quarter(status_warehouses):
    police = _state(status_warehouses, "2014-12-21", "police_crime")
    assert (police["state"], police["last_period"], police["last_received_at"]) == (
        "on time",
        "2014-12",
        T("2014-12-19 09:00"),
    )
    assert (police["next_period"], police["next_due_date"]) == ("2015-01", D("2015-02-15"))
    assert police["last_quarantined_file"] == "police_crime_2014-12_6"


def test_suspended_feed(status_warehouses):
    before = _state(status_warehouses, "2014-06-01", "moj_reoffending")
    assert (before["state"], before["overdue_periods"], before["next_period"]) == (
        "late",
        "2013/14 Q3",
        "2013/14 Q4",
    )
    after = _state(status_warehouses, "2014-12-20", "moj_reoffending")
    assert (after["state"], after["next_period"], after["next_due_date"], after["is_due_soon"]) == (
        "suspended",
        None,
        None,
        False,
    )
    # Overdue periods up to the suspension (2014/15 Q1 ends on it) are still listed.
    assert after["overdue_periods"] == "2013/14 Q3, 2013/14 Q4, 2014/15 Q1"


def test_never_delivered_feeds(status_warehouses):
    statuses = mart_statuses(status_warehouses["2014-12-20"])
    assert statuses["partner_returns:probation"]["state"] == "on time"
    iom = statuses["partner_returns:iom"]  # configured start, nothing delivered
    assert (iom["state"], iom["overdue_periods"], iom["last_period"]) == (
        "stopped",
        "2014/15 Q1, 2014/15 Q2",
        None,
    )
    courts = statuses["partner_returns:courts"]  # no start, but declared suspended
    assert (courts["state"], courts["suspended_since"]) == ("suspended", D("2014-09-30"))


def test_latest_rejection_by_received_at(status_warehouses):
    # Deliveries are not filtered by received_at: the January rejections count in December.
    idva = _state(status_warehouses, "2014-12-21", "idva_caseload")
    assert (idva["state"], idva["next_period"], idva["next_due_date"]) == (
        "on time",
        "2014/15 Q3",
        D("2015-01-30"),
    )
    assert idva["last_quarantined_file"] == "idva_caseload_2014/15 Q3_10"


# --- the quarter statuses of the status scenario -------------------------------------------------

QUARTER_ANSWERS = {
    # (as_of, feed_key, quarter): (expected periods, delivered, data_status, status_note)
    # Configured from 2014-09-15: 2014-09 is the only month of Q2 expected, overdue since
    # its due date 2014-10-20; in Q3, 2014-11 is due on 2014-12-20 itself, missing the day after.
    ("2014-12-20", "rny_treatment", "2014/15 Q1"): (
        0,
        0,
        "not_expected",
        "rny_treatment calendar starts 2014-09-01",
    ),
    ("2014-12-20", "rny_treatment", "2014/15 Q2"): (
        1,
        0,
        "missing",
        "rny_treatment 2014-09 not received (due 2014-10-20)",
    ),
    ("2014-12-20", "rny_treatment", "2014/15 Q3"): (
        3,
        1,
        "pending",
        "rny_treatment 2014-11 not yet received (due 2014-12-20); "
        "rny_treatment 2014-12 not yet received (due 2015-01-20)",
    ),
    ("2014-12-21", "rny_treatment", "2014/15 Q3"): (
        3,
        1,
        "missing",
        "rny_treatment 2014-11 not received (due 2014-12-20)",
    ),
    # Suspended on 2014-06-30: 2014/15 Q1, ending that day, is still judged (and missing once
    # due); the quarters after it are suspended, their periods counted but not judged.
    ("2014-06-01", "moj_reoffending", "2013/14 Q3"): (
        1,
        0,
        "missing",
        "moj_reoffending 2013/14 Q3 not received (due 2014-05-30)",
    ),
    ("2014-06-01", "moj_reoffending", "2014/15 Q1"): (
        1,
        0,
        "pending",
        "moj_reoffending 2014/15 Q1 not yet received (due 2014-11-27)",
    ),
    ("2014-12-20", "moj_reoffending", "2014/15 Q1"): (
        1,
        0,
        "missing",
        "moj_reoffending 2014/15 Q1 not received (due 2014-11-27)",
    ),
    ("2014-12-20", "moj_reoffending", "2014/15 Q2"): (1, 0, "suspended", "MoJ publication paused"),
    # Per partner: probation's quarters are its own; iom is expected from its configured
    # start; courts never started and is suspended after 2014-09-30.
    ("2014-12-20", "partner_returns:probation", "2014/15 Q2"): (1, 1, "ok", None),
    ("2014-12-20", "partner_returns:iom", "2014/15 Q1"): (
        1,
        0,
        "missing",
        "partner_returns (iom) 2014/15 Q1 not received (due 2014-07-30)",
    ),
    ("2014-12-20", "partner_returns:courts", "2014/15 Q2"): (
        0,
        0,
        "not_expected",
        "partner_returns (courts) has never delivered",
    ),
    ("2014-12-20", "partner_returns:courts", "2014/15 Q3"): (
        0,
        0,
        "suspended",
        "Courts return withdrawn",
    ),
    # The current month delivered early: the quarter is complete before its months are due.
    ("2014-12-20", "police_crime", "2014/15 Q3"): (3, 3, "ok", None),
}


@pytest.mark.parametrize("as_of, key, quarter", sorted(QUARTER_ANSWERS))
def test_quarter_statuses(status_warehouses, as_of, key, quarter):
    assert (
        quarter_statuses(status_warehouses[as_of])[(key, quarter)]
        == QUARTER_ANSWERS[(as_of, key, quarter)]
    )


def test_a_judgement_of_another_day_fails_the_build(tmp_path):
    # Judged on 2014-12-20, built on 2014-12-21: the staged judgement is not read as the day's.
    _, process = _start_build(
        tmp_path,
        "2014-12-21",
        judged_on="2014-12-20",
        select=("stg_csp__feed_calendar", "stg_csp__feed_statuses", "stg_csp__feed_periods"),
    )
    output, _ = process.communicate(timeout=300)
    assert process.returncode != 0
    # Those two tests fail, and nothing else does.
    assert "ERROR=2 " in output, output[-3000:]
    assert "Failure in test judged_on_as_of_stg_csp__feed_statuses_as_of_date" in output
    assert "Failure in test judged_on_as_of_stg_csp__feed_periods_as_of_date" in output
