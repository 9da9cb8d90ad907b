"""Is each partner feed on time? The delivery calendar judged on an as-of date.

One pure function, ``feed_statuses``, decides for every feed: the last period delivered, the
next period due, the periods overdue, and a state (``on time``, ``late``, ``stopped``,
``suspended``). ``csp status``, ``csp monitor`` and the Dagster asset checks all use it, and a
test holds the dbt mart ``fct_feed_status`` to the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.feed_calendar import CalendarEntry
from core.periods import Period, calendar_month, financial_quarter, quarter_label

DUE_SOON_DAYS = 3
STATES = ("on time", "late", "stopped", "suspended", "not started")


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

    @property
    def due_soon(self) -> bool:
        """The next due date is within three days (an asset check warns)."""
        return self.next_due is not None and 0 <= (self.next_due - self.as_of).days <= DUE_SOON_DAYS

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form, as ``csp status --json`` prints it."""
        data = asdict(self)
        data["overdue"] = [
            {"period": p.label, "due": p.due.isoformat()} for p in self.overdue
        ]
        for key, value in data.items():
            if isinstance(value, (date, datetime)):
                data[key] = value.isoformat()
        return data


def _next_period(period: Period, cadence: str) -> Period:
    following = period.end + timedelta(days=1)
    if cadence == "monthly":
        return calendar_month(following.year, following.month)
    fy = following.year if following.month >= 4 else following.year - 1
    return financial_quarter(fy, int(quarter_label(following)[-1]))


def period_containing(day: date, cadence: str) -> Period:
    """The month or financial quarter holding ``day``."""
    if cadence == "monthly":
        return calendar_month(day.year, day.month)
    fy = day.year if day.month >= 4 else day.year - 1
    return financial_quarter(fy, int(quarter_label(day)[-1]))


def expected_periods(entry: CalendarEntry, start: date, as_of: date) -> Iterator[ExpectedPeriod]:
    """Periods from the calendar start: all those begun by the as-of date, then the rest.

    The sequence is endless (a calendar has no end); callers stop when they have enough.
    A suspended feed expects nothing for periods ending after its suspension began.
    """
    period = period_containing(start, entry.cadence)
    while entry.suspended_since is None or period.end <= entry.suspended_since:
        due = entry.due_date(period.end)
        yield ExpectedPeriod(period.label, period.start, period.end, due)
        period = _next_period(period, entry.cadence)


def feed_status(
    entry: CalendarEntry, deliveries: Sequence[Delivered], as_of: date
) -> FeedStatus:
    """The status of one feed: what arrived, what is due next, what is overdue."""
    accepted = [d for d in deliveries if d.status != "rejected" and d.period_start]
    rejected = [d for d in deliveries if d.status == "rejected"]
    status = FeedStatus(entry.feed, entry.partner, entry.cadence, "on time", as_of,
                        suspended_since=entry.suspended_since,
                        suspension_reason=entry.suspension_reason)
    if rejected:
        status.last_quarantined = max(rejected, key=lambda d: d.received_at).file_name
    if accepted:
        latest = max(accepted, key=lambda d: (d.period_start, d.received_at))
        status.last_period = latest.period_label
        status.last_received = latest.received_at
    starts = [d.period_start for d in accepted]
    if entry.calendar_start:
        starts.append(entry.calendar_start)
    suspended = entry.suspended_since is not None and entry.suspended_since <= as_of
    if not starts:
        # A declared suspension wins: a suspended feed pages nobody, started or not.
        status.state = "suspended" if suspended else "not started"
        return status
    delivered = {d.period_label for d in accepted}
    for period in expected_periods(entry, min(starts), as_of):
        if period.label in delivered:
            continue
        if as_of > period.due:
            status.overdue.append(period)
        else:
            # The first period not yet overdue and not delivered is the next one due.
            status.next_period, status.next_due = period.label, period.due
            break
    if suspended:
        status.state = "suspended"
        status.next_period = status.next_due = None
    elif len(status.overdue) >= 2:
        status.state = "stopped"
    elif status.overdue:
        status.state = "late"
    return status


def feed_statuses(
    calendar: Iterable[CalendarEntry], deliveries: Iterable[Delivered], as_of: date
) -> list[FeedStatus]:
    """The status of every feed in the calendar (of every partner, where each has its own)."""
    calendar = list(calendar)
    per_partner = {e.feed for e in calendar if sum(c.feed == e.feed for c in calendar) > 1}
    by_key: dict[tuple[str, str | None], list[Delivered]] = {}
    for delivery in deliveries:
        partner = (delivery.partner or "").lower() if delivery.feed in per_partner else None
        by_key.setdefault((delivery.feed, partner), []).append(delivery)
    return [
        feed_status(entry, by_key.get(
            (entry.feed, (entry.partner or "").lower() if entry.feed in per_partner else None),
            []), as_of)
        for entry in calendar
    ]


def read_deliveries(con: Any) -> list[Delivered]:
    """Every delivery in raw.deliveries.

    Not filtered by the as-of date: ``received_at`` is when the pipeline took a file, which
    for a rebuilt past quarter is today; the as-of date judges due dates, not arrivals.
    """
    rows = con.execute(
        "select feed, period_label, period_start, received_at, status, file_name, partner "
        "from raw.deliveries order by delivery_id"
    ).fetchall()
    return [Delivered(*row) for row in rows]


def quarantine_reasons(home: Path) -> dict[str, str]:
    """file name -> one-line reason, from the reason.json files in quarantine/."""
    reasons: dict[str, str] = {}
    for path in sorted((home / "quarantine").glob("*/*.reason.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        reasons[data.get("file", path.name)] = data.get("message", "")
    return reasons
