"""Jobs: the build (every asset but the report), the morning monitor, the quarterly report.

The build job selects the assets one by one, dbt's among them, so it is built on the first
call of ``csp_build_job`` (cached): building it reads the contracts and dbt's manifest.
"""

from functools import cache

import dagster as dg

from orchestration.config import load_settings
from orchestration.dagster_internals import UnresolvedAssetJobDefinition
from orchestration.defs.assets import all_assets, quarterly_report
from orchestration.defs.partitions import QUARTERS
from orchestration.defs.resources import POOL, CspResource, MonitorConfig
from orchestration.monitor import run_monitor

BUILD_JOB = "csp_build"


@cache
def csp_build_job() -> UnresolvedAssetJobDefinition:
    """The build: ingest what is waiting, rebuild the warehouse and the exports."""
    return dg.define_asset_job(
        BUILD_JOB,
        selection=dg.AssetSelection.assets(*all_assets()),
        description="Ingest what is waiting in landing, rebuild the warehouse and the exports.",
    )


@dg.op(pool=POOL, description="Judge every feed's calendar today and send the alerts due.")
def feed_monitor(context: dg.OpExecutionContext, config: MonitorConfig, csp: CspResource) -> None:
    """The morning check: one alert per newly overdue period, recoveries, quarantined files."""
    settings = csp.settings()
    if config.as_of:
        settings = load_settings(settings.home, config.as_of, settings.la_code)
    result = run_monitor(settings)
    for message, _ in result.sent:
        context.log.info(f"sent: {message.title}")
    if result.failed:
        raise dg.Failure(
            f"{len(result.failed)} alert(s) could not be sent: "
            + "; ".join(m.title for m, _ in result.failed)
        )


@dg.job(description="Check every feed's delivery calendar and alert on-call.")
def monitor_job() -> None:
    """The morning monitor: ``feed_monitor`` alone."""
    feed_monitor()


report_job = dg.define_asset_job(
    "quarterly_report_job", selection=[quarterly_report], partitions_def=QUARTERS
)
