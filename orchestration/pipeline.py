"""Run the whole pipeline once, in-process, through the same Dagster definitions as the UI.

``csp build`` and ``csp demo`` call ``run_build``: the job ``csp_build`` runs in process with
the Dagster instance stored under the home, so a build from the command line leaves the same
run history as one launched from ``dagster dev``, listed under the same job.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from core.contracts import all_contracts
from core.settings import ConfigError, Settings
from exports.publish import last_build_path, published_path
from ingest.arrivals import unowned_entries, unowned_message
from ingest.landing import Outcome, ingest_feed
from ingest.pseudonymise import pseudonymiser_for
from ingest.reference import ReferenceError, read_reference
from ingest.rekey import RekeyResult, rekey
from orchestration.config import remember_partnership
from orchestration.instance import write_instance_yaml
from orchestration.location import location_run_tags


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
    warnings: list[str] = field(default_factory=list)

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
    """Every landed file's outcome in the run, once each.

    A feed whose delivery fills several raw tables (a workbook with two sheets) is one
    multi-asset that reports the same outcomes on each of its tables, hence the dedup. It is
    by file as well as by bytes: the same bad bytes under two names are two rejections, and
    ``--strict`` and the summary must count both.
    """
    outcomes: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        entry = metadata.get("deliveries")
        if entry is None:
            continue
        for outcome in entry.value:
            outcomes[(outcome["feed"], outcome["file"], outcome["sha256"])] = outcome
    return list(outcomes.values())


def _failed_delivery_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    """Feed calendar checks that did not pass, e.g. 'police_crime_on_time: stopped (...)'."""
    failed = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed or not evaluation.check_name.endswith("_on_time"):
            continue
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        overdue = metadata.get("overdue", "none")
        failed.append(
            f"{evaluation.check_name}: {metadata.get('state')}; overdue {overdue}"
            if overdue != "none"
            else f"{evaluation.check_name}: due soon ({metadata.get('next_due')})"
        )
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


def _to_stderr(message: str) -> None:
    # Flushed at once: under a pipe (cron, a CI job) it would otherwise appear only when the
    # wait is over.
    print(message, file=sys.stderr, flush=True)


@contextmanager
def home_lock(
    home: Path, announce: Callable[[str], None] = _to_stderr, command: str = "csp"
) -> Iterator[None]:
    """One build or ingest at a time per home: a second one waits for the first to finish.

    DuckDB allows one writer; two builds interleaving their steps would make dbt fail on the
    other's connection. The lock is an OS file lock, released even if the process is killed.
    ``command`` (e.g. "csp build") is recorded in the lock file, so that a command kept
    waiting can say who it waits for.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / ".csp.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that has not yet said which"
            announce(
                f"Another csp command is already working on {home} ({holder}). Only one "
                f"build, ingest, re-key or report runs on a home at a time, so this "
                f"{command} is waiting and will start by itself as soon as that one "
                "ends. Nothing has been changed yet: press Ctrl-C to give up."
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"{command}, process {os.getpid()}, running since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


# Where a killed build or ingest may leave ``*.partial`` files (written whole, then renamed):
# the archive and quarantine copies, the exports, the published warehouse, the landed-hash
# cache. Never landing: there a ``.partial`` is a partner's upload still being copied in.
PARTIAL_FOLDERS = ("archive", "quarantine", "exports", "published", "state")
# A Dagster run launched from the UI (csp ui) does not take the home lock, so a partial file
# that changed this recently may be its write in progress; it is left for a later build.
PARTIAL_GRACE_SECONDS = 60.0


def remove_leftover_partials(
    home: Path, grace_seconds: float = PARTIAL_GRACE_SECONDS
) -> list[Path]:
    """Delete the ``*.partial`` files a killed build or ingest left behind; return them.

    Every file csp writes for keeps is first written as ``<name>.partial`` (or
    ``.<name>.partial``) and renamed into place, so a leftover one is never a complete file:
    only clutter, which can be as big as the warehouse, and an archive leftover
    (``archive/<feed>/<sha256>.<ext>.partial``) would pass for the delivery being archived.
    Call it holding the home lock. Only ``PARTIAL_FOLDERS`` are searched, without following
    links, and files changed in the last ``grace_seconds`` are kept.
    """
    removed: list[Path] = []
    cutoff = time.time() - grace_seconds
    for name in PARTIAL_FOLDERS:
        for folder, _, files in os.walk(home / name):  # os.walk follows no link
            for file_name in files:
                if not file_name.endswith(".partial"):
                    continue
                path = Path(folder) / file_name
                try:
                    if path.lstat().st_mtime > cutoff:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue  # gone meanwhile
                removed.append(path)
    return removed


class WarehouseUnavailable(RuntimeError):
    """The DuckDB warehouse cannot be opened for writing: the message says why, and what to do.

    ``kind`` is "damaged", "locked" or "unopenable". Raised before anything is read or
    written, so the command changed nothing.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# What DuckDB says of a file that is not (or no longer) a whole DuckDB database.
_DAMAGE_SIGNS = (
    "not a valid duckdb database file",
    "could not read enough bytes",
    "corrupt database file",
    "checksum",
    "file is truncated",
)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def check_warehouse(settings: Settings, rerun: str) -> None:
    """Open the DuckDB warehouse once, before anything else, to fail early and plainly.

    A damaged file or one another program holds would otherwise fail every ingest step in
    turn, each with Dagster's stack trace. ``rerun`` is the command to run again afterwards
    (e.g. "csp build --home DIR"). Nothing to check on Postgres or before the first build.
    """
    path = settings.warehouse_target
    if not isinstance(path, Path) or not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as error:
        said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        said += "" if said.endswith((".", "!", "?")) else "."
        holder = _LOCK_HOLDER.search(said)
        if "could not set lock" in said.lower():
            raise WarehouseUnavailable(_locked_message(settings, holder, rerun), "locked") from None
        damaged = any(sign in said.lower() for sign in _DAMAGE_SIGNS)
        raise WarehouseUnavailable(
            _unopenable_message(settings, said, damaged, rerun),
            "damaged" if damaged else "unopenable",
        ) from None


def _locked_message(settings: Settings, holder: re.Match[str] | None, rerun: str) -> str:
    who = (
        f"process {holder['pid']} ({holder['program']})"
        if holder
        else "another process (DuckDB did not say which)"
    )
    return (
        f"the warehouse {settings.warehouse} is open in another program, {who}, and "
        "DuckDB lets only one program at a time open it for writing, so nothing was "
        "loaded or changed. If it is an analyst's session (the duckdb command line, "
        "Python, DBeaver), close it: analysts should open "
        f"{published_path(settings.home)} instead, the copy published after each "
        "successful build, which never stands in a build's way. If it is a run started "
        f"from the Dagster UI, let it finish. Then run `{rerun}` again."
    )


def _unopenable_message(settings: Settings, said: str, damaged: bool, rerun: str) -> str:
    warehouse = settings.warehouse
    if not damaged:  # e.g. permissions, or a newer DuckDB's file: moving it aside would not help
        return (
            f"the warehouse {warehouse} cannot be opened, although it does not look "
            f"damaged. DuckDB says: {said} Nothing was loaded or changed. Put right what "
            f"DuckDB names, then run `{rerun}` again."
        )
    aside = warehouse.with_name(warehouse.name + ".damaged")
    backup = last_build_path(settings.home)
    start = (
        f"the warehouse {warehouse} cannot be opened: it looks damaged (overwritten or "
        f"cut short). DuckDB says: {said} Nothing was loaded or changed. "
    )
    # The archive cannot rebuild it by itself: its files are named by their SHA-256, and a
    # delivery's period is read from its name (README.md, "When a partner's file is wrong").
    # The last successful build's whole copy holds the raw layer (the published copy, for
    # analysts, holds the marts only).
    if backup.exists():
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
        restore = (
            f"To recover, move it aside and put back the copy kept by the last "
            f"successful build ({made}), which holds every delivery loaded until then: "
            f"`mv {warehouse} {aside}` then `cp {backup} {warehouse}`, then run "
            f"`{rerun}` again; the files in {settings.landing} loaded since then are "
            "loaded again. "
        )
    else:
        restore = (
            f"To recover, move it aside (`mv {warehouse} {aside}`) and run `{rerun}` "
            f"again: it starts a new warehouse from the files still in "
            f"{settings.landing}. "
        )
    archive = settings.home / "archive"
    listed = settings.exports / "feed_deliveries.csv"
    names = f" (each is listed with its SHA-256 in {listed})" if listed.exists() else ""
    return (
        start
        + restore
        + (
            f"csp cannot rebuild from {archive} alone: its files are named by their SHA-256, and "
            "a delivery's period is read from its original name. To bring one back, copy it into "
            f"its landing folder under its original name{names}; never under the archive's "
            "name: that is rejected, and from then on so are those bytes, whatever their name."
        )
    )


def missing_landing(settings: Settings, what_happens: str) -> str | None:
    """A warning when the home has no landing folder, else None.

    Not an error (a partnership may have nothing to send yet), but without it nothing is ever
    ingested, and a mistyped ``--home`` looks exactly like "nothing new".
    """
    if settings.landing.is_dir():
        return None
    feeds = ", ".join(all_contracts())
    return (
        f"Warning: there is no landing folder at {settings.landing}, so nothing was "
        f"ingested; {what_happens} Partners' files go in {settings.landing}/<feed>/, one "
        f"folder per feed: {feeds}. If {settings.home} is not the partnership's home, "
        "check --home (or CSP_HOME)."
    )


def reference_warnings(settings: Settings) -> list[str]:
    """One line per reference file not used, and why (``reference/<file>: not used: ...``).

    ConfigError (one line naming the file, the columns expected and what to download) when
    the files contradict each other."""
    try:
        reference = read_reference(settings.reference_folder, settings.configured_lsoa_lookup)
    except ReferenceError as error:
        raise ConfigError(f"{settings.reference_folder}: {error}") from None
    return [f"reference/{note}" for note in reference.notes]


CLI_TAG = "csp/cli"


def reclaim_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the command-line runs left 'started' by a killed process, and free their slots.

    A killed build never releases its claim on the 'warehouse' pool, and the next build would
    wait for it for ever. Only call this holding the home lock: then no other command-line
    run can be alive. Runs launched from the Dagster UI are left to Dagster.
    """
    stale = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.NOT_STARTED,
            ],
            tags={CLI_TAG: "true"},
        )
    )
    for record in stale:
        run = record.dagster_run
        instance.report_run_failed(run, "abandoned: the csp process running it was killed")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [r.dagster_run.run_id for r in stale]


def run_ingest(settings: Settings) -> list[Outcome]:
    """Load what is waiting in landing into the raw layer, without rebuilding the marts.

    Raises ``WarehouseUnavailable`` (nothing changed) when the warehouse cannot be opened.
    """
    pseudonymiser = pseudonymiser_for(settings, all_contracts())
    outcomes: list[Outcome] = []
    with home_lock(settings.home, command="csp ingest"):
        check_warehouse(settings, f"csp ingest --home {settings.home}")
        remove_leftover_partials(settings.home)
        for feed in all_contracts():
            outcomes += ingest_feed(
                feed,
                home=settings.home,
                warehouse=settings.warehouse_target,
                pseudonymiser=pseudonymiser,
                la_code=settings.la_code,
                districts=settings.districts,
                min_age_seconds=settings.stable_seconds,
            )
    return outcomes


def run_rekey(settings: Settings, domain: str) -> RekeyResult:
    """Rotate one pseudonymisation key, holding the home so nothing loads meanwhile."""
    with home_lock(settings.home, command="csp rekey"):
        check_warehouse(settings, f"csp rekey {domain} --home {settings.home}")
        return rekey(settings.home, settings.warehouse_target, pseudonymiser_for(settings), domain)


def build_job(resources: Mapping[str, Any]) -> dg.JobDefinition:
    """The job ``csp_build`` as the UI has it, bound to ``resources`` for a run in process.

    The same job definition (``orchestration.defs.jobs.csp_build_job``), so the same assets
    and checks, resolved against the build's assets alone: the quarterly report, the sensors
    and the schedules play no part in it. Resolving costs what ``dg.materialize`` did, which
    builds its ``__ephemeral_asset_job__`` the same way.
    """
    # Imported here for the reason given in _run_build_locked.
    from orchestration.defs.assets import all_assets
    from orchestration.defs.checks import delivery_checks
    from orchestration.defs.jobs import BUILD_JOB, csp_build_job

    definitions = dg.Definitions(
        assets=list(all_assets()),
        asset_checks=list(delivery_checks()),
        jobs=[csp_build_job()],
        resources=resources,
    )
    return definitions.resolve_job_def(BUILD_JOB)


def run_build(
    settings: Settings, log_level: str = "WARNING", full_refresh: bool = False
) -> BuildResult:
    """Ingest what is waiting in landing, build the warehouse and write the exports.

    ``full_refresh`` rebuilds the incremental models from every row instead of the rows new
    deliveries touch. Raises ``WarehouseUnavailable`` (nothing changed) when the warehouse
    cannot be opened.
    """
    with home_lock(settings.home, command="csp build"):
        return _run_build_locked(settings, log_level, full_refresh)


def _run_build_locked(settings: Settings, log_level: str, full_refresh: bool) -> BuildResult:
    # Refuse before anything is read: no key, no personal data loaded (a home of public data
    # alone needs none).
    pseudonymiser_for(settings, all_contracts())
    # Then a warehouse that cannot be opened, before anything is written, so that the
    # message can say that nothing was changed.
    check_warehouse(settings, f"csp build --home {settings.home}")
    remove_leftover_partials(settings.home)
    warnings = [
        w
        for w in [
            missing_landing(
                settings, "the warehouse and exports are rebuilt from what is already loaded."
            ),
            unowned_message(settings.landing, unowned_entries(settings.landing)),
        ]
        if w
    ]
    warnings += reference_warnings(settings)
    # Imported here, not at the top: dagster-dbt and dbt-core add 2.1-2.2 s to this module's
    # import (-X importtime, three runs), which csp ingest and csp rekey never need.
    # build_job builds the assets, and parses the dbt project when its manifest is stale.
    from orchestration.dbt import dbt_resource
    from orchestration.defs.resources import CspResource

    resources = {
        "csp": CspResource(
            home=str(settings.home),
            as_of=settings.as_of.isoformat(),
            la_code=settings.la_code,
            full_refresh=full_refresh,
        ),
        "dbt": dbt_resource(),
    }
    write_instance_yaml(settings.dagster_home)
    started = time.perf_counter()
    log_path = settings.home / "logs" / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    quiet = log_level in ("WARNING", "ERROR")
    try:
        # dagster-dbt echoes every dbt event to stdout; on the command line that goes to the log.
        with (
            log_path.open("w", encoding="utf-8") if quiet else nullcontext(sys.stdout) as sink,
            redirect_stdout(sink),
            dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance,
        ):
            reclaim_abandoned_runs(instance)
            result = build_job(resources).execute_in_process(
                instance=instance,
                raise_on_error=False,
                # The command line prints its own summary; Dagster's debug stream is for the UI.
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
                tags={
                    "csp/as_of": settings.as_of.isoformat(),
                    "csp/la_code": settings.la_code,
                    CLI_TAG: "true",
                    # Listed by the UI under the job csp_build of the location csp_warehouse,
                    # beside the runs launched there.
                    **location_run_tags(),
                },
            )
            steps = _step_durations(instance, result.run_id)
    except Exception as error:
        # The command line's message names the build's log when it holds something to read.
        if quiet and log_path.exists() and log_path.stat().st_size:
            error.csp_log_path = log_path  # type: ignore[attr-defined]
        raise
    if result.success:
        remember_partnership(settings)
    return BuildResult(
        success=result.success,
        seconds=round(time.perf_counter() - started, 2),
        deliveries=_delivery_outcomes(result),
        step_seconds=steps,
        failure=None if result.success else _first_failure(result),
        log_path=log_path if quiet else None,
        failed_checks=_failed_delivery_checks(result),
        warnings=warnings,
    )
