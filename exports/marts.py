"""Where readers get the marts: the published DuckDB copy, or PostgreSQL as ``csp_analyst``.

Every reader (the report, the board pack, the analyst exports) takes a DuckDB connection with
the marts in schema ``main``. On the DuckDB target that is the published copy, opened
read-only. On Postgres the marts a role may read are copied, column by column as granted, into
an in-memory DuckDB: the same rendering code then gives the same bytes on both targets, and
the report sees exactly what an analyst may see (never a pseudonymised identifier).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.settings import Settings
from core.targets import PostgresTarget
from exports.publish import export_columns, reader_path
from exports.report_model import ReportError

MART_PREFIXES = ("dim_", "fct_")
# Postgres types as DuckDB holds the same mart columns.
DUCKDB_TYPES = {
    "double precision": "double",
    "real": "double",
    "numeric": "double",
    "integer": "integer",
    "smallint": "integer",
    "bigint": "bigint",
    "boolean": "boolean",
    "date": "date",
    "timestamp without time zone": "timestamp",
}
READER_ROLE_ENV = "CSP_PG_READER_ROLE"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def marts_from_postgres(
    target: PostgresTarget, tables: Sequence[str] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the marts ``target``'s role can read (or just ``tables``).

    Only the columns the role may select are copied (``information_schema.columns`` lists no
    other), and never a pseudonymised identifier, read with COPY in one read-only transaction,
    so the tables agree with each other.
    """
    # Imported here: it brings pyarrow and the raw layer, 0.8 to 1.0 s measured on this
    # 2-core machine, which a DuckDB home's report never needs.
    from ingest.warehouse import connect_postgres

    con = duckdb.connect()
    with (
        connect_postgres(target, read_only=True) as pg,
        tempfile.TemporaryDirectory(prefix="csp-marts-") as work,
    ):
        pg.execute("begin transaction isolation level repeatable read")
        visible = [
            name
            for (name,) in pg.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "order by table_name"
            ).fetchall()
            if name.startswith(MART_PREFIXES)
        ]
        for table in tables or visible:
            # A reader role granted more than csp_analyst (CSP_PG_READER_ROLE) still copies
            # no pseudonymised identifier.
            columns = export_columns(pg, "marts", table)
            if not columns:
                raise RuntimeError(
                    f"marts.{table} is missing from the Postgres warehouse, or "
                    f"{target.role or 'this user'} may not read it"
                )
            names = ", ".join(_quoted(name) for name, _ in columns)
            path = Path(work) / f"{table}.csv"
            with path.open("wb") as handle, pg.raw.cursor() as cursor:
                cursor.copy_expert(
                    f"copy (select {names} from marts.{_quoted(table)}) "
                    "to stdout with (format csv, header false)",
                    handle,
                )
            types = ", ".join(
                f"{_quoted(name)}: '{DUCKDB_TYPES.get(kind, 'varchar')}'" for name, kind in columns
            )
            # Postgres writes null unquoted and '' quoted: keep the two apart.
            con.execute(
                f"create table main.{_quoted(table)} as select * from read_csv("
                f"'{path}', header = false, columns = {{{types}}}, "
                "allow_quoted_nulls = false, auto_detect = false)"
            )
        pg.execute("commit")
    return con


def reader_target(settings: Settings) -> PostgresTarget:
    """The Postgres warehouse as readers use it: ``CSP_PG_READER_ROLE``, default csp_analyst."""
    return settings.postgres.with_role(os.environ.get(READER_ROLE_ENV, "csp_analyst") or None)


@contextmanager
def open_marts(
    settings: Settings, tables: Sequence[str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only view of the built marts, in schema ``main``, for the report and exports
    (on Postgres, just ``tables`` when given: each is copied)."""
    if settings.target == "postgres":
        con = marts_from_postgres(reader_target(settings), tables)
    else:
        path = reader_path(settings.home)
        if not path.is_file():
            raise ReportError(f"no warehouse at {path}: run `csp build` first")
        con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()
