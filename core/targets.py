"""Where a Postgres warehouse is, and as whom to act on it (no connection is opened here)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class PostgresTarget:
    """Where the Postgres warehouse is: a libpq DSN ('' means the PG* variables) and the role
    to act as (``set role``), e.g. csp_loader for the ingest."""

    dsn: str = ""
    role: str | None = None

    def parameters(self) -> dict[str, str]:
        """host, port, user, password, dbname: from the DSN, else the libpq variables."""
        from psycopg2.extensions import parse_dsn

        parsed = parse_dsn(self.dsn) if self.dsn else {}
        fallback = {
            "host": "PGHOST",
            "port": "PGPORT",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "dbname": "PGDATABASE",
        }
        return {
            key: str(parsed.get(key) or os.environ.get(variable, ""))
            for key, variable in fallback.items()
        }

    def with_role(self, role: str | None) -> PostgresTarget:
        """The same server, acting as another role."""
        return PostgresTarget(self.dsn, role)
