"""The raw schema for dbt test fixtures: the ingest's own DDL and writers, so the two cannot
drift."""

from datetime import date

from ingest.warehouse import ensure_raw_schema, write_feed_status


def create_raw_tables(con) -> None:
    """Create schema raw and every raw table on an open DuckDB connection."""
    ensure_raw_schema(con)


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Insert positional rows into raw.<table>'s first columns.

    Columns an upgrade added (ingest.warehouse's migrations, always last) keep their defaults,
    so the scenarios read as they were written.
    """
    if not rows:
        return
    names = [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
    ][: len(rows[0])]
    placeholders = ", ".join("?" for _ in names)
    con.executemany(f"insert into raw.{table} ({', '.join(names)}) values ({placeholders})", rows)


def judge_feeds(con, as_of: str) -> None:
    """What every build does after its ingest and before dbt: judge the feed calendar of
    raw.feed_calendar on ``as_of`` in Python (raw.feed_status and raw.feed_periods)."""
    write_feed_status(con, date.fromisoformat(as_of))
