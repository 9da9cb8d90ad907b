"""What analysts get on DuckDB (issue 26, item 4): the published copy holds the marts and the
analysts' views only, each table, view and column with its description as a comment, and no
pseudonymised identifier, in the copy or in any export; each view answers its question.

On the demonstration home (built once, ``built_demo_home``), read as an analyst would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from exports.analyst import write_mart_exports
from exports.publish import (
    is_pseudonymised_identifier,
    last_build_path,
    publish_warehouse,
    published_path,
)

LA = "E08000031"
VIEWS = {
    "analyst_indicators_by_quarter",
    "analyst_feed_status",
    "analyst_reoffending_comparison",
    "analyst_police_uk_comparison",
}


@pytest.fixture(scope="module")
def published(built_demo_home: Path) -> duckdb.DuckDBPyConnection:
    with duckdb.connect(str(published_path(built_demo_home)), read_only=True) as con:
        yield con


def exported_header(path: Path) -> list[str]:
    """The column names of an analyst export, CSV or Parquet."""
    if path.suffix == ".csv":
        return path.read_text().splitlines()[0].split(",")
    return pq.read_schema(path).names


def _marts(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
        }


def test_the_published_copy_lists_only_marts_and_the_analysts_views(
    built_demo_home: Path, published: duckdb.DuckDBPyConnection
) -> None:
    schemas = {
        schema
        for (schema,) in published.execute(
            "select distinct schema_name from duckdb_tables() union "
            "select distinct schema_name from duckdb_views() where not internal"
        ).fetchall()
    }
    assert schemas == {"main"}
    tables = {t for (t,) in published.execute("select table_name from duckdb_tables()").fetchall()}
    views = {
        v
        for (v,) in published.execute(
            "select view_name from duckdb_views() where not internal"
        ).fetchall()
    }
    assert views == VIEWS
    assert all(name.startswith(("dim_", "fct_")) for name in tables)
    # Every mart the build made is there; raw, staging, intermediate and seeds are not.
    assert tables == _marts(built_demo_home / "warehouse.duckdb")
    with duckdb.connect(str(built_demo_home / "warehouse.duckdb"), read_only=True) as con:
        built_schemas = {
            schema
            for (schema,) in con.execute("select schema_name from duckdb_tables()").fetchall()
        }
    assert {"raw", "staging", "intermediate", "seeds"} <= built_schemas


def test_every_table_view_and_column_has_a_comment(published: duckdb.DuckDBPyConnection) -> None:
    uncommented = published.execute(
        "select table_name from duckdb_tables() where coalesce(comment, '') = '' union all "
        "select view_name from duckdb_views() where not internal and coalesce(comment, '') = ''"
    ).fetchall()
    assert uncommented == []
    columns = published.execute(
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name = 'main' and not internal"
    ).fetchall()
    assert {t for t, _, _ in columns} >= VIEWS | {"fct_indicator_quarter"}
    assert [(t, c) for t, c, comment in columns if not (comment or "").strip()] == []
    # The comment is the model's YAML description.
    assert (
        published.execute(
            "select comment from duckdb_columns() "
            "where table_name = 'analyst_feed_status' and column_name = 'state'"
        )
        .fetchone()[0]
        .startswith("on time, late")
    )


def test_the_warehouse_itself_carries_the_comments_too(built_demo_home: Path) -> None:
    """persist_docs: dbt writes them in the warehouse; publishing only carries them over."""
    with duckdb.connect(str(built_demo_home / "warehouse.duckdb"), read_only=True) as con:
        missing = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' "
            "and coalesce(comment, '') = '' union all select view_name from duckdb_views() "
            "where schema_name = 'main' and not internal and coalesce(comment, '') = ''"
        ).fetchall()
        described = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'main' "
            "and table_name = 'fct_indicator_quarter' and comment is not null"
        ).fetchone()[0]
    assert missing == []
    assert described > 30


def test_no_token_in_the_published_copy_not_even_in_its_free_blocks(
    built_demo_home: Path, published: duckdb.DuckDBPyConnection
) -> None:
    names = [c for (c,) in published.execute("select column_name from duckdb_columns()").fetchall()]
    assert [c for c in names if is_pseudonymised_identifier(c)] == []
    with duckdb.connect(str(built_demo_home / "warehouse.duckdb"), read_only=True) as con:
        tokens = [
            t
            for (t,) in con.execute(
                "select case_token from fct_idva_case union all "
                "select client_token from fct_treatment_episode"
            ).fetchall()
        ]
    assert len(tokens) > 100
    warehouse_bytes = (built_demo_home / "warehouse.duckdb").read_bytes()
    published_bytes = published_path(built_demo_home).read_bytes()
    assert any(t.encode() in warehouse_bytes for t in tokens[:200])  # they are findable...
    assert not any(t.encode() in published_bytes for t in tokens)  # ...and not there


def test_no_analyst_export_has_a_token_column(built_demo_home: Path, tmp_path: Path) -> None:
    """From the published copy, and from the warehouse itself (what readers open before the
    first publish): neither gives a token column in any CSV or Parquet file."""
    for source in (published_path(built_demo_home), built_demo_home / "warehouse.duckdb"):
        folder = tmp_path / source.parent.name
        written = write_mart_exports(source, folder)
        assert {p.stem for p in written} >= {"fct_idva_case", "fct_treatment_episode"}
        for path in written:
            header = exported_header(path)
            assert not [c for c in header if is_pseudonymised_identifier(c)], path
            assert header, path
        idva = (folder / "fct_idva_case.csv").read_text().splitlines()
        assert len(idva) > 100 and "referral_date" in idva[0]


def test_the_report_and_status_find_what_they_read(built_demo_home: Path, tmp_path: Path) -> None:
    """The whole warehouse, raw layer included, is kept owner-only beside: what csp status
    reads while a build holds the warehouse, and a damaged warehouse is restored from."""
    backup = last_build_path(built_demo_home)
    assert backup.stat().st_mode & 0o077 == 0
    with duckdb.connect(str(backup), read_only=True) as con:
        assert con.execute("select count(*) from raw.deliveries").fetchone()[0] > 100
        assert con.execute("select count(*) from main.fct_idva_case").fetchone()[0] > 100


def test_publishing_again_swaps_both_copies_in(built_demo_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "published").mkdir(parents=True)
    shutil.copyfile(built_demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copyfile(published_path(built_demo_home), published_path(home))
    with duckdb.connect(str(published_path(home)), read_only=True) as held:  # a reader
        assert publish_warehouse(home / "warehouse.duckdb", home) == published_path(home)
        assert held.execute("select count(*) from analyst_feed_status").fetchone()[0] > 0
    assert _marts(published_path(home)) == _marts(home / "warehouse.duckdb")
    assert not list(home.rglob("*.partial"))


def test_indicators_by_quarter_are_the_marts_figures_with_names(
    published: duckdb.DuckDBPyConnection,
) -> None:
    view = published.execute(
        "select indicator_code, fiscal_quarter, value, value_lower_95, value_upper_95, "
        "ytd_value, target, rag_status, direction from analyst_indicators_by_quarter "
        "order by all"
    ).fetchall()
    mart = published.execute(
        "select indicator_code, fiscal_quarter, value, lower_95, upper_95, ytd_value, target, "
        "rag_status, direction from fct_indicator_quarter order by all"
    ).fetchall()
    assert view == mart and len(view) > 300
    # The 4 December 2014 report: employment 44.7% year to date against 45%, Amber.
    row = published.execute(
        "select indicator_name, priority, unit_label, better_when, ytd_value, target, rag_status "
        "from analyst_indicators_by_quarter "
        "where indicator_code = 'RR_EMPLOYMENT' and fiscal_quarter = '2014/15 Q2'"
    ).fetchone()
    assert row[1:] == ("Reducing Reoffending", "per cent", "higher", 44.7, 45.0, "Amber")
    assert row[0].startswith("Offenders in stable employment")


def test_feed_status_has_one_row_per_feed_with_its_partner(
    published: duckdb.DuckDBPyConnection,
) -> None:
    rows = published.execute(
        "select feed_key, partner, state, suspension_reason, delivery_count "
        "from analyst_feed_status order by feed_key"
    ).fetchall()
    mart = published.execute(
        "select feed_key, partner, state from fct_feed_status order by feed_key"
    ).fetchall()
    assert [r[:3] for r in rows] == mart and len(rows) >= 8
    states = {r[0]: r for r in rows}
    assert states["moj_reoffending"][2] == "suspended"
    assert "Transforming Rehabilitation" in states["moj_reoffending"][3]
    assert states["police_crime"][1:3] == ("West Midlands Police", "on time")
    assert states["police_crime"][4] > 0


def test_reoffending_comparison_places_the_partnership_among_authorities(
    published: duckdb.DuckDBPyConnection,
) -> None:
    rows = published.execute(
        "select fiscal_quarter, la_code, difference_pct, rank_all, authorities_all, "
        "compared_with_all from analyst_reoffending_comparison order by fiscal_quarter"
    ).fetchall()
    assert {r[1] for r in rows} == {LA}
    quarters = published.execute(
        "select count(distinct fiscal_quarter) from fct_reoffending_comparison "
        "where la_code = ? and actual_rate is not null",
        [LA],
    ).fetchone()[0]
    assert len(rows) == quarters == 7
    # The report's "18.3% below the predicted rate" (2013/14 Q3), third of 36.
    assert rows[-1] == ("2013/14 Q3", LA, -18.3, 3, 36, "significantly lower")
    # Each quarter's difference is the indicator the report quotes.
    indicator = published.execute(
        "select fiscal_quarter, la_code, value from fct_indicator_quarter "
        "where indicator_code = 'RR_REOFFEND_DIFF' and value is not null order by fiscal_quarter"
    ).fetchall()
    assert indicator == [r[:3] for r in rows]


def test_police_uk_comparison_is_the_partnerships_rows(
    published: duckdb.DuckDBPyConnection,
) -> None:
    """The demonstration has no data.police.uk files, so no row here: the view's rule (the
    configured partnership's rows only) is the unit test in its YAML."""
    view = published.execute(
        "select fiscal_quarter, records, rate_per_1000, rank_in_force, compared_with_force "
        "from analyst_police_uk_comparison order by all"
    ).fetchall()
    mart = published.execute(
        "select fiscal_quarter, records, rate_per_1000, rank_in_force, compared_with_force "
        "from fct_police_uk_comparison where partnership_code = ? order by all",
        [LA],
    ).fetchall()
    assert view == mart


def test_a_failed_publish_leaves_the_published_copies_as_they_were(
    built_demo_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "published").mkdir(parents=True)
    shutil.copyfile(published_path(built_demo_home), published_path(home))
    before = published_path(home).read_bytes()
    broken = home / "warehouse.duckdb"
    with duckdb.connect(str(broken)) as con:  # a view over a table the copy does not hold
        con.execute("create schema raw")
        con.execute("create table raw.deliveries (delivery_id integer)")
        con.execute("create view main.fct_indicator_quarter as select * from raw.deliveries")
    with pytest.raises(duckdb.Error):
        publish_warehouse(broken, home)
    assert published_path(home).read_bytes() == before
    assert not last_build_path(home).exists()
    assert not list(home.rglob("*.partial"))
