"""Dagster as the control room: what the command line does shows in the UI as the UI's own.

A ``csp build`` is a run of the job ``csp_build``, listed under it; ``csp report`` counts as
the report's quarter materialised; every dbt asset is keyed by its layer and described by its
YAML; the code location is ``csp_warehouse``; the demonstration is judged as of its day.
All on a real home, a real Dagster instance and the real definitions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dagster_internals import REPOSITORY_LABEL_TAG
from orchestration.definitions import defs
from orchestration.defs.assets import dbt_models, mart_key
from orchestration.defs.jobs import BUILD_JOB
from orchestration.defs.partitions import QUARTERS
from orchestration.location import (
    LOCATION_NAME,
    dagster_dev_argv,
    location_run_tags,
    repository_label,
)
from orchestration.report_run import REPORT_KEY, quarter_of_report, record_report
from tests.conftest import REPO, keys_from_files

DEMO_AS_OF = "2014-12-04"
SETTINGS_VARIABLES = ("CSP_HOME", "CSP_AS_OF", "CSP_PARTNERSHIP", "CSP_LA_CODE", "CSP_LA_NAME")


@pytest.fixture
def demo_copy(built_demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built demonstration home, with no setting from the shell."""
    home = tmp_path / "home"
    shutil.copytree(built_demo_home, home, symlinks=True)
    for variable in SETTINGS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return home


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home / "dagster"))


def test_csp_build_is_a_run_of_the_job_csp_build_listed_under_it(demo_copy: Path) -> None:
    from orchestration.cli import main

    with keys_from_files():
        assert main(["build", "--home", str(demo_copy)]) == 0
    with _instance(demo_copy) as instance:
        runs = instance.get_runs()
        # csp demo's build and this one.
        assert len(runs) == 2
        assert {run.job_name for run in runs} == {BUILD_JOB}
        assert not instance.get_runs(dg.RunsFilter(job_name="__ephemeral_asset_job__"))
        # What the UI's page of the job asks for: its name and the location's label.
        listed = instance.get_runs(
            dg.RunsFilter(job_name=BUILD_JOB, tags={REPOSITORY_LABEL_TAG: repository_label()})
        )
        assert [run.run_id for run in listed] == [run.run_id for run in runs]
        latest = runs[0]
        assert latest.status == dg.DagsterRunStatus.SUCCESS
        assert latest.tags["csp/as_of"] == DEMO_AS_OF  # remembered by the demonstration home
        # The same assets the UI's job materialises, under their layer's key.
        materialised = {
            record.asset_key
            for record in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=mart_key("fct_indicator_quarter")), limit=10
            ).records
            if record.run_id == latest.run_id
        }
        assert materialised == {mart_key("fct_indicator_quarter")}
    ui_job = defs().resolve_job_def(BUILD_JOB)
    assert latest.job_name == ui_job.name


def test_the_build_tags_its_runs_with_the_label_the_ui_lists_them_by() -> None:
    # `@dg.definitions` makes one repository, named as Dagster names it, in csp_warehouse.
    repository = defs().get_repository_def()
    assert repository_label() == f"{repository.name}@{LOCATION_NAME}"
    assert location_run_tags() == {".dagster/repository": "__repository__@csp_warehouse"}


def test_csp_report_records_its_quarter_as_materialised(demo_copy: Path) -> None:
    from exports.report import write_quarter_outputs
    from orchestration.config import load_settings

    settings = load_settings(demo_copy)
    written = write_quarter_outputs(settings, "2014/15 Q2")
    partitions = QUARTERS.get_partition_keys()
    with _instance(demo_copy) as instance:
        # None: the asset has never been materialised in this home.
        assert instance.get_status_by_partition(REPORT_KEY, partitions, QUARTERS) is None
    started = time.perf_counter()
    assert record_report(settings, "2014/15 Q2", written) == "2014-07-01"
    seconds = time.perf_counter() - started
    print(f"record_report: {seconds:.3f} s")
    with _instance(demo_copy) as instance:
        status = instance.get_status_by_partition(REPORT_KEY, partitions, QUARTERS) or {}
        assert [k for k, s in status.items() if s == dg.AssetPartitionStatus.MATERIALIZED] == [
            "2014-07-01"
        ]
        event = instance.get_latest_materialization_event(REPORT_KEY)
        assert event is not None and event.run_id == ""  # runless: no run pretended
        metadata = event.asset_materialization.metadata
        assert metadata["written_by"].value == "csp report"
        assert metadata["report"].value == str(written["report"])


def test_csp_report_without_a_quarter_records_the_one_it_chose(demo_copy: Path) -> None:
    from orchestration.config import load_settings

    settings = load_settings(demo_copy)
    report = settings.exports / "report-2014-15-Q2.html"
    assert quarter_of_report({"report": report}) == "2014/15 Q2"
    assert quarter_of_report({"report": settings.exports / "report-2014-17-Q2.html"}) is None
    assert record_report(settings, None, {"report": report}) == "2014-07-01"
    # A quarter before the partitions begin cannot be shown, so it is not recorded.
    assert record_report(settings, "2011/12 Q4", {}) is None


def test_every_dbt_asset_is_keyed_by_its_layer_and_described_by_its_yaml() -> None:
    assets = dbt_models()
    layers = {key: assets.group_names_by_key[key] for key in assets.keys}
    assert {"seeds", "staging", "intermediate", "marts"} <= set(layers.values())
    for key, layer in layers.items():
        assert len(key.path) == 2 and key.path[0] == layer, key
    for spec in assets.specs:
        assert "Raw SQL" not in (spec.description or ""), spec.key
    described = {spec.key: spec.description for spec in assets.specs}
    assert described[mart_key("fct_indicator_quarter")].startswith(
        _yaml_description("marts/fct_indicator_quarter.yml", "fct_indicator_quarter")[:40]
    )
    # Sources keep the raw layer's keys, so dbt's graph joins the ingest assets'.
    graph = defs().resolve_asset_graph()
    upstream = graph.get(mart_key("fct_crime")).parent_keys
    assert all(len(key.path) == 2 for key in upstream)


def _yaml_description(path: str, model: str) -> str:
    import yaml

    document = yaml.safe_load((REPO / "dbt_project" / "models" / path).read_text())
    return next(m["description"] for m in document["models"] if m["name"] == model).strip()


def test_dagster_dev_serves_the_definitions_as_csp_warehouse(tmp_path: Path) -> None:
    argv = dagster_dev_argv(tmp_path / "dagster", "127.0.0.1", 3000)
    assert argv[1:] == [
        "dev",
        "-w",
        str(tmp_path / "dagster" / "workspace.yaml"),
        "--host",
        "127.0.0.1",
        "--port",
        "3000",
    ]
    assert Path(argv[0]).name == "dagster" and Path(argv[0]).exists()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert LOCATION_NAME == pyproject["tool"]["dg"]["project"]["code_location_name"]
    assert LOCATION_NAME == pyproject["tool"]["dagster"]["code_location_name"]
    # Dagster itself loads the workspace and finds the job in the location of that name.
    listed = subprocess.run(
        [argv[0], "job", "list", "-w", argv[3], "-l", LOCATION_NAME],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster")},
    )
    assert listed.returncode == 0, listed.stderr
    assert BUILD_JOB in listed.stdout


def test_the_demonstration_is_judged_as_of_its_day_under_csp_ui(demo_copy: Path) -> None:
    import argparse

    from orchestration.cli import ui_command
    from orchestration.config import load_settings

    settings = load_settings(demo_copy)
    assert settings.as_of.isoformat() == DEMO_AS_OF
    args = argparse.Namespace(as_of=None, la_code=None, host="127.0.0.1", port=3000)
    _, env = ui_command(args, settings)
    # The UI's runs resolve their settings in their own process, from that environment.
    resolved = subprocess.run(
        [
            sys.executable,
            "-c",
            "from orchestration.defs.resources import CspResource; "
            "print(CspResource().settings().as_of)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert resolved.stdout.strip() == DEMO_AS_OF
    # An explicit date still wins.
    assert load_settings(demo_copy, "2015-01-05").as_of.isoformat() == "2015-01-05"
