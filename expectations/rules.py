"""Feed-specific data-quality rules, declared as data.

The feed contracts (``core/feeds/*.yml``) already say which columns are required, which
values are allowed and which ranges hold; ``expectations.suites`` turns those into expectations
on its own. This module adds what a contract cannot say column by column: rules that compare
two columns, that depend on the delivery's period or the partnership, or that need a reference
list. Each rule is one line of data, so a reader (or a partner asking "why was my file
rejected?") can see the whole list at once, and a new rule is a new line, not new code.

Nothing here imports Great Expectations: importing the rule list is free.

Rule kinds (``Rule.check``):

``between``
    ``column`` within ``minimum``..``maximum`` (either may be omitted). A bound may be a number,
    or a period bound named in ``PERIOD_BOUNDS`` (``period_end``, ``fy_start``), filled in from
    the delivery's period when it is validated. Blank values are not checked.
``in_reference``
    ``column`` holds a code from the reference list ``reference`` (see ``REFERENCE_LISTS``).
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

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Reference lists the rules may name. The HO classes are the dbt seed, so the warehouse's
# PPV flag and this check read the same list and cannot drift apart.
REFERENCE_LISTS: dict[str, tuple[Path, str]] = {
    "ho_offence_classes": (REPO / "dbt_project" / "seeds" / "ho_offence_classes.csv", "ho_class"),
}

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
    reference: str | None = None
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
    Rule("unknown_ho_class", "police_crime", "in_reference", "ho_class",
         "holds codes that are not Home Office offence classes in the agreed reference list",
         reference="ho_offence_classes"),
    Rule("offence_after_recorded", "police_crime", "not_after", "offence_date",
         "has dates later than the row's 'Recorded Date' (a crime cannot be recorded before "
         "it happened)",
         other="recorded_date"),
    Rule("recorded_after_period", "police_crime", "between", "recorded_date",
         "has dates after the end of the month the file covers", maximum="period_end"),
    Rule("victim_age_range", "police_crime", "between", "victim_age",
         "must be an age from 0 to 120", minimum=0, maximum=120),
    # -- rny_treatment ---------------------------------------------------------------------
    Rule("referral_after_period", "rny_treatment", "between", "referral_date",
         "has dates after the end of the month the file covers", maximum="period_end"),
    Rule("treatment_start_before_referral", "rny_treatment", "not_before", "treatment_start_date",
         "has dates earlier than the row's 'Referral Date' (treatment cannot start before "
         "the referral)",
         other="referral_date"),
    Rule("discharge_before_referral", "rny_treatment", "not_before", "discharge_date",
         "has dates earlier than the row's 'Referral Date' (a client cannot be discharged "
         "before referral)",
         other="referral_date"),
    Rule("discharge_reason_missing", "rny_treatment", "present_when", "discharge_reason",
         "is blank on rows that have a 'Discharge Date' (every discharge needs a reason)",
         other="discharge_date"),
    # -- idva_caseload: sheet Cases --------------------------------------------------------
    Rule("referral_after_period", "idva_cases", "between", "referral_date",
         "has dates after the end of the quarter the file covers", maximum="period_end"),
    Rule("closed_before_referral", "idva_cases", "not_before", "case_closed_date",
         "has dates earlier than the row's 'Referral Date' (a case cannot close before it "
         "was referred)",
         other="referral_date"),
    Rule("dash_score_range", "idva_cases", "between", "dash_score",
         "must be a DASH score from 0 to 27", minimum=0, maximum=27),
    Rule("negative_children", "idva_cases", "between", "children_in_household",
         "must not be negative", minimum=0),
    # -- idva_caseload: sheet Screening ----------------------------------------------------
    Rule("screening_month_outside_period", "idva_screening", "between", "screening_month",
         "must be a month of the file's financial year, up to the end of its quarter",
         minimum="fy_start", maximum="period_end"),
    Rule("negative_incidents", "idva_screening", "between", "incidents_screened",
         "must not be negative", minimum=0),
    # -- moj_reoffending -------------------------------------------------------------------
    Rule("partnership_missing", "moj_reoffending", "contains", "la_code",
         "does not hold the partnership's own local authority code: the table must "
         "include the partnership's row", parameter="la_code"),
    Rule("negative_offenders", "moj_reoffending", "between", "offenders",
         "must not be negative", minimum=0),
    Rule("rate_range", "moj_reoffending", "between", "actual_rate",
         "must be a percentage from 0 to 100", minimum=0, maximum=100),
    Rule("rate_range", "moj_reoffending", "between", "predicted_rate",
         "must be a percentage from 0 to 100", minimum=0, maximum=100),
    # SPEC: rates, difference and significance are '..' exactly where Offenders is below 30.
    *(Rule("suppression_missing", "moj_reoffending", "blank_when", column,
           "must be '..' (suppressed) where 'Offenders' is below 30", when="offenders < 30")
      for column in ("actual_rate", "predicted_rate", "difference_pct", "significant")),
    *(Rule("suppressed_without_reason", "moj_reoffending", "present_when", column,
           "is '..' (suppressed) although 'Offenders' is 30 or more", when="offenders >= 30")
      for column in ("actual_rate", "predicted_rate", "difference_pct", "significant")),
    Rule("difference_inconsistent", "moj_reoffending", "matches", "difference_pct",
         "does not equal (Actual Rate - Predicted Rate) / Predicted Rate x 100 to within 0.1",
         formula="percent_difference", inputs=("actual_rate", "predicted_rate"), tolerance=0.1),
)


# -- what the symbolic parts of a rule mean -----------------------------------------------


def financial_year_start(day: date) -> date:
    """1 April of the financial year holding ``day``."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


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


@cache
def reference_codes(name: str) -> tuple[str, ...]:
    """The codes of a reference list, read from its CSV (sorted, so suites are stable)."""
    path, column = REFERENCE_LISTS[name]
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(sorted({row[column].strip() for row in csv.DictReader(handle)}))


def rules_for(table: str) -> tuple[Rule, ...]:
    """The feed-specific rules of one raw table, in declaration order."""
    return tuple(rule for rule in RULES if rule.table == table)
