"""Sensors: one run per new delivery in landing, and an alert for every failed run.

The landing sensor asks for one run per delivery (run key = feed + SHA-256); runs that arrive
together share one dbt build (``orchestration.runs``).
"""

import json
from pathlib import Path
from typing import Any

import dagster as dg

from core.contracts import all_contracts
from ingest.archive_quarantine import is_archived
from ingest.arrivals import LandedHashes, entry_identity, hash_or_none, scan_landing
from ingest.redaction import safe_file_name
from orchestration.defs.assets import CONFIG_KEYS, all_assets, dbt_models, ingest_assets
from orchestration.defs.jobs import BUILD_JOB
from orchestration.defs.resources import CspResource
from orchestration.monitor import notify_run_failure


def _landing_cursor(raw: str | None) -> dict[str, list[Any]]:
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}


@dg.sensor(
    # By name: the job selects dbt's assets, so it is built with the definitions
    # (orchestration.defs.jobs.csp_build_job), not when this module is imported.
    job_name=BUILD_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One run per new delivery in landing/<feed>/ (run key = feed + SHA-256).",
)
def landing_sensor(context: dg.SensorEvaluationContext, csp: CspResource) -> dg.SensorResult:
    """Request a run for each file whose bytes have not been seen before."""
    settings = csp.settings()
    # path -> [size, mtime_ns] at the last tick: a file is taken once it has stopped changing.
    seen = _landing_cursor(context.cursor)
    cursor: dict[str, list[Any]] = {}
    requests = []
    for feed, contract in all_contracts().items():
        ingest_keys = [
            spec.key
            for asset in ingest_assets()
            if asset.op.name == f"ingest_{feed}"
            for spec in asset.specs
        ]
        # The ingest's own store: a file is hashed again only when it has changed, by the
        # same rule (inode, size, mtime, ctime) whichever of the two reads it first.
        hashes = LandedHashes.of_feed(settings.home, feed)
        # The whole dbt project, as csp build runs it: the models downstream of the feed
        # alone leave out those with no feed upstream (the quarter spine, the seeds), which
        # a home whose first build is this run has never built.
        selection = list(
            (
                dg.AssetSelection.assets(*ingest_keys, *CONFIG_KEYS).downstream()
                | dg.AssetSelection.assets(dbt_models())
            ).resolve(all_assets())
        )

        def request(
            path: Path, identity: str, feed: str = feed, selection: list[dg.AssetKey] = selection
        ) -> dg.RunRequest:
            shown = safe_file_name(path.name)
            return dg.RunRequest(
                run_key=f"{feed}:{identity}",
                run_config={"ops": {f"ingest_{feed}": {"config": {"files": [path.name]}}}},
                asset_selection=selection,
                tags={"csp/feed": feed, "csp/file": shown, "csp/sha256": identity},
            )

        # Links, pipes and devices are never read: their run refuses them with a reason.
        scan = scan_landing(settings.landing, contract)
        requests += [request(path, entry_identity(path)) for path, _ in scan.refused]
        for path in scan.files:
            stat = path.stat()
            cursor[str(path)] = [stat.st_size, stat.st_mtime_ns]
            if seen.get(str(path)) != cursor[str(path)]:
                # First sight, or still changing: look again next tick, so a file being
                # copied in is never taken half-written.
                continue
            sha = hash_or_none(hashes.sha256, path)
            if sha is None:  # unreadable: its run quarantines it with the reason
                requests.append(request(path, entry_identity(path)))
            elif not is_archived(settings.home, feed, sha):  # else delivered: no run at all
                requests.append(request(path, sha))
        hashes.save()
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor))


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on-call when any pipeline run fails.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """One alert per failed run, through the same channels as the feed alerts."""
    settings = CspResource().settings()
    error = context.failure_event.message or "run failed"
    notify_run_failure(settings, context.dagster_run.run_id, context.dagster_run.job_name, error)
