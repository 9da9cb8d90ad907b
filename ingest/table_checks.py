"""Every rule of a table's contract run over a staged relation: in detail, or as a screen.

``check_table`` explains one file to its partner: every rule broken, with counts and example
rows, so a partner is told everything wrong with a file at once. ``files_breaking_rules``
screens a bulk relation of many files at once and only names the files that break a rule:
each is then read again on its own through ``check_table``. Both are made of the same rules
(``column_rules``, ``row_rules``; ``catalogue_rules`` for indicator returns, which are never
screened in bulk).
"""

from __future__ import annotations

import duckdb

from core.contracts import Table
from core.periods import Period
from core.problems import Problem
from ingest.catalogue_rules import catalogue_problems
from ingest.column_rules import column_rules
from ingest.row_rules import (
    is_too_long,
    is_totals_label,
    key_problems,
    period_problems,
    record_key,
    row_problems,
)
from ingest.rule_sql import BULK_PERIOD, count_rows, example_rows, parsed_date


def check_table(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    table: Table,
    period: Period,
    partner: str | None = None,
) -> list[Problem]:
    """Every contract rule broken by the staged relation, with counts and example rows."""
    problems: list[Problem] = []
    total = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    if total == 0:
        where = f" in sheet {table.sheet!r}" if table.sheet else ""
        return [Problem("no_data", f"the file has a header but no data rows{where}")]
    problems.extend(row_problems(con, relation, table))
    problems.extend(period_problems(con, relation, table, period))
    # Every column rule counted in one scan; examples fetched only for the rules broken.
    rules = [
        (column, *rule) for column in table.columns for rule in column_rules(column, table, period)
    ]
    counts = count_rows(con, relation, [condition for _, _, condition, _ in rules])
    for (column, rule, condition, message), count in zip(rules, counts, strict=True):
        if count:
            problems.append(
                Problem(
                    rule,
                    f"{message}: {count} row(s)",
                    column.source,
                    count,
                    example_rows(con, relation, condition, column),
                )
            )
    problems.extend(key_problems(con, relation, table))
    problems.extend(catalogue_problems(con, relation, table, partner))
    return problems


def files_breaking_rules(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> set[int]:
    """The files (``_file``) of a bulk relation that break a rule ``check_table`` reports.

    A screen, one scan per kind of rule over many files at once: it counts, it does not
    explain. A file it names is read again on its own, so the partner gets the same detailed
    rejection as ever. ``relation`` holds ``_file``, ``_row`` and the ``BULK_PERIOD`` columns
    beside the contract's text columns; tables with a catalogue are not screened this way.
    """
    if table.owner_column and table.catalogue:
        raise ValueError(f"table {table.name!r} has an indicator catalogue: read it alone")
    conditions = [is_totals_label(c) for c in table.columns]
    conditions += [is_too_long(c, table) for c in table.columns]
    conditions += [
        condition
        for column in table.columns
        for _, condition, _ in column_rules(column, table, None, BULK_PERIOD, screen=True)
    ]
    broken = " or ".join(f"({c})" for c in conditions)
    failing = {
        f
        for (f,) in con.execute(f"select distinct _file from {relation} where {broken}").fetchall()
    }
    if table.period_column and table.period_majority is not None:
        d = parsed_date(table.column(table.period_column).name)
        failing |= {
            f
            for (f,) in con.execute(
                f"""
            select _file from {relation} group by _file
            having count({d}) > 0 and count(*) filter (
                where {d} between _period_start and _period_end) / count({d}) < ?
            """,
                [table.period_majority],
            ).fetchall()
        }
    keys = record_key(table)
    if keys:
        failing |= {
            f
            for (f,) in con.execute(
                f"""
            select distinct _file from {relation}
            where {" and ".join(f"{k} is not null" for k in keys)}
            group by _file, {", ".join(keys)} having count(*) > 1
            """
            ).fetchall()
        }
    return failing
