"""Publish a finished copy of the warehouse for readers.

DuckDB allows one writer and, while it writes, no reader in another process; dbt fails on any
other open connection, read-only ones included. So analysts, the report and the exports read
``published/warehouse.duckdb``, a copy made after each successful build and swapped in by an
atomic rename: a reader holding the old copy open keeps reading it, undisturbed, and the next
open sees the new one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def published_path(home: Path) -> Path:
    """Where readers find the warehouse."""
    return home / "published" / "warehouse.duckdb"


def publish_warehouse(warehouse: Path, home: Path) -> Path:
    """Copy the built warehouse beside the published one, then rename it into place."""
    target = published_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    # Opening and closing the file checkpoints any write-ahead log into it, so the copy is
    # complete on its own.
    duckdb.connect(str(warehouse)).close()
    shutil.copyfile(warehouse, partial)
    with duckdb.connect(str(partial), read_only=True) as con:
        con.execute("select count(*) from main.fct_indicator_quarter").fetchall()
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)
    return target


def reader_path(home: Path) -> Path:
    """The file readers should open: the published copy, or the warehouse before any build."""
    published = published_path(home)
    return published if published.exists() else home / "warehouse.duckdb"
