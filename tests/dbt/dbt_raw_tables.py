"""The raw schema for dbt test fixtures: the ingest's own DDL, so the two cannot drift."""

from ingest.warehouse import ensure_raw_schema


def create_raw_tables(con) -> None:
    """Create schema raw and every raw table on an open DuckDB connection."""
    ensure_raw_schema(con)


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Insert positional rows into raw.<table>."""
    if not rows:
        return
    placeholders = ", ".join("?" for _ in rows[0])
    con.executemany(f"insert into raw.{table} values ({placeholders})", rows)
