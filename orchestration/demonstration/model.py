"""What the demonstration generator is asked for and what it answers.

:class:`Calibration` holds the exact figures to build into the data; :class:`GroundTruth`
holds what the generator wrote and the indicator values the warehouse must compute from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one quarter, as ``docs/indicators.md`` defines it.

    Counts carry ``value`` (and ``numerator`` = value, ``denominator`` = None); percentages
    carry numerator, denominator and ``value`` = 100 x numerator / denominator (None when
    the denominator is 0); RR_REOFFEND_DIFF carries actual rate, predicted rate and the
    published difference.
    """

    numerator: float | None
    denominator: float | None
    value: float | None


@dataclass
class PersonalData:
    """Every personal identifier the generator wrote, so a test can prove none is loaded."""

    client_ids: set[str] = field(default_factory=set)
    dates_of_birth: set[str] = field(default_factory=set)  # dd/mm/yyyy, as written
    case_ids: set[str] = field(default_factory=set)
    note_names: set[str] = field(default_factory=set)  # full names used in Keyworker Notes
    note_addresses: set[str] = field(default_factory=set)  # "134 Church Street"

    def all_values(self) -> set[str]:
        """All identifiers as one set of strings."""
        return (
            self.client_ids
            | self.dates_of_birth
            | self.case_ids
            | self.note_names
            | self.note_addresses
        )


@dataclass
class GroundTruth:
    """What the generator wrote and what the warehouse must make of it.

    ``indicators[code][quarter]`` is computed from the generator's own records, applying
    latest-row-wins and leaving out cancelled crimes. Quarters are those the delivered
    records fall in (a quarter only partly covered by monthly files -- e.g. 2014/15 Q3 with
    October alone -- holds the partial count). ``police_monthly[code]["YYYY-MM"]`` gives the
    police counts by month of recording, for windows that are not whole quarters.
    """

    la_code: str
    la_name: str
    indicators: dict[str, dict[str, IndicatorValue]] = field(default_factory=dict)
    police_monthly: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)
    data_rows: dict[str, int] = field(default_factory=dict)  # rows written, all files
    records: dict[str, int] = field(default_factory=dict)  # distinct record keys
    personal: PersonalData = field(default_factory=PersonalData)

    def value(self, code: str, quarter: str) -> float | None:
        """The indicator value for a quarter (KeyError if the quarter has no data)."""
        return self.indicators[code][quarter].value

    def ytd(self, code: str, quarters: Iterable[str]) -> IndicatorValue:
        """Sum numerators and denominators over quarters (the `sum` / `ratio` rules)."""
        num = den = 0.0
        has_den = False
        for q in quarters:
            iv = self.indicators.get(code, {}).get(q)
            if iv is None:
                continue
            num += iv.numerator or 0
            if iv.denominator is not None:
                has_den = True
                den += iv.denominator
        if not has_den:
            return IndicatorValue(num, None, num)
        return IndicatorValue(num, den, 100.0 * num / den if den else None)


def count_value(v: int) -> IndicatorValue:
    return IndicatorValue(v, None, v)


def percent_value(n: int, d: int) -> IndicatorValue:
    return IndicatorValue(n, d, 100.0 * n / d if d else None)


# --------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Exact figures to build into the data instead of drawing them at random.

    Counts are *final* counts (latest row, cancelled crimes excluded); the generator adds
    cancellations and reclassifications around them so the delivered files still show
    revisions.
    """

    ppv_by_month: Mapping[date, int] = field(default_factory=dict)
    da_by_month: Mapping[date, int] = field(default_factory=dict)
    idva_high_by_quarter: Mapping[str, int] = field(default_factory=dict)
    screened_by_month: Mapping[date, int] = field(default_factory=dict)
    # quarter-end month -> (offenders, predicted rate, difference %) for the partnership
    moj_own: Mapping[date, tuple[int, float, float]] = field(default_factory=dict)
    repeat_rate: float | None = None
