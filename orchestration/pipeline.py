"""Run the whole pipeline once, in-process, through the same Dagster definitions as the UI.

``csp build`` and ``csp demo`` call ``run_build``: every asset is materialised with a Dagster
instance stored under the home, so a build from the command line leaves the same run history
as one launched from ``dagster dev``.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from ingest.contracts import all_contracts
from ingest.landing import Outcome, ingest_feed
from orchestration.config import Settings
from orchestration.instance import write_instance_yaml

if TYPE_CHECKING:
    from ingest.rekey import RekeyResult


@dataclass
class BuildResult:
    """What a build did, for the command line to report."""

    success: bool
    seconds: float
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None
    log_path: Path | None = None
    failed_checks: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[dict[str, Any]]:
        """Files quarantined in this build."""
        return [d for d in self.deliveries if d["action"] == "rejected"]


def _step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds per step of a run, from Dagster's event log (where the time of a build goes)."""
    started: dict[str, float] = {}
    durations: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            begun = started.get(event.step_key, entry.timestamp)
            durations[event.step_key] = round(entry.timestamp - begun, 2)
    return durations


def _delivery_outcomes(result: dg.ExecuteInProcessResult) -> list[dict[str, Any]]:
    outcomes: dict[tuple[str, str], dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        entry = metadata.get("deliveries")
        if entry is None:
            continue
        for outcome in entry.value:
            outcomes[(outcome["feed"], outcome["sha256"])] = outcome
    return list(outcomes.values())


def _failed_delivery_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    """Feed calendar checks that did not pass, e.g. 'police_crime_on_time: stopped (...)'."""
    failed = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed or not evaluation.check_name.endswith("_on_time"):
            continue
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        overdue = metadata.get("overdue", "none")
        failed.append(f"{evaluation.check_name}: {metadata.get('state')}; overdue {overdue}"
                      if overdue != "none"
                      else f"{evaluation.check_name}: due soon ({metadata.get('next_due')})")
    return failed


def _first_failure(result: dg.ExecuteInProcessResult) -> str | None:
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            message = error.message if error else "step failed"
            if error and error.cause:
                message += f"\n{error.cause.message}"
            return f"{event.step_key}: {message.strip()}"
    return None


@contextmanager
def home_lock(home: Path, announce: Callable[[str], None] = print) -> Iterator[None]:
    """One build or ingest at a time per home: a second one waits for the first to finish.

    DuckDB allows one writer; two builds interleaving their steps would make dbt fail on the
    other's connection. The lock is an OS file lock, released even if the process is killed.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / ".csp.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            announce(f"Another csp build or ingest is running on {home} ({holder}); waiting "
                     "for it to finish...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


CLI_TAG = "csp/cli"


def reclaim_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the command-line runs left 'started' by a killed process, and free their slots.

    A killed build never releases its claim on the 'warehouse' pool, and the next build would
    wait for it for ever. Only call this holding the home lock: then no other command-line
    run can be alive. Runs launched from the Dagster UI are left to Dagster.
    """
    from dagster._core.storage.dagster_run import DagsterRunStatus

    stale = instance.get_run_records(filters=dg.RunsFilter(
        statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING,
                  DagsterRunStatus.NOT_STARTED],
        tags={CLI_TAG: "true"},
    ))
    for record in stale:
        run = record.dagster_run
        instance.report_run_failed(run, "abandoned: the csp process running it was killed")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [r.dagster_run.run_id for r in stale]


def run_ingest(settings: Settings) -> list[Outcome]:
    """Load what is waiting in landing into the raw layer, without rebuilding the marts."""
    pseudonymiser = settings.pseudonymiser()
    outcomes: list[Outcome] = []
    with home_lock(settings.home):
        for feed in all_contracts():
            outcomes += ingest_feed(feed, home=settings.home, warehouse=settings.warehouse_target,
                                    pseudonymiser=pseudonymiser, la_code=settings.la_code,
                                    min_age_seconds=settings.stable_seconds)
    return outcomes


def run_rekey(settings: Settings, domain: str) -> RekeyResult:
    """Rotate one pseudonymisation key, holding the home so nothing loads meanwhile."""
    from ingest.rekey import rekey

    with home_lock(settings.home):
        return rekey(settings.home, settings.warehouse_target, settings.pseudonymiser(), domain)


def run_build(settings: Settings, log_level: str = "WARNING",
              full_refresh: bool = False) -> BuildResult:
    """Ingest what is waiting in landing, build the warehouse and write the exports.

    ``full_refresh`` rebuilds the incremental models from every row instead of the rows new
    deliveries touch.
    """
    with home_lock(settings.home):
        return _run_build_locked(settings, log_level, full_refresh)


def _run_build_locked(settings: Settings, log_level: str, full_refresh: bool) -> BuildResult:
    # Refuse before anything is read: no key, no personal data loaded.
    settings.pseudonymiser()
    from orchestration.dbt import dbt_resource
    from orchestration.definitions import (  # the import parses dbt on a fresh clone
        ALL_ASSETS,
        DELIVERY_CHECKS,
        CspResource,
    )

    write_instance_yaml(settings.dagster_home)
    started = time.perf_counter()
    log_path = settings.home / "logs" / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    quiet = log_level in ("WARNING", "ERROR")
    # dagster-dbt echoes every dbt event to stdout; on the command line that goes to the log.
    with (log_path.open("w", encoding="utf-8") if quiet else nullcontext(sys.stdout)) as sink, \
            redirect_stdout(sink), \
            dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        reclaim_abandoned_runs(instance)
        result = dg.materialize(
            [*ALL_ASSETS, *DELIVERY_CHECKS],
            instance=instance,
            resources={
                "csp": CspResource(home=str(settings.home), as_of=settings.as_of.isoformat(),
                                   la_code=settings.la_code, full_refresh=full_refresh),
                "dbt": dbt_resource(),
            },
            raise_on_error=False,
            # The command line prints its own summary; Dagster's debug stream is for the UI.
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={"csp/as_of": settings.as_of.isoformat(), "csp/la_code": settings.la_code,
                  CLI_TAG: "true"},
        )
        steps = _step_durations(instance, result.run_id)
    return BuildResult(
        success=result.success,
        seconds=round(time.perf_counter() - started, 2),
        deliveries=_delivery_outcomes(result),
        step_seconds=steps,
        failure=None if result.success else _first_failure(result),
        log_path=log_path if quiet else None,
        failed_checks=_failed_delivery_checks(result),
    )
