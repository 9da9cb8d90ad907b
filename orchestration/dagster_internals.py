"""Every use of Dagster's and dagster-dbt's private API, in one place.

Nothing else in the project imports ``dagster._*`` or overrides a private method: an upgrade
that moves or changes one of these breaks this module alone, and
``tests/test_dagster_internals.py`` fails on it by name. Each use stays because no public API
does the same, and each saves time on every build:

- ``CspSqliteEventLogStorage``, a subclass of Dagster's ``SqliteEventLogStorage`` (not
  exported by ``dagster``) replacing its private ``_connect``. The stock storage opens,
  fully syncs and closes a connection per event; keeping them open stores the ~700 events
  of a build at 1.99 ms each instead of 6.84 ms (``python -m bench.event_log``, about 2 s a
  build; BENCHMARKS.md, "Fixed costs"). Configured by name in a home's ``dagster.yaml``
  through ``orchestration.event_log``.
- ``SENSOR_NAME_TAG``: the tag Dagster puts on a run a sensor requested, which
  ``orchestration.runs`` filters on. Dagster exports no public name for it; importing the
  constant, not writing its value, lets the test notice a rename.
- ``fast_dbt_cli_resource``: dagster-dbt's ``DbtCliResource`` with two private hooks
  overridden. ``_cli_version`` asks the dbt executable its version, a second dbt start-up
  per process (``dbt --version``: 2.2-2.7 s, measured three times here); the installed
  dbt-core gives the same answer. ``_initialize_dbt_core_adapter`` loads dbt's profile,
  project and macros before each command (3.6-4.2 s the first time in a process, 0.9 s
  after, measured three times) for an adapter serving only ``fetch_column_metadata`` and
  ``fetch_row_counts``, which the build never calls (BENCHMARKS.md: about 1.2 s a build).
- ``REPOSITORY_LABEL_TAG`` and ``SINGLETON_REPOSITORY_NAME``: the hidden run tag by which the
  UI lists a job's runs under its code location (``.dagster/repository``, valued
  ``<repository>@<location>``), and the name ``Definitions`` gives its repository. A run
  Dagster launches gets the tag from its code location; ``csp build`` runs its job in
  process, so ``orchestration.pipeline`` sets it, or the UI's page of the job ``csp_build``
  would not list the command line's builds. Dagster exports neither name.
- ``UnresolvedAssetJobDefinition``, for type hints alone: the type ``dg.define_asset_job``
  returns, which ``dagster`` does not export.
- ``StepMaterializationData``, for ``bench/event_log.py`` alone: the payload of the
  materialisation events a build writes, which the benchmark stores through both event logs
  to measure them. Dagster exports the event and its log entry, not this payload.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from typing import TYPE_CHECKING, Any

import sqlalchemy as db
from dagster._core.definitions.repository_definition.valid_definitions import (
    SINGLETON_REPOSITORY_NAME,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)
from dagster._core.events import StepMaterializationData
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG, SENSOR_NAME_TAG
from dagster._serdes import ConfigurableClassData
from packaging.version import Version
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource, DbtProject

__all__ = [
    "INDEX_SHARD_NAME",
    "OPEN_DATABASES",
    "REPOSITORY_LABEL_TAG",
    "SENSOR_NAME_TAG",
    "SINGLETON_REPOSITORY_NAME",
    "CspSqliteEventLogStorage",
    "SqliteEventLogStorage",
    "StepMaterializationData",
    "UnresolvedAssetJobDefinition",
    "fast_dbt_cli_resource",
]

# A build uses two databases (its run's and the index); the UI reads a handful at a time.
# Each open database holds three file descriptors (.db, -wal, -shm).
OPEN_DATABASES = 8


def _sync_normally(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("pragma synchronous = normal")


class CspSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (one database per run and an index), with open connections.

    Configured in the home's ``dagster.yaml`` (``orchestration.instance.instance_yaml``);
    orchestration/event_log.py says how it differs from the stock storage.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Least recently used first; guarded, like every connection, by the parent's _db_lock.
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CspSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The open engine of ``shard``'s database, closing the least recently used."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            # One connection is enough: the parent serialises every use with _db_lock, from
            # whichever thread (hence check_same_thread off).
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _sync_normally)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    # Runs in SQLite's autocommit: Python's sqlite3 begins a transaction
                    # before data changes only.
                    conn.exec_driver_sql("pragma wal_checkpoint(passive)")

    def has_table(self, table_name: str) -> bool:
        # Asked before most asset events are stored (about 400 times a build), each time
        # with a new engine; the parent asks while holding a connection, so it cannot use
        # ours. Only a table that is there is remembered: no event log drops one, but an
        # upgrade in another process may add one.
        if table_name not in self._tables_present and super().has_table(table_name):
            self._tables_present.add(table_name)
        return table_name in self._tables_present

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        # The parent deletes the run databases' files: close them first.
        self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()


@cache
def _fast_dbt_cli_resource_class() -> type[DbtCliResource]:
    # dagster-dbt imports dbt-core: 1.5-1.7 s on top of the event log's imports (-X importtime,
    # three runs), which the Dagster webserver and daemon, importing this module for the event
    # log, would pay for nothing.
    from dagster_dbt import DbtCliResource

    class ProjectDbtCliResource(DbtCliResource):
        """dagster-dbt with two start-up costs of every build removed (module docstring)."""

        @cached_property
        def _cli_version(self) -> Version:
            # The executable is the one beside this Python: the installed dbt-core's
            # version is the same answer.
            return Version(installed_version("dbt-core"))

        def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
            # The adapter serves fetch_column_metadata and fetch_row_counts alone; the
            # build uses neither.
            return None

    return ProjectDbtCliResource


def fast_dbt_cli_resource(project: DbtProject, dbt_executable: str) -> DbtCliResource:
    """dagster-dbt's CLI resource for ``project``, without its two per-build start-up costs."""
    return _fast_dbt_cli_resource_class()(project_dir=project, dbt_executable=dbt_executable)
