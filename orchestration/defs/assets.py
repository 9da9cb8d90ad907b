"""The assets: configuration, one ingest per feed, the deliveries manifest, dbt, the exports.

    configuration ─┐
    ingest_<feed> ─┼─> raw/deliveries ─> dbt (staging → intermediate → marts) ─> exports

The assets that depend on the feed contracts or on dbt's manifest are built on the first call
of ``all_assets`` (cached), not at import: building the dbt assets may parse the dbt project
(``orchestration.dbt.ensure_manifest``). ``ALL_ASSETS`` names the same list, built when it is
first imported.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from core.contracts import FeedContract, all_contracts
from core.dbt_project import settings_dbt_environment
from core.periods import quarter_label
from exports.indicators import write_indicator_exports
from exports.publish import publish_warehouse
from exports.report import write_quarter_outputs
from ingest.landing import ingest_feed, log_lines, summarise
from ingest.pseudonymise import pseudonymiser_for
from ingest.reference import read_reference
from ingest.warehouse import (
    connect,
    ensure_raw_schema,
    write_configuration,
    write_feed_status,
)
from orchestration.dbt import dbt_build_args, ensure_manifest
from orchestration.defs.partitions import QUARTERS
from orchestration.defs.resources import POOL, CspResource, IngestConfig
from orchestration.monitor import notify_quarantined
from orchestration.report_run import REPORT_KEY
from orchestration.runs import later_run_to_build


def raw_key(table: str) -> dg.AssetKey:
    """The asset key of a table of the raw layer."""
    return dg.AssetKey(["raw", table])


CONFIG_KEYS = [
    raw_key("partnership"),
    raw_key("feed_calendar"),
    raw_key("lsoa_lookup"),
    raw_key("district_lookup"),
    raw_key("lsoa_population"),
]
DELIVERIES_KEY = raw_key("deliveries")


@dg.multi_asset(
    name="partnership_configuration",
    specs=[
        dg.AssetSpec(
            CONFIG_KEYS[0],
            group_name="ingest",
            kinds={"duckdb"},
            description="The partnership this warehouse reports for (LA code, name).",
        ),
        dg.AssetSpec(
            CONFIG_KEYS[1],
            group_name="ingest",
            kinds={"duckdb"},
            description="Each feed's delivery calendar: cadence, due rule, suspension.",
        ),
        dg.AssetSpec(
            CONFIG_KEYS[2],
            group_name="ingest",
            kinds={"duckdb"},
            description="LSOA to local authority district, placing police.uk records "
            "and the crimes of a force-wide police extract (an ONS lookup "
            "or lsoa_la_lookup.csv in HOME/reference).",
        ),
        dg.AssetSpec(
            CONFIG_KEYS[3],
            group_name="ingest",
            kinds={"duckdb"},
            description="District to Community Safety Partnership to police force "
            "area (the ONS lookup in HOME/reference).",
        ),
        dg.AssetSpec(
            CONFIG_KEYS[4],
            group_name="ingest",
            kinds={"duckdb"},
            description="Residents of each LSOA by mid-year estimate (ONS small-area "
            "population estimates in HOME/reference).",
        ),
    ],
    pool=POOL,
)
def partnership_configuration(
    context: dg.AssetExecutionContext, csp: CspResource
) -> Iterator[dg.MaterializeResult]:
    """Write the configuration tables the indicator logic reads."""
    settings = csp.settings()
    reference = read_reference(settings.reference_folder, settings.configured_lsoa_lookup)
    for note in reference.notes:
        context.log.warning(f"reference: {note}")
    with connect(settings.warehouse_target) as con:
        ensure_raw_schema(con)
        write_configuration(
            con,
            settings.la_code,
            settings.la_name,
            settings.calendar,
            reference.lsoa_lookup,
            reference.district_lookup,
            reference.population,
        )
    suspended = [e.feed for e in settings.calendar if e.suspended_since]
    used = {f.layout: f for f in reference.files if f.used}

    def described(layout: str, table: Any) -> dict[str, Any]:
        chosen = used.get(layout)
        return {
            "file": chosen.path.name if chosen else "none",
            "rows": table.num_rows if table is not None else 0,
        }

    yield dg.MaterializeResult(
        asset_key=CONFIG_KEYS[0],
        metadata={
            "la_code": settings.la_code,
            "name": settings.la_name,
            "districts": ", ".join(settings.districts),
        },
    )
    yield dg.MaterializeResult(
        asset_key=CONFIG_KEYS[1],
        metadata={"feeds": len(settings.calendar), "suspended": ", ".join(suspended) or "none"},
    )
    lookup_layout = "lsoa_lookup" if "lsoa_lookup" in used else "legacy_lsoa_lookup"
    yield dg.MaterializeResult(
        asset_key=CONFIG_KEYS[2], metadata=described(lookup_layout, reference.lsoa_lookup)
    )
    yield dg.MaterializeResult(
        asset_key=CONFIG_KEYS[3], metadata=described("district_lookup", reference.district_lookup)
    )
    yield dg.MaterializeResult(
        asset_key=CONFIG_KEYS[4],
        metadata={
            "files": ", ".join(
                f.path.name for f in reference.files if f.used and f.layout == "population"
            )
            or "none",
            "rows": reference.population.num_rows if reference.population is not None else 0,
        },
    )


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
            raw_key(table.name),
            group_name="ingest",
            kinds={"duckdb"},
            freshness_policy=ingest_freshness(contract),
            description=f"{contract.description} (raw rows of every delivery, with history).",
            metadata={
                "feed": contract.feed,
                "partner": contract.partner,
                "cadence": contract.cadence,
            },
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

    @dg.multi_asset(
        name=f"ingest_{contract.feed}", specs=specs, pool=POOL, check_specs=[expectations_check]
    )
    def _ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, csp: CspResource
    ) -> Iterator[dg.MaterializeResult]:
        settings = csp.settings()
        outcomes = ingest_feed(
            contract.feed,
            home=settings.home,
            warehouse=settings.warehouse_target,
            pseudonymiser=pseudonymiser_for(settings, [contract.feed]),
            la_code=settings.la_code,
            districts=settings.districts,
            min_age_seconds=settings.stable_seconds,
            files=config.files or None,
        )
        for level, message in log_lines(contract.feed, outcomes):
            getattr(context.log, level)(message)
        counts = summarise(outcomes)
        if counts["rejected"] and settings.alert_urls:
            notify_quarantined(settings)
        for spec in specs:
            yield dg.MaterializeResult(
                asset_key=spec.key,
                metadata={
                    **counts,
                    "deliveries": dg.MetadataValue.json([o.as_dict() for o in outcomes]),
                },
            )
        rejected = [o for o in outcomes if o.action == "rejected"]
        # A rejected file is the gate working: warn (visible, not blocking), so every other
        # feed and figure is still built from what was good.
        yield dg.AssetCheckResult(
            check_name=expectations_check.name,
            asset_key=expectations_check.asset_key,
            passed=not rejected,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rejected": dg.MetadataValue.json(
                    [
                        {
                            "file": o.file_name,
                            "rule": o.problems[0].rule if o.problems else None,
                            "reason": o.reason,
                        }
                        for o in rejected
                    ]
                )
            },
        )

    return _ingest


@cache
def ingest_assets() -> tuple[dg.AssetsDefinition, ...]:
    """The ingest asset of every feed contract (read on the first call)."""
    return tuple(build_ingest_asset(c) for c in all_contracts().values())


def build_deliveries_asset(ingests: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The manifest asset, downstream of every table the ``ingests`` write."""

    @dg.asset(
        key=DELIVERIES_KEY,
        deps=[spec.key for asset in ingests for spec in asset.specs],
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
            # The calendar judged once, in Python, for the dbt models (ingest/RAW_TABLES.md).
            write_feed_status(con, settings.as_of, settings.calendar)
        return dg.MaterializeResult(metadata={status: count for status, count in rows})

    return deliveries


def dbt_key(layer: str, name: str) -> dg.AssetKey:
    """The asset key of a dbt model or seed: its layer, then its name (``marts/fct_crime``)."""
    return dg.AssetKey([layer, name])


def mart_key(name: str) -> dg.AssetKey:
    """The asset key of a mart (``marts/<name>``)."""
    return dbt_key("marts", name)


def dbt_layer(dbt_resource_props: Mapping[str, Any]) -> str:
    """A dbt node's layer: ``seeds`` for a seed, else its folder under models/ (staging,
    intermediate, marts, analysts; a model directly under models/ is a mart)."""
    if dbt_resource_props.get("resource_type") == "seed":
        return "seeds"
    fqn = dbt_resource_props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "marts"


class CspDbtTranslator(DagsterDbtTranslator):
    """Keys and groups dbt's models by layer; describes each by its YAML's description alone."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """``<layer>/<name>`` for a model, seed or snapshot, so every layer reads alike.

        dagster-dbt's default prefixes a model with the schema its config names, so staging
        and intermediate were prefixed while the marts (the default schema) were bare. A
        source keeps dagster-dbt's ``<source>/<table>``: ``raw/<table>``, the ingest assets'
        own keys, which is what joins dbt's graph to theirs.
        """
        if dbt_resource_props.get("resource_type") in ("model", "seed", "snapshot"):
            return dbt_key(dbt_layer(dbt_resource_props), dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The model's layer (its folder under models/), ``seeds`` for a seed."""
        return dbt_layer(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The description written in the model's YAML, without dagster-dbt's "Raw SQL" block.

        The SQL is in the repository and in the dbt docs site; in the UI it buried the one
        sentence saying what the table is. A node with no description is named for what it is.
        """
        description = (dbt_resource_props.get("description") or "").strip()
        return description or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )


def build_dbt_assets(manifest: Path) -> dg.AssetsDefinition:
    """The dbt project's models, seeds and tests as assets and checks, from its ``manifest``."""

    @dbt_assets(
        manifest=manifest,
        dagster_dbt_translator=CspDbtTranslator(),
        pool=POOL,
    )
    def csp_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, csp: CspResource
    ) -> Iterator[Any]:
        """dbt build: seeds, staging, intermediate and marts, with dbt tests as asset checks.

        A landing-sensor run leaves it to a later one that will build anyway
        (orchestration/runs.py).
        """
        later = later_run_to_build(
            context.instance, context.run, csp_dbt_models.op.name, csp_dbt_models.keys
        )
        if later is not None:
            context.log.info(
                f"dbt build left to run {later}, queued after this one: it builds "
                "from every delivery ingested by then, this one's included"
            )
            return
        settings = csp.settings()
        os.environ.update(settings_dbt_environment(settings))
        invocation = dbt.cli(
            dbt_build_args(
                settings.as_of,
                settings.la_code,
                settings.similar_areas,
                full_refresh=csp.full_refresh,
            ),
            context=context,
            target_path=settings.dbt_target,
        )
        yield from invocation.stream()

    return csp_dbt_models


@cache
def dbt_models() -> dg.AssetsDefinition:
    """The dbt assets, from a manifest parsed first if it is missing or stale."""
    return build_dbt_assets(ensure_manifest())


@dg.asset(
    key=["exports", "indicators"],
    deps=[mart_key("fct_indicator_quarter"), mart_key("fct_feed_delivery")],
    group_name="exports",
    kinds={"csv", "parquet"},
    pool=POOL,
    description="exports/indicators.csv (+ .parquet) and exports/feed_deliveries.csv.",
)
def indicator_exports(context: dg.AssetExecutionContext, csp: CspResource) -> dg.MaterializeResult:
    """Write the analysts' CSV contract from the finished marts."""
    settings = csp.settings()
    written = write_indicator_exports(
        settings.postgres if settings.target == "postgres" else settings.warehouse, settings.exports
    )
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
    return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})


@cache
def all_assets() -> tuple[dg.AssetsDefinition, ...]:
    """Every asset a build materialises (all but the quarterly report), in graph order."""
    ingests = ingest_assets()
    return (
        partnership_configuration,
        *ingests,
        build_deliveries_asset(ingests),
        dbt_models(),
        indicator_exports,
        published_warehouse,
    )


@dg.asset(
    # Also recorded, outside a run, by csp report (orchestration.report_run).
    key=REPORT_KEY,
    deps=[published_warehouse.key],
    partitions_def=QUARTERS,
    group_name="exports",
    kinds={"html", "xlsx", "parquet"},
    pool=POOL,
    description="The quarter's report (and public version), board pack and analyst exports.",
)
def quarterly_report(context: dg.AssetExecutionContext, csp: CspResource) -> dg.MaterializeResult:
    """The report of the partition's quarter, from the published warehouse."""
    quarter = quarter_label(date.fromisoformat(context.partition_key))
    written = write_quarter_outputs(csp.settings(), quarter, public=True)
    return dg.MaterializeResult(
        metadata={
            "quarter": quarter,
            **{name: str(path) for name, path in written.items() if isinstance(path, Path)},
        }
    )


def __getattr__(name: str) -> Any:
    """``ALL_ASSETS``: ``all_assets()``, built when first asked for (PEP 562), so that importing
    this module reads no contract and parses no dbt project."""
    if name == "ALL_ASSETS":
        return list(all_assets())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
