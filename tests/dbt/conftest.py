"""Fixtures for the dbt tests: a temporary DuckDB warehouse with the hand-made raw scenario,
its feed calendar judged in Python as every build judges it, then built once per as-of date
with `dbt build` (unit tests and data tests included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dbt_scenario  # noqa: E402
from dbt_command import REPO, dbt_build_command, dbt_env  # noqa: E402
from dbt_raw_tables import judge_feeds  # noqa: E402


def build_warehouse(
    tmp: Path, as_of: str, la_code: str = dbt_scenario.LA, similar_areas: tuple[str, ...] = ()
) -> Path:
    """Load the scenario into tmp/warehouse.duckdb, judge its feeds on ``as_of``, run dbt
    build on it, return the file."""
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        dbt_scenario.load(con)
        judge_feeds(con, as_of)
    result = subprocess.run(
        dbt_build_command(tmp, as_of, la_code, similar_areas=similar_areas),
        cwd=REPO,
        env=dbt_env(warehouse, tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # The one place the models' unit tests run (csp build leaves them out).
    assert "PASS stg_police__crimes::test_crime_latest_row_wins" in result.stdout
    return warehouse


class Warehouse:
    """Read-only queries against a built warehouse file."""

    def __init__(self, path: Path):
        self.path = path

    def rows(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        rows = self.rows(sql, *params)
        assert len(rows) == 1, rows
        return rows[0]

    def indicator(self, code: str, quarter: str) -> dict:
        with duckdb.connect(str(self.path), read_only=True) as con:
            cur = con.execute(
                "select * from main.fct_indicator_quarter "
                "where indicator_code = ? and fiscal_quarter = ?",
                [code, quarter],
            )
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        assert len(rows) == 1, (code, quarter, rows)
        return dict(zip(names, rows[0], strict=True))


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Warehouse:
    """The scenario as of 2014-12-15: the due date of police_crime 2014-11."""
    return Warehouse(build_warehouse(tmp_path_factory.mktemp("dbt_due_date"), "2014-12-15"))


@pytest.fixture(scope="session")
def warehouse_day_after(tmp_path_factory) -> Warehouse:
    """The same scenario one day later, when police_crime 2014-11 is overdue (and with
    Birmingham configured as a similar area)."""
    return Warehouse(
        build_warehouse(
            tmp_path_factory.mktemp("dbt_day_after"),
            "2014-12-16",
            similar_areas=(dbt_scenario.OTHER_LA,),
        )
    )
