"""Where the dbt project is, and the variables and environment every dbt invocation gets.

The ingest, the exports and Dagster all run or read the same project, so its location and its
environment are kernel facts; what Dagster adds (the manifest, the CLI resource) stays in
``orchestration/dbt.py``.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

from core.settings import Settings, duckdb_memory_limit
from core.targets import PostgresTarget

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
# The dbt installed beside this Python, whether or not the venv is on PATH.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def dbt_vars(as_of: date, la_code: str, similar_areas: tuple[str, ...] = ()) -> str:
    """The ``--vars`` argument: the as-of date, the partnership and its similar areas."""
    values: dict[str, object] = {"as_of": as_of.isoformat(), "la_code": la_code}
    if similar_areas:
        values["similar_areas"] = list(similar_areas)
    return json.dumps(values, sort_keys=True)


def dbt_environment(
    warehouse: Path, log_path: Path, target: str = "duckdb", postgres: PostgresTarget | None = None
) -> dict[str, str]:
    """Environment variables the dbt profile reads (the same ones the ingest uses).

    On Postgres the connection comes from ``postgres`` (its DSN, else the libpq PG*
    variables), and dbt acts as its role (csp_transformer).
    """
    env = {
        "CSP_WAREHOUSE_PATH": str(warehouse),
        "CSP_TARGET": target,
        # Validated, with the ingest's default: one limit for every DuckDB connection.
        "CSP_DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(),
        "DBT_LOG_PATH": str(log_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if target == "postgres" and postgres is not None:
        parameters = postgres.parameters()
        env.update(
            {
                "CSP_PG_HOST": parameters["host"] or "localhost",
                "CSP_PG_PORT": parameters["port"] or "5432",
                "CSP_PG_USER": parameters["user"] or os.environ.get("USER", "postgres"),
                "CSP_PG_PASSWORD": parameters["password"],
                "CSP_PG_DBNAME": parameters["dbname"] or "csp",
                "CSP_PG_ROLE": postgres.role or "",
            }
        )
    return env


def settings_dbt_environment(settings: Settings) -> dict[str, str]:
    """dbt's environment for a home: its warehouse, and on Postgres the transformer role."""
    return dbt_environment(
        settings.warehouse,
        settings.dbt_logs,
        settings.target,
        settings.postgres.with_role(settings.pg_transformer_role or None),
    )
