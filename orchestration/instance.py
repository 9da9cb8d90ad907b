"""Dagster's instance configuration for a home (``HOME/dagster/dagster.yaml``).

Written by ``csp`` before every build and before ``csp ui`` starts Dagster: the file holds
the event log's absolute path, so a home that was moved or copied must have it rewritten
before Dagster opens it, or its runs' events would go to (and be read from) the old place.
Kept apart from the definitions (``orchestration/defs/``), which import dagster-dbt and
dbt-core: the command line imports this module for every command.

A home a team shares (``dagster-webserver`` and ``dagster-daemon`` as services,
``docs/deployment.md``) keeps Dagster's runs, event log and schedules on PostgreSQL instead
(dagster-postgres). It is shared when either of these is set, the first winning:

- ``CSP_DAGSTER_PG_URL`` in the environment, a URL
  ``postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DATABASE``. The file then names the
  variable (Dagster's ``env:`` form), never its value, so the password stays in the
  services' environment file;
- ``[dagster] postgres_url`` in the home's ``csp.toml``: a URL without a password (libpq
  reads it from ``PGPASSWORD`` or ``~/.pgpass``), written into the file as it is.

``python -m orchestration.instance [--shared] [HOME]`` writes the file for a home (default
``CSP_HOME``): the services run it before they start.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from core.settings import ConfigError, read_config_file

# The environment variable holding a shared instance's PostgreSQL URL.
PG_URL_ENV = "CSP_DAGSTER_PG_URL"
# The scheme SQLAlchemy needs to open it with psycopg2 (``_check_url``).
PG_SCHEME = "postgresql+psycopg2"

# What every home's instance has, whatever its storage.
COMMON_YAML = """\
# One step at a time may touch the DuckDB warehouse.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
# No "join the community" pop-up in the UI of a partnership's deployment.
nux:
  enabled: false
# A run whose process died (killed, out of memory) is marked failed by the code server that
# started it, but keeps its slot in the pool, and every later run would queue behind it for
# ever. Dagster's daemon frees the slots of finished runs 30 s after they end, and fails a
# run stuck starting for 3 minutes. (Resuming a crashed run needs a container launcher.)
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
  start_timeout_seconds: 180
  max_resume_run_attempts: 0
"""

INSTANCE_YAML = (
    "# Written by csp for this home, and again at every build.\n"
    + COMMON_YAML
    + """\
# Dagster's SQLite event log with its connections kept open (orchestration/event_log.py).
event_log_storage:
  module: orchestration.event_log
  class: CspSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""
)

# The first line marks a shared home's file, so that a later write without the configuration
# (a shell missing the variable) refuses rather than moving the home back to SQLite.
SHARED_MARK = "# Written by csp for this home, shared: Dagster's instance on PostgreSQL."
SHARED_YAML = (
    SHARED_MARK
    + "\n"
    + COMMON_YAML
    + """\
# Runs, the event log (with the pool's slots) and schedules on PostgreSQL, for the webserver
# and the daemon running as services (docs/deployment.md).
storage:
  postgres:
    postgres_url: {postgres_url}
"""
)


def shared_instance_url(home: Path) -> str | dict[str, str] | None:
    """Where a shared instance's PostgreSQL is, as ``dagster.yaml`` should name it: Dagster's
    ``{"env": CSP_DAGSTER_PG_URL}`` when the variable is set, else the password-free URL of
    the home's ``csp.toml``; None for a home of its own (SQLite)."""
    given = os.environ.get(PG_URL_ENV, "").strip()
    if given:
        _check_url(given, PG_URL_ENV)
        return {"env": PG_URL_ENV}
    configured = read_config_file(home).get("dagster", {}).get("postgres_url")
    if not configured:
        return None
    url = str(configured).strip()
    where = f"[dagster] postgres_url in {home / 'csp.toml'}"
    _check_url(url, where)
    if urlsplit(url).password is not None:
        raise ConfigError(
            f"{where} holds a password: remove it, and set PGPASSWORD (or ~/.pgpass), or give "
            f"the whole URL in {PG_URL_ENV} instead"
        )
    return url


def _check_url(url: str, where: str) -> None:
    """A URL dagster-postgres can open; the messages never repeat it, as it may hold a
    password."""
    # SQLAlchemy 2.1 opens a bare postgresql:// URL with psycopg 3, which is not installed:
    # dagster-postgres brings psycopg2.
    if urlsplit(url).scheme != PG_SCHEME:
        raise ConfigError(
            f"{where} must be a URL of the form {PG_SCHEME}://USER[:PASSWORD]@HOST:PORT/DATABASE"
        )


def instance_yaml(dagster_home: Path) -> str:
    """Dagster's instance configuration for a home: a pool limit of one, run monitoring, no
    telemetry or pop-up, and either our SQLite event log or, shared, PostgreSQL storage."""
    postgres_url = shared_instance_url(dagster_home.parent)
    if postgres_url is not None:
        # JSON is YAML: a quoted string, or the flow mapping {"env": "CSP_DAGSTER_PG_URL"}.
        return SHARED_YAML.format(postgres_url=json.dumps(postgres_url))
    # Where Dagster's default storage keeps it, so that a home keeps its history.
    event_log_dir = dagster_home.resolve() / "history" / "runs"
    return INSTANCE_YAML.format(event_log_dir=json.dumps(str(event_log_dir)))


def write_instance_yaml(dagster_home: Path) -> Path:
    """Write the home's ``dagster.yaml`` (``instance_yaml``) if it differs.

    Refuses (``ConfigError``) to turn a shared home's file back into a home of its own: its
    history is on PostgreSQL, and the services would lose it at their next start.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    text = instance_yaml(dagster_home)
    old = path.read_text() if path.exists() else None
    if old is not None and old.startswith(SHARED_MARK) and not text.startswith(SHARED_MARK):
        raise ConfigError(
            f"{path} keeps this home's Dagster history on PostgreSQL, but neither {PG_URL_ENV} "
            f"nor [dagster] postgres_url in {dagster_home.parent / 'csp.toml'} is set: set "
            f"one (as the services do, docs/deployment.md), or delete {path} to go back to a "
            "home of its own"
        )
    if old != text:
        # Replaced whole: the webserver and the daemon each write it as they start, and
        # neither may read it half-written.
        partial = path.with_name(f".dagster.yaml.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.instance [--shared] [HOME]``: write HOME's (or CSP_HOME's)
    file. ``--shared`` (the services' ExecStartPre) fails unless the home is shared: two
    processes creating one SQLite instance at once leave its schema broken, and the
    webserver's and daemon's runs would not be a team's."""
    args = sys.argv[1:] if argv is None else list(argv)
    shared = "--shared" in args
    args = [a for a in args if a != "--shared"]
    home = args[0] if args else os.environ.get("CSP_HOME")
    if not home or len(args) > 1 or home.startswith("-"):
        print(
            "usage: python -m orchestration.instance [--shared] [HOME] (or set CSP_HOME)",
            file=sys.stderr,
        )
        return 2
    dagster_home = Path(home).expanduser().resolve() / "dagster"
    try:
        if shared and shared_instance_url(dagster_home.parent) is None:
            raise ConfigError(
                f"{home} is not configured for a shared Dagster instance: set {PG_URL_ENV} "
                "(the services' environment file) or [dagster] postgres_url in its csp.toml "
                "(docs/deployment.md)"
            )
        path = write_instance_yaml(dagster_home)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Dagster's instance for {home}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
