"""Configuration of one partnership's build: where, as of when, for whom, and its feed calendar.

Precedence: command-line options, then environment (``CSP_HOME``, ``CSP_AS_OF``,
``CSP_LA_CODE``, ``CSP_LA_NAME``), then ``<home>/csp.toml``, then the feed contracts' defaults.
Nothing here is specific to one partnership: the LA code, its name, due rules and suspensions
are all data.

``csp.toml``::

    [partnership]
    la_code = "E08000031"
    name = "Wolverhampton"

    [moj]
    # similar_areas = ["E08000025", "E08000026"]   (optional: ranked together with the
    #                                                partnership in fct_reoffending_comparison)

    [police]
    # lsoa_lookup = "/srv/reference/lsoa_la_lookup.csv"   (optional, default
    #   <home>/reference/lsoa_la_lookup.csv: places the crimes of a force-wide extract)

    [pseudonymisation]
    # link = [["offenders", "treatment"]]   (optional: these domains share one key, so their
    #                                         tokens match; otherwise each has its own)

    [feeds.moj_reoffending]
    suspended_since = 2014-01-01
    suspension_reason = "MoJ: localised data not available until further notice"
    # partner = "Ministry of Justice"   (optional: the name alerts and reports use)
    # calendar_start = 2012-04-01       (optional: expect deliveries from this period)
    # due_days_after_period_end = 150   (optional: override the contract's due rule)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ingest.contracts import all_contracts
from ingest.pseudonymise import (
    LINK_ENV,
    KeyConfigError,
    Pseudonymiser,
    load_pseudonymiser,
    parse_links,
)
from ingest.warehouse import CalendarEntry, PostgresTarget

CONFIG_FILE = "csp.toml"


class ConfigError(ValueError):
    """The configuration is incomplete or wrong; the message says which setting."""


@dataclass(frozen=True)
class Settings:
    """Everything a build needs to know, resolved once."""

    home: Path
    as_of: date
    la_code: str
    la_name: str
    calendar: tuple[CalendarEntry, ...]
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

    def pseudonymiser(self) -> Pseudonymiser:
        """Every key the feeds need; MissingKeyError names each one not configured."""
        return load_pseudonymiser(self.home, self.pseudonym_links)

    @property
    def postgres(self) -> PostgresTarget:
        """The Postgres warehouse, as the DSN's own user."""
        return PostgresTarget(self.pg_dsn)

    @property
    def warehouse_target(self) -> "Path | PostgresTarget":
        """Where the raw layer is written: the DuckDB file, or Postgres as the loader role."""
        if self.target == "postgres":
            return self.postgres.with_role(self.pg_loader_role or None)
        return self.warehouse

    @property
    def similar_areas(self) -> tuple[str, ...]:
        """LA codes the partnership compares itself with (MoJ reoffending ranks)."""
        configured = os.environ.get("CSP_SIMILAR_AREAS")
        codes = configured.split(",") if configured else self.raw.get("moj", {}).get(
            "similar_areas", [])
        found = tuple(c.strip() for c in codes if c.strip())
        bad = [c for c in found if not c.replace("_", "").isalnum()]
        if bad:
            raise ConfigError(f"[moj] similar_areas / CSP_SIMILAR_AREAS: not LA codes: {bad}")
        return found

    @property
    def lsoa_lookup_path(self) -> Path:
        """The LSOA → local authority lookup for force-wide police extracts (optional)."""
        configured = os.environ.get("CSP_LSOA_LOOKUP") or self.raw.get("police", {}).get(
            "lsoa_lookup")
        return Path(configured) if configured else self.home / "reference" / "lsoa_la_lookup.csv"

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


def _calendar_entry(feed: str, partner: str, cadence: str, due_days: int,
                    options: dict[str, Any], where: str) -> CalendarEntry:
    since = options.get("suspended_since")
    start = options.get("calendar_start")
    if since is not None and not options.get("suspension_reason"):
        raise ConfigError(f"[{where}] suspended_since needs a suspension_reason")
    return CalendarEntry(
        feed=feed,
        partner=partner,
        cadence=cadence,
        due_days_after_period_end=int(options.get("due_days_after_period_end", due_days)),
        calendar_start=parse_date(start, f"[{where}] calendar_start") if start else None,
        suspended_since=parse_date(since, f"[{where}] suspended_since") if since else None,
        suspension_reason=options.get("suspension_reason"),
    )


def feed_calendar(config: dict[str, Any]) -> tuple[CalendarEntry, ...]:
    """Each feed's calendar: the contract's cadence and due rule, overridden by configuration.

    A feed sent by several partners (partner returns) has one calendar per partner, so one
    partner's missing return is late on its own. ``[feeds.<feed>]`` options apply to every
    partner and ``[feeds.<feed>.<partner>]`` to one.
    """
    feeds_config: dict[str, Any] = config.get("feeds", {})
    unknown = set(feeds_config) - set(all_contracts())
    if unknown:
        raise ConfigError(f"[feeds] names unknown feed(s): {', '.join(sorted(unknown))}")
    entries = []
    for feed, contract in all_contracts().items():
        options = feeds_config.get(feed, {})
        if not contract.partners:
            entries.append(_calendar_entry(
                feed, options.get("partner", contract.partner), contract.cadence,
                contract.due_days_after_period_end, options, f"feeds.{feed}"))
            continue
        shared = {k: v for k, v in options.items() if not isinstance(v, dict)}
        unknown_partners = {k for k, v in options.items() if isinstance(v, dict)} - set(
            contract.partners)
        if unknown_partners:
            raise ConfigError(f"[feeds.{feed}] names unknown partner(s): "
                              f"{', '.join(sorted(unknown_partners))}")
        for partner in contract.partners:
            entries.append(_calendar_entry(
                feed, partner, contract.cadence, contract.due_days_after_period_end,
                {**shared, **options.get(partner, {})}, f"feeds.{feed}.{partner}"))
    return tuple(entries)


def load_settings(
    home: str | Path | None = None,
    as_of: str | date | None = None,
    la_code: str | None = None,
    la_name: str | None = None,
) -> Settings:
    """Resolve the settings of a build from options, environment and ``csp.toml``."""
    home_value = home or os.environ.get("CSP_HOME")
    if not home_value:
        raise ConfigError("no home folder: pass --home DIR or set CSP_HOME")
    home_path = Path(home_value).expanduser().resolve()
    config = read_config_file(home_path)
    partnership = config.get("partnership", {})
    code = la_code or os.environ.get("CSP_LA_CODE") or partnership.get("la_code")
    if not code:
        raise ConfigError(
            "no partnership: pass --la-code CODE, set CSP_LA_CODE, or set "
            f"[partnership] la_code in {home_path / CONFIG_FILE}"
        )
    # A name configured for another LA code must not label this one.
    configured_name = partnership.get("name") if partnership.get("la_code", code) == code else None
    name = la_name or os.environ.get("CSP_LA_NAME") or configured_name or code
    as_of_value = as_of or os.environ.get("CSP_AS_OF") or date.today()
    urls = os.environ.get("CSP_ALERT_URLS")
    alert_urls = tuple(u.strip() for u in urls.split(",") if u.strip()) if urls else tuple(
        config.get("alerts", {}).get("urls", [])
    )
    stable = os.environ.get("CSP_STABLE_SECONDS") or config.get("landing", {}).get(
        "stable_seconds", 2)
    target = (os.environ.get("CSP_TARGET") or config.get("warehouse", {}).get("target")
              or "duckdb").strip().lower()
    if target not in ("duckdb", "postgres"):
        raise ConfigError(f"CSP_TARGET must be duckdb or postgres, not {target!r}")
    try:
        links = parse_links(os.environ.get(LINK_ENV)
                            or config.get("pseudonymisation", {}).get("link"))
    except KeyConfigError as error:
        raise ConfigError(f"{LINK_ENV} / [pseudonymisation] link: {error}") from None
    return Settings(
        pseudonym_links=links,
        target=target,
        pg_dsn=os.environ.get("CSP_PG_DSN", ""),
        pg_loader_role=os.environ.get("CSP_PG_LOADER_ROLE", "csp_loader"),
        pg_transformer_role=os.environ.get("CSP_PG_TRANSFORMER_ROLE", "csp_transformer"),
        stable_seconds=float(stable),
        home=home_path,
        as_of=parse_date(as_of_value, "--as-of / CSP_AS_OF"),
        la_code=code.strip(),
        la_name=name,
        calendar=feed_calendar(config),
        alert_urls=alert_urls,
        raw=config,
    )
