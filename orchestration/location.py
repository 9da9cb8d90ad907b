"""The code location's name, and the ``dagster dev`` command line that serves it under that name.

pyproject.toml names the code location ``csp_warehouse`` (``[tool.dagster]`` and
``[tool.dg.project]``), but ``dagster dev -m orchestration.definitions`` names a location after
its module, and this Dagster's ``dagster dev`` has no option to rename it (``-l`` belongs to
the commands that pick a location from a workspace, not to ``dev``). A workspace file can: so
``csp ui`` writes ``HOME/dagster/workspace.yaml`` and starts ``dagster dev -w`` on it. The name
matters beyond the display: the UI lists a job's runs by the label ``<repository>@<location>``,
which ``csp build`` also puts on its runs (``cli_run_tags``), so the two must agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestration.dagster_internals import REPOSITORY_LABEL_TAG, SINGLETON_REPOSITORY_NAME

LOCATION_NAME = "csp_warehouse"
DEFINITIONS_MODULE = "orchestration.definitions"
WORKSPACE_FILE = "workspace.yaml"


def repository_label() -> str:
    """The label the UI lists the location's runs by: ``__repository__@csp_warehouse``.

    ``@dg.definitions`` makes one repository, which Dagster names ``__repository__``.
    """
    return f"{SINGLETON_REPOSITORY_NAME}@{LOCATION_NAME}"


def location_run_tags() -> dict[str, str]:
    """The tag a run launched from the UI carries, for a run started in process to carry too."""
    return {REPOSITORY_LABEL_TAG: repository_label()}


def workspace_yaml() -> str:
    """The workspace that loads the definitions module as the location ``csp_warehouse``."""
    # JSON strings are valid YAML scalars, and quote whatever a name might hold.
    return (
        "# Written by csp ui: the definitions, loaded under the code location's own name.\n"
        "load_from:\n"
        "  - python_module:\n"
        f"      module_name: {json.dumps(DEFINITIONS_MODULE)}\n"
        f"      location_name: {json.dumps(LOCATION_NAME)}\n"
    )


def write_workspace_yaml(dagster_home: Path) -> Path:
    """Write ``workspace.yaml`` into the home's Dagster folder (when it differs); its path."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / WORKSPACE_FILE
    text = workspace_yaml()
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def dagster_dev_argv(dagster_home: Path, host: str, port: int) -> list[str]:
    """``dagster dev`` serving the definitions as ``csp_warehouse`` on ``host``:``port``.

    Writes the home's ``workspace.yaml`` first (``write_workspace_yaml``). The executable is the
    ``dagster`` beside this Python, so the UI runs in the same environment as ``csp``.
    """
    workspace = write_workspace_yaml(dagster_home)
    dagster = str(Path(sys.executable).parent / "dagster")
    return [dagster, "dev", "-w", str(workspace), "--host", host, "--port", str(port)]
