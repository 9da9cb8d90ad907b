"""The shared deployment (``deploy/``, ``docs/deployment.md``): Dagster's instance on a real
PostgreSQL, ``dagster-webserver`` and ``dagster-daemon`` as separate processes over one home,
as the systemd units run them; a file dropped in landing is found by the landing sensor and
its run succeeds, as the instance on PostgreSQL records it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import dagster as dg
import psycopg2
import pytest
from psycopg2.extensions import make_dsn, parse_dsn

from bench.dagster_ui import free_port, graphql
from core.settings import ConfigError
from orchestration.instance import PG_URL_ENV, write_instance_yaml
from tests.conftest import REPO, TEST_KEYS, drop, example

T = TypeVar("T")
BIN = Path(sys.executable).parent
WORKSPACE = REPO / "deploy" / "workspace.yaml"
LOCATION = "csp_warehouse"  # deploy/workspace.yaml
LA = "E08000031"
FILE = "police_crime_2014-07.csv"
STARTUP_SECONDS = 120
# The sensor looks every 30 s and takes a file once it is unchanged between two looks; the
# run then ingests it and builds the dbt project from an empty warehouse.
RUN_SECONDS = 300
SENSOR = (
    f'sensorSelector: {{ repositoryLocationName: "{LOCATION}", '
    'repositoryName: "__repository__", sensorName: "landing_sensor" }'
)


@pytest.fixture
def dagster_database(pg_server: str) -> Iterator[tuple[str, str]]:
    """A fresh, empty database for Dagster's instance: its SQLAlchemy URL and the password in
    it; dropped afterwards.

    The throwaway server trusts loopback connections and ignores a password, so one is made
    up when the server's DSN has none: the test then looks for it in every file written.
    """
    name = f"csp_dagster_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    params = parse_dsn(make_dsn(pg_server, dbname=name))
    password = params.get("password") or f"never-on-disk-{uuid.uuid4().hex}"
    url = (
        f"postgresql+psycopg2://{quote(params.get('user', 'postgres'), safe='')}:"
        f"{quote(password, safe='')}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', 5432)}/{name}"
    )
    try:
        yield url, password
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _files_holding(folder: Path, secret: str) -> list[Path]:
    """The files under ``folder`` whose bytes contain ``secret``."""
    needle = secret.encode()
    return [f for f in folder.rglob("*") if f.is_file() and needle in f.read_bytes()]


@contextmanager
def service(argv: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> Iterator[None]:
    """One of the units' processes, in its own session, stopped by SIGTERM as systemd stops
    it; fails if it has not ended 60 s later."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield
            assert process.poll() is None, f"{argv[0]} exited with {process.returncode}: {log}"
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise AssertionError(f"{argv[0]} did not stop on SIGTERM: {log}") from None
        # Stopped as systemd stops it, it exits 0: not a failure for Restart=on-failure.
        assert process.returncode == 0, f"{argv[0]} stopped with {process.returncode}: {log}"


def poll(what: str, condition: Callable[[], T | None], seconds: float, logs: tuple[Path, ...]) -> T:
    """Call ``condition`` every second until it gives something; fail after ``seconds`` with
    the services' logs' tails."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"waited {seconds} s for {what}\n{tails}")
        time.sleep(1)


def _answering(port: int) -> bool:
    try:
        graphql(port, "{ version }")
    except OSError:  # not listening yet (URLError, connection refused or reset)
        return False
    return True


def _sensor_status(port: int) -> str | None:
    found = graphql(
        port,
        f"{{ sensorOrError({SENSOR}) {{ __typename "
        "... on Sensor { sensorState { status } } ... on PythonError { message } } }",
    )["sensorOrError"]
    return found["sensorState"]["status"] if found["__typename"] == "Sensor" else None


def _sensor_daemon_healthy(port: int) -> bool:
    statuses = graphql(
        port,
        "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }",
    )["instance"]["daemonHealth"]["allDaemonStatuses"]
    return any(s["daemonType"] == "SENSOR" and s["healthy"] for s in statuses)


def test_the_services_on_postgres_run_the_landing_sensors_run(
    tmp_path: Path, dagster_database: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both services started as the units start them, the sensor on, one police file
    dropped: its run, launched by the daemon, succeeds, and no file holds the password."""
    started = time.monotonic()
    url, password = dagster_database
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    dagster_home = home / "dagster"
    # What deploy/csp.env.example and the units' Environment= lines give both services.
    env = {
        **os.environ,
        **TEST_KEYS,
        "CSP_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        PG_URL_ENV: url,
        "CSP_PARTNERSHIP": LA,
        "CSP_LA_NAME": "Wolverhampton",
        "CSP_AS_OF": "2014-12-04",
        "CSP_STABLE_SECONDS": "0",
    }
    # The units' ExecStartPre: the instance's file, naming the variable, never the URL.
    subprocess.run(
        [str(BIN / "python"), "-m", "orchestration.instance", "--shared"],
        env=env,
        cwd=home,
        check=True,
    )
    written = (dagster_home / "dagster.yaml").read_text()
    assert f'postgres_url: {{"env": "{PG_URL_ENV}"}}' in written, written
    assert password not in written and "nux:\n  enabled: false" in written

    port = free_port()
    logs = (tmp_path / "webserver.log", tmp_path / "daemon.log")
    with ExitStack() as services:
        services.enter_context(
            service(
                [
                    str(BIN / "dagster-webserver"),
                    "--workspace",
                    str(WORKSPACE),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env,
                home,
                logs[0],
            )
        )
        services.enter_context(
            service(
                [str(BIN / "dagster-daemon"), "run", "--workspace", str(WORKSPACE)],
                env,
                home,
                logs[1],
            )
        )
        poll("the webserver", lambda: _answering(port), STARTUP_SECONDS, logs)
        status = poll("the code location", lambda: _sensor_status(port), STARTUP_SECONDS, logs)
        if status != "RUNNING":  # on by default; turned on as a data engineer would if not
            graphql(port, f"mutation {{ startSensor({SENSOR}) {{ __typename }} }}")
        assert poll("the sensor on", lambda: _sensor_status(port) == "RUNNING", 30, logs)
        # The daemon's heartbeat, read by the webserver: both on the one instance.
        poll("the daemon's sensors", lambda: _sensor_daemon_healthy(port), STARTUP_SECONDS, logs)
        up = time.monotonic() - started

        drop(home, "police_crime", example(FILE))
        dropped = time.time()

        monkeypatch.setenv(PG_URL_ENV, url)
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:

            def finished() -> dg.DagsterRun | None:
                found = instance.get_runs(filters=dg.RunsFilter(tags={"csp/file": FILE}))
                done = [r for r in found if r.is_finished]
                return done[0] if done else None

            run = poll("the landing sensor's run", finished, RUN_SECONDS, logs)
            errors = [
                record.user_message or str(record.dagster_event.event_specific_data)
                for record in instance.all_logs(run.run_id)
                if record.dagster_event is not None and record.dagster_event.is_failure
            ]
            assert run.status == dg.DagsterRunStatus.SUCCESS, "\n".join(errors)
            assert run.tags.get("dagster/sensor_name") == "landing_sensor", run.tags
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            record = instance.get_run_record_by_id(run.run_id)
            assert record is not None
            ran = (record.end_time or 0) - (record.start_time or 0)
            asked = record.create_timestamp.timestamp() - dropped
    # The services and the run wrote their logs, compute logs and the warehouse: none holds
    # the password, which only the environment carried.
    assert not _files_holding(tmp_path, password)
    print(
        f"services up in {up:.0f} s; the sensor asked for the run {asked:.0f} s after the "
        f"drop; it ran for {ran:.0f} s; the whole test took {time.monotonic() - started:.0f} s"
    )


def test_a_shared_homes_file_names_the_variable_and_never_goes_back_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL of the environment is named, not written; one in ``csp.toml`` may not hold a
    password; and a shared home's file is not silently turned back into SQLite's."""
    dagster_home = tmp_path / "dagster"
    secret = "postgresql+psycopg2://dagster:s3cret@db.example.org:5432/csp_dagster"
    monkeypatch.setenv(PG_URL_ENV, secret)
    text = write_instance_yaml(dagster_home).read_text()
    assert "s3cret" not in text and "event_log_storage" not in text

    monkeypatch.delenv(PG_URL_ENV)
    with pytest.raises(ConfigError, match="keeps this home's Dagster history on PostgreSQL"):
        write_instance_yaml(dagster_home)
    (tmp_path / "csp.toml").write_text(f'[dagster]\npostgres_url = "{secret}"\n')
    with pytest.raises(ConfigError, match="holds a password") as refused:
        write_instance_yaml(dagster_home)
    assert "s3cret" not in str(refused.value)
    without = "postgresql+psycopg2://dagster@db.example.org:5432/csp_dagster"
    (tmp_path / "csp.toml").write_text(f'[dagster]\npostgres_url = "{without}"\n')
    assert f'postgres_url: "{without}"' in write_instance_yaml(dagster_home).read_text()

    # SQLAlchemy 2.1 would open a bare postgresql:// URL with psycopg 3, not installed.
    monkeypatch.setenv(PG_URL_ENV, secret.replace("+psycopg2", ""))
    with pytest.raises(ConfigError, match=r"postgresql\+psycopg2://") as refused:
        write_instance_yaml(dagster_home)
    assert "s3cret" not in str(refused.value)

    # A home of its own keeps SQLite, with the pop-up off too.
    monkeypatch.delenv(PG_URL_ENV)
    alone = write_instance_yaml(tmp_path / "alone" / "dagster").read_text()
    assert "CspSqliteEventLogStorage" in alone and "nux:\n  enabled: false" in alone
