"""A real PostgreSQL server for the Postgres tests, started here if none is running.

``.ci/postgres.sh`` installs Debian's postgresql when it is missing, starts a throwaway
cluster on 127.0.0.1 (trust authentication, data under /tmp) and prints the connection.
Each test session gets a fresh database, initialised by ``csp db init``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.targets import PostgresTarget

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "postgres.sh"


def _server_dsn() -> str:
    """The DSN of a running server: CSP_PG_DSN if it answers, else the one the script starts."""
    import psycopg2

    given = os.environ.get("CSP_PG_DSN")
    if given:
        try:
            psycopg2.connect(given, connect_timeout=3).close()
            return given
        except psycopg2.OperationalError:
            pass
    result = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        reason = (
            f"PostgreSQL could not be installed or started by {SCRIPT}: "
            f"{result.stderr.strip()[-800:]}"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)  # in CI the Postgres tests must run, never skip
        pytest.skip(reason)
    for line in result.stdout.splitlines():
        if line.startswith("export CSP_PG_DSN="):
            return shlex.split(line.removeprefix("export CSP_PG_DSN="))[0]
    pytest.fail(f"{SCRIPT} printed no CSP_PG_DSN:\n{result.stdout}")


def _with_dbname(dsn: str, dbname: str) -> str:
    from psycopg2.extensions import make_dsn

    return make_dsn(dsn, dbname=dbname)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The DSN of a PostgreSQL server we may create databases on."""
    return _server_dsn()


@contextmanager
def fresh_database(server: str, prefix: str) -> Iterator[PostgresTarget]:
    """A new database on ``server`` with the csp roles and schemas (``csp db init``),
    dropped afterwards."""
    import psycopg2

    from orchestration.db import init_database

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    target = PostgresTarget(_with_dbname(server, name))
    init_database(target)
    try:
        yield target
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[PostgresTarget]:
    """The session's database, fresh (``fresh_database``)."""
    with fresh_database(pg_server, "csp_test") as target:
        yield target


def connect_as(target: PostgresTarget, user: str):
    """A psycopg2 connection to the test database logged in as ``user``."""
    import psycopg2

    connection = psycopg2.connect(
        _with_dbname(target.dsn, target.parameters()["dbname"]), user=user
    )
    connection.autocommit = True
    return connection
