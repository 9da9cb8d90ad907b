"""The analysts' exports: every mart as Parquet and CSV, and the dbt docs site.

    exports/marts/<table>.parquet   typed, as in the warehouse
    exports/marts/<table>.csv       text cells escaped against formula injection
                                    (neither holds a pseudonymised identifier: no
                                    ``*_token`` column, no key made of tokens)
    exports/docs/                   dbt docs (index.html + manifest.json + catalog.json, and
                                    static_index.html: one file that opens without a server)

The docs carry the lineage from each mart back to its source feed (the DAG view).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from core.dbt_project import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    dbt_vars,
    settings_dbt_environment,
)
from core.settings import Settings
from exports.disclosure import escape_sql
from exports.publish import export_columns

MART_PREFIXES = ("dim_", "fct_")
DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
TEXT_TYPES = ("VARCHAR",)


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts: tables of schema ``main`` named dim_* or fct_*."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE' order by table_name"
        ).fetchall()
        if name.startswith(MART_PREFIXES)
    ]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def typed_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SELECT of a mart's exported columns, as typed (for Parquet)."""
    names = ", ".join(_quoted(name) for name, _ in export_columns(con, "main", table))
    return f'select {names} from main."{table}" order by all'


def escaped_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SELECT of a mart's exported columns with every text column escaped (for CSV)."""
    expressions = []
    for name, data_type in export_columns(con, "main", table):
        quoted = _quoted(name)
        expressions.append(f"{escape_sql(name)} as {quoted}" if data_type in TEXT_TYPES else quoted)
    return f'select {", ".join(expressions)} from main."{table}" order by all'


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path, options: str) -> None:
    partial = target.with_name(f".{target.name}.partial")
    con.execute(f"copy ({query}) to '{partial}' {options}")
    partial.replace(target)


def write_mart_exports(warehouse: Path | duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """Every mart as ``<table>.parquet`` and ``<table>.csv`` under ``folder``, without its
    pseudonymised identifiers (whichever warehouse it reads: the published copy has none, the
    warehouse itself, read before anything is published, has them).

    ``warehouse`` is a DuckDB file or an open connection (``exports.marts.open_marts``).
    """
    if isinstance(warehouse, Path):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return write_mart_exports(con, folder)
    con = warehouse
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in mart_tables(con):
        parquet, csv = folder / f"{table}.parquet", folder / f"{table}.csv"
        # Ordered, so the same marts give the same files whichever target they were read from.
        _copy(con, typed_select(con, table), parquet, "(format parquet)")
        _copy(con, escaped_select(con, table), csv, "(format csv, header true)")
        written += [parquet, csv]
    return written


def dbt_docs_args(settings: Settings, target_path: Path) -> list[str]:
    """The ``dbt docs generate`` command line (the pipeline's project, profile and vars)."""
    return [
        str(DBT_EXECUTABLE),
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--vars",
        dbt_vars(settings.as_of, settings.la_code, settings.similar_areas),
        "--quiet",
    ]


def write_dbt_docs(settings: Settings, folder: Path) -> list[Path]:
    """``dbt docs generate --static`` on the built warehouse, copied to ``folder``.

    dbt writes compiled SQL beside the docs, so it works in ``<home>/dbt/docs-target`` and
    only the site's files are copied out. The caller holds the home lock: dbt opens the
    warehouse, and DuckDB allows one writer.
    """
    work = settings.home / "dbt" / "docs-target"
    env = {**os.environ, **settings_dbt_environment(settings)}
    result = subprocess.run(
        dbt_docs_args(settings, work), env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt docs generate failed:\n{result.stdout}\n{result.stderr}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DOCS_FILES:
        if (work / name).is_file():
            shutil.copyfile(work / name, folder / name)
            written.append(folder / name)
    return written


def write_analyst_exports(
    settings: Settings, marts: duckdb.DuckDBPyConnection, docs: bool = True
) -> dict[str, Path]:
    """Marts as Parquet and CSV under ``exports/marts/``, dbt docs under ``exports/docs/``.

    ``marts`` is what readers see (``exports.marts.open_marts``).
    """
    written = {f"marts/{p.name}": p for p in write_mart_exports(marts, settings.exports / "marts")}
    if docs:
        written.update(
            {f"docs/{p.name}": p for p in write_dbt_docs(settings, settings.exports / "docs")}
        )
    return written
