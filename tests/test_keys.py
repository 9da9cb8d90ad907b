"""Pseudonymisation keys: one per domain, linked only when configured, versioned beside every
token, and rotated by `csp rekey` from the archive, on real files and a real DuckDB file."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.settings import ConfigError
from ingest.landing import ingest_feed
from ingest.pseudonymise import (
    DomainKey,
    MissingKeyError,
    Pseudonymiser,
    create_demo_keys,
    load_pseudonymiser,
    pseudonymiser_for,
)
from ingest.rekey import (
    RekeyError,
    apply_tokens,
    prepare_next_key,
    rederive_tokens,
    rekey,
)
from ingest.warehouse import KeyMismatchError
from orchestration.cli import main
from orchestration.config import load_settings
from orchestration.demonstration import generate_landing
from tests.conftest import keys_from_files

LA = "E08000031"
TOKENS = (
    "select delivery_id, source_row, client_token, client_token_key_version "
    "from raw.rny_treatment order by delivery_id, source_row"
)


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def client_ids(path: Path) -> dict[int, str]:
    """Client ID by line number, read from a treatment file as the partner sent it."""
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="cp1252")))  # docs/feeds.md §2
    return {line: row["Client ID"] for line, row in enumerate(reader, 2)}


@pytest.fixture(scope="module")
def treatment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three months of generated treatment deliveries."""
    folder = tmp_path_factory.mktemp("generated")
    generate_landing(
        folder,
        la_code=LA,
        la_name="Wolverhampton",
        first_month=date(2014, 4, 1),
        last_month=date(2014, 6, 1),
        seed=3,
        scale=0.2,
        feeds=("rny_treatment",),
    )
    return sorted((folder / "rny_treatment").glob("*.csv"))


def deliver(home: Path, path: Path) -> None:
    target = home / "landing" / "rny_treatment" / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


def ingest(home: Path, pseudonymiser: Pseudonymiser | None = None) -> list:
    return ingest_feed(
        "rny_treatment",
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=pseudonymiser or load_pseudonymiser(home),
        la_code=LA,
    )


# --- one key per domain -----------------------------------------------------------------


def test_each_domain_has_a_key_of_its_own(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_pseudonymiser(home, domains=["treatment", "domestic_abuse"])
    assert first.token("treatment", "RNY123") != first.token("domestic_abuse", "RNY123")
    monkeypatch.setenv("CSP_PSEUDO_KEY_TREATMENT", "another-treatment-key-0123456789")
    second = load_pseudonymiser(home, domains=["treatment", "domestic_abuse"])
    assert second.token("treatment", "RNY123") != first.token("treatment", "RNY123")
    assert second.token("domestic_abuse", "RNY123") == first.token("domestic_abuse", "RNY123")


def test_the_same_secret_in_two_domains_still_gives_unrelated_tokens() -> None:
    secret = b"one-secret-copied-to-both-domains"
    both = Pseudonymiser({d: DomainKey(d, 1, secret) for d in ("treatment", "offenders")})
    assert both.token("treatment", "X1") != both.token("offenders", "X1")


def test_linked_domains_share_one_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSP_PSEUDO_LINK", "treatment+offenders")
    settings = load_settings(home, "2014-12-04", LA)
    with pytest.raises(MissingKeyError, match="CSP_PSEUDO_KEY_OFFENDERS_TREATMENT"):
        pseudonymiser_for(settings)
    monkeypatch.setenv("CSP_PSEUDO_KEY_OFFENDERS_TREATMENT", "linked-key-0123456789abcdef")
    linked = load_pseudonymiser(
        home, settings.pseudonym_links, domains=["treatment", "offenders", "domestic_abuse"]
    )
    assert linked.token("treatment", "P42") == linked.token("offenders", "P42")
    assert linked.token("treatment", "P42") != linked.token("domestic_abuse", "P42")
    assert linked.key_for("offenders").label == "offenders+treatment/v1"


@pytest.mark.parametrize(
    "link", ["treatment", "treatment+victims", "treatment+offenders,offenders+domestic_abuse"]
)
def test_a_wrong_link_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch, link: str) -> None:
    monkeypatch.setenv("CSP_PSEUDO_LINK", link)
    with pytest.raises(ConfigError, match="CSP_PSEUDO_LINK"):
        load_settings(home, "2014-12-04", LA)


def test_a_missing_key_is_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSP_PSEUDO_KEY_TREATMENT")
    monkeypatch.setenv("CSP_PSEUDO_KEY", "the-old-single-key-0123456789")
    with pytest.raises(MissingKeyError) as raised:
        load_pseudonymiser(home)
    message = str(raised.value)
    assert "CSP_PSEUDO_KEY_TREATMENT" in message and str(home / "keys" / "treatment") in message
    assert "no longer read" in message and "DOMESTIC_ABUSE" not in message


def test_the_highest_key_file_is_current(home: Path) -> None:
    with keys_from_files():
        create_demo_keys(home)
        folder = home / "keys" / "treatment"
        (folder / "v3.key").write_text("version-three-key-0123456789abcdef\n")
        (folder / "v4.key.pending").write_text("a-rotation-not-finished-0123456789\n")
        key = load_pseudonymiser(home).key_for("treatment")
    assert (key.version, key.label) == (3, "treatment/v3")
    assert "version-three" not in repr(key)


def test_every_token_is_stored_beside_its_key_label(
    home: Path, treatment_files: list[Path]
) -> None:
    deliver(home, treatment_files[0])
    [outcome] = ingest(home)
    assert outcome.action == "loaded"
    labels = rows(
        home / "warehouse.duckdb", "select distinct client_token_key_version from raw.rny_treatment"
    )
    assert labels == [("treatment/v1",)]


# --- rotation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A built home (key files), rotated with `csp rekey treatment`, then sent a new month."""
    home = tmp_path_factory.mktemp("rotated")
    staging = tmp_path_factory.mktemp("landing")
    generate_landing(
        staging,
        la_code=LA,
        la_name="Wolverhampton",
        first_month=date(2014, 4, 1),
        last_month=date(2014, 9, 1),
        seed=7,
        scale=0.3,
        feeds=("police_crime", "rny_treatment", "idva_caseload"),
    )
    later = staging / "rny_treatment" / "rny_treatment_2014-09.csv"
    for path in sorted(staging.glob("*/*")):
        if path != later:
            target = home / "landing" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    build = ["--home", str(home), "--la-code", LA, "--as-of", "2014-10-25"]
    warehouse = home / "warehouse.duckdb"
    with keys_from_files():
        create_demo_keys(home)
        assert main(["build", *build]) == 0
        before = {
            "tokens": rows(warehouse, TOKENS),
            "idva": rows(warehouse, "select * from raw.idva_cases order by 1, 2"),
            "indicators": (home / "exports" / "indicators.csv").read_bytes(),
            "v1": (home / "keys" / "treatment" / "v1.key").read_bytes(),
        }
        assert main(["rekey", "treatment", *build]) == 0
        after = {
            "tokens": rows(warehouse, TOKENS),
            "idva": rows(warehouse, "select * from raw.idva_cases order by 1, 2"),
            "indicators": (home / "exports" / "indicators.csv").read_bytes(),
            "marts": rows(warehouse, "select distinct client_token from fct_treatment_episode"),
        }
        deliver(home, later)
        assert main(["build", *build]) == 0
    return {"home": home, "before": before, "after": after, "later": later}


def test_rotation_replaces_every_token_and_label(rotated: dict) -> None:
    before, after = rotated["before"]["tokens"], rotated["after"]["tokens"]
    assert len(before) == len(after) > 100
    assert {r[3] for r in before} == {"treatment/v1"} and {r[3] for r in after} == {"treatment/v2"}
    assert [r[:2] for r in before] == [r[:2] for r in after]
    assert not {r[2] for r in before} & {r[2] for r in after}
    # The same people: the old tokens map one-to-one onto the new ones.
    pairs = {(old[2], new[2]) for old, new in zip(before, after, strict=True)}
    assert len(pairs) == len({r[2] for r in before}) == len({r[2] for r in after})


def test_new_tokens_are_the_new_key_applied_to_the_archived_identifiers(rotated: dict) -> None:
    home = rotated["home"]
    secret = (home / "keys" / "treatment" / "v2.key").read_bytes().strip()
    under_v2 = Pseudonymiser({"treatment": DomainKey("treatment", 2, secret)})
    deliveries = rows(
        home / "warehouse.duckdb",
        "select delivery_id, sha256 from raw.deliveries where feed = 'rny_treatment'",
    )
    tokens = {(r[0], r[1]): r[2] for r in rotated["after"]["tokens"]}
    checked = 0
    for delivery_id, sha in deliveries[:3]:
        for line, client in client_ids(home / "archive" / "rny_treatment" / f"{sha}.csv").items():
            assert tokens[(delivery_id, line)] == under_v2.token("treatment", client)
            checked += 1
    assert checked > 50


def test_rotation_leaves_other_domains_and_every_figure_alone(rotated: dict) -> None:
    assert rotated["after"]["idva"] == rotated["before"]["idva"]
    assert rotated["after"]["indicators"] == rotated["before"]["indicators"]
    # The rebuild after the rotation carried the new tokens into the marts.
    new = {r[2] for r in rotated["after"]["tokens"]}
    assert {r[0] for r in rotated["after"]["marts"]} <= new


def test_rotation_retires_the_old_key_file(rotated: dict) -> None:
    folder = rotated["home"] / "keys" / "treatment"
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["v2.key"]
    assert (folder / "retired" / "v1.key").read_bytes() == rotated["before"]["v1"]
    assert (folder / "v2.key").stat().st_mode & 0o077 == 0
    assert (rotated["home"] / "keys" / "domestic_abuse" / "v1.key").is_file()


def test_a_month_sent_after_rotation_links_to_the_same_people(rotated: dict) -> None:
    home = rotated["home"]
    warehouse = home / "warehouse.duckdb"
    assert rows(warehouse, "select distinct client_token_key_version from raw.rny_treatment") == [
        ("treatment/v2",)
    ]
    clients: set[str] = set()
    for path in (home / "archive" / "rny_treatment").glob("*.csv"):
        clients |= set(client_ids(path).values())
    [(tokens,)] = rows(warehouse, "select count(distinct client_token) from raw.rny_treatment")
    # Clients seen before and after the rotation have one token, not two.
    assert tokens == len(clients)
    assert rows(
        warehouse,
        "select count(*) from raw.deliveries where file_name = "
        f"'{rotated['later'].name}' and status = 'loaded'",
    ) == [(1,)]


def test_an_interrupted_rotation_blocks_loading_until_it_is_finished(
    home: Path, treatment_files: list[Path]
) -> None:
    warehouse = home / "warehouse.duckdb"
    with keys_from_files():
        create_demo_keys(home)
        deliver(home, treatment_files[0])
        ingest(home)
        current = load_pseudonymiser(home)
        # Steps 1 to 3 of a rotation, then the process dies before the key file is promoted.
        new = prepare_next_key(home, current.keys["treatment"])
        apply_tokens(
            warehouse,
            rederive_tokens(home, warehouse, current.with_key(new), "treatment"),
            new.label,
        )
        deliver(home, treatment_files[1])
        with pytest.raises(KeyMismatchError, match="csp rekey treatment"):
            ingest(home)
        assert rows(warehouse, "select count(*) from raw.deliveries") == [(1,)]
        assert main(["rekey", "treatment", "--home", str(home), "--la-code", LA, "--no-build"]) == 0
        assert not list((home / "keys" / "treatment").glob("*.pending"))
        outcomes = ingest(home)
    assert [o.action for o in outcomes] == ["duplicate", "loaded"]
    assert rows(warehouse, "select distinct client_token_key_version from raw.rny_treatment") == [
        ("treatment/v2",)
    ]


def test_rotation_with_keys_in_the_environment(
    home: Path,
    treatment_files: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = home / "warehouse.duckdb"
    deliver(home, treatment_files[0])
    ingest(home)
    rekey_args = ["rekey", "treatment", "--home", str(home), "--la-code", LA, "--no-build"]
    assert main(rekey_args) == 1
    assert "CSP_PSEUDO_KEY_TREATMENT_NEXT" in capsys.readouterr().err
    assert rows(warehouse, "select distinct client_token_key_version from raw.rny_treatment") == [
        ("treatment/v1",)
    ]
    new_key = "the-next-treatment-key-0123456789"
    monkeypatch.setenv("CSP_PSEUDO_KEY_TREATMENT_NEXT", new_key)
    assert main(rekey_args) == 0
    assert "CSP_PSEUDO_KEY_TREATMENT_VERSION=2" in capsys.readouterr().out
    deliver(home, treatment_files[1])
    with pytest.raises(KeyMismatchError):
        ingest(home)  # still configured with version 1
    monkeypatch.setenv("CSP_PSEUDO_KEY_TREATMENT", new_key)
    monkeypatch.setenv("CSP_PSEUDO_KEY_TREATMENT_VERSION", "2")
    monkeypatch.delenv("CSP_PSEUDO_KEY_TREATMENT_NEXT")
    assert [o.action for o in ingest(home)] == ["duplicate", "loaded"]
    assert rows(warehouse, "select distinct client_token_key_version from raw.rny_treatment") == [
        ("treatment/v2",)
    ]


def test_rotation_stops_before_writing_when_an_archived_file_is_gone(
    home: Path, treatment_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = home / "warehouse.duckdb"
    for path in treatment_files[:2]:
        deliver(home, path)
    ingest(home)
    before = rows(warehouse, TOKENS)
    gone = sorted((home / "archive" / "rny_treatment").iterdir())[0]
    gone.unlink()
    monkeypatch.setenv("CSP_PSEUDO_KEY_TREATMENT_NEXT", "the-next-treatment-key-0123456789")
    with pytest.raises(RekeyError, match=gone.name):
        rekey(home, warehouse, load_pseudonymiser(home), "treatment")
    assert rows(warehouse, TOKENS) == before
