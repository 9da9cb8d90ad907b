"""Feed status and alerts, with real receivers on loopback (SMTP with STARTTLS, HTTP JSON).

The half-year simulation checks every day from July to December 2014 over data where the
police feed stops after June and the MoJ feed is declared suspended; each check is a fresh
call that shares nothing with the last but the files under the home, as after a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from bench.dagster_ui import free_port
from core.feed_calendar import CalendarEntry
from core.feed_status import Delivered, feed_status
from ingest.landing import ingest_feed
from ingest.pseudonymise import load_pseudonymiser
from orchestration.config import load_settings
from orchestration.demonstration import generate_landing
from orchestration.monitor import notify_run_failure, run_monitor
from tests.conftest import TEST_KEYS
from tests.receivers import http_receiver, smtp_receiver

LA = "E08000026"
CONFIG = f"""
[partnership]
la_code = "{LA}"
name = "Coventry"

[feeds.moj_reoffending]
suspended_since = 2014-01-01
suspension_reason = "MoJ: localised data not available until further notice"
"""


# --- the status rules on hand-made deliveries ---------------------------------------------

MONTHLY = CalendarEntry("police_crime", "Police", "monthly", 15)
RECEIVED = datetime(2014, 1, 1)


def _months(*labels: str) -> list[Delivered]:
    return [
        Delivered(
            "police_crime",
            m,
            date(int(m[:4]), int(m[5:]), 1),
            RECEIVED,
            "loaded",
            f"police_crime_{m}.csv",
        )
        for m in labels
    ]


def test_due_date_is_the_last_day_on_time() -> None:
    delivered = _months("2014-05", "2014-06")
    on_due_date = feed_status(MONTHLY, delivered, date(2014, 8, 15))
    assert on_due_date.state == "on time" and on_due_date.next_period == "2014-07"
    assert on_due_date.next_due == date(2014, 8, 15) and on_due_date.due_soon
    day_after = feed_status(MONTHLY, delivered, date(2014, 8, 16))
    assert day_after.state == "late" and [p.label for p in day_after.overdue] == ["2014-07"]
    assert day_after.next_period == "2014-08" and day_after.next_due == date(2014, 9, 15)
    month_later = feed_status(MONTHLY, delivered, date(2014, 9, 16))
    assert month_later.state == "stopped"
    assert [p.label for p in month_later.overdue] == ["2014-07", "2014-08"]


def test_suspension_calendar_start_and_rejections() -> None:
    suspended = CalendarEntry(
        "police_crime",
        "Police",
        "monthly",
        15,
        suspended_since=date(2014, 7, 1),
        suspension_reason="paused",
    )
    status = feed_status(suspended, _months("2014-05"), date(2014, 12, 1))
    # June ends before the suspension began, so it is still owed; nothing after it.
    assert status.state == "suspended" and [p.label for p in status.overdue] == ["2014-06"]
    assert status.next_period is None
    never = feed_status(MONTHLY, [], date(2014, 12, 1))
    assert never.state == "not started" and never.overdue == []
    configured = CalendarEntry(
        "police_crime", "Police", "monthly", 15, calendar_start=date(2014, 9, 1)
    )
    assert [p.label for p in feed_status(configured, [], date(2014, 11, 20)).overdue] == [
        "2014-09",
        "2014-10",
    ]
    rejected = [
        Delivered("police_crime", "2014-06", date(2014, 6, 1), RECEIVED, "rejected", "bad.csv")
    ]
    status = feed_status(MONTHLY, _months("2014-05") + rejected, date(2014, 7, 16))
    assert status.state == "late" and status.last_quarantined == "bad.csv"
    early = feed_status(MONTHLY, _months("2014-05", "2014-06"), date(2014, 6, 20))
    assert early.next_period == "2014-07"  # June arrived early: July is next


# --- the half-year simulation with real receivers ---------------------------------------------


@pytest.fixture(scope="module")
def monitored_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Coventry's feeds to December 2014, the police stopping after June 2014."""
    os.environ.update(TEST_KEYS)
    home = tmp_path_factory.mktemp("monitored")
    (home / "csp.toml").write_text(CONFIG)
    staging = tmp_path_factory.mktemp("generated")
    generate_landing(
        staging,
        la_code=LA,
        la_name="Coventry",
        first_month=date(2013, 10, 1),
        last_month=date(2014, 12, 1),
        seed=5,
        scale=0.1,
        moj_until=date(2013, 12, 1),
    )
    for path in staging.glob("*/*"):
        if path.name.startswith("police_crime_") and path.stem[-7:] > "2014-06":
            continue  # the police stop sending after June
        target = home / "landing" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (home / "held_back").mkdir()
    shutil.copy2(staging / "police_crime" / "police_crime_2014-07.csv", home / "held_back")
    _ingest_all(home)
    return home


def _ingest_all(home: Path) -> None:
    for feed in ("police_crime", "rny_treatment", "idva_caseload", "moj_reoffending"):
        ingest_feed(
            feed,
            home=home,
            warehouse=home / "warehouse.duckdb",
            pseudonymiser=load_pseudonymiser(home),
            la_code=LA,
        )


def _check(home: Path, day: date, urls: list[str]):
    os.environ["CSP_ALERT_URLS"] = ",".join(urls)
    try:
        return run_monitor(load_settings(home, day))
    finally:
        del os.environ["CSP_ALERT_URLS"]


def _copy(home: Path, tmp_path: Path) -> Path:
    """A private copy of the module's home (tests may deliver files or send alerts)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("monitor"))
    return copy


def test_half_year_of_daily_checks_sends_exactly_the_expected_alerts(
    monitored_home: Path, tmp_path: Path
) -> None:
    home = _copy(monitored_home, tmp_path)
    with smtp_receiver(tmp_path) as (mail_url, mail), http_receiver() as (json_url, hook):
        day = date(2014, 7, 1)
        sent_on: dict[date, list[str]] = {}
        while day <= date(2014, 12, 31):
            if day == date(2014, 10, 1):
                # July's file finally arrives (late) and is ingested.
                shutil.copy2(
                    home / "held_back" / "police_crime_2014-07.csv",
                    home / "landing" / "police_crime",
                )
                _ingest_all(home)
            result = _check(home, day, [mail_url, json_url])
            assert not result.failed
            if result.sent:
                sent_on[day] = sorted({m.title for m, _ in result.sent})
            day += timedelta(days=1)
        expected = {
            date(2014, 8, 16): ["[Coventry] police_crime (Police) is late: 2014-07 overdue"],
            date(2014, 9, 16): ["[Coventry] police_crime (Police) has stopped: 2014-08 overdue"],
            date(2014, 10, 1): ["[Coventry] police_crime (Police) recovered: 2014-07 arrived"],
            date(2014, 10, 16): ["[Coventry] police_crime (Police) has stopped: 2014-09 overdue"],
            date(2014, 11, 16): ["[Coventry] police_crime (Police) has stopped: 2014-10 overdue"],
            date(2014, 12, 16): ["[Coventry] police_crime (Police) has stopped: 2014-11 overdue"],
        }
        assert sent_on == expected
        # Each channel got each message once, and nothing for the suspended MoJ feed.
        for inbox in (mail, hook):
            assert sorted(inbox.titles) == sorted(t for ts in expected.values() for t in ts)
            assert not any("moj" in t for t in inbox.titles)
        _, body = next(m for m in hook.messages if "2014-08 overdue" in m[0])
        assert "Coventry (E08000026)" in body and "police_crime from Police" in body
        assert "2014-08 (due 2014-09-15)" in body
        assert "PV_PPV" in body and "2014/15 Q2" in body  # what the report shows meanwhile


def test_first_check_groups_what_is_already_overdue_and_a_restart_repeats_nothing(
    monitored_home: Path, tmp_path: Path
) -> None:
    home = _copy(monitored_home, tmp_path)
    with http_receiver() as (url, hook):
        first = _check(home, date(2014, 12, 20), [url])
        assert [m.title for m, _ in first.sent] == [
            "[Coventry] police_crime (Police) has stopped: 5 periods, 2014-07 to 2014-11 overdue"
        ]
        # Another process, the same day: nothing is sent again.
        env = {**os.environ, "CSP_ALERT_URLS": url}
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "monitor",
                "--home",
                str(home),
                "--as-of",
                "2014-12-20",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        # Exit 2: the police feed has stopped (as a monitoring plugin says "critical").
        assert run.returncode == 2, run.stderr
        assert "nothing new to send" in run.stdout
        assert len(hook.messages) == 1


def test_quarantined_file_and_failed_run_are_announced_once(
    monitored_home: Path, tmp_path: Path
) -> None:
    home = _copy(monitored_home, tmp_path)
    bad = home / "landing" / "rny_treatment" / "rny_treatment_2014-12.csv"
    bad.write_bytes(bad.read_bytes().replace(b"Arrest Referral", b"Arrest Referal", 1))
    os.utime(bad)
    _ingest_all(home)
    with http_receiver() as (url, hook):
        _check(home, date(2014, 12, 1), [url])
        _check(home, date(2014, 12, 2), [url])
        rejected = [t for t in hook.titles if "rejected" in t]
        assert rejected == [
            "[Coventry] rny_treatment (Treatment provider): rny_treatment_2014-12.csv rejected"
        ]
        body = next(b for t, b in hook.messages if "rejected" in t)
        assert "Referral Source" in body and "Arrest Referal" in body
        os.environ["CSP_ALERT_URLS"] = url
        try:
            settings = load_settings(home, date(2014, 12, 2))
            notify_run_failure(settings, "run-123", "csp_build", "dbt build failed")
            notify_run_failure(settings, "run-123", "csp_build", "dbt build failed")
        finally:
            del os.environ["CSP_ALERT_URLS"]
        assert [t for t in hook.titles if "failed" in t] == [
            "[Coventry] pipeline run failed: csp_build"
        ]


def test_run_failure_sensor_alerts_for_a_real_failed_run(
    monitored_home: Path, tmp_path: Path
) -> None:
    from orchestration.defs.sensors import alert_on_run_failure

    @dg.op
    def explode() -> None:
        raise RuntimeError("the warehouse file is locked")

    @dg.job
    def doomed() -> None:
        explode()

    with http_receiver() as (url, hook), dg.instance_for_test() as instance:
        os.environ.update(
            {"CSP_ALERT_URLS": url, "CSP_HOME": str(monitored_home), "CSP_AS_OF": "2014-12-02"}
        )
        try:
            result = doomed.execute_in_process(instance=instance, raise_on_error=False)
            failure = next(
                e
                for e in result.all_events
                if e.event_type_value == "PIPELINE_FAILURE" or e.event_type_value == "RUN_FAILURE"
            )
            context = dg.build_run_status_sensor_context(
                sensor_name="alert_on_run_failure",
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=failure,
            ).for_run_failure()
            alert_on_run_failure(context)
        finally:
            for variable in ("CSP_ALERT_URLS", "CSP_HOME", "CSP_AS_OF"):
                del os.environ[variable]
        assert hook.titles == ["[Coventry] pipeline run failed: doomed"]


def test_status_json_lists_stopped_feeds_with_overdue_periods(monitored_home: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "status",
            "--home",
            str(monitored_home),
            "--as-of",
            "2014-12-20",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2, run.stderr  # a feed has stopped
    feeds = {f["feed"]: f for f in json.loads(run.stdout)["feeds"]}
    assert feeds["police_crime"]["state"] == "stopped"
    assert [p["period"] for p in feeds["police_crime"]["overdue"]] == [
        "2014-07",
        "2014-08",
        "2014-09",
        "2014-10",
        "2014-11",
    ]
    assert feeds["moj_reoffending"]["state"] == "suspended"
    assert feeds["rny_treatment"]["state"] == "on time"


def test_a_channel_that_fails_is_retried_at_the_next_check(
    monitored_home: Path, tmp_path: Path
) -> None:
    home = _copy(monitored_home, tmp_path)
    port = free_port()
    url = f"json://127.0.0.1:{port}/alerts"
    result = _check(home, date(2014, 9, 20), [url])  # nobody listening yet
    assert result.failed and not result.sent
    with http_receiver(port) as (_, hook):
        retry = _check(home, date(2014, 9, 21), [url])
        again = _check(home, date(2014, 9, 22), [url])
    assert [m.title for m, _ in retry.sent] == [
        "[Coventry] police_crime (Police) has stopped: 2014-07, 2014-08 overdue"
    ]
    assert not again.sent and len(hook.messages) == 1


@pytest.mark.parametrize(
    "url",
    [
        "mailtos://user:secret@smtp.example.org?to=oncall@example.org",
        # Teams through a Power Automate workflow (Microsoft retired the old connectors).
        "workflows://prod-00.westeurope.logic.azure.com/a1b2c3d4e5f6/Sig123abc",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "json://hooks.example.org/csp",
    ],
)
def test_documented_channel_urls_are_understood(url: str) -> None:
    import apprise

    # Reaching Teams or Slack needs the internet; that Apprise accepts the URL is checkable.
    assert apprise.Apprise().add(url)
