"""The private Dagster and dagster-dbt API that orchestration/dagster_internals.py relies on.

Each test names what an upgrade would have to keep for that module to go on working: a
failure here means the private use must be adapted (or dropped) before upgrading, rather
than the build silently losing the time it saves or breaking at run time.
"""

from __future__ import annotations

import inspect
import threading
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

from bench.event_log import RUN_ID, event
from orchestration.dagster_internals import (
    INDEX_SHARD_NAME,
    REPOSITORY_LABEL_TAG,
    SENSOR_NAME_TAG,
    SINGLETON_REPOSITORY_NAME,
    CspSqliteEventLogStorage,
    SqliteEventLogStorage,
    UnresolvedAssetJobDefinition,
)
from orchestration.dbt import dbt_resource
from orchestration.defs.sensors import landing_sensor
from orchestration.runs import LANDING_SENSOR


def test_the_sqlite_event_log_keeps_the_hooks_our_storage_overrides(tmp_path: Path) -> None:
    assert list(inspect.signature(SqliteEventLogStorage.__init__).parameters) == [
        "self",
        "base_dir",
        "inst_data",
    ]
    assert list(inspect.signature(SqliteEventLogStorage._initdb).parameters)[:2] == [
        "self",
        "engine",
    ]
    assert list(inspect.signature(SqliteEventLogStorage.has_table).parameters) == [
        "self",
        "table_name",
    ]
    assert INDEX_SHARD_NAME == "index"
    # Every connection the parent makes goes through _connect, which ours replaces.
    for method in (SqliteEventLogStorage.run_connection, SqliteEventLogStorage.index_connection):
        assert "self._connect(" in inspect.getsource(method), method.__name__
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    assert isinstance(stock._db_lock, type(threading.Lock()))
    assert isinstance(stock._initialized_dbs, set)
    stock.dispose()


def test_our_event_log_stores_through_its_own_open_connections(tmp_path: Path) -> None:
    storage = CspSqliteEventLogStorage(str(tmp_path))
    storage.store_event(event(1))
    storage.store_event(event(2))
    # Both databases were written through the engines ours keeps open, none through the
    # parent's engine per event.
    assert set(storage._engines) == {RUN_ID, INDEX_SHARD_NAME}
    assert {RUN_ID, INDEX_SHARD_NAME} <= storage._initialized_dbs
    assert len(storage.get_logs_for_run(RUN_ID)) == 2
    storage.dispose()
    assert not storage._engines


def test_dagster_tags_a_sensors_runs_with_the_tag_runs_filters_on() -> None:
    assert SENSOR_NAME_TAG == "dagster/sensor_name"
    # What the sensor daemon puts on each run the landing sensor requests.
    assert dg.DagsterRun.tags_for_sensor(landing_sensor) == {SENSOR_NAME_TAG: LANDING_SENSOR}


def test_the_ui_lists_a_jobs_runs_by_the_repository_label_we_tag_cli_runs_with() -> None:
    from dagster_webserver import __file__ as webserver_init

    from orchestration.definitions import defs

    # The name Definitions gives its one repository, half of the label.
    assert defs().get_repository_def().name == SINGLETON_REPOSITORY_NAME == "__repository__"
    # The tag the run storage labels a launched run with, and the one the UI's page of a job
    # filters its runs by (PipelineRunsFeedRoot: DagsterTag.RepositoryLabelTag).
    assert REPOSITORY_LABEL_TAG == ".dagster/repository"
    chunks = Path(webserver_init).parent / "webapp" / "build" / "_next" / "static" / "chunks"
    assert any(
        'RepositoryLabelTag=".dagster/repository"' in path.read_text(errors="ignore")
        for path in chunks.glob("*.js")
    )


def test_a_materialisation_event_still_carries_its_step_data() -> None:
    """bench/event_log.py builds a build's materialisation events from this payload."""
    import dagster as dg

    from orchestration.dagster_internals import StepMaterializationData

    data = StepMaterializationData(dg.AssetMaterialization(dg.AssetKey("x")))
    event = dg.DagsterEvent(
        dg.DagsterEventType.ASSET_MATERIALIZATION.value, "job", event_specific_data=data
    )
    assert event.asset_key == dg.AssetKey("x")


def test_define_asset_job_returns_the_type_the_hints_name() -> None:
    job = dg.define_asset_job("any", selection=dg.AssetSelection.all())
    assert isinstance(job, UnresolvedAssetJobDefinition)


def test_dagster_dbt_still_calls_the_two_hooks_our_resource_overrides() -> None:
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == [
        "self",
        "args",
    ]
    # Before each command: were either no longer called, the override would save nothing.
    cli = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in cli
    assert "self._initialize_dbt_core_adapter(" in cli


def test_our_dbt_resource_answers_without_starting_dbt() -> None:
    resource = dbt_resource()
    assert isinstance(resource, DbtCliResource)
    assert resource._cli_version == Version(installed_version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None
