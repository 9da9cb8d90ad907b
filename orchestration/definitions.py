"""Dagster definitions: the whole pipeline as one asset graph (the code location).

    configuration ─┐
    ingest_<feed> ─┼─> raw/deliveries ─> dbt (staging → intermediate → marts) ─> exports
    landing sensor: one run per delivery (run key = feed + SHA-256); runs that arrive
    together share one dbt build (``orchestration.runs``)

The definitions themselves are in ``orchestration/defs/``, one module per kind (assets,
checks, jobs, schedules, sensors, resources, partitions); this module assembles them. It is
the module ``[tool.dagster]`` names in pyproject.toml, which ``csp ui`` (``dagster dev -w``
on a workspace naming it ``csp_warehouse``, orchestration/location.py), the services of
deploy/ and every run's process load.

Importing it reads no file and starts no process: Dagster calls ``defs`` when it loads the
code location, and only then are the feed contracts read and dbt's manifest parsed if stale.
Everything that opens the DuckDB file is in the concurrency pool ``warehouse``, limited to
one (``orchestration.defs.resources``). A run's steps all execute in its own process
(``in_process_executor``).
"""

import dagster as dg

from orchestration.dbt import dbt_resource
from orchestration.defs.assets import all_assets, quarterly_report
from orchestration.defs.checks import delivery_checks
from orchestration.defs.jobs import csp_build_job, monitor_job, report_job
from orchestration.defs.resources import CspResource
from orchestration.defs.schedules import morning_monitor, quarterly_report_schedule
from orchestration.defs.sensors import alert_on_run_failure, landing_sensor
from orchestration.memory import limit_malloc_arenas


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: every asset, check, job, schedule, sensor and resource."""
    # The Dagster processes that load these definitions (code server, run workers) run the
    # ingest's threads too; the command line has already done this.
    limit_malloc_arenas()
    return dg.Definitions(
        assets=[*all_assets(), quarterly_report],
        # Every step of a run in the run's own process. Dagster's default starts a process per
        # step, each loading these definitions and dbt's manifest again (about 3 s a step, 23 s
        # of a 37 s sensor run), for no parallelism: the steps that touch the warehouse run one
        # at a time in the pool anyway. A run whose process dies is still marked failed, by the
        # code server that started it, so the failure sensor still alerts.
        executor=dg.in_process_executor,
        asset_checks=list(delivery_checks()),
        jobs=[csp_build_job(), monitor_job, report_job],
        schedules=[morning_monitor, quarterly_report_schedule],
        sensors=[landing_sensor, alert_on_run_failure],
        resources={
            "csp": CspResource(),
            "dbt": dbt_resource(),
        },
    )
