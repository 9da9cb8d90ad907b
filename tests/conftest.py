"""Shared fixtures: the example deliveries (tests/data/examples), homes with a key, file helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.contracts import DOMAINS
from ingest.pseudonymise import DomainKey, Pseudonymiser, key_env

REPO = Path(__file__).resolve().parents[1]
# Example partner deliveries, kept in the repository (tests/data/examples/README.md).
EXAMPLES = REPO / "tests" / "data" / "examples"
TEST_KEY = "test-key-0123456789abcdef-not-for-production"
# One key per domain, as a deployment sets them (CSP_PSEUDO_KEY_TREATMENT, ...).
TEST_KEYS = {key_env(domain): f"{TEST_KEY}-{domain}" for domain in DOMAINS}
# Files written by a test are complete at once: don't wait for them to settle (a test that is
# about waiting sets its own value).
os.environ["CSP_STABLE_SECONDS"] = "0"


def test_pseudonymiser() -> Pseudonymiser:
    """The keys of TEST_KEYS, version 1, without going through the environment."""
    return Pseudonymiser({d: DomainKey(d, 1, TEST_KEYS[key_env(d)].encode()) for d in DOMAINS})


test_pseudonymiser.__test__ = False  # a helper, not a test


@pytest.fixture
def pseudo_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pseudonymisation keys in the environment, as a deployment would set them."""
    for variable, value in TEST_KEYS.items():
        monkeypatch.setenv(variable, value)
    return TEST_KEY


@contextmanager
def keys_from_files() -> Iterator[None]:
    """No key in the environment (as for ``csp demo``, which makes key files), then back."""
    for variable in TEST_KEYS:
        os.environ.pop(variable, None)
    try:
        yield
    finally:
        os.environ.update(TEST_KEYS)


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
    """A sample file from tests/data/examples."""
    path = EXAMPLES / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such example (see tests/data/examples/README.md)")
    return path


@pytest.fixture(scope="session")
def built_demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demonstration home, built once by ``csp demo``: copy it before changing anything."""
    from orchestration.cli import main

    home = tmp_path_factory.mktemp("demo-built") / "home"
    with keys_from_files():  # the demo makes and uses its own key files
        assert main(["demo", "--home", str(home)]) == 0
    return home
