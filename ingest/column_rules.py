"""Rules on the values of one column: blank, written as its type, within the period, allowed.

``column_rules`` turns a column of the contract into (rule, SQL condition true for a bad row,
message) triples. ``table_checks`` counts them all in one scan of a file and names each one
broken; the bulk screen asks of many files at once whether any is broken.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core.contracts import Column, Table
from core.periods import Period
from ingest.rule_sql import DATE_FORMAT, PeriodSql, parsed_date, sql_list, sql_str

# An integer column is loaded as a 32-bit integer.
INT32_MAX = 2**31 - 1
# Numbers are stored as doubles, which hold every whole number up to 2**53 exactly and round
# beyond it; the exports also cast figures to 64-bit integers, which 2**53 is well within.
EXACT_WHOLE_MAX = 2**53


def _beyond_exact(c: str) -> str:
    """SQL: the number written in text column ``c`` is larger in magnitude than 2**53.

    Judged on the digits as written, not on the double they parse to: 2**53 + 1 parses to
    2**53 and would pass. Digits too many for a 128-bit integer (which includes any number
    too large for a double, so an infinite one) are too large too.
    """
    whole = f"try_cast(regexp_extract({c}, '^-?0*(\\d+)', 1) as hugeint)"
    return f"coalesce({whole} > {EXACT_WHOLE_MAX}, true)"


def column_rules(
    column: Column,
    table: Table,
    period: Period | None,
    bounds: PeriodSql | None = None,
    *,
    screen: bool = False,
) -> list[tuple[str, str, str]]:
    """(rule, SQL condition that is true for a bad row, message) for one column.

    ``bounds`` replaces the period's literals in the conditions (messages still name
    ``period``). ``screen`` drops what only keeps one bad value from counting under two
    rules, for a screen that asks whether any rule is broken (a quarter of its scan).
    """
    bounds = bounds or PeriodSql.of(period)
    c = column.name
    label = f"column {column.source!r}"
    rules: list[tuple[str, str, str]] = []
    present = f"{c} is not null"
    if column.suppressible and table.suppression_marker:
        present += f" and {c} <> {sql_str(table.suppression_marker)}"
    if column.required:
        rules.append(("required", f"{c} is null", f"{label} is blank but must have a value"))
    if column.type == "date":
        valid = (
            f"regexp_full_match({c}, '\\d{{2}}/\\d{{2}}/\\d{{4}}') "
            f"and try_strptime({c}, '{DATE_FORMAT}') is not null"
        )
        # A value that breaks date_format is not also a future date, or one after the period.
        parses = "" if screen else f" and ({valid})"
        rules.append(
            (
                "date_format",
                f"{present} and not ({valid})",
                f"{label} must hold dates written dd/mm/yyyy (or real Excel dates in a workbook)",
            )
        )
        parsed = parsed_date(c)
        not_future = ""
        if table.no_future_dates:
            today = date.today()
            rules.append(
                (
                    "future_date",
                    f"{present}{parses} and {parsed} > date '{today}'",
                    f"{label} has dates in the future (after today, {today:%d/%m/%Y})",
                )
            )
            not_future = f" and {parsed} <= date '{today}'"
        if column.not_after_period:
            # A later month's file repeats earlier crimes with their original dates (a crime
            # cancelled after review), so only a date after the file's period is wrong.
            rules.append(
                (
                    "date_after_period",
                    f"{present}{parses} and {parsed} > {bounds.end}{not_future}",
                    f"{label} has dates after the end of the file's period "
                    + (f"{period.label} ({period.end:%d/%m/%Y})" if period else ""),
                )
            )
    elif column.type == "quarter":
        # 'yyyy/yy Qn' with consecutive years; labels of one width sort in time order.
        valid = (
            f"regexp_full_match({c}, '\\d{{4}}/\\d{{2}} Q[1-4]') and "
            f"(try_cast(substr({c}, 1, 4) as integer) + 1) % 100 = "
            f"try_cast(substr({c}, 6, 2) as integer)"
        )
        rules.append(
            (
                "quarter_format",
                f"{present} and not ({valid})",
                f"{label} must hold financial quarters written like '2014/15 Q2'",
            )
        )
        if column.not_after_period:
            parses = "" if screen else f" and ({valid})"
            rules.append(
                (
                    "period_after_file",
                    f"{present}{parses} and {c} > {bounds.label}",
                    f"{label} has quarters after the file's own quarter "
                    + (period.label if period else ""),
                )
            )
    elif column.type == "month":
        valid = f"regexp_full_match({c}, '\\d{{4}}-(0[1-9]|1[0-2])')"
        rules.append(
            (
                "month_format",
                f"{present} and not ({valid})",
                f"{label} must hold months written like '2018-01'",
            )
        )
        if column.matches_period:
            parses = "" if screen else f" and ({valid})"
            rules.append(
                (
                    "month_mismatch",
                    f"{present}{parses} and {c} <> {bounds.label}",
                    f"{label} has months other than the one in the file name"
                    + (f" ({period.label})" if period else ""),
                )
            )
    elif column.type == "integer":
        pattern = r"-?\d{1,3}(,\d{3})+|-?\d+" if column.thousands else r"-?\d+"
        # The cast too: the raw column is a 32-bit integer, and a value it cannot hold must
        # be named here, not crash the load.
        fits = f"try_cast(replace({c}, ',', '') as integer) is not null"
        rules.append(
            (
                "integer",
                f"{present} and not (regexp_full_match({c}, '{pattern}') and {fits})",
                f"{label} must hold whole numbers (at most {INT32_MAX:,} either side of zero)",
            )
        )
    elif column.type == "number":
        written = f"regexp_full_match({c}, '-?\\d+(\\.\\d+)?')"
        rules.append(
            (
                "number",
                f"{present} and not ({written} and try_cast({c} as double) is not null)",
                f"{label} must hold numbers",
            )
        )
        # A workbook cell holding 1e300 reaches us as its 301 digits, a well-formed number
        # that no export could write (they round figures through a 64-bit whole number).
        well_formed = "" if screen else f" and {written}"
        rules.append(
            (
                "number_too_large",
                f"{present}{well_formed} and {_beyond_exact(c)}",
                f"{label} has numbers larger than the warehouse can hold exactly, which "
                f"is at most {EXACT_WHOLE_MAX:,} either side of zero (2 to the power 53, "
                "the largest whole number it stores without rounding)",
            )
        )
    elif column.type == "flag":
        rules.append(
            ("allowed_values", f"{present} and {c} not in ('Y', 'N')", f"{label} must be Y or N")
        )
    elif column.type == "yes_no":
        rules.append(
            (
                "allowed_values",
                f"{present} and {c} not in ('Yes', 'No')",
                f"{label} must be Yes or No",
            )
        )
    if column.allowed:
        rules.append(
            (
                "allowed_values",
                f"{present} and {c} not in {sql_list(column.allowed)}",
                f"{label} has values outside the agreed list ({', '.join(column.allowed)})",
            )
        )
    if column.reference:
        rules.append(
            (
                "unknown_code",
                f"{present} and trim({c}) not in {sql_list(column.reference)}",
                f"{label} has codes that are not in the reference list "
                f"{Path(column.reference_name or '').name}",
            )
        )
    numeric = f"try_cast(replace({c}, ',', '') as double)"
    if column.type == "number" and not screen:
        # A number too large to hold is named as such, not also as out of range.
        numeric = f"(case when not {_beyond_exact(c)} then {numeric} end)"
    if column.minimum is not None:
        rules.append(
            (
                "range",
                f"{present} and {numeric} < {column.minimum}",
                f"{label} must not be below {column.minimum:g}",
            )
        )
    if column.maximum is not None:
        rules.append(
            (
                "range",
                f"{present} and {numeric} > {column.maximum}",
                f"{label} must not be above {column.maximum:g}",
            )
        )
    return rules
