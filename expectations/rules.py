"""Feed-specific data-quality rules, declared as data.

Each rule a delivery is checked against lives in one place and is judged by one engine.
What a contract says column by column (``core/feeds/*.yml``: types, required, allowed values,
ranges, reference lists, dates after the period, the record key) is judged by the ingest's SQL
engine on every row, before typing. This module holds only what a contract cannot say column
by column: rules that compare two columns, that depend on the delivery's period or the
partnership, or that need a formula; Great Expectations judges them on the typed rows.

Each rule is one line of data, so a reader (or a partner asking "why was my file rejected?")
can see the whole list at once, and a new rule is a new line, not new code.

Nothing here imports Great Expectations: importing the rule list is free.

Rule kinds (``Rule.check``):

``between``
    ``column`` within ``minimum``..``maximum`` (either may be omitted). A bound may be a number,
    or a period bound named in ``PERIOD_BOUNDS`` (``period_end``, ``fy_start``), filled in from
    the delivery's period when it is validated. Blank values are not checked.
``not_after`` / ``not_before``
    ``column`` <= ``other`` / ``column`` >= ``other``, on rows where both are present.
``present_when`` / ``blank_when``
    ``column`` is not blank / is blank on rows where ``other`` is not blank, or, when the rule
    gives ``when`` (a pandas query over warehouse columns), on rows where that holds.
``contains``
    at least one row has ``column`` equal to the run parameter ``parameter`` (e.g. the
    partnership's LA code). A table-level rule: it names no rows.
``matches``
    ``column`` equals ``formula`` (a name in ``FORMULAS``) applied to ``inputs``, to within
    ``tolerance``, on rows where the column and every input are present.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.periods import financial_year_start

Bound = float | int | str | None


@dataclass(frozen=True)
class Rule:
    """One feed-specific rule: its id, the raw table and warehouse column it checks, and why."""

    id: str  # short and stable: it is what the partner and the on-call see first
    table: str  # raw table name (a contract table)
    check: str  # one of the kinds in the module docstring
    column: str  # warehouse column name; the partner is told its source name
    message: str  # plain English for the partner; the source column name is prefixed
    other: str | None = None
    minimum: Bound = None
    maximum: Bound = None
    parameter: str | None = None
    formula: str | None = None
    inputs: tuple[str, ...] = ()
    tolerance: float | None = None
    when: str | None = None  # pandas query: the rows a present_when/blank_when rule judges

    @property
    def columns(self) -> tuple[str, ...]:
        """Every warehouse column the rule reads."""
        names = (self.column,) + ((self.other,) if self.other else ()) + self.inputs
        if self.when:
            names += tuple(w for w in re.findall(r"[a-z_]+", self.when) if w not in ("and", "or"))
        return tuple(dict.fromkeys(names))


RULES: tuple[Rule, ...] = (
    # -- police_crime ---------------------------------------------------------------------
    Rule(
        "offence_after_recorded",
        "police_crime",
        "not_after",
        "offence_date",
        "has dates later than the row's 'Recorded Date' (a crime cannot be recorded before "
        "it happened)",
        other="recorded_date",
    ),
    # -- rny_treatment ---------------------------------------------------------------------
    Rule(
        "treatment_start_before_referral",
        "rny_treatment",
        "not_before",
        "treatment_start_date",
        "has dates earlier than the row's 'Referral Date' (treatment cannot start before "
        "the referral)",
        other="referral_date",
    ),
    Rule(
        "discharge_before_referral",
        "rny_treatment",
        "not_before",
        "discharge_date",
        "has dates earlier than the row's 'Referral Date' (a client cannot be discharged "
        "before referral)",
        other="referral_date",
    ),
    Rule(
        "discharge_reason_missing",
        "rny_treatment",
        "present_when",
        "discharge_reason",
        "is blank on rows that have a 'Discharge Date' (every discharge needs a reason)",
        other="discharge_date",
    ),
    # -- idva_caseload: sheet Cases --------------------------------------------------------
    Rule(
        "closed_before_referral",
        "idva_cases",
        "not_before",
        "case_closed_date",
        "has dates earlier than the row's 'Referral Date' (a case cannot close before it "
        "was referred)",
        other="referral_date",
    ),
    # -- idva_caseload: sheet Screening ----------------------------------------------------
    Rule(
        "screening_month_outside_period",
        "idva_screening",
        "between",
        "screening_month",
        "must be a month of the file's financial year, up to the end of its quarter",
        minimum="fy_start",
        maximum="period_end",
    ),
    # -- moj_reoffending -------------------------------------------------------------------
    Rule(
        "partnership_missing",
        "moj_reoffending",
        "contains",
        "la_code",
        "does not hold the partnership's own local authority code: the table must "
        "include the partnership's row",
        parameter="la_code",
    ),
    # docs/feeds.md §4: rates, difference and significance are '..' exactly where Offenders is
    # below 30.
    *(
        Rule(
            "suppression_missing",
            "moj_reoffending",
            "blank_when",
            column,
            "must be '..' (suppressed) where 'Offenders' is below 30",
            when="offenders < 30",
        )
        for column in ("actual_rate", "predicted_rate", "difference_pct", "significant")
    ),
    *(
        Rule(
            "suppressed_without_reason",
            "moj_reoffending",
            "present_when",
            column,
            "is '..' (suppressed) although 'Offenders' is 30 or more",
            when="offenders >= 30",
        )
        for column in ("actual_rate", "predicted_rate", "difference_pct", "significant")
    ),
    Rule(
        "difference_inconsistent",
        "moj_reoffending",
        "matches",
        "difference_pct",
        "does not equal (Actual Rate - Predicted Rate) / Predicted Rate x 100 to within 0.1",
        formula="percent_difference",
        inputs=("actual_rate", "predicted_rate"),
        tolerance=0.1,
    ),
)


# -- what the symbolic parts of a rule mean -----------------------------------------------


# Period bounds a `between` rule may name, computed from the delivery's period (start, end).
PERIOD_BOUNDS: dict[str, Callable[[date, date], date]] = {
    "period_end": lambda start, end: end,
    "period_start": lambda start, end: start,
    "fy_start": lambda start, end: financial_year_start(start),
}


def _percent_difference(actual: Any, predicted: Any) -> Any:
    # Works on pandas Series; a predicted rate of 0 gives inf/NaN, which the caller blanks so
    # the row is not judged (there is no meaningful difference to compare).
    return (actual - predicted) / predicted * 100


# Formulas a `matches` rule may name: inputs (as pandas Series) -> expected column values.
FORMULAS: dict[str, Callable[..., Any]] = {
    "percent_difference": _percent_difference,
}


def rules_for(table: str) -> tuple[Rule, ...]:
    """The feed-specific rules of one raw table, in declaration order."""
    return tuple(rule for rule in RULES if rule.table == table)
