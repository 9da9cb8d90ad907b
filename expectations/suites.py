"""One Great Expectations suite per raw table, built from the feed-specific ``rules.RULES``.

A suite holds the rules of ``expectations/rules.py`` only (cross-column, period, partnership
and formula checks). The contract's column-by-column rules (required, allowed values, ranges,
reference lists, dates after the period, the record key) are judged once, by the ingest's SQL
engine on every row, before a delivery is typed; a file that breaks one never reaches a suite,
so repeating them here would judge each rule twice (docs/architecture.md).

Every expectation carries ``meta`` naming its rule id, the column the partner must look at and
a plain-English message, so ``expectations.validate`` can turn a failed expectation into a
rejection a partner can act on without knowing anything about Great Expectations.

Suites do not depend on the delivery: the period bounds and the partnership's LA code are
suite *parameters* (``{"$PARAMETER": name}``) filled in at run time by ``suite_parameters``, so
each suite is built once per process and reused for every delivery.

Great Expectations takes ~2.5 s to import, so it is imported inside the functions that need it
(``import_gx``), never when this module is imported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.contracts import FeedContract, Table
from core.periods import Period
from expectations.rules import FORMULAS, PERIOD_BOUNDS, Rule, rules_for

if TYPE_CHECKING:  # only for annotations: importing GX for real costs seconds
    import pandas as pd
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations import Expectation

# Prefix of helper columns computed before validation (see add_derived_columns). The leading
# underscores keep them clear of any contract column name.
HELPER_PREFIX = "__"


def import_gx() -> Any:
    """Import Great Expectations quietly and return the module.

    Analytics are switched off before the import (GX reads the variable at import time and
    would otherwise try to reach its usage-statistics service from a partnership's server), and
    its loggers are turned down to warnings so a validation does not chatter into run logs.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx


def helper_column(rule: Rule) -> str:
    """Name of the helper column a ``matches`` rule is validated on."""
    return f"{HELPER_PREFIX}{rule.id}__{rule.column}"


def add_derived_columns(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Add the helper columns the table's ``matches`` rules need (in place; returns ``frame``).

    GX's row-level custom SQL (``UnexpectedRowsExpectation``) has no pandas implementation
    (``No provider found for unexpected_rows_query.table using PandasExecutionEngine``), so a
    formula check is a column of absolute errors, computed here, and an ordinary range
    expectation on it. Rows missing any input (suppressed ``..`` rates) get a blank error,
    which GX does not judge.
    """
    import numpy as np

    for rule in rules_for(table):
        if rule.check != "matches":
            continue
        expected = FORMULAS[rule.formula](*(frame[c].astype("float64") for c in rule.inputs))
        error = (frame[rule.column].astype("float64") - expected).abs()
        frame[helper_column(rule)] = error.replace([np.inf, -np.inf], np.nan)
    return frame


# Bulk validation (many files in one frame): each row's file index, and its file's period
# bounds as columns, since a suite parameter holds one value for the whole frame.
FILE_COLUMN = f"{HELPER_PREFIX}file"


def period_column(bound: str) -> str:
    """The helper column holding a period bound per row, in a bulk frame."""
    return f"{HELPER_PREFIX}{bound}"


def add_period_columns(frame: pd.DataFrame, periods: Mapping[int, Period]) -> pd.DataFrame:
    """Add each row's period bounds (by its ``FILE_COLUMN``), for a bulk suite (in place)."""
    for name, bound in PERIOD_BOUNDS.items():
        values = {index: bound(p.start, p.end) for index, p in periods.items()}
        frame[period_column(name)] = frame[FILE_COLUMN].map(values)
    return frame


def partnership_codes(la_code: str | Sequence[str]) -> list[str]:
    """The codes a table must hold for the partnership: its own code, or its districts."""
    return [la_code] if isinstance(la_code, str) else list(la_code)


def suite_parameters(period: Period, la_code: str | Sequence[str]) -> dict[str, Any]:
    """Run-time values of the suite parameters, for one delivery of one partnership.

    ``la_code`` is the partnership's code, or the districts it spans: a table of every local
    authority (the MoJ's) must then hold a row for each of them.
    """
    parameters: dict[str, Any] = {
        name: bound(period.start, period.end) for name, bound in PERIOD_BOUNDS.items()
    }
    # `contains` rules compare against a set.
    parameters["la_code"] = partnership_codes(la_code)
    return parameters


def suite_name(contract: FeedContract, table: Table) -> str:
    """Stable name of a table's suite (and of its validation definition)."""
    return f"{contract.feed}.{table.name}"


def _bound(value: Any) -> Any:
    """A rule bound as GX takes it: a number, or a reference to a period parameter."""
    if isinstance(value, str):
        if value not in PERIOD_BOUNDS:
            raise ValueError(f"unknown period bound {value!r}; known: {', '.join(PERIOD_BOUNDS)}")
        return {"$PARAMETER": value}
    return value


def _between(
    column: str, minimum: Any, maximum: Any, meta: dict[str, Any], bulk: bool
) -> list[Expectation]:
    """``column`` within bounds that may name a period bound (see ``rules.PERIOD_BOUNDS``).

    A single delivery's period bound is a suite parameter; a bulk frame compares the column
    with the bound's helper column, row by row.
    """
    gxe = import_gx().expectations
    if not bulk:
        return [
            gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=_bound(minimum), max_value=_bound(maximum), meta=meta
            )
        ]
    out: list[Expectation] = []
    fixed = {
        key: value
        for key, value in (("min_value", minimum), ("max_value", maximum))
        if value is not None and not isinstance(value, str)
    }
    if fixed:
        out.append(gxe.ExpectColumnValuesToBeBetween(column=column, **fixed, meta=meta))
    pairs = []  # (A, B) for A >= B
    if isinstance(minimum, str):
        pairs.append((column, period_column(minimum)))
    if isinstance(maximum, str):
        pairs.append((period_column(maximum), column))
    for a, b in pairs:
        out.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a,
                column_B=b,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=meta,
            )
        )
    return out


def rule_expectations(rule: Rule, table: Table, bulk: bool = False) -> list[Expectation]:
    """The GX expectations that check one feed-specific rule (one, but for a bulk ``between``).

    A ``contains`` rule cannot be judged on many files at once (one file holding the row
    would hide another missing it): its feed is never validated in bulk.
    """
    if rule.check == "between":
        column = table.column(rule.column)
        meta: dict[str, Any] = {
            "rule": rule.id,
            "column": rule.column,
            "check": rule.check,
            "message": f"column {column.source!r} {rule.message}",
            "minimum": rule.minimum,
            "maximum": rule.maximum,
        }
        return _between(rule.column, rule.minimum, rule.maximum, meta, bulk)
    if bulk and rule.check == "contains":
        raise ValueError(f"rule {rule.id!r} ({rule.check}) cannot be validated in bulk")
    return [rule_expectation(rule, table)]


def rule_expectation(rule: Rule, table: Table) -> Expectation:
    """The GX expectation that checks one feed-specific rule."""
    gxe = import_gx().expectations
    column = table.column(rule.column)
    message = f"column {column.source!r} {rule.message}"
    meta: dict[str, Any] = {
        "rule": rule.id,
        "column": rule.column,
        "message": message,
        "check": rule.check,
    }
    # Other columns the rule reads are shown beside each example, so the partner sees why.
    shown = [c for c in rule.columns if c != rule.column and c in {x.name for x in table.columns}]
    if shown:
        meta["show"] = shown
    if rule.check == "between":
        return rule_expectations(rule, table)[0]
    if rule.check in ("not_after", "not_before"):
        # A >= B (or_equal): for not_after the other column is A, for not_before the rule's.
        a, b = (rule.other, rule.column) if rule.check == "not_after" else (rule.column, rule.other)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a,
            column_B=b,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=meta,
        )
    if rule.check in ("present_when", "blank_when"):
        # A pandas row condition: only the rows it selects are judged.
        condition = rule.when or f"{rule.other}.notnull()"
        expect = (
            gxe.ExpectColumnValuesToNotBeNull
            if rule.check == "present_when"
            else gxe.ExpectColumnValuesToBeNull
        )
        return expect(
            column=rule.column, row_condition=condition, condition_parser="pandas", meta=meta
        )
    if rule.check == "contains":
        return gxe.ExpectColumnDistinctValuesToContainSet(
            column=rule.column, value_set={"$PARAMETER": rule.parameter}, meta=meta
        )
    if rule.check == "matches":
        meta["inputs"] = list(rule.inputs)
        meta["formula"] = rule.formula
        return gxe.ExpectColumnValuesToBeBetween(
            column=helper_column(rule),
            min_value=0,
            # A hair over the tolerance: the difference is published to one decimal place and
            # floating point must not turn an exact 0.1 into a rejection.
            max_value=rule.tolerance + 1e-9,
            meta=meta,
        )
    raise ValueError(f"rule {rule.id!r}: unknown check {rule.check!r}")


def build_suite(
    contract: FeedContract, table: Table, name: str | None = None, bulk: bool = False
) -> ExpectationSuite:
    """The expectation suite of one raw table of a feed (not yet added to any context).

    ``bulk``: the variant for a frame of many files (``FILE_COLUMN`` and period columns).
    """
    gx = import_gx()
    rules = rules_for(table.name)
    suite = gx.ExpectationSuite(
        name=name or suite_name(contract, table),
        meta={"feed": contract.feed, "table": table.name},
    )
    expectations = [e for rule in rules for e in rule_expectations(rule, table, bulk)]
    for order, expectation in enumerate(expectations):
        # GX returns results in its own order; problems are reported in the suite's.
        expectation.meta = {**(expectation.meta or {}), "order": order}
        suite.add_expectation(expectation)
    return suite


def build_suites(contracts: Mapping[str, FeedContract]) -> dict[str, ExpectationSuite]:
    """Every table's suite, keyed by suite name (for documentation and data docs)."""
    return {
        suite_name(contract, table): build_suite(contract, table)
        for contract in contracts.values()
        for table in contract.tables
    }
