"""The dbt project as Dagster sees it: where it is, its manifest, and the CLI arguments of a build.

The project is dagster-dbt's ``DbtProject``; the arguments are built by small pure functions
(tested without running dbt), in the manner of dagster-open-platform.

The manifest is parsed when it is missing or older than the project's files, not by
``DbtProject.prepare_if_dev``. That one does nothing outside ``dagster dev``, so a fresh
clone's ``csp build`` would find no manifest; and under ``dagster dev`` it parses on every
load of the definitions, by the code server and again by every run's process. Its preparer
took 8.7-10.4 s a load here (three runs; it also asks dbt its version and loads dbt's adapter
in process, and needs dbt on PATH), where finding the manifest fresh takes 2-7 ms and this
module's ``dbt parse`` 2.7-6.0 s when the project did change (measured three times each).
"""

from __future__ import annotations

import os
import subprocess
from datetime import date
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from core.dbt_project import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_environment, dbt_vars
from orchestration.dagster_internals import fast_dbt_cli_resource

# Files whose change makes the parsed manifest stale.
PROJECT_GLOBS = ("*.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


@cache
def dbt_project() -> DbtProject:
    """This repository's dbt project (profiles live beside the models)."""
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_build_args(
    as_of: date, la_code: str, similar_areas: tuple[str, ...] = (), full_refresh: bool = False
) -> list[str]:
    """Arguments of the one ``dbt build`` a pipeline run makes.

    Unit tests check the SQL against fixed inputs, not the data, so they belong to the test
    suite (tests/dbt builds with them), not to every build, as dbt's documentation advises.
    ``full_refresh`` rebuilds the incremental models from every row (after an upgrade that
    changes their columns).
    """
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        dbt_vars(as_of, la_code, similar_areas),
    ]
    return [*args, "--full-refresh"] if full_refresh else args


def _newest_project_file(project: DbtProject) -> float:
    newest = 0.0
    for pattern in PROJECT_GLOBS:
        for path in project.project_dir.glob(pattern):
            if path.is_file() and "target" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than its files.

    Dagster needs the manifest to know the graph before anything runs; on a fresh clone it
    does not exist yet, so the first load of the definitions parses (a few seconds, once).
    """
    project = dbt_project()
    manifest = project.manifest_path
    if manifest.is_file() and manifest.stat().st_mtime >= _newest_project_file(project):
        return manifest
    env = {
        **os.environ,
        # Parsing never opens the warehouse, but the profile must render.
        **dbt_environment(
            project.project_dir / project.target_path / "parse.duckdb", project.project_dir / "logs"
        ),
    }
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "parse",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not manifest.is_file():
        raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return manifest


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project, run with the dbt beside this Python."""
    return fast_dbt_cli_resource(dbt_project(), dbt_executable=str(DBT_EXECUTABLE))
