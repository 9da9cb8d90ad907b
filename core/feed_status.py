"""Is each partner feed on time? The delivery calendar judged on an as-of date.

The one home of the calendar rule. ``judged_periods`` enumerates, for every feed calendar
row, each period its calendar expects with its due date, whether it has arrived, is overdue or
is the next one due; ``feed_status`` derives a feed's state (``on time``, ``late``,
``stopped``, ``suspended``, ``not started``) from that same enumeration. ``csp status``,
``csp monitor`` and the Dagster asset checks call ``feed_statuses`` (milliseconds, no build);
every build writes ``judged_periods`` to raw.feed_periods and raw.feed_status
(``ingest.warehouse.write_feed_status``, ingest/RAW_TABLES.md), which the dbt models read
instead of judging again.

Pure: no database, no files. The readers of raw.deliveries and quarantine/ are in ``ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from core.feed_calendar import CalendarEntry
from core.periods import Period, next_period, period_containing, quarter_containing

DUE_SOON_DAYS = 3
STATES = ("on time", "late", "stopped", "suspended", "not started")
# How bad a state is, as monitoring plugins (Nagios, Icinga) exit: 0 all well, 1 a warning
# (a period late, or a file quarantined since the last good delivery), 2 critical (a feed
# stopped: two or more periods overdue). A declared suspension and a feed not yet started
# page nobody. ``csp status`` and ``csp monitor`` exit with the worst of these.
SEVERITY = {"on time": 0, "not started": 0, "suspended": 0, "late": 1, "stopped": 2}


@dataclass(frozen=True)
class Delivered:
    """One delivery as the status needs it (from raw.deliveries)."""

    feed: str
    period_label: str | None
    period_start: date | None
    received_at: datetime
    status: str  # loaded | superseded | rejected
    file_name: str
    partner: str | None = None
    delivery_id: int | None = None


@dataclass(frozen=True)
class ExpectedPeriod:
    """A period the calendar expects, with its due date."""

    label: str
    start: date
    end: date
    due: date


@dataclass
class FeedStatus:
    """The status of one feed on one as-of date."""

    feed: str
    partner: str | None
    cadence: str
    state: str
    as_of: date
    last_period: str | None = None
    last_received: datetime | None = None
    next_period: str | None = None
    next_due: date | None = None
    overdue: list[ExpectedPeriod] = field(default_factory=list)
    suspended_since: date | None = None
    suspension_reason: str | None = None
    last_quarantined: str | None = None
    last_quarantine_reason: str | None = None
    # The calendar row's key: the feed, or ``feed:partner`` where each partner has its own.
    feed_key: str = ""
    # The newest file of the feed was rejected: nothing good has arrived since.
    quarantine_open: bool = False

    @property
    def key(self) -> str:
        """The calendar row this status judges (``feed_key``, or the feed when unset)."""
        return self.feed_key or self.feed

    @property
    def severity(self) -> int:
        """0, 1 or 2 by ``SEVERITY``; an open quarantine is at least a warning."""
        return max(SEVERITY.get(self.state, 0), 1 if self.quarantine_open else 0)

    @property
    def received_by_as_of(self) -> datetime | None:
        """When the last period was received, if on or before the as-of date.

        A status as of a date says what was known then. A backfill or the demonstration
        loads files today and judges them as of an earlier date: their receipt, later than
        the as-of date, is not shown (the period still counts as delivered).
        """
        if self.last_received is None or self.last_received.date() > self.as_of:
            return None
        return self.last_received

    @property
    def due_soon(self) -> bool:
        """The next due date is within three days (an asset check warns)."""
        return self.next_due is not None and 0 <= (self.next_due - self.as_of).days <= DUE_SOON_DAYS

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form, as ``csp status --json`` prints it."""
        data = asdict(self)
        data["feed_key"] = self.key
        data["last_received"] = self.received_by_as_of
        data["severity"] = self.severity
        data["overdue"] = [{"period": p.label, "due": p.due.isoformat()} for p in self.overdue]
        for key, value in data.items():
            if isinstance(value, (date, datetime)):
                data[key] = value.isoformat()
        return data


@dataclass(frozen=True)
class JudgedPeriod:
    """One period of a feed calendar row, judged on the as-of date.

    Two flags say which consumer a period is for. ``is_expected``: the calendar expects it
    (it ends on or before any suspension); the feed status judges these. ``is_through_as_of_
    quarter``: it lies in the financial quarter holding the as-of date or before; the quarter
    statuses count these, suspended ones included (their quarter is reported as suspended).
    """

    feed_key: str
    label: str
    start: date
    end: date
    quarter_start: date
    due: date
    is_delivered: bool
    latest_delivery_id: int | None
    is_past_due: bool  # the as-of date is later than the due date
    is_overdue: bool  # expected, not delivered and past due
    is_next_due: bool  # the first expected period neither delivered nor past due
    is_expected: bool
    is_through_as_of_quarter: bool

    def expected(self) -> ExpectedPeriod:
        """The period as ``FeedStatus.overdue`` lists it."""
        return ExpectedPeriod(self.label, self.start, self.end, self.due)


@dataclass(frozen=True)
class CalendarJudgement:
    """One feed calendar row judged on the as-of date: its start, its periods, its status."""

    feed_key: str
    entry: CalendarEntry
    # The configured calendar_start or the first period delivered, whichever is earlier,
    # aligned to the start of its period; None while the feed has no calendar yet.
    effective_calendar_start: date | None
    first_delivered_period_start: date | None
    last_delivered_period_start: date | None
    delivery_count: int  # non-rejected deliveries
    periods: tuple[JudgedPeriod, ...]
    status: FeedStatus


def feed_key(entry: CalendarEntry, calendar: Sequence[CalendarEntry]) -> str:
    """The key stg_csp__feed_calendar gives a calendar row: the feed, or ``feed:partner`` for
    a feed with several calendar rows, one per partner."""
    rows = sum(1 for other in calendar if other.feed == entry.feed)
    return entry.feed if rows == 1 or entry.partner is None else f"{entry.feed}:{entry.partner}"


def _periods_from(start: date, cadence: str) -> Iterator[Period]:
    """Every month or quarter from the one holding ``start`` on (endless)."""
    period = period_containing(start, cadence)
    while True:
        yield period
        period = next_period(period, cadence)


def _judge_periods(
    entry: CalendarEntry,
    key: str,
    effective_start: date,
    last_delivered: date | None,
    accepted: Sequence[Delivered],
    as_of: date,
) -> tuple[JudgedPeriod, ...]:
    """The periods of one calendar row from its effective start.

    They run through the later of the quarter holding as_of (what the quarter statuses
    count) and one period past the latest of as_of, the calendar start and the last period
    delivered: that period comes after every delivery and ends after as_of, so the next
    period due is always among them, even after the quarter holding as_of. Periods ending
    after a suspension are kept only through the quarter holding as_of, flagged unexpected.
    """
    anchor = max(as_of, effective_start, last_delivered or effective_start)
    beyond_anchor = next_period(period_containing(anchor, entry.cadence), entry.cadence).start
    as_of_quarter_end = quarter_containing(as_of).end
    latest: dict[str, int | None] = {}
    for delivery in accepted:
        known = latest.get(delivery.period_label or "")
        ids = [i for i in (known, delivery.delivery_id) if i is not None]
        latest[delivery.period_label or ""] = max(ids) if ids else None
    periods: list[JudgedPeriod] = []
    next_found = False
    for period in _periods_from(effective_start, entry.cadence):
        expected = entry.suspended_since is None or period.end <= entry.suspended_since
        through_quarter = period.start <= as_of_quarter_end
        if not through_quarter and not (expected and period.start <= beyond_anchor):
            # Past both ends. The period after the anchor's comes after every delivery, so
            # the next one due is found by then, unless the suspension ended the calendar;
            # should a delivery carry a later period's label, go on until it is found.
            if next_found or not expected:
                break
        due = entry.due_date(period.end)
        delivered = period.label in latest
        past_due = as_of > due
        next_due = expected and not next_found and not delivered and not past_due
        next_found = next_found or next_due
        periods.append(
            JudgedPeriod(
                feed_key=key,
                label=period.label,
                start=period.start,
                end=period.end,
                quarter_start=quarter_containing(period.start).start,
                due=due,
                is_delivered=delivered,
                latest_delivery_id=latest.get(period.label),
                is_past_due=past_due,
                is_overdue=expected and not delivered and past_due,
                is_next_due=next_due,
                is_expected=expected,
                is_through_as_of_quarter=through_quarter,
            )
        )
    return tuple(periods)


def _judge(
    entry: CalendarEntry, key: str, deliveries: Sequence[Delivered], as_of: date
) -> CalendarJudgement:
    """One calendar row judged on ``as_of`` from the deliveries that answer to it."""
    accepted = [d for d in deliveries if d.status != "rejected" and d.period_start]
    rejected = [d for d in deliveries if d.status == "rejected"]
    status = FeedStatus(
        entry.feed,
        entry.partner,
        entry.cadence,
        "on time",
        as_of,
        suspended_since=entry.suspended_since,
        suspension_reason=entry.suspension_reason,
    )
    status.feed_key = key
    if rejected:
        newest_rejected = max(rejected, key=lambda d: d.received_at)
        status.last_quarantined = newest_rejected.file_name
        status.quarantine_open = all(d.received_at < newest_rejected.received_at for d in accepted)
    if accepted:
        latest = max(accepted, key=lambda d: (d.period_start, d.received_at))
        status.last_period = latest.period_label
        status.last_received = latest.received_at
    delivered_starts = [d.period_start for d in accepted]
    first = min(delivered_starts, default=None)
    last = max(delivered_starts, default=None)
    starts = [*delivered_starts, *([entry.calendar_start] if entry.calendar_start else [])]
    effective = period_containing(min(starts), entry.cadence).start if starts else None
    periods = _judge_periods(entry, key, effective, last, accepted, as_of) if effective else ()
    suspended = entry.suspended_since is not None and entry.suspended_since <= as_of
    status.overdue = [p.expected() for p in periods if p.is_overdue]
    following = next((p for p in periods if p.is_next_due), None)
    if following is not None:
        status.next_period, status.next_due = following.label, following.due
    if suspended:
        # A declared suspension wins: a suspended feed pages nobody, started or not.
        status.state = "suspended"
        status.next_period = status.next_due = None
    elif effective is None:
        status.state = "not started"
    elif len(status.overdue) >= 2:
        status.state = "stopped"
    elif status.overdue:
        status.state = "late"
    return CalendarJudgement(
        feed_key=key,
        entry=entry,
        effective_calendar_start=effective,
        first_delivered_period_start=first,
        last_delivered_period_start=last,
        delivery_count=sum(1 for d in deliveries if d.status != "rejected"),
        periods=periods,
        status=status,
    )


def judged_periods(
    calendar: Iterable[CalendarEntry], deliveries: Iterable[Delivered], as_of: date
) -> list[CalendarJudgement]:
    """Every calendar row judged on ``as_of``: its periods, its start, its status.

    A delivery answers to its feed's calendar row, or, where a feed has several rows, to the
    row of its partner (compared without case).
    """
    calendar = list(calendar)
    per_partner = {e.feed for e in calendar if sum(c.feed == e.feed for c in calendar) > 1}
    by_key: dict[tuple[str, str | None], list[Delivered]] = {}
    for delivery in deliveries:
        partner = (delivery.partner or "").lower() if delivery.feed in per_partner else None
        by_key.setdefault((delivery.feed, partner), []).append(delivery)
    return [
        _judge(
            entry,
            feed_key(entry, calendar),
            by_key.get(
                (entry.feed, (entry.partner or "").lower() if entry.feed in per_partner else None),
                [],
            ),
            as_of,
        )
        for entry in calendar
    ]


def feed_status(entry: CalendarEntry, deliveries: Sequence[Delivered], as_of: date) -> FeedStatus:
    """The status of one feed: what arrived, what is due next, what is overdue."""
    return _judge(entry, entry.feed, deliveries, as_of).status


def feed_statuses(
    calendar: Iterable[CalendarEntry], deliveries: Iterable[Delivered], as_of: date
) -> list[FeedStatus]:
    """The status of every feed in the calendar (of every partner, where each has its own)."""
    return [judgement.status for judgement in judged_periods(calendar, deliveries, as_of)]


def worst_severity(statuses: Iterable[FeedStatus]) -> int:
    """The exit code of a status check: the worst ``FeedStatus.severity``, 0 for none."""
    return max((status.severity for status in statuses), default=0)


def feed_and_partner(status: FeedStatus) -> str:
    """``partner_returns (probation)``: the feed, and who sends it."""
    return f"{status.feed} ({status.partner})" if status.partner else status.feed


def periods_in_words(labels: Sequence[str]) -> str:
    """The periods, or for more than three the count and the span: "48 periods, 2014/15 Q3
    to 2026/27 Q2", so a title or a line stays short."""
    if len(labels) <= 3:
        return ", ".join(labels)
    return f"{len(labels)} periods, {labels[0]} to {labels[-1]}"
