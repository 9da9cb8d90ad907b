"""The `dbt build` the dbt tests run: on a scratch warehouse, with its own target folder."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from core.dbt_project import DBT_EXECUTABLE, dbt_environment

REPO = Path(__file__).resolve().parents[2]


def dbt_build_command(
    tmp: Path, as_of: str, la_code: str, *extra: str, similar_areas: Sequence[str] = ()
) -> list[str]:
    """``dbt build`` of the project, compiled into ``tmp/target``; ``extra`` adds arguments
    (a selection)."""
    values: dict[str, object] = {"as_of": as_of, "la_code": la_code}
    if similar_areas:
        values["similar_areas"] = list(similar_areas)
    return [
        str(DBT_EXECUTABLE),
        "build",
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        "dbt_project",
        "--target-path",
        str(tmp / "target"),
        *extra,
        "--vars",
        json.dumps(values),
    ]


def dbt_env(warehouse: Path, tmp: Path) -> dict[str, str]:
    """The process environment of that build: the warehouse, and logs under ``tmp``."""
    return {**os.environ, **dbt_environment(warehouse, tmp / "logs")}
