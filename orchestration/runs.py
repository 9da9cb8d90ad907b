"""Landing-sensor runs that arrive together share one dbt build.

The landing sensor asks for one run per delivery (run key = feed + SHA-256;
docs/architecture.md, "One run per delivery"). When a month's files arrive together (a region's
seven force extracts, or all 43 forces), each run would ingest its file and then rebuild the
warehouse with dbt, one run after another: at national size 43 dbt builds of about 35 s where
one would do. So a sensor run's dbt step leaves the build to a later sensor run that has not
yet reached its own dbt step. That run builds from everything ingested by then, this run's
delivery included.

Why no delivery is left unbuilt: every step is in the warehouse pool, limited to one, and a
step starts only once it holds the pool's slot. While this dbt step holds it, a later run's
dbt step has either started already (it may have missed this delivery, so this run builds)
or not (it can only start after this step, so after this delivery was ingested). Runs are
ordered by the run storage's own sequence, not by time, so two runs of one sensor tick
cannot each wait for the other. A later run that fails, or is cancelled, before its dbt step
leaves the marts behind the raw layer until the next build or sensor run; a failure is
alerted like any other.
"""

from __future__ import annotations

from collections.abc import Collection

import dagster as dg

from orchestration.dagster_internals import SENSOR_NAME_TAG

LANDING_SENSOR = "landing_sensor"
# Runs that may still reach their dbt step.
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _has_started_step(instance: dg.DagsterInstance, run_id: str, step_key: str) -> bool:
    starts = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START)
    return any(r.event_log_entry.step_key == step_key for r in starts.records)


def later_run_to_build(
    instance: dg.DagsterInstance, run: dg.DagsterRun, step_key: str, keys: Collection[dg.AssetKey]
) -> str | None:
    """The id of a landing-sensor run queued after ``run`` that will still run ``step_key``
    (materialising ``keys``), or None: then ``run`` must run the step itself.

    Only a landing-sensor run defers; a run someone launched by hand always builds.
    """
    if run.tags.get(SENSOR_NAME_TAG) != LANDING_SENSOR:
        return None
    ours = instance.get_run_record_by_id(run.run_id)
    if ours is None:
        return None
    later = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=run.job_name, statuses=UNFINISHED, tags={SENSOR_NAME_TAG: LANDING_SENSOR}
        ),
        order_by="id",
        ascending=True,
    )
    for record in later:
        other = record.dagster_run
        if record.storage_id <= ours.storage_id:
            continue
        selects_step = other.asset_selection is None or bool(set(keys) & other.asset_selection)
        if selects_step and not _has_started_step(instance, other.run_id, step_key):
            return other.run_id
    return None
