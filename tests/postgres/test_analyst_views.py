"""What analysts get on Postgres (issue 26, item 4): every mart and analysts' view carries its
description as a table and column COMMENT (persist_docs), csp_analyst reads the views, and no
analyst export holds a pseudonymised identifier, whichever role reads for it.

A real server (``conftest.py``), a database of this module's own (initialised by
``csp db init``), one small generated landing built once on Postgres.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from core.targets import PostgresTarget
from exports.analyst import write_mart_exports
from exports.marts import marts_from_postgres
from exports.publish import is_pseudonymised_identifier
from ingest.warehouse import connect
from orchestration.demonstration import generate_landing
from tests.conftest import TEST_KEYS
from tests.postgres.conftest import connect_as, fresh_database
from tests.test_analysts import VIEWS, exported_header

LA, LA_NAME = "E08000026", "Coventry"
AS_OF = "2014-11-20"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database(pg_server: str) -> Iterator[PostgresTarget]:
    """A fresh database (the session's one is built by test_postgres_target.py)."""
    with fresh_database(pg_server, "csp_analysts") as target:
        yield target


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, database: PostgresTarget) -> PostgresTarget:
    """Generated deliveries, built twice on Postgres (the second time every view and mart is
    rebuilt: its comments and grants must survive that)."""
    home = tmp_path_factory.mktemp("analysts-pg")
    generate_landing(
        home / "landing",
        la_code=LA,
        la_name=LA_NAME,
        first_month=date(2014, 1, 1),
        last_month=date(2014, 9, 1),
        seed=11,
        scale=0.1,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "DBT_", "PG"))}
    env.update(
        {**TEST_KEYS, "CSP_STABLE_SECONDS": "0", "CSP_TARGET": "postgres"},
        CSP_PG_DSN=database.dsn,
    )
    command = [sys.executable, "-m", "orchestration.cli", "build", "--home", str(home)]
    command += ["--as-of", AS_OF, "--la-code", LA]
    for _ in range(2):
        result = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return database


def _relations(target: PostgresTarget) -> dict[str, str]:
    with connect(target) as con:
        return dict(
            con.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_schema = 'marts' order by table_name"
            ).fetchall()
        )


def test_the_views_sit_beside_the_marts(built: PostgresTarget) -> None:
    relations = _relations(built)
    assert {name for name, kind in relations.items() if kind == "VIEW"} == VIEWS
    assert {"fct_indicator_quarter", "fct_idva_case", "dim_feed"} <= set(relations)


def test_every_mart_view_and_column_has_a_comment(built: PostgresTarget) -> None:
    with connect(built) as con:
        relations = con.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts' and c.relkind in ('r', 'v') order by 1"
        ).fetchall()
        columns = con.execute(
            "select c.relname, a.attname, col_description(c.oid, a.attnum) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
            "where n.nspname = 'marts' and c.relkind in ('r', 'v') order by 1, 2"
        ).fetchall()
    assert {name for name, _ in relations} >= VIEWS | {"fct_indicator_quarter"}
    assert [name for name, comment in relations if not (comment or "").strip()] == []
    assert len(columns) > 200
    assert [(t, c) for t, c, comment in columns if not (comment or "").strip()] == []
    comments = {(t, c): comment for t, c, comment in columns}
    assert comments[("analyst_feed_status", "state")].startswith("on time, late")


def test_analyst_reads_every_view_and_it_answers(built: PostgresTarget) -> None:
    analyst = connect_as(built, "csp_analyst")
    with closing(analyst), analyst.cursor() as cursor:
        for view in sorted(VIEWS):
            cursor.execute(f"select * from marts.{view}")
            names = [d[0] for d in cursor.description]
            assert not [c for c in names if is_pseudonymised_identifier(c)], view
            rows = cursor.fetchall()
            assert view == "analyst_police_uk_comparison" or rows, view
        cursor.execute(
            "select indicator_code, fiscal_quarter, value, value_lower_95, ytd_value, target, "
            "rag_status from marts.analyst_indicators_by_quarter order by 1, 2"
        )
        view = cursor.fetchall()
        cursor.execute(
            "select indicator_code, fiscal_quarter, value, lower_95, ytd_value, target, "
            "rag_status from marts.fct_indicator_quarter order by 1, 2"
        )
        assert view == cursor.fetchall() and len(view) > 100
        cursor.execute(
            "select count(*) from marts.analyst_feed_status f "
            "join marts.fct_feed_status s using (feed_key) where f.partner is not distinct from "
            "s.partner and f.state = s.state"
        )
        matched = cursor.fetchone()[0]
        cursor.execute("select count(*) from marts.fct_feed_status")
        assert matched == cursor.fetchone()[0] > 0


@pytest.mark.parametrize("role", ["csp_analyst", None])
def test_no_analyst_export_holds_a_token(
    built: PostgresTarget, tmp_path: Path, role: str | None
) -> None:
    """As csp_analyst (the column grants hide tokens) and as the database owner, who may read
    them (CSP_PG_READER_ROLE set to a wider role): no exported file has a token column."""
    marts = marts_from_postgres(built.with_role(role))
    try:
        written = write_mart_exports(marts, tmp_path)
    finally:
        marts.close()
    assert {p.stem for p in written} >= {"fct_idva_case", "fct_treatment_episode"}
    for path in written:
        header = exported_header(path)
        assert header and not [c for c in header if is_pseudonymised_identifier(c)], path
    # The owner could have read them: the tokens are in the mart, just not exported.
    with connect(built) as con:
        tokens = con.execute("select count(case_token) from marts.fct_idva_case").fetchone()[0]
    assert tokens > 0
    assert "referral_date" in (tmp_path / "fct_idva_case.csv").read_text().splitlines()[0]
