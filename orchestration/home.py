"""A partnership's home folder: is it one, before a command reads or writes anything in it.

Only ``csp build``, ``csp demo`` and ``csp db init`` make a home. Every other command needs an
existing one, so that a mistyped ``--home`` is an error naming the folder rather than a new,
empty warehouse reporting every feed "not started".
"""

from __future__ import annotations

import os
from pathlib import Path

from core.settings import CONFIG_FILE, ConfigError

# What a home holds once it has been set up or built (README, "Your own home").
HOME_MARKERS = (CONFIG_FILE, "landing", "warehouse.duckdb", "published", "dagster")


def home_path(home: str | Path | None) -> Path:
    """The home asked for by ``--home`` or ``CSP_HOME``, resolved; ConfigError if neither."""
    value = home or os.environ.get("CSP_HOME")
    if not value:
        raise ConfigError("no home folder: pass --home DIR or set CSP_HOME")
    return Path(value).expanduser().resolve()


def require_home(home: str | Path | None) -> Path:
    """The existing home, or ConfigError saying why it is not one and what makes one."""
    path = home_path(home)
    makes_one = (
        "`csp build --home DIR --partnership CODE` sets a home up over its landing folder, "
        "and `csp demo --home DIR` makes the demonstration's"
    )
    if not path.exists():
        raise ConfigError(f"{path} does not exist, so it is no home: {makes_one}")
    if not path.is_dir():
        raise ConfigError(f"{path} is a file, not a home folder")
    if not any((path / marker).exists() for marker in HOME_MARKERS):
        raise ConfigError(
            f"{path} holds none of a home's files ({', '.join(HOME_MARKERS)}): {makes_one}"
        )
    return path
