"""What the quarterly report and the board pack show: plain dataclasses of numbers and words.

``exports/report_data.py`` reads them from the warehouse and ``exports/report_public.py``
makes the public version; rendering (``exports/report.py``, ``exports/board_pack.py``) reads
only these classes, never the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.periods import quarter_parts, quarter_slug

# The strategic priorities in the order of the 2014 progress report; any other priority in
# the catalogue follows, alphabetically.
PRIORITY_ORDER = [
    "Reducing Reoffending",
    "Substance Misuse",
    "Gangs and Youth Crime",
    "Violence Against Women and Girls",
    "Violence",
]
HISTORY_QUARTERS = 8
STATUSES = ["ok", "pending", "missing", "suspended", "not_expected"]
# The public data feed (README, "Starting from public data"): its indicators have a section
# of their own, and none at all while no file of it has been loaded, since many partnerships
# never use it. data.police.uk publishes its counts unrounded, so the public version shows
# them as published: rounding them again would only contradict the published figures.
PUBLIC_CRIME_FEED = "police_uk"
# The feed whose indicators public data cannot give (no location type, injury or
# domestic-abuse flag in data.police.uk's files).
FORCE_EXTRACT_FEED = "police_crime"


class ReportError(ValueError):
    """The report cannot be made (unknown quarter, no warehouse); the message says why."""


def parse_quarter(quarter: str) -> tuple[int, int]:
    """``"2014/15 Q2"`` → (2014, 2); ReportError, with core.periods' message, for anything else."""
    try:
        return quarter_parts(quarter)
    except ValueError as error:
        raise ReportError(str(error)) from None


@dataclass
class Indicator:
    """One indicator in the chosen quarter, with its history for the chart."""

    code: str
    name: str
    priority: str
    feed: str
    owner: str | None
    unit: str
    polarity: str
    aggregation: str
    target: float | None
    definition: str | None
    # The chosen quarter's row of fct_indicator_quarter (every column), or {} if absent.
    row: dict[str, Any]
    # One dict per quarter, oldest first, ending at the chosen quarter: the quarters charted
    # and the four before them (last year's values for the public version).
    history: list[dict[str, Any]]
    shown: int = HISTORY_QUARTERS
    # Year-to-date numerator and denominator (ratio indicators), this year and last.
    ytd_parts: tuple[float | None, float | None] = (None, None)
    ytd_prev_parts: tuple[float | None, float | None] = (None, None)
    # The last published quarter before a gap: {"fiscal_quarter", "value", "rag_status"}.
    last_published: dict[str, Any] | None = None
    # From fct_crime, through the last month delivered after the quarter (police only).
    latest_position: dict[str, Any] | None = None
    public: bool = False
    # The comparator group's figure, drawn beside the partnership's in the trend chart where
    # the warehouse holds other areas; each history point then has "comparator_value".
    comparator_label: str | None = None

    @property
    def status(self) -> str:
        return self.row.get("data_status") or "not_expected"

    @property
    def is_count(self) -> bool:
        return self.unit == "count"

    @property
    def chart_points(self) -> list[dict[str, Any]]:
        """The quarters charted, oldest first, ending at the chosen quarter."""
        return self.history[-self.shown :]


@dataclass
class FeedLine:
    """One partner feed: its delivery state on the as-of date and its data in the quarter."""

    feed: str
    partner: str | None
    cadence: str | None
    state: str
    last_period: str | None
    next_period: str | None
    next_due: date | None
    overdue_periods: str | None
    suspension_reason: str | None
    quarter_status: str
    quarter_note: str | None
    indicator_count: int


@dataclass
class PublicCrime:
    """Recorded crime from data.police.uk in the quarter: the partnership among its force's."""

    # Whether any data.police.uk file is in the warehouse (else the section says how to start).
    loaded: bool
    # fct_police_uk_comparison's rows for the quarter and the partnership's force(s), lowest
    # rate first; the partnership's own row has ``is_this`` true.
    comparison: list[dict[str, Any]]
    # Names of the indicators only the force's own extract can give.
    not_fed: list[str]

    @property
    def this(self) -> dict[str, Any] | None:
        """The partnership's own comparison row, if its force's files cover the quarter."""
        return next((r for r in self.comparison if r["is_this"]), None)


@dataclass(frozen=True)
class Benchmark:
    """One indicator of the partnership against a comparator group, for a spine chart.

    Only built where the warehouse holds other areas: the MoJ table's authorities (and the
    configured similar areas), or the partnerships of the force in data.police.uk files.
    """

    indicator: str  # the indicator as the reader knows it
    group: str  # the comparator group, in words
    unit: str  # how a value reads, e.g. "per 1,000 residents"
    value: float  # the partnership's own figure
    others: tuple[float, ...]  # every area of the group with a figure, the partnership included
    lower_is_better: bool
    rank: int | None = None  # 1 is best
    source: str = ""  # the mart it comes from
    # Against the group's own figure, where the mart judges it: the group's figure outside the
    # partnership's 95% interval (docs/indicators.md, "Against a comparator group").
    significance: str = ""
    # The interval the significance rests on, e.g. "Wilson score 95%".
    significance_method: str = ""

    @property
    def count(self) -> int:
        """Areas in the group with a figure."""
        return len(self.others)

    @property
    def mean(self) -> float:
        """The group's average (each area counts once)."""
        return sum(self.others) / len(self.others)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The 25th and 75th percentiles of the group (linear interpolation)."""
        ordered = sorted(self.others)

        def at(share: float) -> float:
            position = share * (len(ordered) - 1)
            low = int(position)
            high = min(low + 1, len(ordered) - 1)
            return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

        return at(0.25), at(0.75)


@dataclass
class ReportData:
    """The whole report: partnership, quarter, feeds and indicators by priority."""

    la_code: str
    la_name: str
    quarter: str
    quarter_start: date
    quarter_end: date
    as_of: date | None
    generated_at: datetime
    indicators: list[Indicator]
    feeds: list[FeedLine]
    quarters: list[str] = field(default_factory=list)
    public: bool = False
    public_crime: PublicCrime | None = None
    # Comparator groups where the warehouse holds other areas; empty where it holds none.
    benchmarks: list[Benchmark] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return quarter_slug(self.quarter)

    @property
    def priorities(self) -> list[tuple[str, list[Indicator]]]:
        """(priority, indicators) in the report's order."""
        names = {i.priority for i in self.indicators}
        ordered = [p for p in PRIORITY_ORDER if p in names] + sorted(names - set(PRIORITY_ORDER))
        return [(p, [i for i in self.indicators if i.priority == p]) for p in ordered]

    def rag_counts(self) -> dict[str, int]:
        """Indicators by RAG in the quarter, plus those without a rating."""
        counts = {"Green": 0, "Amber": 0, "Red": 0, "Not rated": 0}
        for indicator in self.indicators:
            counts[indicator.row.get("rag_status") or "Not rated"] += 1
        return counts

    def status_counts(self) -> dict[str, int]:
        """Indicators by data status in the quarter."""
        counts = dict.fromkeys(STATUSES, 0)
        for indicator in self.indicators:
            counts[indicator.status] = counts.get(indicator.status, 0) + 1
        return counts
