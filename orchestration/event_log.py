"""Dagster's SQLite event log, with each database's connection kept open between events.

Dagster's stock SQLite event log makes a new engine and connection for every event it stores,
commits with a full sync, and closes the connection, which in WAL mode checkpoints the
database. A build stores about 700 events (one planned event per asset, one result per dbt
model and test, the step events), at about 5 ms each on this project's machine: some 3 s of
a 25 s build with one new month (BENCHMARKS.md, "Fixed costs").

This storage writes the same files with the same schema, so a home can switch to it and
back. It differs in four ways:
- one engine and connection per database file, kept open (the few most recently used);
- ``synchronous=NORMAL``: in WAL mode a power cut may lose the last events, but never
  leaves a database inconsistent (https://sqlite.org/pragma.html#pragma_synchronous);
- a passive checkpoint after each use of a run's database, so that its ``.db`` file changes
  after every event as it did when each connection closed: Dagster's UI learns of a running
  run's new events by watching that file;
- it remembers which tables the index has, rather than asking SQLite before each event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# A build uses two databases (its run's and the index); the UI reads a handful at a time.
# Each open database holds three file descriptors (.db, -wal, -shm).
OPEN_DATABASES = 8


def _sync_normally(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("pragma synchronous = normal")


class CspSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (one database per run and an index), with open connections.

    Configured in the home's ``dagster.yaml`` (``orchestration.instance.instance_yaml``).
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
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                              "check_same_thread": False},
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
