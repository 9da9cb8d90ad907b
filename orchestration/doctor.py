"""``csp doctor``: is a home ready to build, as ``dbt debug`` checks a project.

Each check reads and never writes: no warehouse is created, no lock is taken for longer than
it takes to test it, no key file is made. Each says what it found and, when something is
wrong, what to do about it.
"""

from __future__ import annotations

import fcntl
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.contracts import all_contracts
from core.settings import ConfigError, Settings
from ingest.arrivals import unowned_entries
from ingest.pseudonymise import KeyConfigError, MissingKeyError, load_pseudonymiser
from ingest.warehouse import connect_postgres
from orchestration.config import load_settings
from orchestration.home import require_home

OK, WARN, FIX = "ok", "warn", "FIX"
WIDTH = 100


@dataclass(frozen=True)
class Check:
    """One thing checked: its verdict (ok, warn or FIX) and what was found or is to do."""

    name: str
    verdict: str
    detail: str


def run_doctor(home: str | Path | None, as_of: str | None, la_code: str | None) -> list[Check]:
    """Every check of the home, in the order a build depends on them."""
    try:
        path = require_home(home)
    except ConfigError as error:
        return [Check("home", FIX, str(error))]
    checks = [Check("home", OK, str(path))]
    try:
        settings = load_settings(path, as_of, la_code)
    except (ConfigError, KeyConfigError) as error:
        return [*checks, Check("configuration", FIX, str(error))]
    checks.append(
        Check(
            "configuration",
            OK,
            f"partnership {settings.la_name} ({settings.la_code}), districts "
            f"{', '.join(settings.districts)}; warehouse on {settings.target}; as of "
            f"{settings.as_of}",
        )
    )
    for check in (_keys, _landing, _warehouse, _lock, _alerts):
        checks.append(check(settings))
    return checks


def _keys(settings: Settings) -> Check:
    """The pseudonymisation keys of every personal-data feed the home takes."""
    contracts = all_contracts()
    taken = [f for f in contracts if (settings.landing / f).is_dir()]
    domains = {contracts[f].pseudonym_domain for f in taken} - {None}
    if not domains:
        return Check("keys", OK, "no feed with personal data in landing: no key needed")
    try:
        keys = load_pseudonymiser(settings.home, settings.pseudonym_links, domains)
    except (MissingKeyError, KeyConfigError) as error:
        return Check("keys", FIX, str(error))
    return Check("keys", OK, f"a key for each of {', '.join(sorted(keys.keys))}")


def _landing(settings: Settings) -> Check:
    """The landing folder and its feed folders."""
    landing = settings.landing
    if not landing.is_dir():
        return Check(
            "landing",
            FIX,
            f"{landing} is missing: create it with a folder per feed that partners send "
            f"({', '.join(sorted(all_contracts()))})",
        )
    feeds = sorted(p.name for p in landing.iterdir() if p.is_dir() and p.name in all_contracts())
    stray = unowned_entries(landing)
    detail = f"{len(feeds)} feed folder(s): {', '.join(feeds) or 'none'}"
    if stray:
        return Check(
            "landing",
            WARN,
            f"{detail}; not taken (not a feed's folder or file): {', '.join(map(str, stray))}",
        )
    return Check("landing", OK if feeds else WARN, detail)


def _warehouse(settings: Settings) -> Check:
    """The warehouse opens and holds the raw layer (DuckDB), or the server answers (Postgres)."""
    if settings.target == "postgres":
        try:
            with connect_postgres(settings.warehouse_target, read_only=True) as con:
                con.execute("select 1")
        except Exception as error:  # noqa: BLE001 - any failure to connect is the finding
            return Check(
                "warehouse",
                FIX,
                f"PostgreSQL not reachable with CSP_PG_DSN: {str(error).strip().splitlines()[0]}"
                "; check the DSN, the server and `csp db init`",
            )
        return Check("warehouse", OK, "PostgreSQL reachable with CSP_PG_DSN")
    path = settings.warehouse
    if not path.exists():
        return Check("warehouse", WARN, f"{path} not built yet: run `csp build`")
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            found = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw' and table_name = 'deliveries'"
            ).fetchone()[0]
    except duckdb.IOException as error:
        return Check("warehouse", WARN, f"{path} is in use (a build is running?): {error}")
    except duckdb.Error as error:
        return Check("warehouse", FIX, f"{path} cannot be read: {error}; rebuild it")
    if not found:
        return Check("warehouse", FIX, f"{path} has no raw.deliveries: run `csp build`")
    return Check("warehouse", OK, f"{path} readable")


def _lock(settings: Settings) -> Check:
    """Whether a build, ingest, re-key or report holds the home now."""
    path = settings.home / ".csp.lock"
    if not path.exists():
        return Check("lock", OK, "free")
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "a process that has not said which"
            return Check("lock", WARN, f"held by {holder}: the next build waits for it")
        fcntl.flock(handle, fcntl.LOCK_UN)
    return Check("lock", OK, "free")


def _alerts(settings: Settings) -> Check:
    """Whether anyone is told when a feed stops."""
    if not settings.alert_urls:
        return Check(
            "alerts",
            WARN,
            "no alert channel: set CSP_ALERT_URLS or [alerts] urls in csp.toml, or nobody is "
            "told when a feed stops",
        )
    return Check("alerts", OK, f"{len(settings.alert_urls)} channel(s)")


def print_checks(checks: list[Check], out: Callable[[str], None] = print) -> int:
    """Print each check, wrapped to 100 columns (a longer path keeps a line of its own); 1 if
    any needs fixing, else 0."""
    name_width = max(len(c.name) for c in checks)
    for check in checks:
        lead = f"[{check.verdict}]".ljust(7) + check.name.ljust(name_width + 2)
        # Paths are never split (at a hyphen or mid-word), so they can be copied whole.
        lines = textwrap.wrap(
            check.detail,
            WIDTH,
            initial_indent=lead,
            subsequent_indent=" " * len(lead),
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in lines or [lead.rstrip()]:
            out(line)
    fixes = sum(c.verdict == FIX for c in checks)
    out(f"{fixes} thing(s) to fix." if fixes else "All checks passed; warnings, if any, are above.")
    return 1 if fixes else 0
