"""Dagster definitions, the landing sensor, configuration and the CLI's refusals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from core.dbt_project import dbt_environment
from core.settings import ConfigError
from ingest.arrivals import LandedHashes
from ingest.landing import ingest_feed
from ingest.pseudonymise import load_pseudonymiser
from orchestration.cli import main
from orchestration.config import load_settings
from orchestration.dbt import dbt_build_args
from orchestration.definitions import defs
from orchestration.defs.jobs import monitor_job
from orchestration.defs.resources import POOL, CspResource
from orchestration.defs.schedules import morning_monitor, quarterly_report_schedule
from orchestration.defs.sensors import landing_sensor
from tests.conftest import TEST_KEYS, drop, example
from tests.receivers import http_receiver

LA = "E08000031"


IMPORT_ONLY = """
import subprocess
import orchestration.memory as memory
calls = []
memory.limit_malloc_arenas = lambda *args: calls.append("limit_malloc_arenas")
run = subprocess.run
subprocess.run = lambda argv, *a, **k: calls.append(argv[0]) or run(argv, *a, **k)
from core.contracts import all_contracts
from orchestration import dbt, definitions
from orchestration.defs import assets, checks, jobs
print([c for c in calls if c == "limit_malloc_arenas" or str(c).endswith("dbt")],
      all_contracts.cache_info().currsize, dbt.dbt_project.cache_info().currsize,
      assets.all_assets.cache_info().currsize, checks.delivery_checks.cache_info().currsize,
      jobs.csp_build_job.cache_info().currsize)
"""


def test_importing_the_definitions_reads_no_contract_and_runs_no_dbt() -> None:
    """Dagster builds the graph when it calls ``defs``; the import itself, which tests and
    the command line make too, parses nothing and sets no process-wide limit."""
    imported = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, check=True
    )
    assert imported.stdout.split() == ["[]", "0", "0", "0", "0", "0"], imported.stderr


def test_definitions_hold_the_whole_graph_in_one_pool() -> None:
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    expected = {
        "raw/police_crime",
        "raw/rny_treatment",
        "raw/idva_cases",
        "raw/idva_screening",
        "raw/moj_reoffending",
        "raw/deliveries",
        "raw/partnership",
        "raw/feed_calendar",
        "raw/lsoa_lookup",
        "marts/fct_indicator_quarter",
        "marts/fct_crime",
        "marts/dim_quarter",
        "marts/dim_indicator",
        "marts/dim_feed",
        "exports/indicators",
    }
    assert expected <= keys, expected - keys
    # Every step that touches the DuckDB file queues on the one pool.
    for node in definitions.resolve_implicit_global_asset_job_def().graph.node_defs:
        assert node.pool == POOL, node.name
    sensor = definitions.resolve_sensor_def("landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # dbt tests are asset checks on the marts.
    checks = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    assert "marts/fct_indicator_quarter" in checks


def test_landing_sensor_requests_one_run_per_delivery(home: Path) -> None:
    drop(home, "police_crime", example("police_crime_2014-07.csv"))
    drop(home, "moj_reoffending", example("moj_reoffending_2013-12.csv"))
    # The same bytes under another name: the same run key, so Dagster runs it once.
    drop(home, "police_crime", example("police_crime_2014-07.csv"), "police_crime_2014-08.csv")
    resources = {"csp": CspResource(home=str(home), la_code=LA)}
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        # Seen once: not yet known to be completely written, so no run yet.
        assert first.run_requests == []
        context = dg.build_sensor_context(
            instance=instance, resources=resources, cursor=first.cursor
        )
        result = landing_sensor(context)
        keys = sorted(r.run_key for r in result.run_requests)
        assert len(keys) == 3 and len(set(keys)) == 2
        assert all(k.split(":")[0] in {"police_crime", "moj_reoffending"} for k in keys)
        request = next(r for r in result.run_requests if r.run_key.startswith("moj"))
        assert request.run_config["ops"]["ingest_moj_reoffending"]["config"]["files"] == [
            "moj_reoffending_2013-12.csv"
        ]
        selected = {k.to_user_string() for k in request.asset_selection}
        assert "raw/moj_reoffending" in selected and "raw/police_crime" not in selected
        assert "marts/fct_indicator_quarter" in selected
        # Models with no feed upstream too: a home's first build may be this run.
        assert {"marts/dim_quarter", "raw/lsoa_lookup", "marts/dim_partnership"} <= selected
        again = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources)
        )
        assert sorted(r.run_key for r in again.run_requests) == keys
        # Once a delivery is archived (accepted), the sensor asks for no run at all for it.
        ingest_feed(
            "moj_reoffending",
            home=home,
            warehouse=home / "warehouse.duckdb",
            pseudonymiser=load_pseudonymiser(home),
            la_code=LA,
        )
        after = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=again.cursor, resources=resources)
        )
        assert {r.run_key.split(":")[0] for r in after.run_requests} == {"police_crime"}
        # A file that changes between ticks is waited for again.
        copy = home / "landing" / "police_crime" / "police_crime_2014-08.csv"
        copy.write_bytes(copy.read_bytes() + b"\r\n")
        changed = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=after.cursor, resources=resources)
        )
        assert [r.tags["csp/file"] for r in changed.run_requests] == ["police_crime_2014-07.csv"]


def test_landing_sensor_shares_the_ingests_hashes_and_sees_a_file_rewritten_in_place(
    home: Path,
) -> None:
    landed = drop(home, "police_crime", example("police_crime_2014-07.csv"))
    resources = {"csp": CspResource(home=str(home), la_code=LA)}
    time.sleep(2.1)  # a hash is remembered once the file has settled (LandedHashes)
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        second = landing_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        )
        [request] = second.run_requests
        # The ingest will find the hash the sensor took, and not read the file again.
        store = LandedHashes.of_feed(home, "police_crime")
        assert store.sha256(landed) == request.tags["csp/sha256"] and store.hits == 1
        # Other bytes of the same size, the modification time put back: stable to the
        # sensor's eye, but a different delivery, with its own run key.
        before = landed.stat()
        data = bytearray(landed.read_bytes())
        data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
        landed.write_bytes(bytes(data))
        os.utime(landed, ns=(before.st_atime_ns, before.st_mtime_ns))
        third = landing_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=second.cursor)
        )
        [rewritten] = third.run_requests
        assert rewritten.run_key != request.run_key
        assert rewritten.tags["csp/sha256"] == hashlib.sha256(bytes(data)).hexdigest()


def test_settings_precedence_and_refusals(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="--partnership"):
        load_settings(home)
    (home / "csp.toml").write_text(
        '[partnership]\nla_code = "E08000026"\nname = "Coventry"\n'
        "[feeds.moj_reoffending]\nsuspended_since = 2014-01-01\n"
        'suspension_reason = "stopped"\n'
    )
    settings = load_settings(home, "2015-01-31")
    assert (settings.la_code, settings.la_name, settings.as_of) == (
        "E08000026",
        "Coventry",
        date(2015, 1, 31),
    )
    moj = next(e for e in settings.calendar if e.feed == "moj_reoffending")
    assert moj.suspended_since == date(2014, 1, 1) and moj.due_days_after_period_end == 150
    monkeypatch.setenv("CSP_LA_CODE", "E08000027")
    other = load_settings(home)
    # A name configured for another code must not label this one.
    assert other.la_code == "E08000027" and other.la_name == "E08000027"
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        load_settings(home, "04/12/2014")


def test_dbt_arguments_are_built_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSP_DUCKDB_MEMORY_LIMIT", raising=False)
    args = dbt_build_args(date(2014, 12, 4), LA)
    assert args[0] == "build"
    assert args[args.index("--exclude-resource-type") + 1] == "unit_test"
    assert json.loads(args[args.index("--vars") + 1]) == {"as_of": "2014-12-04", "la_code": LA}
    assert "--full-refresh" not in args
    assert dbt_build_args(date(2014, 12, 4), LA, full_refresh=True)[-1] == "--full-refresh"
    env = dbt_environment(tmp_path / "w.duckdb", tmp_path / "logs")
    assert env["CSP_WAREHOUSE_PATH"].endswith("w.duckdb") and env["CSP_TARGET"] == "duckdb"
    # dbt gets the ingest's validated memory limit, so one default serves both.
    assert env["CSP_DUCKDB_MEMORY_LIMIT"] == "512MB"


def test_build_refuses_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in TEST_KEYS:
        monkeypatch.delenv(variable, raising=False)
    # Personal data waiting in landing: its keys are demanded before any file is read (a
    # home of public data alone needs none).
    drop(tmp_path, "rny_treatment", example("rny_treatment_2014-07.csv"))
    drop(tmp_path, "idva_caseload", example("idva_caseload_2014-15_Q2.xlsx"))
    code = main(["build", "--home", str(tmp_path), "--la-code", LA, "--as-of", "2014-12-04"])
    assert code == 2
    error = capsys.readouterr().err
    assert "CSP_PSEUDO_KEY_TREATMENT" in error and "CSP_PSEUDO_KEY_DOMESTIC_ABUSE" in error
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_morning_schedule_runs_the_monitor_for_its_own_day(home: Path) -> None:
    (home / "csp.toml").write_text('[partnership]\nla_code = "E08000031"\n')
    drop(home, "police_crime", example("police_crime_2014-07.csv"))
    scheduled = datetime(2014, 9, 16, 7, 0, tzinfo=ZoneInfo("Europe/London"))
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=scheduled)
        request = morning_monitor(context)
        assert request.run_key == "monitor:2014-09-16"
        ingest_feed(
            "police_crime",
            home=home,
            warehouse=home / "warehouse.duckdb",
            pseudonymiser=load_pseudonymiser(home),
            la_code=LA,
        )
        with http_receiver() as (url, hook):
            (home / "csp.toml").write_text(
                f'[partnership]\nla_code = "E08000031"\n[alerts]\nurls = ["{url}"]\n'
            )
            result = monitor_job.execute_in_process(
                run_config=request.run_config,
                instance=instance,
                resources={"csp": CspResource(home=str(home))},
            )
    assert result.success
    # July arrived; as of 16 September, August (due 15 September) is overdue.
    assert hook.titles == ["[E08000031] police_crime (Police) is late: 2014-08 overdue"]


@pytest.mark.parametrize(
    "day, partition",
    [
        (date(2014, 10, 6), None),  # the fourth working day of October 2014
        (date(2014, 10, 7), "2014-07-01"),  # the fifth: report 2014/15 Q2
        (date(2015, 1, 7), "2014-10-01"),  # Thursday 1st .. Wednesday 7th: 2014/15 Q3
    ],
)
def test_quarterly_report_runs_on_the_fifth_working_day(day: date, partition: str | None) -> None:
    when = datetime(day.year, day.month, day.day, 8, tzinfo=ZoneInfo("Europe/London"))
    result = quarterly_report_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    if partition is None:
        assert isinstance(result, dg.SkipReason)
    else:
        assert result.partition_key == partition


def test_the_csp_command_exits_with_the_code_of_its_command(tmp_path: Path) -> None:
    """The installed ``csp`` (orchestration.cli:run, which skips Python's last garbage
    collection) still exits with the command's code and prints its messages."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_KEYS}
    drop(tmp_path, "rny_treatment", example("rny_treatment_2014-07.csv"))
    csp = Path(sys.executable).with_name("csp")
    refused = subprocess.run(
        [str(csp), "build", "--home", str(tmp_path), "--la-code", LA, "--as-of", "2014-12-04"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert "CSP_PSEUDO_KEY_TREATMENT" in refused.stderr
    helped = subprocess.run([str(csp), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "build" in helped.stdout
