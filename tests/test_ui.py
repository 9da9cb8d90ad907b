"""``csp ui``: Dagster's real UI (``dagster dev``) over a home, asked through its GraphQL API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg

from orchestration.instance import write_instance_yaml
from tests.receivers import free_port

CSP = Path(sys.executable).parent / "csp"
STARTUP_SECONDS = 120


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def _wait_for_ui(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"csp ui exited with {server.returncode}"
        try:
            _graphql(port, "{ version }")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"the UI did not answer on port {port} in {STARTUP_SECONDS} s")


def _materialise_once(dagster_home: Path) -> str:
    @dg.asset
    def one() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return dg.materialize([one], instance=instance).run_id


def test_the_ui_over_a_moved_home_shows_its_runs_events(tmp_path: Path) -> None:
    """A home's ``dagster.yaml`` names the event log's absolute path; after a move, ``csp ui``
    must rewrite it, or Dagster reads (and writes) the events at the old place."""
    before, after = tmp_path / "before", tmp_path / "after"
    write_instance_yaml(before / "dagster")
    run_id = _materialise_once(before / "dagster")
    shutil.move(before, after)

    port = free_port()
    log = (tmp_path / "ui.log").open("w")
    server = subprocess.Popen(
        [str(CSP), "ui", "--home", str(after), "--la-code", "E08000031", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_for_ui(port, server)
        runs = _graphql(port, "{ runsOrError { ... on Runs { results { runId } } } }")
        assert [r["runId"] for r in runs["runsOrError"]["results"]] == [run_id]
        logs = _graphql(port, f'{{ logsForRun(runId: "{run_id}") {{ __typename '
                              "... on EventConnection { events { __typename } } } }")
        events = [e["__typename"] for e in logs["logsForRun"]["events"]]
        assert "MaterializationEvent" in events and "RunSuccessEvent" in events, events
        assert not before.exists(), "Dagster recreated the old home's event log"
        assert str(after / "dagster" / "history" / "runs") in \
            (after / "dagster" / "dagster.yaml").read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
