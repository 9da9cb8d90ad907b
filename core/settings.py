"""The settings of one partnership's build, resolved once, and the errors of configuration.

``orchestration.config.load_settings`` resolves them from options, environment and
``<home>/csp.toml``; every stage reads them from here.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.feed_calendar import CalendarEntry
from core.targets import PostgresTarget

# The ingest's and dbt's DuckDB memory limit (CSP_DUCKDB_MEMORY_LIMIT overrides it). Lower
# costs time: at medium scale dbt took 39 s with 1GB, 47 s with 512MB (BENCHMARKS.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "512MB"

CONFIG_FILE = "csp.toml"


class ConfigError(ValueError):
    """The configuration is incomplete or wrong; the message says which setting."""


@dataclass(frozen=True)
class Settings:
    """Everything a build needs to know, resolved once."""

    home: Path
    as_of: date
    la_code: str  # the partnership's code: a CSP code, or a district's (kept as la_code)
    la_name: str
    calendar: tuple[CalendarEntry, ...]
    # The districts the partnership spans (from the ONS district lookup in HOME/reference);
    # a partnership known by a district code alone spans that district.
    districts: tuple[str, ...] = ()
    alert_urls: tuple[str, ...] = ()
    stable_seconds: float = 2.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # "duckdb" (the file under home) or "postgres" (CSP_PG_DSN, else the libpq PG* variables).
    target: str = "duckdb"
    pg_dsn: str = ""
    # Roles the ingest and dbt act as on Postgres (`csp db init` creates them); "" = the
    # DSN's own user.
    pg_loader_role: str = "csp_loader"
    pg_transformer_role: str = "csp_transformer"
    # Domains configured to share one pseudonymisation key (domain -> the group's key name).
    pseudonym_links: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def postgres(self) -> PostgresTarget:
        """The Postgres warehouse, as the DSN's own user."""
        return PostgresTarget(self.pg_dsn)

    @property
    def warehouse_target(self) -> Path | PostgresTarget:
        """Where the raw layer is written: the DuckDB file, or Postgres as the loader role."""
        if self.target == "postgres":
            return self.postgres.with_role(self.pg_loader_role or None)
        return self.warehouse

    @property
    def similar_areas(self) -> tuple[str, ...]:
        """LA codes the partnership compares itself with (MoJ reoffending ranks)."""
        configured = os.environ.get("CSP_SIMILAR_AREAS")
        codes = (
            configured.split(",")
            if configured
            else self.raw.get("moj", {}).get("similar_areas", [])
        )
        found = tuple(c.strip() for c in codes if c.strip())
        bad = [c for c in found if not c.replace("_", "").isalnum()]
        if bad:
            raise ConfigError(f"[moj] similar_areas / CSP_SIMILAR_AREAS: not LA codes: {bad}")
        return found

    @property
    def reference_folder(self) -> Path:
        """Where ONS geography and population files go, recognised by their headers."""
        return self.home / "reference"

    @property
    def configured_lsoa_lookup(self) -> Path | None:
        """An LSOA lookup kept outside the home (``CSP_LSOA_LOOKUP`` or ``[police]
        lsoa_lookup``), read as if it were in the reference folder."""
        configured = os.environ.get("CSP_LSOA_LOOKUP") or self.raw.get("police", {}).get(
            "lsoa_lookup"
        )
        return Path(configured) if configured else None

    @property
    def lsoa_lookup_path(self) -> Path:
        """Where the LSOA lookup is looked for, for messages: the configured file, else the
        reference folder."""
        return self.configured_lsoa_lookup or self.reference_folder

    @property
    def landing(self) -> Path:
        """Where partners drop files: ``<home>/landing/<feed>/``."""
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse file being built."""
        return self.home / "warehouse.duckdb"

    @property
    def exports(self) -> Path:
        """Where exports are written."""
        return self.home / "exports"

    @property
    def dagster_home(self) -> Path:
        """Dagster's own storage (runs, event logs) for this home."""
        return self.home / "dagster"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for this home (compiled SQL, run results)."""
        return self.home / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        """dbt's log folder for this home."""
        return self.home / "dbt" / "logs"


def parse_date(value: str | date, setting: str) -> date:
    """A YYYY-MM-DD date, or ConfigError naming the setting."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{setting} must be a date written YYYY-MM-DD, not {value!r}") from None


def read_config_file(home: Path) -> dict[str, Any]:
    """The parsed ``csp.toml`` of a home, or an empty configuration."""
    path = home / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for the warehouse, as the dbt profile reads it too."""
    limit = os.environ.get("CSP_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit, flags=re.IGNORECASE):
        raise ValueError(
            f"CSP_DUCKDB_MEMORY_LIMIT must be a size such as 512MB or 2GiB, not {limit!r}"
        )
    return limit
