"""The dbt project as Dagster sees it: where it is, its manifest, and the CLI arguments of a build.

The arguments are built by small pure functions (tested without running dbt), in the manner
of dagster-open-platform.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.dbt_project import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_environment, dbt_vars

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource


MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# Files whose change makes the parsed manifest stale.
PROJECT_GLOBS = ("*.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


def dbt_build_args(as_of: date, la_code: str, similar_areas: tuple[str, ...] = (),
                   full_refresh: bool = False) -> list[str]:
    """Arguments of the one ``dbt build`` a pipeline run makes.

    Unit tests check the SQL against fixed inputs, not the data, so they belong to the test
    suite (tests/dbt builds with them), not to every build, as dbt's documentation advises.
    ``full_refresh`` rebuilds the incremental models from every row (after an upgrade that
    changes their columns).
    """
    args = ["build", "--exclude-resource-type", "unit_test",
            "--vars", dbt_vars(as_of, la_code, similar_areas)]
    return [*args, "--full-refresh"] if full_refresh else args


def _newest_project_file() -> float:
    newest = 0.0
    for pattern in PROJECT_GLOBS:
        for path in DBT_PROJECT_DIR.glob(pattern):
            if path.is_file() and "target" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than its files.

    Dagster needs the manifest to know the graph before anything runs; on a fresh clone it
    does not exist yet, so the first import parses (a few seconds, once).
    """
    if MANIFEST_PATH.is_file() and MANIFEST_PATH.stat().st_mtime >= _newest_project_file():
        return MANIFEST_PATH
    env = {
        **os.environ,
        # Parsing never opens the warehouse, but the profile must render.
        **dbt_environment(DBT_PROJECT_DIR / "target" / "parse.duckdb",
                          DBT_PROJECT_DIR / "logs"),
    }
    result = subprocess.run(
        [str(DBT_EXECUTABLE), "parse", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
        env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not MANIFEST_PATH.is_file():
        raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return MANIFEST_PATH


def dbt_resource() -> "DbtCliResource":
    """The dbt CLI resource for this project (profiles live beside the models)."""
    from collections.abc import Sequence
    from functools import cached_property
    from importlib.metadata import version as installed_version

    from dagster_dbt import DbtCliResource
    from packaging.version import Version

    class ProjectDbtCliResource(DbtCliResource):
        """dagster-dbt with two start-up costs of every build removed, through two private
        hooks of the pinned dagster-dbt (every test that builds goes through them)."""

        @cached_property
        def _cli_version(self) -> Version:
            # dagster-dbt asks the executable for its version, a second dbt start-up (about
            # 2 s). The executable is the one beside this Python: the installed dbt-core's
            # version is the same answer.
            return Version(installed_version("dbt-core"))

        def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
            # Before each command dagster-dbt loads dbt's profile, project and every macro in
            # this process (about 1.2 s), for an adapter that serves fetch_column_metadata
            # and fetch_row_counts alone. The build uses neither.
            return None

    return ProjectDbtCliResource(project_dir=str(DBT_PROJECT_DIR),
                                 profiles_dir=str(DBT_PROJECT_DIR),
                                 dbt_executable=str(DBT_EXECUTABLE))
