"""Postgres as a second target, and its roles (issue 7, parts 1 and 2).

A real server (``conftest.py`` starts one): the same scenario built on DuckDB and on
Postgres gives the same indicators.csv byte for byte; csp_analyst reads every mart (every
column but pseudonymised identifiers) and nothing else, read-only; csp_loader writes raw
only. Both builds run at once, in two processes, to keep the module near a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import psycopg2
import pyarrow as pa
import pytest

from core.contracts import contract_for
from core.targets import PostgresTarget
from ingest.warehouse import (
    DeliveryRecord,
    connect,
    ensure_raw_schema,
    find_delivery,
    load_delivery,
)
from orchestration.demonstration import generate_landing
from tests.conftest import TEST_KEYS
from tests.postgres.conftest import connect_as

LA, LA_NAME = "E08000026", "Coventry"
AS_OF = "2014-11-20"
REPO = Path(__file__).resolve().parents[2]


def _build_process(home: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "build",
            "--home",
            str(home),
            "--as-of",
            AS_OF,
            "--la-code",
            LA,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, pg_database: PostgresTarget) -> dict:
    """One generated landing, built on DuckDB and on Postgres (concurrently)."""
    from orchestration.dbt import ensure_manifest

    ensure_manifest()  # parse once here, not in both builds at the same time
    generated = tmp_path_factory.mktemp("generated")
    generate_landing(
        generated,
        la_code=LA,
        la_name=LA_NAME,
        first_month=date(2014, 1, 1),
        last_month=date(2014, 9, 1),
        seed=7,
        scale=0.1,
    )
    homes = {}
    for target in ("duckdb", "postgres"):
        home = tmp_path_factory.mktemp(target)
        subprocess.run(["cp", "-r", str(generated), str(home / "landing")], check=True)
        homes[target] = home
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_", "PG"))}
    base.update({**TEST_KEYS, "CSP_STABLE_SECONDS": "0"})
    processes = {
        "duckdb": _build_process(homes["duckdb"], {**base, "CSP_TARGET": "duckdb"}),
        "postgres": _build_process(
            homes["postgres"], {**base, "CSP_TARGET": "postgres", "CSP_PG_DSN": pg_database.dsn}
        ),
    }
    for target, process in processes.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"{target} build failed:\n{output}"
    # Built again, so every mart is a rebuilt table: the grants below must have survived it.
    (homes["postgres"] / "exports" / "indicators.csv").unlink()
    again = _build_process(
        homes["postgres"], {**base, "CSP_TARGET": "postgres", "CSP_PG_DSN": pg_database.dsn}
    )
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, f"postgres rebuild failed:\n{output}"
    return homes


def test_postgres_build_gives_the_same_indicators_csv_as_duckdb(built: dict) -> None:
    duck = (built["duckdb"] / "exports" / "indicators.csv").read_bytes()
    pg = (built["postgres"] / "exports" / "indicators.csv").read_bytes()
    assert duck.count(b"\n") > 50
    assert pg == duck


def test_postgres_manifest_matches_duckdb(built: dict, pg_database: PostgresTarget) -> None:
    import duckdb

    query = (
        "select feed, file_name, sha256, period_label, row_count, status "
        "from raw.deliveries order by feed, file_name"
    )
    with duckdb.connect(str(built["duckdb"] / "warehouse.duckdb"), read_only=True) as con:
        expected = con.execute(query).fetchall()
    with connect(pg_database) as con:
        assert con.execute(query).fetchall() == expected


def _tables(target: PostgresTarget, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    with connect(target) as con:
        return con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(?) order by 1, 2",
            [list(schemas)],
        ).fetchall()


def test_analyst_is_denied_raw_staging_intermediate_and_seeds(
    built: dict, pg_database: PostgresTarget
) -> None:
    hidden = _tables(pg_database, ("raw", "staging", "intermediate", "seeds"))
    assert {schema for schema, _ in hidden} == {"raw", "staging", "intermediate", "seeds"}
    analyst = connect_as(pg_database, "csp_analyst")
    with closing(analyst), analyst.cursor() as cursor:
        for schema, table in hidden:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied"):
                cursor.execute(f"select * from {schema}.{table} limit 1")


def test_analyst_reads_every_mart_but_no_pseudonymised_identifier(
    built: dict, pg_database: PostgresTarget
) -> None:
    marts = [table for _, table in _tables(pg_database, ("marts",))]
    assert {
        "fct_indicator_quarter",
        "dim_indicator",
        "dim_quarter",
        "dim_feed",
        "fct_crime",
        "fct_idva_case",
        "fct_treatment_episode",
    } <= set(marts)
    with connect(pg_database) as con:
        columns = {
            table: [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' "
                    "and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            for table in marts
        }
    identifiers = {
        t: [c for c in cols if c.endswith("_token") or c == "episode_key"]
        for t, cols in columns.items()
    }
    assert identifiers["fct_idva_case"] == ["case_token"]
    assert set(identifiers["fct_treatment_episode"]) == {"client_token", "episode_key"}
    analyst = connect_as(pg_database, "csp_analyst")
    with closing(analyst), analyst.cursor() as cursor:
        for table in marts:
            readable = [c for c in columns[table] if c not in identifiers[table]]
            cursor.execute(f"select {', '.join(readable)} from marts.{table}")
            rows = cursor.fetchall()
            assert table != "fct_indicator_quarter" or rows
            for column in identifiers[table]:
                with pytest.raises(
                    psycopg2.errors.InsufficientPrivilege, match="permission denied"
                ):
                    cursor.execute(f"select {column} from marts.{table}")
            if identifiers[table]:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"select * from marts.{table}")


def test_analyst_sessions_are_read_only(built: dict, pg_database: PostgresTarget) -> None:
    analyst = connect_as(pg_database, "csp_analyst")
    with closing(analyst), analyst.cursor() as cursor:
        cursor.execute("show default_transaction_read_only")
        assert cursor.fetchone() == ("on",)
        for statement in (
            "delete from marts.dim_indicator",
            "create table marts.scratch (a integer)",
            "create table public.scratch (a integer)",
        ):
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                cursor.execute(statement)
        # Even out of read-only mode, privileges still refuse every write.
        cursor.execute("set default_transaction_read_only = off")
        for statement in (
            "delete from marts.dim_indicator",
            "create table marts.scratch (a integer)",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(statement)


def test_loader_writes_raw_only(built: dict, pg_database: PostgresTarget) -> None:
    loader = connect_as(pg_database, "csp_loader")
    with closing(loader), loader.cursor() as cursor:
        cursor.execute("select count(*) from raw.deliveries")
        assert cursor.fetchone()[0] > 0
        for statement in (
            "select * from marts.fct_indicator_quarter limit 1",
            "delete from marts.dim_indicator",
            "create table marts.scratch (a integer)",
            "select * from staging.stg_csp__deliveries limit 1",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied"):
                cursor.execute(statement)


def test_transformer_reads_raw_but_cannot_write_it(
    built: dict, pg_database: PostgresTarget
) -> None:
    transformer = connect_as(pg_database, "csp_transformer")
    with closing(transformer), transformer.cursor() as cursor:
        cursor.execute("select count(*) from raw.deliveries")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("delete from raw.deliveries")


def test_a_failed_delivery_leaves_nothing_on_postgres(pg_database: PostgresTarget) -> None:
    """One transaction per delivery: a load cut short leaves neither rows nor manifest row."""
    contract = contract_for("idva_caseload")
    record = DeliveryRecord(
        "idva_caseload", None, "half.xlsx", "f" * 64, None, datetime(2026, 1, 1), LA
    )
    first = contract.tables[0]
    batch = pa.table({c.name: pa.nulls(1) for c in first.loaded_columns}).append_column(
        "source_row", pa.array([1], pa.int32())
    )
    target = pg_database.with_role("csp_loader")
    with connect(target) as con:
        ensure_raw_schema(con)
        before = con.execute(f"select count(*) from raw.{first.name}").fetchone()[0]
        # The second table is missing: the load fails after the first table's COPY.
        with pytest.raises(KeyError):
            load_delivery(con, record, contract, {first.name: batch})
        assert find_delivery(con, "idva_caseload", "f" * 64) is None
        assert con.execute(f"select count(*) from raw.{first.name}").fetchone()[0] == before


def test_copy_keeps_nulls_empty_strings_and_awkward_text(pg_database: PostgresTarget) -> None:
    """COPY round-trips what a partner file may hold: '' vs null, quotes, commas, newlines."""
    from ingest.warehouse import PostgresConnection

    values = ["", None, 'say "hi", then', "two\nlines", "\\.", "£ and é"]
    batch = pa.table(
        {
            "text_value": pa.array(values, pa.string()),
            "number": pa.array([0.1, None, 1e20, -2.5, 3.0, 44.65]),
            "day": pa.array([date(2014, 1, 2)] * 3 + [None] * 3, pa.date32()),
            "flag": pa.array([True, False, None] * 2),
        }
    )
    with connect(pg_database) as con:
        assert isinstance(con, PostgresConnection)
        con.execute(
            "create temporary table copied (delivery_id integer, text_value varchar, "
            "number double precision, day date, flag boolean)"
        )
        con.copy_table("copied", batch.add_column(0, "delivery_id", pa.array([9] * 6)))
        rows = con.execute("select * from copied").fetchall()
    assert rows == [
        (9, *row)
        for row in zip(
            values,
            batch["number"].to_pylist(),
            batch["day"].to_pylist(),
            batch["flag"].to_pylist(),
            strict=True,
        )
    ]


def test_dbt_environment_passes_the_postgres_connection_and_role() -> None:
    from core.dbt_project import dbt_environment

    target = PostgresTarget(
        "host=db.example port=6543 user=etl password=s dbname=wh", "csp_transformer"
    )
    env = dbt_environment(Path("/x.duckdb"), Path("/logs"), "postgres", target)
    assert env["CSP_TARGET"] == "postgres"
    assert (
        env["CSP_PG_HOST"],
        env["CSP_PG_PORT"],
        env["CSP_PG_USER"],
        env["CSP_PG_PASSWORD"],
        env["CSP_PG_DBNAME"],
        env["CSP_PG_ROLE"],
    ) == ("db.example", "6543", "etl", "s", "wh", "csp_transformer")
    assert "CSP_PG_HOST" not in dbt_environment(Path("/x.duckdb"), Path("/logs"))


def test_target_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import ConfigError
    from orchestration.config import load_settings

    monkeypatch.setenv("CSP_PG_DSN", "host=h dbname=d")
    monkeypatch.setenv("CSP_TARGET", "postgres")
    settings = load_settings(tmp_path, "2014-01-01", "E08000026")
    assert settings.warehouse_target == PostgresTarget("host=h dbname=d", "csp_loader")
    monkeypatch.setenv("CSP_TARGET", "duckdb")
    assert load_settings(tmp_path, "2014-01-01", "E08000026").warehouse_target == (
        tmp_path.resolve() / "warehouse.duckdb"
    )
    monkeypatch.setenv("CSP_TARGET", "oracle")
    with pytest.raises(ConfigError, match="CSP_TARGET"):
        load_settings(tmp_path, "2014-01-01", "E08000026")


def test_db_init_command_is_idempotent(
    pg_database: PostgresTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.cli import main

    assert main(["db", "init", "--dsn", pg_database.dsn]) == 0
    assert "csp_analyst" in capsys.readouterr().out
    with connect(pg_database) as con:
        owners = dict(
            con.execute(
                "select nspname, pg_get_userbyid(nspowner) from pg_namespace "
                "where nspname = any(?)",
                [["raw", "staging", "intermediate", "seeds", "marts"]],
            ).fetchall()
        )
    assert owners == {
        "raw": "csp_loader",
        "staging": "csp_transformer",
        "intermediate": "csp_transformer",
        "seeds": "csp_transformer",
        "marts": "csp_transformer",
    }


def test_report_and_analyst_exports_read_postgres_as_the_analyst(
    built: dict, pg_database: PostgresTarget
) -> None:
    """`csp report` on the Postgres target reads the marts as csp_analyst sees them: the same
    public figures as on DuckDB, every mart exported, and no pseudonymised identifier."""
    quarter, slug = "2014/15 Q2", "2014-15-Q2"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_", "PG"))}
    envs = {
        "duckdb": {**base, "CSP_TARGET": "duckdb"},
        "postgres": {**base, "CSP_TARGET": "postgres", "CSP_PG_DSN": pg_database.dsn},
    }
    for target, env in envs.items():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "orchestration.cli",
                "report",
                "--home",
                str(built[target]),
                "--as-of",
                AS_OF,
                "--la-code",
                LA,
                "--quarter",
                quarter,
                "--public",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{target} report failed:\n{done.stdout}\n{done.stderr}"
    exports = {target: built[target] / "exports" for target in envs}
    public = f"indicators-{slug}-public.csv"
    assert (exports["postgres"] / public).read_bytes() == (exports["duckdb"] / public).read_bytes()
    assert (exports["postgres"] / f"report-{slug}.html").stat().st_size > 100_000
    assert (exports["postgres"] / "docs" / "static_index.html").is_file()
    marts = {
        target: sorted(p.name for p in (exports[target] / "marts").iterdir()) for target in envs
    }
    assert marts["postgres"] == marts["duckdb"] and "fct_crime.parquet" in marts["postgres"]
    # No token column in any analyst export, on either target (docs/analysts.md).
    for target in envs:
        header = (exports[target] / "marts" / "fct_treatment_episode.csv").open().readline()
        assert "referral_date" in header and "client_token" not in header, target
        assert "episode_key" not in header, target
    assert (exports["postgres"] / "marts" / "fct_indicator_quarter.csv").read_bytes() == (
        exports["duckdb"] / "marts" / "fct_indicator_quarter.csv"
    ).read_bytes()


def test_a_revised_month_updates_incremental_staging_on_postgres(
    built: dict, pg_database: PostgresTarget
) -> None:
    """stg_police__crimes is incremental: a revised month, built again on Postgres, leaves
    exactly the latest row of every crime over the current deliveries."""
    home = built["postgres"]
    original = sorted((home / "landing" / "police_crime").glob("*.csv"))[-1]
    header, first, *rest = original.read_bytes().split(b"\r\n")
    original.write_bytes(b"\r\n".join([header, *rest]))  # the revision omits a crime
    dropped = first.split(b",")[0].decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_", "PG"))}
    env.update(
        {
            **TEST_KEYS,
            "CSP_STABLE_SECONDS": "0",
            "CSP_TARGET": "postgres",
            "CSP_PG_DSN": pg_database.dsn,
        }
    )
    output, _ = (process := _build_process(home, env)).communicate(timeout=600)
    assert process.returncode == 0, output
    expected = """
        select crime_reference, delivery_id, source_row from (
            select r.crime_reference, r.delivery_id, r.source_row, row_number() over (
                partition by r.crime_reference
                order by d.period_start desc, d.delivery_id desc, r.source_row desc) as n
            from raw.police_crime r join raw.deliveries d on d.delivery_id = r.delivery_id
            where d.status = 'loaded') as ranked
        where n = 1 order by 1"""
    with connect(pg_database) as con:
        want = con.execute(expected).fetchall()
        got = con.execute(
            "select crime_reference, delivery_id, source_row "
            "from staging.stg_police__crimes order by 1"
        ).fetchall()
        superseded = con.execute(
            "select count(*) from raw.deliveries where file_name = ? and status = 'superseded'",
            [original.name],
        ).fetchone()
    assert got == want
    assert dropped not in {r[0] for r in got}
    assert superseded == (1,)


def test_rekey_on_postgres_replaces_every_token_as_the_loader(
    built: dict, pg_database: PostgresTarget
) -> None:
    """Last in the module: it leaves the treatment key at version 2."""
    query = (
        "select delivery_id, source_row, client_token, client_token_key_version "
        "from raw.rny_treatment order by 1, 2"
    )
    with connect(pg_database) as con:
        before = con.execute(query).fetchall()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_", "PG"))}
    env.update(
        {
            **TEST_KEYS,
            "CSP_TARGET": "postgres",
            "CSP_PG_DSN": pg_database.dsn,
            "CSP_PSEUDO_KEY_TREATMENT_NEXT": "the-next-treatment-key-0123456789",
        }
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "rekey",
            "treatment",
            "--home",
            str(built["postgres"]),
            "--la-code",
            LA,
            "--as-of",
            AS_OF,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with connect(pg_database) as con:
        after = con.execute(query).fetchall()
    assert len(after) == len(before) > 50
    assert {r[3] for r in before} == {"treatment/v1"} and {r[3] for r in after} == {"treatment/v2"}
    assert not {r[2] for r in before} & {r[2] for r in after}
    assert len({r[2] for r in after}) == len({r[2] for r in before})
