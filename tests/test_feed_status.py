"""The feed calendar judged in Python: judged_periods, the statuses derived from it, and the
raw tables every build writes from it for dbt (raw.feed_status, raw.feed_periods).

core/feed_status.py is the one home of the calendar rule (ingest/RAW_TABLES.md); the dbt
models read these answers (tests/dbt/test_feed_status_mart.py checks the reading).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from core.feed_calendar import CalendarEntry
from core.feed_status import CalendarJudgement, Delivered, JudgedPeriod, judged_periods
from core.periods import period_containing
from core.problems import Problem
from ingest.archive_quarantine import quarantine, quarantine_reasons
from ingest.warehouse import connect, ensure_raw_schema, write_configuration, write_feed_status
from orchestration.defs.assets import build_deliveries_asset
from orchestration.defs.resources import CspResource

LA = "E08000031"
RECEIVED = datetime(2014, 1, 1)
POLICE = CalendarEntry("police_crime", "Police", "monthly", 15)


def delivered(
    feed: str,
    label: str,
    start: str,
    status: str = "loaded",
    partner: str | None = None,
    delivery_id: int | None = None,
) -> Delivered:
    """A delivery of ``feed`` for the period labelled ``label`` starting ``start``."""
    return Delivered(
        feed,
        label,
        date.fromisoformat(start),
        RECEIVED,
        status,
        f"{feed}_{label}",
        partner,
        delivery_id,
    )


def judge(
    calendar: list[CalendarEntry], deliveries: list[Delivered], as_of: str
) -> dict[str, CalendarJudgement]:
    """feed_key -> the calendar row judged on ``as_of``."""
    return {j.feed_key: j for j in judged_periods(calendar, deliveries, date.fromisoformat(as_of))}


def rows(periods: tuple[JudgedPeriod, ...], *flags: str) -> list[tuple]:
    """(label, due date, then each flag named) of every period."""
    return [(p.label, p.due.isoformat(), *(getattr(p, f) for f in flags)) for p in periods]


# --- cadences and due dates ----------------------------------------------------------------------


def test_monthly_periods_run_through_the_quarter_holding_as_of() -> None:
    deliveries = [
        delivered("police_crime", m, f"{m}-01", delivery_id=i)
        for i, m in enumerate(["2014-04", "2014-05", "2014-06"], 1)
    ]
    deliveries.append(delivered("police_crime", "2014-05", "2014-05-01", delivery_id=7))
    police = judge([POLICE], deliveries, "2014-08-16")["police_crime"]
    assert (
        police.effective_calendar_start,
        police.first_delivered_period_start,
        police.last_delivered_period_start,
        police.delivery_count,
    ) == (date(2014, 4, 1), date(2014, 4, 1), date(2014, 6, 1), 4)
    # July is overdue the day after its due date; August is next; September, in the quarter
    # holding as_of, is listed for the quarter statuses.
    assert rows(police.periods, "is_delivered", "is_past_due", "is_overdue", "is_next_due") == [
        ("2014-04", "2014-05-15", True, True, False, False),
        ("2014-05", "2014-06-15", True, True, False, False),
        ("2014-06", "2014-07-15", True, True, False, False),
        ("2014-07", "2014-08-15", False, True, True, False),
        ("2014-08", "2014-09-15", False, False, False, True),
        ("2014-09", "2014-10-15", False, False, False, False),
    ]
    assert [p.latest_delivery_id for p in police.periods[:3]] == [1, 7, 3]
    assert {p.quarter_start for p in police.periods} == {date(2014, 4, 1), date(2014, 7, 1)}
    assert all(p.is_expected and p.is_through_as_of_quarter for p in police.periods)
    assert (police.status.state, police.status.next_period) == ("late", "2014-08")


def test_due_months_after_the_period() -> None:
    # police.uk publishes a month by the end of the second month after it (core/feeds).
    start = date(2017, 12, 1)
    calendar = [
        CalendarEntry(
            "police_uk", "data.police.uk", "monthly", 0, start, due_months_after_period_end=2
        ),
        CalendarEntry("police_late", "Police", "monthly", 5, start, due_months_after_period_end=1),
        CalendarEntry("police_crime", "Police", "monthly", 15, start),
        CalendarEntry(
            "idva_caseload",
            "IDVA service",
            "quarterly",
            10,
            date(2017, 4, 1),
            due_months_after_period_end=1,
        ),
    ]
    judged = judge(calendar, [], "2018-02-10")
    assert rows(judged["police_uk"].periods, "is_overdue") == [
        ("2017-12", "2018-02-28", False),
        ("2018-01", "2018-03-31", False),
        ("2018-02", "2018-04-30", False),
        ("2018-03", "2018-05-31", False),
    ]
    assert rows(judged["police_late"].periods, "is_overdue") == [
        ("2017-12", "2018-02-05", True),
        ("2018-01", "2018-03-05", False),
        ("2018-02", "2018-04-05", False),
        ("2018-03", "2018-05-05", False),
    ]
    assert rows(judged["police_crime"].periods, "is_overdue") == [
        ("2017-12", "2018-01-15", True),
        ("2018-01", "2018-02-15", False),
        ("2018-02", "2018-03-15", False),
        ("2018-03", "2018-04-15", False),
    ]
    # A quarter is due at the end of the month after it, then the days; the quarter after
    # the one holding as_of is there too (one period past as_of's).
    assert rows(judged["idva_caseload"].periods, "is_overdue") == [
        ("2017/18 Q1", "2017-08-10", True),
        ("2017/18 Q2", "2017-11-10", True),
        ("2017/18 Q3", "2018-02-10", False),
        ("2017/18 Q4", "2018-05-10", False),
        ("2018/19 Q1", "2018-08-10", False),
    ]
    assert judged["idva_caseload"].status.state == "stopped"


# --- beyond the quarter holding as_of ------------------------------------------------------------


def test_next_due_after_the_quarter_holding_as_of() -> None:
    calendar = [
        CalendarEntry("police_crime", "Police", "monthly", 15, date(2014, 11, 1)),
        CalendarEntry("idva_caseload", "IDVA service", "quarterly", 30),
        # Configured to start after as_of: its first period is next.
        CalendarEntry("rny_treatment", "Treatment provider", "quarterly", 30, date(2015, 4, 1)),
    ]
    deliveries = [
        delivered("police_crime", "2014-11", "2014-11-01", delivery_id=1),
        # The current month and quarter delivered early.
        delivered("police_crime", "2014-12", "2014-12-01", delivery_id=2),
        delivered("idva_caseload", "2014/15 Q3", "2014-10-01", delivery_id=3),
    ]
    judged = judge(calendar, deliveries, "2014-12-20")
    police = judged["police_crime"]
    assert rows(police.periods, "is_delivered", "is_next_due", "is_through_as_of_quarter") == [
        ("2014-11", "2014-12-15", True, False, True),
        ("2014-12", "2015-01-15", True, False, True),
        ("2015-01", "2015-02-15", False, True, False),
    ]
    assert (police.status.next_period, police.status.next_due) == ("2015-01", date(2015, 2, 15))
    assert rows(judged["idva_caseload"].periods, "is_next_due") == [
        ("2014/15 Q3", "2015-01-30", False),
        ("2014/15 Q4", "2015-04-30", True),
    ]
    assert rows(judged["rny_treatment"].periods, "is_next_due", "is_through_as_of_quarter") == [
        ("2015/16 Q1", "2015-07-30", True, False),
        ("2015/16 Q2", "2015-10-30", False, False),
    ]


# --- suspensions ---------------------------------------------------------------------------------


def test_suspension_on_a_quarter_end() -> None:
    moj = CalendarEntry(
        "moj_reoffending",
        "Ministry of Justice",
        "quarterly",
        150,
        date(2014, 1, 1),
        date(2014, 6, 30),
        "MoJ publication paused",
    )
    judgement = judge([moj], [], "2014-12-20")["moj_reoffending"]
    # 2014/15 Q1 ends on the suspension date: still expected, and overdue. The quarters after
    # it, through the one holding as_of, are listed for the quarter statuses, unexpected.
    assert rows(judgement.periods, "is_expected", "is_past_due", "is_overdue", "is_next_due") == [
        ("2013/14 Q4", "2014-08-28", True, True, True, False),
        ("2014/15 Q1", "2014-11-27", True, True, True, False),
        ("2014/15 Q2", "2015-02-27", False, False, False, False),
        ("2014/15 Q3", "2015-05-30", False, False, False, False),
    ]
    status = judgement.status
    assert (status.state, status.next_period, status.next_due) == ("suspended", None, None)
    assert [p.label for p in status.overdue] == ["2013/14 Q4", "2014/15 Q1"]
    # Before the suspension began the feed is judged as any other.
    before = judge([moj], [], "2014-06-01")["moj_reoffending"].status
    assert (before.state, before.next_period) == ("on time", "2013/14 Q4")


# --- per-partner calendars -----------------------------------------------------------------------


def test_per_partner_calendars() -> None:
    calendar = [
        CalendarEntry("partner_returns", "probation", "quarterly", 30),
        CalendarEntry("partner_returns", "iom", "quarterly", 30, date(2014, 4, 1)),
        CalendarEntry(
            "partner_returns",
            "courts",
            "quarterly",
            30,
            None,
            date(2014, 9, 30),
            "Courts return withdrawn",
        ),
        POLICE,
    ]
    deliveries = [
        # The partner named in the file, compared without case.
        delivered("partner_returns", "2014/15 Q1", "2014-04-01", partner="Probation"),
        delivered("partner_returns", "2014/15 Q2", "2014-07-01", partner="probation"),
        # A partner without a calendar row of its own answers to none.
        delivered("partner_returns", "2014/15 Q1", "2014-04-01", partner="gangs"),
        delivered("police_crime", "2014-11", "2014-11-01", partner="Police"),
    ]
    judged = judge(calendar, deliveries, "2014-12-20")
    assert sorted(judged) == [
        "partner_returns:courts",
        "partner_returns:iom",
        "partner_returns:probation",
        "police_crime",
    ]
    probation = judged["partner_returns:probation"]
    assert (probation.delivery_count, probation.status.state) == (2, "on time")
    assert rows(probation.periods, "is_delivered", "is_next_due") == [
        ("2014/15 Q1", "2014-07-30", True, False),
        ("2014/15 Q2", "2014-10-30", True, False),
        ("2014/15 Q3", "2015-01-30", False, True),
        ("2014/15 Q4", "2015-04-30", False, False),
    ]
    iom = judged["partner_returns:iom"]
    assert (iom.delivery_count, iom.status.state, [p.label for p in iom.status.overdue]) == (
        0,
        "stopped",
        ["2014/15 Q1", "2014/15 Q2"],
    )
    courts = judged["partner_returns:courts"]
    assert (courts.effective_calendar_start, courts.periods, courts.status.state) == (
        None,
        (),
        "suspended",
    )
    assert {p.feed_key for p in probation.periods} == {"partner_returns:probation"}


# --- rejected files ------------------------------------------------------------------------------


def test_a_feed_that_only_sent_rejected_files_has_not_started() -> None:
    deliveries = [
        delivered("police_crime", "2014-07", "2014-07-01", "rejected"),
        delivered("police_crime", "2014-06", "2014-06-01", "rejected"),
    ]
    police = judge([POLICE], deliveries, "2014-12-20")["police_crime"]
    assert (police.effective_calendar_start, police.delivery_count, police.periods) == (None, 0, ())
    # The latest rejection by received_at; on a tie, the first to arrive.
    assert (police.status.state, police.status.last_quarantined) == (
        "not started",
        "police_crime_2014-07",
    )
    # A rejected file for a period neither starts the calendar nor delivers the period.
    mixed = judge(
        [POLICE],
        [
            delivered("police_crime", "2014-10", "2014-10-01"),
            delivered("police_crime", "2014-11", "2014-11-01", "rejected"),
        ],
        "2014-12-20",
    )["police_crime"]
    assert rows(mixed.periods, "is_delivered", "is_overdue") == [
        ("2014-10", "2014-11-15", True, False),
        ("2014-11", "2014-12-15", False, True),
        ("2014-12", "2015-01-15", False, False),
        ("2015-01", "2015-02-15", False, False),
    ]


# --- the status is read off the same periods -----------------------------------------------------


def test_the_status_is_read_off_the_judged_periods() -> None:
    rng = random.Random(24)
    for _ in range(500):
        cadence = rng.choice(["monthly", "quarterly"])
        some_day = date(2012, 1, 1) + timedelta(days=rng.randrange(1500))
        entry = CalendarEntry(
            "feed",
            None,
            cadence,
            rng.choice([0, 15, 150]),
            calendar_start=rng.choice([None, some_day]),
            suspended_since=rng.choice(
                [None, date(2012, 1, 1) + timedelta(days=rng.randrange(1500))]
            ),
            due_months_after_period_end=rng.choice([0, 2]),
        )
        deliveries = []
        for _ in range(rng.randrange(6)):
            period = period_containing(
                date(2012, 1, 1) + timedelta(days=rng.randrange(1500)), cadence
            )
            deliveries.append(
                delivered(
                    "feed",
                    period.label,
                    period.start.isoformat(),
                    rng.choice(["loaded", "rejected"]),
                )
            )
        as_of = date(2012, 6, 1) + timedelta(days=rng.randrange(1500))
        [judgement] = judged_periods([entry], deliveries, as_of)
        status, periods = judgement.status, judgement.periods
        assert status.overdue == [p.expected() for p in periods if p.is_overdue]
        following = [p for p in periods if p.is_next_due]
        assert len(following) <= 1
        if status.state not in ("suspended", "not started"):
            assert status.next_period == (following[0].label if following else None)
        # The quarter statuses' periods are contiguous from the calendar start.
        counted = [p for p in periods if p.is_through_as_of_quarter]
        assert counted == list(periods[: len(counted)])


# --- the raw tables for dbt ----------------------------------------------------------------------


def _table(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_write_feed_status_replaces_the_judgement(tmp_path: Path) -> None:
    calendar = [
        POLICE,
        CalendarEntry("partner_returns", "probation", "quarterly", 30),
        CalendarEntry("partner_returns", "iom", "quarterly", 30),
    ]
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_raw_schema(con)
        write_configuration(con, LA, "Wolverhampton", calendar)
        con.execute(
            "insert into raw.deliveries values (1, 'police_crime', 'Police', 'a.csv', "
            "'sha1', '2014-10', '2014-10-01', '2014-10-31', 3, '2014-11-02', 'loaded', "
            "null, ?)",
            [LA],
        )
        # From raw.feed_calendar when no calendar is given, as the dbt tests judge.
        write_feed_status(con, date(2014, 12, 16))
        assert _table(
            con,
            "select feed_key, state, overdue_count, as_of_date, delivery_count "
            "from raw.feed_status order by feed_key",
        ) == [
            ("partner_returns:iom", "not started", 0, date(2014, 12, 16), 0),
            ("partner_returns:probation", "not started", 0, date(2014, 12, 16), 0),
            ("police_crime", "late", 1, date(2014, 12, 16), 1),
        ]
        assert _table(
            con,
            "select period_label, due_date, is_delivered, latest_delivery_id, "
            "is_overdue, is_next_due from raw.feed_periods "
            "order by period_start",
        ) == [
            ("2014-10", date(2014, 11, 15), True, 1, False, False),
            ("2014-11", date(2014, 12, 15), False, None, True, False),
            ("2014-12", date(2015, 1, 15), False, None, False, True),
            ("2015-01", date(2015, 2, 15), False, None, False, False),
        ]
        # Judged again on another day, the tables are replaced, not added to.
        write_feed_status(con, date(2015, 1, 16), calendar)
        assert _table(con, "select count(*), min(as_of_date) from raw.feed_status") == [
            (3, date(2015, 1, 16))
        ]
        assert _table(con, "select count(*), sum(is_overdue::int) from raw.feed_periods") == [
            (6, 2)
        ]


def test_a_warehouse_made_before_the_judgement_tables_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        ensure_raw_schema(con)
        write_configuration(con, LA, "Wolverhampton", [POLICE])
        # As a warehouse built before raw.feed_status and raw.feed_periods existed.
        con.execute("drop table raw.feed_status")
        con.execute("drop table raw.feed_periods")
    with connect(path) as con:
        ensure_raw_schema(con)
        assert _table(con, "select count(*) from raw.feed_status") == [(0,)]
        write_feed_status(con, date(2014, 12, 16), [POLICE])
        assert _table(con, "select feed_key, state from raw.feed_status") == [
            ("police_crime", "not started")
        ]


def test_the_deliveries_asset_judges_the_calendar_before_dbt(tmp_path: Path) -> None:
    # The join point after every ingest and before dbt, with the build's as_of and calendar.
    deliveries = build_deliveries_asset([])
    result = dg.materialize(
        [deliveries],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"csp": CspResource(home=str(tmp_path), as_of="2014-12-20", la_code=LA)},
    )
    assert result.success
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        judged = _table(con, "select feed_key, state, as_of_date from raw.feed_status")
    assert ("police_crime", "not started", date(2014, 12, 20)) in judged
    assert "partner_returns:probation" in {key for key, _, _ in judged}


def test_quarantine_reasons_are_read_back_for_csp_status(tmp_path: Path) -> None:
    landed = tmp_path / "landing" / "police_crime" / "police_crime_2014-07.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("not a crime extract\n")
    quarantine(
        tmp_path,
        landed,
        "police_crime",
        "ab" * 32,
        [Problem("header", "the header row is missing column crime_reference")],
        "Police",
    )
    (tmp_path / "quarantine" / "police_crime" / "broken.csv.reason.json").write_text("{")
    assert quarantine_reasons(tmp_path) == {
        "police_crime_2014-07.csv": "the header row is missing column crime_reference"
    }
