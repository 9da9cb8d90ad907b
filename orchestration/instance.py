"""Dagster's instance configuration for a home (``HOME/dagster/dagster.yaml``).

Written by ``csp`` before every build and before ``csp ui`` starts Dagster: the file holds
the event log's absolute path, so a home that was moved or copied must have it rewritten
before Dagster opens it, or its runs' events would go to (and be read from) the old place.
Kept apart from the definitions (``orchestration/defs/``), which import dagster-dbt and
dbt-core: the command line imports this module for every command.
"""

from __future__ import annotations

import json
from pathlib import Path

INSTANCE_YAML = """\
# Written by csp for this home, and again at every build.
# One step at a time may touch the DuckDB warehouse.
concurrency:
  pools:
    default_limit: 1
telemetry:
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
# Dagster's SQLite event log with its connections kept open (orchestration/event_log.py).
event_log_storage:
  module: orchestration.event_log
  class: CspSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""


def instance_yaml(dagster_home: Path) -> str:
    """Dagster's instance configuration for a home: a pool limit of one, run monitoring, our
    event log."""
    # Where Dagster's default storage keeps it, so that a home keeps its history.
    event_log_dir = dagster_home.resolve() / "history" / "runs"
    return INSTANCE_YAML.format(event_log_dir=json.dumps(str(event_log_dir)))


def write_instance_yaml(dagster_home: Path) -> Path:
    """Write the home's ``dagster.yaml`` (``instance_yaml``) if it differs."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    text = instance_yaml(dagster_home)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
