"""indicators.csv and friends: the contract analysts and the report build on.

The columns and their rendering are described in docs/indicators.md, "indicators.csv".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from exports.analyst import escaped_select
from exports.marts import marts_from_postgres

# The columns of the contract first, in this order; the rest of the mart follows, then the
# data.police.uk rate columns (empty for other indicators), then the confidence limits and
# significance (docs/indicators.md, "Confidence intervals and significance").
CONTRACT_COLUMNS = [
    "indicator_code",
    "fiscal_quarter",
    "data_status",
    "value",
    "numerator",
    "denominator",
    "ytd_value",
    "ytd_prev_value",
    "target",
    "rag_status",
    "direction",
]
RATE_COLUMNS = ["population", "rate_per_1000", "rate_lower_95", "rate_upper_95"]
INTERVAL_COLUMNS = [
    "lower_95",
    "upper_95",
    "lower_99_8",
    "upper_99_8",
    "ytd_lower_95",
    "ytd_upper_95",
    "significance_vs_target",
    "significance_vs_previous_year",
    "significance_method",
]


def _copy_query_to(con: duckdb.DuckDBPyConnection, query: str, target: Path, fmt: str) -> None:
    """Write a query's result to ``target`` atomically (readers never see half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    options = "(format csv, header true, delimiter ',')" if fmt == "csv" else "(format parquet)"
    con.execute(f"copy ({query}) to '{partial}' {options}")
    partial.replace(target)


# Figures shown to one decimal place when they are percentages, as whole numbers when counts.
FIGURE_COLUMNS = [
    "value",
    "ytd_value",
    "ytd_prev_value",
    "prev_year_value",
    "provisional_value",
    "target",
]
# Numerators and denominators are counts, except the MoJ rates (actual and predicted).
PART_COLUMNS = ["numerator", "denominator"]
# Rates per 1,000 and their limits to two decimal places: a rare crime type in a small
# partnership is a fraction of one per 1,000 a quarter, which one place would flatten.
RATE_FIGURE_COLUMNS = ["rate_per_1000", "rate_lower_95", "rate_upper_95"]
# Limits of a percentage to one decimal place, as the percentage; Byar's limits of a count are
# not whole numbers, so two places, as the rates' limits.
LIMIT_COLUMNS = ["lower_95", "upper_95", "lower_99_8", "upper_99_8", "ytd_lower_95", "ytd_upper_95"]


def _plain_number(column: str, unit_column: str | None) -> str:
    """SQL rendering a number plainly: no separators, no %, empty when null."""
    whole = f"cast(round({column}) as bigint)::varchar"
    if unit_column is None:
        return f"case when {column} = round({column}) then {whole} else {column}::varchar end"
    return f"case when {unit_column} = 'count' then {whole} else printf('%.1f', {column}) end"


def _limit(column: str) -> str:
    """SQL rendering a confidence limit: two places for a count, one for a percentage."""
    return (
        f"case when unit = 'count' then printf('%.2f', {column}) else printf('%.1f', {column}) end"
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The table's column names in the warehouse's order."""
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_name = ? and table_schema = 'main' order by ordinal_position",
            [table],
        ).fetchall()
    ]


def indicators_query(con: duckdb.DuckDBPyConnection, csv_text: bool) -> str:
    """SELECT of fct_indicator_quarter with the contract's columns first, in a stable order.

    For CSV, numbers are rendered as text so counts read ``86`` and percentages ``44.7``;
    Parquet keeps the warehouse's types.
    """
    columns = _columns(con, "fct_indicator_quarter")
    placed = CONTRACT_COLUMNS + RATE_COLUMNS + INTERVAL_COLUMNS
    missing = [c for c in placed + ["unit"] if c not in columns]
    if missing:
        raise RuntimeError(f"fct_indicator_quarter lacks contract column(s): {missing}")
    ordered = (
        CONTRACT_COLUMNS + [c for c in columns if c not in placed] + RATE_COLUMNS + INTERVAL_COLUMNS
    )
    expressions = []
    for column in ordered:
        if csv_text and column in FIGURE_COLUMNS:
            expressions.append(f"{_plain_number(column, 'unit')} as {column}")
        elif csv_text and column in PART_COLUMNS + ["population"]:
            expressions.append(f"{_plain_number(column, None)} as {column}")
        elif csv_text and column in RATE_FIGURE_COLUMNS:
            expressions.append(f"printf('%.2f', {column}) as {column}")
        elif csv_text and column in LIMIT_COLUMNS:
            expressions.append(f"{_limit(column)} as {column}")
        else:
            expressions.append(column)
    return (
        f"select {', '.join(expressions)} from main.fct_indicator_quarter "
        "order by indicator_code, quarter_start"
    )


EXPORTED_MARTS = ("fct_indicator_quarter", "fct_feed_delivery")


def write_indicator_exports(warehouse: Any, exports: Path) -> dict[str, Path]:
    """indicators.csv, indicators.parquet and feed_deliveries.csv from the built warehouse.

    ``warehouse`` is the DuckDB file, or a ``PostgresTarget`` (then the marts are read with
    psycopg2 and rendered by the same SQL, in memory).
    """
    written: dict[str, Path] = {}
    opened = (
        duckdb.connect(str(warehouse), read_only=True)
        if isinstance(warehouse, Path)
        else marts_from_postgres(warehouse, EXPORTED_MARTS)
    )
    with opened as con:
        for name, fmt in (("indicators.csv", "csv"), ("indicators.parquet", "parquet")):
            _copy_query_to(con, indicators_query(con, csv_text=fmt == "csv"), exports / name, fmt)
            written[name] = exports / name
        # File names and rejection reasons are what partners sent: a name starting with '='
        # would run as a formula in the spreadsheet that opens this file.
        _copy_query_to(
            con, escaped_select(con, "fct_feed_delivery"), exports / "feed_deliveries.csv", "csv"
        )
        written["feed_deliveries.csv"] = exports / "feed_deliveries.csv"
    return written
