"""Publish a finished copy of the warehouse for readers.

DuckDB allows one writer and, while it writes, no reader in another process; dbt fails on any
other open connection, read-only ones included. So readers open copies made after each
successful build, each swapped in by an atomic rename: a reader holding an old copy open keeps
reading it, undisturbed, and the next open sees the new one.

    published/warehouse.duckdb    for analysts, the report and the exports: the marts and the
                                  analysts' views of schema ``main`` only, with their
                                  descriptions as comments, and no pseudonymised identifier
                                  (no ``*_token`` column, no key made of tokens). A new file
                                  written table by table, so nothing dropped lingers in its
                                  free blocks.
    state/last-build.duckdb       the whole warehouse (raw layer included), owner-only: what
                                  ``csp status`` reads while a build holds the warehouse, and
                                  what a damaged warehouse is restored from.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

# Columns holding pseudonymised identifiers besides ``*_token``: keys made of tokens. The same
# list as the Postgres column grants (dbt_project/macros/analyst_grants.sql).
PSEUDONYMISED_COLUMNS = ("episode_key",)
# The only schema of the warehouse readers get: the marts and the analysts' views.
READER_SCHEMA = "main"
SOURCE = "source_warehouse"


def is_pseudonymised_identifier(column: str) -> bool:
    """A token, or a key made of tokens: never in an analyst's copy or export."""
    name = column.lower()
    return name.endswith("_token") or "_token_" in name or name in PSEUDONYMISED_COLUMNS


def published_path(home: Path) -> Path:
    """Where readers find the warehouse."""
    return home / "published" / "warehouse.duckdb"


def last_build_path(home: Path) -> Path:
    """The whole warehouse as the last successful build left it (not for analysts)."""
    return home / "state" / "last-build.duckdb"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync_and_replace(partial: Path, target: Path) -> None:
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)


def _column_comments(
    con: duckdb.DuckDBPyConnection, source: str, relation: str
) -> list[tuple[str, str | None]]:
    """(column, comment) of a table or view of ``source``'s schema main, in order."""
    return con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index",
        [source, READER_SCHEMA, relation],
    ).fetchall()


def _comment(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    relation: str,
    comment: str | None,
    columns: list[tuple[str, str | None]],
) -> None:
    """Put a relation's comment (``kind`` "table" or "view") and its columns' on the copy."""
    if comment:
        con.execute(f"comment on {kind} main.{_quoted(relation)} is {_literal(comment)}")
    for name, note in columns:
        if note:
            con.execute(
                f"comment on column main.{_quoted(relation)}.{_quoted(name)} is {_literal(note)}"
            )


def export_columns(con: Any, schema: str, table: str) -> list[tuple[str, str]]:
    """A mart's columns and types, in order, less any pseudonymised identifier: what any
    analyst export may copy, on DuckDB (``con`` a DuckDB connection) or Postgres."""
    return [
        (name, data_type)
        for name, data_type in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        if not is_pseudonymised_identifier(name)
    ]


def copy_reader_relations(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Copy the tables and views of ``source``'s schema main into ``con``'s, with their
    comments, leaving out every pseudonymised identifier column."""
    tables = con.execute(
        "select table_name, comment from duckdb_tables() "
        "where database_name = ? and schema_name = ? order by table_name",
        [source, READER_SCHEMA],
    ).fetchall()
    for table, comment in tables:
        columns = _column_comments(con, source, table)
        kept = [(name, note) for name, note in columns if not is_pseudonymised_identifier(name)]
        names = ", ".join(_quoted(name) for name, _ in kept)
        con.execute(
            f"create table main.{_quoted(table)} as select {names} "
            f"from {_quoted(source)}.main.{_quoted(table)}"
        )
        _comment(con, "table", table, comment, kept)
    views = con.execute(
        "select view_name, sql, comment from duckdb_views() where database_name = ? "
        "and schema_name = ? and not internal order by view_name",
        [source, READER_SCHEMA],
    ).fetchall()
    catalog = con.execute(
        "select database_name from duckdb_databases() where path = "
        "(select path from duckdb_databases() where database_name = ?)",
        [source],
    ).fetchall()
    for view, sql, comment in views:
        # dbt names relations with the warehouse's catalog ("warehouse"."main"."fct_..."):
        # in the copy they are its own main schema, whatever the file is called.
        for (name,) in catalog:
            sql = sql.replace(f"{_quoted(name)}.{_quoted(READER_SCHEMA)}.", "main.")
        columns = _column_comments(con, source, view)
        if any(is_pseudonymised_identifier(name) for name, _ in columns):
            raise RuntimeError(f"view {view} shows a pseudonymised identifier: not published")
        con.execute(sql)
        _comment(con, "view", view, comment, columns)


def write_reader_copy(warehouse: Path, target: Path) -> None:
    """A new DuckDB file at ``target`` holding only the marts and views of ``warehouse``."""
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach {_literal(str(warehouse))} as {_quoted(SOURCE)} (read_only)")
        con.execute("begin transaction")
        copy_reader_relations(con, SOURCE)
        con.execute("commit")
        con.execute(f"detach {_quoted(SOURCE)}")
        con.execute("checkpoint")


def publish_warehouse(warehouse: Path, home: Path) -> Path:
    """Copy the built warehouse whole to ``state/last-build.duckdb``, write the readers' copy
    (marts and views only) beside the published one, then rename each into place."""
    target = published_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = last_build_path(home)
    backup.parent.mkdir(parents=True, exist_ok=True)
    # Opening and closing the file checkpoints any write-ahead log into it, so the copies are
    # complete on their own.
    duckdb.connect(str(warehouse)).close()
    whole = backup.with_name(f".{backup.name}.{os.getpid()}.partial")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(warehouse, whole)
        whole.chmod(0o600)  # the raw layer holds tokens
        write_reader_copy(whole, partial)
        with duckdb.connect(str(partial), read_only=True) as con:
            con.execute("select count(*) from main.fct_indicator_quarter").fetchall()
        _fsync_and_replace(whole, backup)
        _fsync_and_replace(partial, target)
    finally:  # after a failure, the copies already published stay as they were
        whole.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return target


def reader_path(home: Path) -> Path:
    """The file readers should open: the published copy, or the warehouse before any build."""
    published = published_path(home)
    return published if published.exists() else home / "warehouse.duckdb"
