"""``csp ui``: Dagster's real deployment (``dagster dev``: webserver, daemon, code server) over
a home, driven and asked through its GraphQL API (``bench/dagster_ui.py``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import dagster as dg
import duckdb

from bench.dagster_ui import FINISHED, graphql, messages, runs, serving, wait_for
from exports.publish import last_build_path
from orchestration.instance import write_instance_yaml
from tests.conftest import TEST_KEYS, drop, example
from tests.receivers import http_receiver

LA = "E08000031"
# The landing sensor looks every 30 s and takes a file once it is unchanged between two looks;
# then the runs are queued, launched and built from an empty warehouse.
RUN_SECONDS = 300


def _materialise_once(dagster_home: Path) -> str:
    @dg.asset
    def one() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return dg.materialize([one], instance=instance).run_id


def test_the_ui_over_a_moved_home_shows_its_runs_events(tmp_path: Path) -> None:
    """A home's ``dagster.yaml`` names the event log's absolute path; after a move, ``csp ui``
    must rewrite it, or Dagster reads (and writes) the events at the old place."""
    before, after = tmp_path / "before", tmp_path / "after"
    write_instance_yaml(before / "dagster")
    run_id = _materialise_once(before / "dagster")
    shutil.move(before, after)

    with serving(after, tmp_path / "ui.log", LA, os.environ) as port:
        assert [r["runId"] for r in runs(port)] == [run_id]
        events = messages(port, run_id)
        assert "Materialized value one." in events, events
        assert not before.exists(), "Dagster recreated the old home's event log"
    assert (
        str(after / "dagster" / "history" / "runs")
        in (after / "dagster" / "dagster.yaml").read_text()
    )


def test_a_killed_run_alerts_and_the_sensor_then_loads_a_dropped_file(tmp_path: Path) -> None:
    """The deployment a data engineer leaves running. A build whose process dies is marked
    failed and alerted, and holds nothing: two files dropped afterwards are found by the
    landing sensor, a run each, and built by one dbt build, every step in its run's process."""
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    with (
        http_receiver() as (url, hook),
        serving(
            home,
            tmp_path / "ui.log",
            LA,
            {
                **os.environ,
                **TEST_KEYS,
                "CSP_ALERT_URLS": url,
                "CSP_LA_NAME": "Wolverhampton",
                "CSP_AS_OF": "2014-12-04",
                "CSP_STABLE_SECONDS": "0",
            },
        ) as port,
    ):
        launched = graphql(
            port,
            """mutation { launchRun(executionParams: {
            selector: { repositoryLocationName: "csp_warehouse",
                        repositoryName: "__repository__", jobName: "csp_build" } }) {
            __typename ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message } } }""",
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        killed = launched["run"]["runId"]

        def worker_pid() -> int | None:
            for message in messages(port, killed):
                found = re.search(r"in process \(pid: (\d+)\)", message)
                if found:
                    return int(found.group(1))
            return None

        os.kill(wait_for("the run's process", worker_pid, port, RUN_SECONDS), signal.SIGKILL)
        wait_for(
            "the killed run to be marked failed",
            lambda: any(r["runId"] == killed and r["status"] == "FAILURE" for r in runs(port)),
            port,
            RUN_SECONDS,
        )
        wait_for("the failure alert", lambda: hook.titles, port, RUN_SECONDS)
        assert hook.titles == ["[Wolverhampton] pipeline run failed: csp_build"]

        # Two deliveries at once: a run each (one per delivery), one dbt build between them.
        drop(home, "police_crime", example("police_crime_2014-07.csv"))
        drop(home, "moj_reoffending", example("moj_reoffending_2013-12.csv"))

        def sensor_runs() -> list[dict] | None:
            found = [r for r in runs(port) if r["runId"] != killed]
            done = len(found) == 2 and all(r["status"] in FINISHED for r in found)
            return found[::-1] if done else None  # oldest first

        first, second = wait_for("the landing sensor's two runs", sensor_runs, port, RUN_SECONDS)
        for run in (first, second):
            assert run["status"] == "SUCCESS", "\n".join(
                m for m in messages(port, run["runId"]) if "rror" in m or "fail" in m
            )
        files = {t["value"] for r in (first, second) for t in r["tags"] if t["key"] == "csp/file"}
        assert files == {"police_crime_2014-07.csv", "moj_reoffending_2013-12.csv"}
        earlier, later = messages(port, first["runId"]), messages(port, second["runId"])
        assert any(f"dbt build left to run {second['runId']}" in m for m in earlier), earlier
        # The mart's output is named after its layer-prefixed key (marts/fct_indicator_quarter).
        assert not any(_materialised_indicators(m) for m in earlier)
        assert any(_materialised_indicators(m) for m in later), later
        # Every step in the run's own process: no process per step.
        assert any("in process (pid:" in m for m in later), later
        assert not any("multiprocess" in m for m in earlier + later)
    with duckdb.connect(str(last_build_path(home)), read_only=True) as con:
        loaded = con.execute("select file_name from raw.deliveries order by 1").fetchall()
        crimes = con.execute("select count(*) from main.fct_crime").fetchone()[0]
        moj = con.execute(
            "select count(*) from main.fct_indicator_quarter "
            "where indicator_code = 'RR_REOFFEND_DIFF' "
            "and coalesce(value, provisional_value) is not null"
        ).fetchone()[0]
    assert loaded == [("moj_reoffending_2013-12.csv",), ("police_crime_2014-07.csv",)]
    assert crimes > 0 and moj > 0


def _materialised_indicators(message: str) -> bool:
    """Whether a run's event message says it materialised fct_indicator_quarter."""
    return message.startswith("Materialized value") and "fct_indicator_quarter" in message
