"""Rules on indicator returns, whose rows are checked against the indicator catalogue.

A partner return gives one figure per indicator: its code must be in the catalogue and owned
by the sender, a percentage must agree with its numerator and denominator, a count has no
parts, and every figure must be one its indicator can take (by its unit, and the range the
catalogue gives it).
"""

from __future__ import annotations

from typing import Any

import duckdb

from core.contracts import Column, Table
from core.problems import Problem
from ingest.rule_sql import MAX_EXAMPLES, count_and_examples, count_rows, sql_str


def catalogue_problems(
    con: duckdb.DuckDBPyConnection, relation: str, table: Table, partner: str | None
) -> list[Problem]:
    """Indicator returns: known codes, owned by the sender, percentages agreeing with parts,
    and values the indicator can take (by its unit, and its own range in the catalogue)."""
    if not table.owner_column or not table.catalogue:
        return []
    rows = ", ".join(
        f"({sql_str(i.code)}, {sql_str(i.owner)}, {sql_str(i.unit)}, "
        f"{_sql_number(i.minimum)}, {_sql_number(i.maximum)})"
        for i in table.catalogue
    )
    con.execute(
        f"create or replace temp table catalogue as "
        f"select * from (values {rows}) as t(code, owner, unit, min_value, max_value)"
    ).fetchall()
    code = table.column(table.owner_column)
    joined = (
        f"(select r.*, c.owner, c.unit, c.min_value, c.max_value from {relation} r "
        f"left join catalogue c on trim(r.{code.name}) = c.code)"
    )
    number = "try_cast({} as double)"
    num, den, val = (number.format(n) for n in ("numerator", "denominator", "value"))
    rules = [
        (
            "unknown_code",
            f"{code.name} is not null and unit is null",
            f"column {code.source!r} has codes that are not in the indicator catalogue",
        ),
        (
            "not_owner",
            f"unit is not null and coalesce(owner, '') <> {sql_str(partner or '')}",
            f"column {code.source!r} has indicators that {partner or 'this partner'} does not "
            "own, so may not return",
        ),
        (
            "ratio_parts_missing",
            f"unit = 'percent' and ({num} is null or {den} is null or {den} = 0)",
            "percentages need a Numerator and a non-zero Denominator",
        ),
        (
            "ratio_inconsistent",
            f"unit = 'percent' and {den} > 0 and abs({val} - 100 * {num} / {den}) > 0.1",
            "'Value' must equal 100 × Numerator / Denominator (to within 0.1)",
        ),
        (
            "count_with_parts",
            "unit = 'count' and (numerator is not null or denominator is not null)",
            "counts give 'Value' only: leave Numerator and Denominator blank",
        ),
        ("integer", f"unit = 'count' and {val} <> round({val})", "counts must be whole numbers"),
    ]
    problems = []
    for rule, condition, message in rules:
        count, examples = count_and_examples(con, joined, condition, code)
        if count:
            problems.append(
                Problem(rule, f"{message}: {count} row(s)", code.source, count, examples)
            )
    problems.extend(_plausibility_problems(con, joined, table))
    return problems


def _sql_number(value: float | None) -> str:
    return "null::double" if value is None else f"{value!r}::double"


def _plausibility_problems(
    con: duckdb.DuckDBPyConnection, joined: str, table: Table
) -> list[Problem]:
    """Returned figures no indicator can take, each its own rule, naming its limit and rows.

    ``ratio_inconsistent`` only compares Value with its parts, so 50 / 41 returned as 122%
    passes it and would publish a percentage over 100 (and a RAG it does not deserve).
    """
    code = table.column(table.owner_column or "")
    value, numerator, denominator = (table.column(n) for n in ("value", "numerator", "denominator"))
    num, den, val = (f"try_cast({n} as double)" for n in ("numerator", "denominator", "value"))
    problems = []
    rules = [
        (
            "negative_count",
            value,
            None,
            f"unit = 'count' and {val} < 0",
            f"column {value.source!r} has counts below 0 (a count cannot be negative)",
        ),
        (
            "numerator_above_denominator",
            numerator,
            denominator,
            f"unit = 'percent' and {num} > {den}",
            f"column {numerator.source!r} is larger than {denominator.source!r} (a percentage's "
            f"{numerator.source} counts some of its {denominator.source}, so can be at most the "
            f"{denominator.source}, and {value.source!r} at most 100)",
        ),
        # Over 100 from a numerator above its denominator is named by the rule above.
        (
            "percent_out_of_range",
            value,
            None,
            f"unit = 'percent' and ({val} < 0 or {val} > 100) and coalesce({num} <= {den}, true)",
            f"column {value.source!r} has percentages below 0 or above 100",
        ),
    ]
    for rule, column, beside, condition, message in rules:
        count, examples = _value_examples(con, joined, condition, column, code, beside)
        if count:
            problems.append(
                Problem(
                    rule,
                    f"{message}: {count} row(s), {_rows_named(examples, count, code)}",
                    column.source,
                    count,
                    examples,
                )
            )
    outside = f"({val} < min_value or {val} > max_value)"
    count, examples = _value_examples(con, joined, outside, value, code)
    if count:
        ranges = con.execute(
            f"select distinct trim({code.name}), min_value, max_value from {joined} "
            f"where {outside} order by 1"
        ).fetchall()
        limits = "; ".join(f"{c} {_range_words(low, high)}" for c, low, high in ranges)
        problems.append(
            Problem(
                "indicator_range",
                f"column {value.source!r} has values outside the range the indicator catalogue "
                f"allows ({limits}): {count} row(s), {_rows_named(examples, count, code)}",
                value.source,
                count,
                examples,
            )
        )
    return problems


def _value_examples(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    condition: str,
    column: Column,
    code: Column,
    beside: Column | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows break a rule on a figure, and the first few: row, figure, indicator
    (and the figure ``beside`` it that the rule compares it with)."""
    [count] = count_rows(con, relation, [condition])
    if not count:
        return 0, []
    other = beside.name if beside else "null"
    rows = con.execute(
        f"select _row, {column.name}, trim({code.name}), {other} from {relation} "
        f"where {condition} order by _row limit ?",
        [MAX_EXAMPLES],
    ).fetchall()
    return count, [
        {"row": r, "value": v, code.source: c, **({beside.source: b} if beside else {})}
        for r, v, c, b in rows
    ]


def _rows_named(examples: list[dict[str, Any]], count: int, code: Column, shown: int = 5) -> str:
    """'row 2 (RR_IOM_PROLIFIC)' or 'rows 2 (RR_EMPLOYMENT), 3 (RR_ACCOMMODATION) and 1 more'."""
    named = [f"{e['row']} ({e[code.source]})" for e in examples[:shown]]
    more = f" and {count - len(named)} more" if count > len(named) else ""
    return ("row " if count == 1 else "rows ") + ", ".join(named) + more


def _range_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"
