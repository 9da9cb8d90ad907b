"""Drive a real ``csp ui`` (Dagster's webserver, daemon and code server) through its GraphQL
API: used by the sensor benchmark (``bench/sensor.py``) and by ``tests/test_ui.py``; the
tests' other loopback receivers take their ports from ``free_port`` too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

CSP = Path(sys.executable).parent / "csp"
STARTUP_SECONDS = 120
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict[str, Any]:
    """The ``data`` of a GraphQL query to the UI on ``port``; fails on any GraphQL error."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if "errors" in body:
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


@contextmanager
def serving(home: Path, log: Path, la_code: str, env: Mapping[str, str]) -> Iterator[int]:
    """``csp ui`` over ``home`` on a free port until the block ends; yields the port."""
    port = free_port()
    with log.open("w") as sink:
        server = subprocess.Popen(
            [str(CSP), "ui", "--home", str(home), "--la-code", la_code, "--port", str(port)],
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"csp ui exited with {server.returncode}: see {log}")
                try:
                    graphql(port, "{ version }")
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"no UI on port {port} after {STARTUP_SECONDS} s"
                        ) from None
                    time.sleep(0.5)
            yield port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def runs(port: int) -> list[dict[str, Any]]:
    """Every run, newest first: id, job, status, start and end (epoch seconds) and tags."""
    query = (
        "{ runsOrError { ... on Runs { results { runId jobName status startTime endTime "
        "tags { key value } } } } }"
    )
    return graphql(port, query)["runsOrError"]["results"]


def messages(port: int, run_id: str) -> list[str]:
    """The run's event messages in order (an event without one gives its type)."""
    logs = graphql(
        port,
        f'{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection '
        "{ events { __typename ... on MessageEvent { message } } } } }",
    )
    return [e.get("message") or e["__typename"] for e in logs["logsForRun"]["events"]]


def wait_for(what: str, condition: Callable[[], T | None], port: int, seconds: float) -> T:
    """Poll ``condition`` each second until it gives something; fail, listing the runs, after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}: {runs(port)}")
        time.sleep(1)
