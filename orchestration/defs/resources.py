"""The resource every asset, check, sensor and op shares, their run configuration, and the pool.

Everything that opens the DuckDB file is in the concurrency pool ``POOL``, limited to one
(see ``orchestration.instance``): DuckDB allows a single writer, and dbt fails on any other
connection.
"""

import dagster as dg

from core.settings import Settings
from orchestration.config import load_settings

POOL = "warehouse"


class CspResource(dg.ConfigurableResource):
    """The build's settings; unset fields fall back to CSP_* variables and ``csp.toml``."""

    home: str | None = None
    as_of: str | None = None
    la_code: str | None = None
    # Rebuild the incremental dbt models from every row (csp build --full-refresh).
    full_refresh: bool = False

    def settings(self) -> Settings:
        """Resolve the settings now (so a schedule's 'today' is the run's today)."""
        return load_settings(self.home, self.as_of, self.la_code)


class IngestConfig(dg.Config):
    """Which landed files to ingest: by default every file waiting for the feed."""

    files: list[str] = []


class MonitorConfig(dg.Config):
    """The day the check judges (YYYY-MM-DD); empty means the resource's as-of, or today."""

    as_of: str = ""
