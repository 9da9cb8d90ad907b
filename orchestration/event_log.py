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

The class subclasses Dagster's private storage, so it lives in
``orchestration.dagster_internals``; this module is the name a home's ``dagster.yaml``
configures (``orchestration.instance``), kept so that a file written before the move still
loads.
"""

from __future__ import annotations

from orchestration.dagster_internals import OPEN_DATABASES, CspSqliteEventLogStorage

__all__ = ["OPEN_DATABASES", "CspSqliteEventLogStorage"]
