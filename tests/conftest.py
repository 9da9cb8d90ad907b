"""Shared fixtures: the shared/ folder beside the repository, homes with a key, file helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = SHARED / "feeds" / "examples"
TEST_KEY = "test-key-0123456789abcdef-not-for-production"
# Files written by a test are complete at once: don't wait for them to settle (a test that is
# about waiting sets its own value).
os.environ["CSP_STABLE_SECONDS"] = "0"


@pytest.fixture
def pseudo_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A pseudonymisation key in the environment, as a deployment would set it."""
    monkeypatch.setenv("CSP_PSEUDO_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture
def home(tmp_path: Path, pseudo_key: str) -> Path:
    """An empty partnership home with a landing folder."""
    (tmp_path / "landing").mkdir()
    for variable in ("CSP_HOME", "CSP_AS_OF", "CSP_LA_CODE", "CSP_LA_NAME"):
        os.environ.pop(variable, None)
    return tmp_path


def drop(home: Path, feed: str, source: Path, name: str | None = None) -> Path:
    """Copy a file into ``landing/<feed>/`` as a partner would."""
    target = home / "landing" / feed / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def example(name: str) -> Path:
    """A sample file from shared/feeds/examples."""
    path = EXAMPLES / name
    if not path.exists():
        raise FileNotFoundError(f"{path} (shared/ must sit beside the repository)")
    return path
