"""Rules on whole rows and across rows: totals lines, runaway fields, period, repeated keys.

A row that is not a record (a totals line, a field longer than any export writes), a file
whose rows are mostly dated outside the period its name gives, and a record key that appears
twice. Each is a SQL condition or query over a staged relation, counted in one scan where it
can be; the bulk screen (``table_checks.files_breaking_rules``) shares the conditions.
"""

from __future__ import annotations

import duckdb

from core.contracts import Column, Table
from core.periods import Period
from core.problems import Problem
from ingest.rule_sql import MAX_EXAMPLES, count_rows, parsed_date, sql_str

# A cell that labels a totals line rather than a record ("Total", "Totals:", "Grand total").
TOTALS_LABEL = r"^\s*(grand\s+)?totals?\s*:?\s*$"


def is_totals_label(column: Column) -> str:
    """SQL: the cell labels a totals line. The LIKE spares the regex on almost every cell."""
    return (
        f"({column.name} ilike '%total%' and "
        f"regexp_matches({column.name}, {sql_str(TOTALS_LABEL)}, 'i'))"
    )


def is_too_long(column: Column, table: Table) -> str:
    """SQL: the cell is longer than the table allows any field to be."""
    return f"length({column.name}) > {table.max_field_length}"


def record_key(table: Table) -> list[str]:
    """The columns of the table's record key that the file itself holds."""
    return [k for k in table.record_key if k in {c.name for c in table.columns}]


def _row_numbers(con: duckdb.DuckDBPyConnection, relation: str, condition: str) -> list[int]:
    return [
        r
        for (r,) in con.execute(
            f"select _row from {relation} where {condition} order by _row limit {MAX_EXAMPLES}"
        ).fetchall()
    ]


def row_problems(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> list[Problem]:
    """Rows that are not records at all: totals lines, and fields no export could produce."""
    problems: list[Problem] = []
    totals = " or ".join(is_totals_label(c) for c in table.columns)
    too_long = [is_too_long(c, table) for c in table.columns]
    count, *long_counts = count_rows(con, relation, [totals, *too_long])
    if count:
        rows = _row_numbers(con, relation, totals)
        problems.append(
            Problem(
                "totals_row",
                f"{count} row(s) are totals lines ('Total'), not records, e.g. row {rows[0]}: "
                "send the record rows only, without totals",
                None,
                count,
                [{"row": r} for r in rows],
            )
        )
    for column, condition, count in zip(table.columns, too_long, long_counts, strict=True):
        if count:
            rows = _row_numbers(con, relation, condition)
            problems.append(
                Problem(
                    "field_too_long",
                    f"column {column.source!r} has values longer than {table.max_field_length:,} "
                    f"characters (more than an Excel cell holds: a runaway quote or a damaged "
                    f"export?): {count} row(s)",
                    column.source,
                    count,
                    [{"row": r} for r in rows],
                )
            )
    return problems


def period_problems(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, period: Period
) -> list[Problem]:
    """Most rows must be dated in the period the file name gives (``period_majority``)."""
    if not table.period_column or table.period_majority is None:
        return []
    column = table.column(table.period_column)
    parsed = parsed_date(column.name)
    inside, dated, commonest = con.execute(
        f"""
        select count(*) filter (where d between date '{period.start}' and date '{period.end}'),
               count(d),
               mode(strftime(d, '%Y-%m'))
        from (select {parsed} as d from {relation})
        """
    ).fetchall()[0]
    if not dated or inside / dated >= table.period_majority:
        return []
    return [
        Problem(
            "period_mismatch",
            f"the file name gives the period {period.label}, but only {inside} of {dated} rows "
            f"have a {column.source!r} in it (most are in {commonest}): is the period in the file "
            f"name right?",
            column.source,
            dated - inside,
            [
                {
                    "period_in_name": period.label,
                    "rows_in_period": inside,
                    "rows_dated": dated,
                    "most_common_month": commonest,
                }
            ],
        )
    ]


def key_problems(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> list[Problem]:
    """Record keys that appear on more than one row of the file, with the rows of each."""
    keys = record_key(table)
    if not keys:
        return []
    key_list = ", ".join(keys)
    duplicates = con.execute(
        f"""
        select list(_row order by _row) as rows_at
        from {relation} where {" and ".join(f"{k} is not null" for k in keys)}
        group by {key_list} having count(*) > 1 order by min(_row)
        """
    ).fetchall()
    if not duplicates:
        return []
    sources = " + ".join(repr(table.column(k).source) for k in keys)
    return [
        Problem(
            "duplicate_key",
            f"the record key {sources} appears more than once in the file: "
            f"{len(duplicates)} key(s) repeated",
            " + ".join(table.column(k).source for k in keys),
            sum(len(d[0]) for d in duplicates),
            [{"rows": d[0]} for d in duplicates[:MAX_EXAMPLES]],
        )
    ]
