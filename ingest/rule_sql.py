"""The SQL the contract's rules are written in, shared by every kind of rule and the typing.

Values quoted as SQL literals, the one way every feed writes a date, the file's period as SQL
(one delivery's literals, or the columns of a bulk relation of many files), and the two
queries every rule runs: count the rows breaking each rule in one scan, then fetch the first
few rows of a rule broken, with personal data withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from core.contracts import Column
from core.periods import Period

# Rows quoted back with one problem.
MAX_EXAMPLES = 20
# How every feed writes a date; a workbook's real dates are written so before they are checked.
DATE_FORMAT = "%d/%m/%Y"


def sql_str(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: tuple[str, ...]) -> str:
    """``values`` as a SQL list of string literals, for ``in``."""
    return "(" + ", ".join(sql_str(v) for v in values) + ")"


def parsed_date(column: str) -> str:
    """SQL: the date written in text column ``column``, or null where it holds none."""
    return f"try_strptime({column}, '{DATE_FORMAT}')::date"


@dataclass(frozen=True)
class PeriodSql:
    """The file's period as SQL: literals for one file, per-row columns for a bulk relation."""

    start: str
    end: str
    label: str

    @classmethod
    def of(cls, period: Period) -> PeriodSql:
        """The literals of one delivery's period."""
        return cls(f"date '{period.start}'", f"date '{period.end}'", sql_str(period.label))


# A bulk relation (ingest.bulk) carries each row's file period in these columns.
BULK_PERIOD = PeriodSql("_period_start", "_period_end", "_period_label")


def count_rows(con: duckdb.DuckDBPyConnection, relation: str, conditions: list[str]) -> list[int]:
    """How many rows meet each condition, in one scan of the relation."""
    if not conditions:
        return []
    counted = ", ".join(f"count(*) filter (where {c})" for c in conditions)
    return list(con.execute(f"select {counted} from {relation}").fetchall()[0])


def example_rows(
    con: duckdb.DuckDBPyConnection, relation: str, condition: str, column: Column
) -> list[dict[str, Any]]:
    """The first rows meeting ``condition``: row number and ``column``'s value."""
    rows = con.execute(
        f"select _row, {column.name} from {relation} where {condition} order by _row limit ?",
        [MAX_EXAMPLES],
    ).fetchall()
    # Personal data is never echoed back, even into a rejection note.
    return [
        {
            "row": r,
            "value": "(withheld: personal data)"
            if column.pii
            else (v.lstrip("\x01") if isinstance(v, str) else v),
        }
        for r, v in rows
    ]


def count_and_examples(
    con: duckdb.DuckDBPyConnection, relation: str, condition: str, column: Column
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows meet ``condition``, and the first of them (``example_rows``)."""
    [count] = count_rows(con, relation, [condition])
    return count, (example_rows(con, relation, condition, column) if count else [])
