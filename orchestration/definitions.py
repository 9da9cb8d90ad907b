"""Dagster definitions: the whole pipeline as one asset graph.

    configuration ─┐
    ingest_<feed> ─┼─> raw/deliveries ─> dbt (staging → intermediate → marts) ─> exports
    landing sensor: one run per delivery (run key = feed + SHA-256); runs that arrive
    together share one dbt build (``orchestration.runs``)

Everything that opens the DuckDB file is in the concurrency pool ``warehouse``, limited to one
(see ``orchestration.instance``): DuckDB allows a single writer, and dbt fails on any other
connection. A run's steps all execute in its own process (``in_process_executor``).
"""


import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from core.contracts import FeedContract, all_contracts
from core.dbt_project import settings_dbt_environment
from core.periods import parse_quarter_label, quarter_label
from core.settings import Settings
from exports.indicators import write_indicator_exports
from exports.publish import publish_warehouse
from ingest.landing import (
    LandedHashes,
    entry_identity,
    hash_or_none,
    ingest_feed,
    is_archived,
    log_lines,
    scan_landing,
    summarise,
)
from ingest.pseudonymise import pseudonymiser_for
from ingest.redaction import safe_file_name
from ingest.reference import read_reference
from ingest.warehouse import connect, ensure_raw_schema, write_configuration
from orchestration.config import load_settings
from orchestration.dbt import dbt_build_args, dbt_resource, ensure_manifest
from orchestration.feed_status import FeedStatus, feed_statuses
from orchestration.memory import limit_malloc_arenas
from orchestration.monitor import (
    load_state,
    notify_quarantined,
    notify_run_failure,
    run_monitor,
)
from orchestration.runs import later_run_to_build

# The Dagster processes that import these definitions (code server, run workers) run the
# ingest's threads too; the command line has already done this.
limit_malloc_arenas()

POOL = "warehouse"
class CspResource(dg.ConfigurableResource):
    """The build's settings; unset fields fall back to CSP_* variables and ``csp.toml``."""

    home: str | None = None
    as_of: str | None = None
    la_code: str | None = None
    # Rebuild the incremental dbt models from every row (csp build --full-refresh).
    full_refresh: bool = False

    def settings(self) -> Settings:
        """Resolve the settings now (so a schedule's 'today' is the run's today)."""
        return load_settings(self.home, self.as_of, self.la_code)


class IngestConfig(dg.Config):
    """Which landed files to ingest: by default every file waiting for the feed."""

    files: list[str] = []


def _raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


CONFIG_KEYS = [_raw_key("partnership"), _raw_key("feed_calendar"), _raw_key("lsoa_lookup"),
               _raw_key("district_lookup"), _raw_key("lsoa_population")]
DELIVERIES_KEY = _raw_key("deliveries")


@dg.multi_asset(
    name="partnership_configuration",
    specs=[
        dg.AssetSpec(CONFIG_KEYS[0], group_name="ingest", kinds={"duckdb"},
                     description="The partnership this warehouse reports for (LA code, name)."),
        dg.AssetSpec(CONFIG_KEYS[1], group_name="ingest", kinds={"duckdb"},
                     description="Each feed's delivery calendar: cadence, due rule, suspension."),
        dg.AssetSpec(CONFIG_KEYS[2], group_name="ingest", kinds={"duckdb"},
                     description="LSOA to local authority district, placing police.uk records "
                                 "and the crimes of a force-wide police extract (an ONS lookup "
                                 "or lsoa_la_lookup.csv in HOME/reference)."),
        dg.AssetSpec(CONFIG_KEYS[3], group_name="ingest", kinds={"duckdb"},
                     description="District to Community Safety Partnership to police force "
                                 "area (the ONS lookup in HOME/reference)."),
        dg.AssetSpec(CONFIG_KEYS[4], group_name="ingest", kinds={"duckdb"},
                     description="Residents of each LSOA by mid-year estimate (ONS small-area "
                                 "population estimates in HOME/reference)."),
    ],
    pool=POOL,
)
def partnership_configuration(context: dg.AssetExecutionContext, csp: CspResource) -> Iterator[
    dg.MaterializeResult
]:
    """Write the configuration tables the indicator logic reads."""
    settings = csp.settings()
    reference = read_reference(settings.reference_folder, settings.configured_lsoa_lookup)
    for note in reference.notes:
        context.log.warning(f"reference: {note}")
    with connect(settings.warehouse_target) as con:
        ensure_raw_schema(con)
        write_configuration(con, settings.la_code, settings.la_name, settings.calendar,
                            reference.lsoa_lookup, reference.district_lookup,
                            reference.population)
    suspended = [e.feed for e in settings.calendar if e.suspended_since]
    used = {f.layout: f for f in reference.files if f.used}

    def described(layout: str, table: Any) -> dict[str, Any]:
        chosen = used.get(layout)
        return {"file": chosen.path.name if chosen else "none",
                "rows": table.num_rows if table is not None else 0}

    yield dg.MaterializeResult(asset_key=CONFIG_KEYS[0], metadata={
        "la_code": settings.la_code, "name": settings.la_name,
        "districts": ", ".join(settings.districts)})
    yield dg.MaterializeResult(asset_key=CONFIG_KEYS[1], metadata={
        "feeds": len(settings.calendar), "suspended": ", ".join(suspended) or "none"})
    lookup_layout = "lsoa_lookup" if "lsoa_lookup" in used else "legacy_lsoa_lookup"
    yield dg.MaterializeResult(asset_key=CONFIG_KEYS[2],
                               metadata=described(lookup_layout, reference.lsoa_lookup))
    yield dg.MaterializeResult(asset_key=CONFIG_KEYS[3],
                               metadata=described("district_lookup", reference.district_lookup))
    yield dg.MaterializeResult(asset_key=CONFIG_KEYS[4], metadata={
        "files": ", ".join(f.path.name for f in reference.files
                           if f.used and f.layout == "population") or "none",
        "rows": reference.population.num_rows if reference.population is not None else 0})


CADENCE_DAYS = {"monthly": 31, "quarterly": 92}


def ingest_freshness(contract: FeedContract) -> dg.FreshnessPolicy:
    """The pipeline must have looked at the feed within one period plus its due days.

    Dagster's freshness knows when an asset was last materialised, not a partner's calendar:
    this catches a pipeline that stopped running. Late partner files are the asset checks'
    job (``feed_delivery_check``), which know the calendar.
    """
    fail = timedelta(days=CADENCE_DAYS[contract.cadence] + contract.due_days_after_period_end)
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=fail - timedelta(days=3))


def build_ingest_asset(contract: FeedContract) -> dg.AssetsDefinition:
    """One ingest asset per feed contract; a workbook with two sheets yields two raw tables."""
    specs = [
        dg.AssetSpec(
            _raw_key(table.name),
            group_name="ingest",
            kinds={"duckdb"},
            freshness_policy=ingest_freshness(contract),
            description=f"{contract.description} (raw rows of every delivery, with history).",
            metadata={"feed": contract.feed, "partner": contract.partner,
                      "cadence": contract.cadence},
        )
        for table in contract.tables
    ]

    expectations_check = dg.AssetCheckSpec(
        f"{contract.feed}_expectations",
        asset=specs[0].key,
        blocking=True,
        description="Every delivery of this run met the feed's contract and expectation suite "
                    "(a file that did not is quarantined with its reason, and warns here).",
    )

    @dg.multi_asset(name=f"ingest_{contract.feed}", specs=specs, pool=POOL,
                    check_specs=[expectations_check])
    def _ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, csp: CspResource
    ) -> Iterator[dg.MaterializeResult]:
        settings = csp.settings()
        outcomes = ingest_feed(
            contract.feed, home=settings.home, warehouse=settings.warehouse_target,
            pseudonymiser=pseudonymiser_for(settings, [contract.feed]), la_code=settings.la_code,
            districts=settings.districts,
            min_age_seconds=settings.stable_seconds, files=config.files or None,
        )
        for level, message in log_lines(contract.feed, outcomes):
            getattr(context.log, level)(message)
        counts = summarise(outcomes)
        if counts["rejected"] and settings.alert_urls:
            notify_quarantined(settings)
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata={
                **counts,
                "deliveries": dg.MetadataValue.json([o.as_dict() for o in outcomes]),
            })
        rejected = [o for o in outcomes if o.action == "rejected"]
        # A rejected file is the gate working: warn (visible, not blocking), so every other
        # feed and figure is still built from what was good.
        yield dg.AssetCheckResult(
            check_name=expectations_check.name,
            asset_key=expectations_check.asset_key,
            passed=not rejected,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rejected": dg.MetadataValue.json(
                [{"file": o.file_name, "rule": o.problems[0].rule if o.problems else None,
                  "reason": o.reason} for o in rejected])},
        )

    return _ingest


INGEST_ASSETS = [build_ingest_asset(c) for c in all_contracts().values()]


@dg.asset(
    key=DELIVERIES_KEY,
    deps=[spec.key for asset in INGEST_ASSETS for spec in asset.specs],
    group_name="ingest",
    kinds={"duckdb"},
    pool=POOL,
    description="The manifest: one row per delivery (feed, file, SHA-256, period, rows, "
                "received, status), written by the ingest assets in the load transaction.",
)
def deliveries(csp: CspResource) -> dg.MaterializeResult:
    """Report the manifest after every ingest, so the graph has one join point before dbt."""
    settings = csp.settings()
    with connect(settings.warehouse_target) as con:
        ensure_raw_schema(con)
        rows = con.execute(
            "select status, count(*) from raw.deliveries group by status order by status"
        ).fetchall()
    return dg.MaterializeResult(metadata={status: count for status, count in rows})


class CspDbtTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer (staging, intermediate, marts) in the asset graph."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "marts"


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=CspDbtTranslator(),
    pool=POOL,
)
def csp_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, csp: CspResource
) -> Iterator[Any]:
    """dbt build: seeds, staging, intermediate and marts, with dbt tests as asset checks.

    A landing-sensor run leaves it to a later one that will build anyway (orchestration/runs.py).
    """
    later = later_run_to_build(context.instance, context.run, csp_dbt_models.op.name,
                               csp_dbt_models.keys)
    if later is not None:
        context.log.info(f"dbt build left to run {later}, queued after this one: it builds "
                         "from every delivery ingested by then, this one's included")
        return
    settings = csp.settings()
    os.environ.update(settings_dbt_environment(settings))
    invocation = dbt.cli(
        dbt_build_args(settings.as_of, settings.la_code, settings.similar_areas,
                       full_refresh=csp.full_refresh),
        context=context,
        target_path=settings.dbt_target,
    )
    yield from invocation.stream()


@dg.asset(
    key=["exports", "indicators"],
    deps=[dg.AssetKey("fct_indicator_quarter"), dg.AssetKey("fct_feed_delivery")],
    group_name="exports",
    kinds={"csv", "parquet"},
    pool=POOL,
    description="exports/indicators.csv (+ .parquet) and exports/feed_deliveries.csv.",
)
def indicator_exports(context: dg.AssetExecutionContext, csp: CspResource) -> dg.MaterializeResult:
    """Write the analysts' CSV contract from the finished marts."""
    settings = csp.settings()
    written = write_indicator_exports(
        settings.postgres if settings.target == "postgres" else settings.warehouse,
        settings.exports)
    for path in written.values():
        context.log.info(f"wrote {path}")
    return dg.MaterializeResult(metadata={name: str(p) for name, p in written.items()})


@dg.asset(
    key=["published", "warehouse"],
    deps=[indicator_exports.key],
    group_name="exports",
    kinds={"duckdb"},
    pool=POOL,
    description="published/warehouse.duckdb: a finished copy for analysts and the report, "
                "swapped in atomically so readers never block a build.",
)
def published_warehouse(csp: CspResource) -> dg.MaterializeResult:
    """Publish the built warehouse for readers."""
    settings = csp.settings()
    if settings.target == "postgres":  # readers query Postgres itself (csp_analyst)
        return dg.MaterializeResult(metadata={"skipped": "target is postgres"})
    path = publish_warehouse(settings.warehouse, settings.home)
    return dg.MaterializeResult(metadata={"path": str(path),
                                          "bytes": path.stat().st_size})


ALL_ASSETS = [partnership_configuration, *INGEST_ASSETS, deliveries, csp_dbt_models,
              indicator_exports, published_warehouse]


def build_delivery_check(contract: FeedContract) -> dg.AssetChecksDefinition:
    """Fails when a period of the feed is overdue; warns within three days of a due date."""

    @dg.asset_check(
        asset=_raw_key(contract.tables[0].name),
        name=f"{contract.feed}_on_time",
        description=f"{contract.feed} has delivered every period past its due date "
                    f"(due {contract.due_days_after_period_end} days after the period ends).",
        pool=POOL,
        blocking=False,
    )
    def _check(csp: CspResource) -> dg.AssetCheckResult:
        settings = csp.settings()
        deliveries, _ = load_state(settings)
        entries = [e for e in settings.calendar if e.feed == contract.feed]
        # One status per calendar: per partner where each partner sends on its own.
        statuses = feed_statuses(entries, deliveries, settings.as_of)

        def name(status: FeedStatus) -> str:
            return status.feed if len(statuses) == 1 else f"{status.feed}:{status.partner}"

        metadata = {
            "as_of": settings.as_of.isoformat(),
            "state": ", ".join(f"{name(st)} {st.state}" for st in statuses),
            "next_due": ", ".join(f"{name(st)} {st.next_period} by {st.next_due}"
                                  for st in statuses if st.next_due) or "",
            "overdue": ", ".join(f"{name(st)} {p.label} (due {p.due})"
                                 for st in statuses for p in st.overdue) or "none",
        }
        if any(st.state in ("late", "stopped") for st in statuses):
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                       metadata=metadata)
        if any(st.due_soon for st in statuses):
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                       metadata=metadata)
        return dg.AssetCheckResult(passed=True, metadata=metadata)

    return _check


DELIVERY_CHECKS = [build_delivery_check(c) for c in all_contracts().values()]


class MonitorConfig(dg.Config):
    """The day the check judges (YYYY-MM-DD); empty means the resource's as-of, or today."""

    as_of: str = ""


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
        raise dg.Failure(f"{len(result.failed)} alert(s) could not be sent: "
                         + "; ".join(m.title for m, _ in result.failed))


@dg.job(description="Check every feed's delivery calendar and alert on-call.")
def monitor_job() -> None:
    feed_monitor()


@dg.schedule(
    job=monitor_job,
    cron_schedule="0 7 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 07:00 (UK time): is any partner file overdue?",
)
def morning_monitor(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The day's check; the as-of date is the scheduled day (so a late tick judges its day)."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(
        run_key=f"monitor:{day}",
        run_config={"ops": {"feed_monitor": {"config": {"as_of": day}}}},
    )


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on-call when any pipeline run fails.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """One alert per failed run, through the same channels as the feed alerts."""
    settings = CspResource().settings()
    error = context.failure_event.message or "run failed"
    notify_run_failure(settings, context.dagster_run.run_id, context.dagster_run.job_name, error)

# Financial-year quarters (DESIGN.md pinned fact): 2014-07-01 is 2014/15 Q2.
QUARTERS = dg.TimeWindowPartitionsDefinition(
    start="2012-04-01", cron_schedule="0 0 1 1,4,7,10 *", fmt="%Y-%m-%d",
    timezone="Europe/London",
)


@dg.asset(
    key=["exports", "quarterly_report"],
    deps=[published_warehouse.key],
    partitions_def=QUARTERS,
    group_name="exports",
    kinds={"html", "xlsx", "parquet"},
    pool=POOL,
    description="The quarter's report (and public version), board pack and analyst exports.",
)
def quarterly_report(context: dg.AssetExecutionContext, csp: CspResource) -> dg.MaterializeResult:
    """The report of the partition's quarter, from the published warehouse."""
    from exports.report import write_quarter_outputs

    quarter = quarter_label(date.fromisoformat(context.partition_key))
    written = write_quarter_outputs(csp.settings(), quarter, public=True)
    return dg.MaterializeResult(metadata={"quarter": quarter, **{
        name: str(path) for name, path in written.items() if isinstance(path, Path)}})


report_job = dg.define_asset_job("quarterly_report_job", selection=[quarterly_report],
                                 partitions_def=QUARTERS)


def working_day_of_month(day: date) -> int:
    """1 for the month's first weekday, 2 for the second... (bank holidays not counted out)."""
    return sum(1 for d in range(1, day.day + 1) if date(day.year, day.month, d).weekday() < 5)


@dg.schedule(
    job=report_job,
    # Weekdays early in the month after each quarter: the function picks the fifth.
    cron_schedule="0 8 1-10 1,4,7,10 1-5",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The quarter's report on the fifth working day after it ends.",
)
def quarterly_report_schedule(context: dg.ScheduleEvaluationContext):
    """Report the quarter just ended, on the fifth working day of the next month."""
    day = context.scheduled_execution_time.date()
    if working_day_of_month(day) != 5:
        return dg.SkipReason(f"{day} is not the fifth working day of the month")
    ended = parse_quarter_label(quarter_label(day.replace(day=1) - timedelta(days=1)))
    return dg.RunRequest(run_key=f"report:{ended.start:%Y-%m-%d}",
                         partition_key=ended.start.strftime("%Y-%m-%d"))


build_job = dg.define_asset_job(
    "csp_build",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    description="Ingest what is waiting in landing, rebuild the warehouse and the exports.",
)


def _landing_cursor(raw: str | None) -> dict[str, list[Any]]:
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}


@dg.sensor(
    job=build_job,
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
            spec.key for asset in INGEST_ASSETS if asset.op.name == f"ingest_{feed}"
            for spec in asset.specs
        ]
        # The ingest's own store: a file is hashed again only when it has changed, by the
        # same rule (inode, size, mtime, ctime) whichever of the two reads it first.
        hashes = LandedHashes.of_feed(settings.home, feed)
        # The whole dbt project, as csp build runs it: the models downstream of the feed
        # alone leave out those with no feed upstream (the quarter spine, the seeds), which
        # a home whose first build is this run has never built.
        selection = list((dg.AssetSelection.assets(*ingest_keys, *CONFIG_KEYS).downstream()
                          | dg.AssetSelection.assets(csp_dbt_models)).resolve(ALL_ASSETS))

        def request(path: Path, identity: str, feed: str = feed,
                    selection: list[dg.AssetKey] = selection) -> dg.RunRequest:
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


defs = dg.Definitions(
    assets=[*ALL_ASSETS, quarterly_report],
    # Every step of a run in the run's own process. Dagster's default starts a process per
    # step, each importing these definitions and dbt's manifest again (about 3 s a step, 23 s
    # of a 37 s sensor run), for no parallelism: the steps that touch the warehouse run one at
    # a time in the pool anyway. A run whose process dies is still marked failed, by the code
    # server that started it, so the failure sensor still alerts.
    executor=dg.in_process_executor,
    asset_checks=DELIVERY_CHECKS,
    jobs=[build_job, monitor_job, report_job],
    schedules=[morning_monitor, quarterly_report_schedule],
    sensors=[landing_sensor, alert_on_run_failure],
    resources={
        "csp": CspResource(),
        "dbt": dbt_resource(),
    },
)
