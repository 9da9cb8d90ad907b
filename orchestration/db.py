"""``csp db init``: the Postgres warehouse's roles, schemas and privileges.

    csp_loader       writes raw (owns schema raw; the ingest acts as it)
    csp_transformer  reads raw; builds staging, intermediate, seeds and marts (dbt acts as it)
    csp_analyst      reads marts only, in read-only transactions; never raw, staging,
                     intermediate, seeds, nor any pseudonymised identifier

Marts are rebuilt by dbt on every build; their SELECT grant to csp_analyst is kept by dbt's
``grants`` config (dbt_project.yml, Postgres target only). Marts holding tokens
(fct_idva_case, fct_treatment_episode) grant SELECT column by column, every column but the
tokens and keys made of them (macros/analyst_grants.sql), so ``select *`` there is denied
and ``select <the other columns>`` works.

Run it once per database, as a superuser or the database owner with CREATEROLE. It is
idempotent. Roles are created with LOGIN and no password: set one per role
(``alter role csp_analyst password '...'``) or map them in pg_hba/pg_ident.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from core.targets import PostgresTarget
from ingest.warehouse import connect_postgres, ensure_raw_schema

LOADER, TRANSFORMER, ANALYST = "csp_loader", "csp_transformer", "csp_analyst"
ROLES = (LOADER, TRANSFORMER, ANALYST)
# Schemas dbt builds (see generate_schema_name: custom schemas are used as written).
DBT_SCHEMAS = ("staging", "intermediate", "seeds", "marts")
ALL_SCHEMAS = ("raw", *DBT_SCHEMAS)


def init_statements(database: str) -> list[str]:
    """The SQL of ``csp db init`` (idempotent), in order."""
    statements = []
    for role in ROLES:
        statements.append(
            f"do $$ begin if not exists (select from pg_roles where rolname = '{role}') "
            f"then create role {role} login; end if; end $$"
        )
    statements += [
        f"alter role {ANALYST} set default_transaction_read_only = on",
        # Whoever runs the pipeline connects as itself and acts as these roles (set role).
        f"grant {LOADER}, {TRANSFORMER} to current_user",
        f'grant connect on database "{database}" to {", ".join(ROLES)}',
        "revoke create on schema public from public",
    ]
    owners = {"raw": LOADER, **{schema: TRANSFORMER for schema in DBT_SCHEMAS}}
    for schema, owner in owners.items():
        statements += [
            f"create schema if not exists {schema} authorization {owner}",
            f"alter schema {schema} owner to {owner}",
            f"revoke all on schema {schema} from public",
            # Tables made before init (by another user) change hands too.
            f"do $$ declare t record; begin for t in select tablename from pg_tables "
            f"where schemaname = '{schema}' loop execute format('alter table {schema}.%I "
            f"owner to {owner}', t.tablename); end loop; for t in select viewname from "
            f"pg_views where schemaname = '{schema}' loop execute format('alter view "
            f"{schema}.%I owner to {owner}', t.viewname); end loop; end $$",
        ]
    statements += [
        # The transformer reads raw, now and every table the loader creates later.
        f"grant usage on schema raw to {TRANSFORMER}",
        f"grant select on all tables in schema raw to {TRANSFORMER}",
        f"alter default privileges for role {LOADER} in schema raw "
        f"grant select on tables to {TRANSFORMER}",
        # The analyst sees the marts schema; table grants come from dbt (grants config).
        f"grant usage on schema marts to {ANALYST}",
    ]
    return statements


# Roles belong to the server, not the database: two inits at once (two databases on one
# server) update the same role rows, and the later fails with "tuple concurrently updated".
# An advisory lock cannot order them (its keys are per database), so the init, idempotent,
# is tried again on that error.
ROLE_RACE_ATTEMPTS = 5


def _run_retrying_role_races(con: Any, statements: list[str]) -> None:
    """Run ``statements`` in one transaction, again (up to ``ROLE_RACE_ATTEMPTS``) when
    another init updated the same role rows at the same time."""
    for attempt in range(1, ROLE_RACE_ATTEMPTS + 1):
        con.execute("begin transaction")
        try:
            for statement in statements:
                con.execute(statement)
            con.execute("commit")
            return
        except Exception as error:
            con.execute("rollback")
            if "tuple concurrently updated" not in str(error) or attempt == ROLE_RACE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def init_database(target: PostgresTarget) -> list[str]:
    """Create the roles and schemas, grant, and create the raw tables as the loader."""
    database = target.parameters()["dbname"] or "csp"
    with connect_postgres(target) as con:
        database = con.execute("select current_database()").fetchone()[0]
        statements = init_statements(database)
        _run_retrying_role_races(con, statements)
    with connect_postgres(target.with_role(LOADER)) as con:
        ensure_raw_schema(con)
    return statements


def command_db_init(args: argparse.Namespace) -> int:
    """``csp db init``."""
    target = PostgresTarget(args.dsn if args.dsn is not None else os.environ.get("CSP_PG_DSN", ""))
    init_database(target)
    parameters = target.parameters()
    print(
        f"Postgres warehouse ready on {parameters['host'] or 'local socket'}"
        f"{':' + parameters['port'] if parameters['port'] else ''} "
        f"(roles {', '.join(ROLES)}; schemas {', '.join(ALL_SCHEMAS)})"
    )
    return 0


def add_db_commands(commands: argparse._SubParsersAction) -> None:
    """``csp db init`` (more ``db`` subcommands may follow)."""
    db = commands.add_parser(
        "db",
        help="the Postgres warehouse: roles, schemas, privileges",
        description="Set up the PostgreSQL warehouse (CSP_TARGET=postgres).",
        epilog="examples:\n  csp db init --dsn 'host=db.example.org dbname=csp user=csp_admin'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = db.add_subparsers(dest="db_command", required=True)
    init = actions.add_parser(
        "init",
        help="create roles csp_loader, csp_transformer, "
        "csp_analyst and the schemas, with privileges",
        description="Create the roles csp_loader, csp_transformer and csp_analyst, the "
        "schemas and their privileges, and the raw tables. Idempotent: run it again after an "
        "upgrade.",
        epilog="examples:\n  CSP_PG_DSN='host=127.0.0.1 dbname=csp' csp db init",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument(
        "--dsn",
        help="libpq connection string (default CSP_PG_DSN, else the "
        "PG* variables); connect as a superuser or the owner",
    )
    init.set_defaults(handler=command_db_init)
