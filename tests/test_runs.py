"""Which landing-sensor run builds dbt when several arrive together (orchestration/runs.py),
on a real Dagster instance with real run and event records."""

from __future__ import annotations

import time
import uuid

import dagster as dg
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, EventLogEntry

from orchestration.dagster_internals import SENSOR_NAME_TAG
from orchestration.runs import LANDING_SENSOR, later_run_to_build

STEP = "csp_dbt_models"
DBT_KEYS = [dg.AssetKey(["marts", "fct_crime"]), dg.AssetKey(["marts", "fct_indicator_quarter"])]
SENSOR = {SENSOR_NAME_TAG: LANDING_SENSOR}


def _run(
    instance: dg.DagsterInstance,
    status: DagsterRunStatus,
    tags: dict[str, str] = SENSOR,
    selection: list[dg.AssetKey] | None = DBT_KEYS,
    job: str = "csp_build",
) -> dg.DagsterRun:
    run = dg.DagsterRun(
        job_name=job,
        run_id=str(uuid.uuid4()),
        status=status,
        tags=tags,
        asset_selection=frozenset(selection) if selection else None,
    )
    return instance.add_run(run)


def _start_step(instance: dg.DagsterInstance, run: dg.DagsterRun, step_key: str) -> None:
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level=20,
            user_message="",
            run_id=run.run_id,
            timestamp=time.time(),
            step_key=step_key,
            job_name=run.job_name,
            dagster_event=DagsterEvent(
                DagsterEventType.STEP_START.value, run.job_name, step_key=step_key
            ),
        )
    )


def _later(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    return later_run_to_build(instance, run, STEP, DBT_KEYS)


def test_a_sensor_run_leaves_dbt_to_the_next_one_queued_and_the_last_builds() -> None:
    with dg.instance_for_test() as instance:
        first = _run(instance, DagsterRunStatus.STARTED)
        second = _run(instance, DagsterRunStatus.STARTED)
        third = _run(instance, DagsterRunStatus.NOT_STARTED)
        assert _later(instance, first) == second.run_id
        assert _later(instance, second) == third.run_id
        assert _later(instance, third) is None


def test_a_later_run_past_its_dbt_step_or_finished_does_not_count() -> None:
    with dg.instance_for_test() as instance:
        first = _run(instance, DagsterRunStatus.STARTED)
        exporting = _run(instance, DagsterRunStatus.STARTED)
        _start_step(instance, exporting, STEP)  # built before this run's delivery was in
        _run(instance, DagsterRunStatus.SUCCESS)
        _run(instance, DagsterRunStatus.FAILURE)
        assert _later(instance, first) is None
        # Another step of a later run is no sign that its dbt step has run.
        waiting = _run(instance, DagsterRunStatus.STARTED)
        _start_step(instance, waiting, "ingest_police_crime")
        assert _later(instance, first) == waiting.run_id


def test_only_a_sensor_run_defers_and_only_to_a_sensor_run_that_builds_dbt() -> None:
    with dg.instance_for_test() as instance:
        by_hand = _run(instance, DagsterRunStatus.STARTED, tags={})
        _run(instance, DagsterRunStatus.NOT_STARTED)
        assert _later(instance, by_hand) is None
        sensor = _run(instance, DagsterRunStatus.STARTED)
        _run(instance, DagsterRunStatus.NOT_STARTED, tags={})  # launched by hand: not counted on
        _run(instance, DagsterRunStatus.NOT_STARTED, selection=[dg.AssetKey("raw/police_crime")])
        _run(instance, DagsterRunStatus.NOT_STARTED, job="quarterly_report_job")
        assert _later(instance, sensor) is None
