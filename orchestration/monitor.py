"""Alerts: tell on-call once when a feed's period becomes overdue, and when it recovers.

``csp monitor`` judges every feed on the as-of date (``core.feed_status``) and sends
what is due through Apprise (e-mail, Teams, Slack, JSON webhooks...). What was sent is kept in
a ledger (SQLite under the home, not the warehouse, so a running build never blocks it), one
row per (kind, feed, subject, channel): a message goes to a channel at most once, even across
restarts, and a channel that failed is tried again at the next check.

Rules:
- overdue: one message per feed listing the periods newly overdue (so periods already overdue
  at the first check arrive grouped), never repeated for the same (feed, period);
- recovered: one message when a period that was alerted as overdue arrives;
- quarantined: one message per rejected file, with its reason;
- run failed: one message per failed Dagster run (from the run-failure sensor);
- a suspended feed gets nothing.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from core.dbt_project import DBT_PROJECT_DIR
from core.feed_status import (
    Delivered,
    FeedStatus,
    feed_and_partner,
    feed_statuses,
    periods_in_words,
)
from core.periods import quarter_label
from core.settings import Settings
from exports.publish import last_build_path
from ingest.warehouse import connect, ensure_raw_schema, read_deliveries

LEDGER_DDL = """
create table if not exists sent (
    kind text not null,
    feed text not null,
    subject text not null,
    channel text not null,
    as_of text not null,
    sent_at text not null,
    title text not null,
    primary key (kind, feed, subject, channel)
)
"""


@dataclass(frozen=True)
class Message:
    """One alert: what it is about (for the ledger) and what it says."""

    kind: str  # overdue | recovered | quarantined | run_failed
    feed: str
    subjects: tuple[str, ...]  # periods, a file's SHA-256, or a run id
    title: str
    body: str


@dataclass
class MonitorResult:
    """What a check sent, per channel, and what failed to go."""

    as_of: date
    statuses: list[FeedStatus]
    sent: list[tuple[Message, str]] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)


def channel_id(url: str) -> str:
    """A stable, secret-free name for a channel (URLs may hold passwords)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class Ledger:
    """What has been sent, kept in SQLite under the home."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute(LEDGER_DDL)
            con.commit()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def sent_subjects(self, kind: str, feed: str, channel: str) -> set[str]:
        """Subjects already sent to a channel for (kind, feed)."""
        with closing(self._connect()) as con:
            rows = con.execute(
                "select subject from sent where kind = ? and feed = ? and channel = ?",
                (kind, feed, channel),
            ).fetchall()
        return {r[0] for r in rows}

    def sent_subjects_of(self, status: FeedStatus, kind: str, channel: str) -> set[str]:
        """Subjects already sent to a channel about one calendar row of a feed.

        Rows are kept by the calendar row's key (``partner_returns:probation``). Ledgers
        written before that kept them by the feed alone, for all its partners at once: those
        rows still count as sent for every partner, so an upgrade re-sends nothing.
        """
        subjects = self.sent_subjects(kind, status.key, channel)
        if status.key != status.feed:
            subjects |= self.sent_subjects(kind, status.feed, channel)
        return subjects

    def record(self, message: Message, channel: str, as_of: date) -> None:
        """Note that ``message`` reached ``channel``."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as con:
            con.executemany(
                "insert or ignore into sent values (?, ?, ?, ?, ?, ?, ?)",
                [
                    (message.kind, message.feed, s, channel, as_of.isoformat(), now, message.title)
                    for s in message.subjects
                ],
            )
            con.commit()


def ledger_for(settings: Settings) -> Ledger:
    """The ledger of a home."""
    return Ledger(settings.home / "monitor" / "alerts.sqlite")


def owned_indicators(feed: str, partner: str | None) -> list[str]:
    """Indicator codes a feed's partner supplies, from the catalogue seed: those of the feed
    with no ``owner``, and those whose ``owner`` is the partner (partner returns, where each
    partner owns its own indicators)."""
    with (DBT_PROJECT_DIR / "seeds" / "indicators.csv").open(newline="", encoding="utf-8") as f:
        return [
            row["code"]
            for row in csv.DictReader(f)
            if row["feed"] == feed and row["owner"] in ("", partner)
        ]


def _header(settings: Settings, status: FeedStatus) -> list[str]:
    return [
        f"Partnership: {settings.la_name} ({settings.la_code})",
        f"Feed: {status.feed} from {status.partner} ({status.cadence})",
    ]


def _last_delivered(status: FeedStatus) -> str:
    if not status.last_period:
        return "Last delivered: nothing yet"
    received = status.received_by_as_of
    return f"Last delivered: {status.last_period}" + (
        f" (received {received.date().isoformat()})" if received else ""
    )


def overdue_message(settings: Settings, status: FeedStatus, periods: Sequence) -> Message:
    """The alert for periods of one feed that have become overdue."""
    labels = [p.label for p in periods]
    codes = owned_indicators(status.feed, status.partner)
    quarters = sorted({quarter_label(p.start) for p in periods})
    word = "has stopped" if status.state == "stopped" else "is late"
    lines = _header(settings, status) + [
        "Overdue: " + "; ".join(f"{p.label} (due {p.due.isoformat()})" for p in periods),
        _last_delivered(status),
        f"Meanwhile the report shows these figures of {status.partner} as missing, with no "
        f"value: {', '.join(codes) or 'none'} for {periods_in_words(quarters)}. Any figure "
        "from the part that did arrive is kept as provisional.",
        f"Checked as of {status.as_of.isoformat()}. Ask {status.partner} for the file; it is "
        f"picked up as soon as it is dropped in landing/{status.feed}/.",
    ]
    return Message(
        "overdue",
        status.key,
        tuple(labels),
        f"[{settings.la_name}] {feed_and_partner(status)} {word}: "
        f"{periods_in_words(labels)} overdue",
        "\n".join(lines),
    )


def recovered_message(settings: Settings, status: FeedStatus, periods: Sequence[str]) -> Message:
    """The all-clear for periods that were overdue and have now arrived."""
    labels = ", ".join(periods)
    still = (
        f"Still overdue: {', '.join(p.label for p in status.overdue)}."
        if status.overdue
        else "Nothing else is overdue for this feed."
    )
    lines = _header(settings, status) + [
        f"Arrived: {labels} (alerted earlier as overdue).",
        _last_delivered(status),
        still,
        f"Checked as of {status.as_of.isoformat()}; the next build publishes the figures.",
    ]
    return Message(
        "recovered",
        status.key,
        tuple(periods),
        f"[{settings.la_name}] {feed_and_partner(status)} recovered: "
        f"{periods_in_words(list(periods))} arrived",
        "\n".join(lines),
    )


def quarantine_message(
    settings: Settings,
    feed: str,
    partner: str | None,
    file_name: str,
    sha256: str,
    reason: str | None,
) -> Message:
    """The alert for a rejected file."""
    lines = [
        f"Partnership: {settings.la_name} ({settings.la_code})",
        f"Feed: {feed} from {partner}",
        f"File: {file_name} (SHA-256 {sha256[:12]}...)",
        f"Reason: {reason or 'see reason.json'}",
        f"Nothing from this file was loaded; it is in quarantine/{feed}/ with its reason.json. "
        "A corrected file dropped in landing is picked up as usual.",
    ]
    return Message(
        "quarantined",
        feed,
        (sha256,),
        f"[{settings.la_name}] {feed} ({partner}): {file_name} rejected"
        if partner
        else f"[{settings.la_name}] {feed}: {file_name} rejected",
        "\n".join(lines),
    )


def run_failure_message(settings: Settings, run_id: str, job: str, error: str) -> Message:
    """The alert for a failed pipeline run."""
    lines = [
        f"Partnership: {settings.la_name} ({settings.la_code})",
        f"Run {run_id} of {job} failed.",
        f"Error: {error}",
        "Figures from before this run stand; see the run in the Dagster UI.",
    ]
    return Message(
        "run_failed",
        "pipeline",
        (run_id,),
        f"[{settings.la_name}] pipeline run failed: {job}",
        "\n".join(lines),
    )


def plan_messages(
    settings: Settings,
    statuses: Iterable[FeedStatus],
    deliveries: Sequence[tuple],
    ledger: Ledger,
    channel: str,
) -> list[Message]:
    """Everything due to one channel now, given what it has already been sent."""
    messages: list[Message] = []
    for status in statuses:
        if status.state == "suspended":
            continue  # declared: nobody is paged for it
        alerted = ledger.sent_subjects_of(status, "overdue", channel)
        new = [p for p in status.overdue if p.label not in alerted]
        if new:
            messages.append(overdue_message(settings, status, new))
        still_overdue = {p.label for p in status.overdue}
        recovered_before = ledger.sent_subjects_of(status, "recovered", channel)
        arrived = sorted(p for p in alerted - still_overdue - recovered_before)
        if arrived:
            messages.append(recovered_message(settings, status, arrived))
    for feed, partner, file_name, sha256, reason in deliveries:
        if sha256 not in ledger.sent_subjects("quarantined", feed, channel):
            messages.append(quarantine_message(settings, feed, partner, file_name, sha256, reason))
    return messages


def send(message: Message, url: str) -> bool:
    """Send one message to one Apprise URL; True when the service accepted it."""
    import apprise  # imported here: only a check that has something to say needs it

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return False
    return bool(notifier.notify(title=message.title, body=message.body))


def deliver(
    settings: Settings,
    messages_for: Callable[[str], list[Message]],
    ledger: Ledger,
    result: MonitorResult,
) -> None:
    """Plan and send per channel, recording each message that got through."""
    for url in settings.alert_urls:
        channel = channel_id(url)
        for message in messages_for(channel):
            if send(message, url):
                ledger.record(message, channel, result.as_of)
                result.sent.append((message, channel))
            else:
                result.failed.append((message, channel))


def read_rejections(con) -> list[tuple]:
    """Rejected deliveries: (feed, partner, file name, sha256, reason)."""
    return con.execute(
        "select feed, partner, file_name, sha256, rejection_reason from raw.deliveries "
        "where status = 'rejected' order by delivery_id"
    ).fetchall()


def load_state(settings: Settings) -> tuple[list[Delivered], list[tuple]]:
    """Deliveries and rejections: from the warehouse, or the last build's whole copy
    (state/last-build.duckdb) while a build holds the warehouse (DuckDB lets no other process
    in while it writes; the published copy holds the marts only)."""
    if settings.target == "postgres":  # no single-writer lock there: read it directly
        with connect(settings.warehouse_target) as con:
            ensure_raw_schema(con)
            return read_deliveries(con), read_rejections(con)
    existing = [p for p in (settings.warehouse, last_build_path(settings.home)) if p.exists()]
    if not existing:
        # Nothing built yet: nothing delivered. A check writes nothing, not even a warehouse.
        return [], []
    for path in existing:
        try:
            with connect(path, read_only=True) as con:
                return read_deliveries(con), read_rejections(con)
        except duckdb.IOException:
            continue  # locked by a running build: try the last build's copy
    raise RuntimeError(
        f"{settings.warehouse} is locked by a running build and nothing has "
        "been published yet; try again when the build has finished"
    )


def run_monitor(settings: Settings) -> MonitorResult:
    """Judge every feed on the settings' as-of date and send what is due."""
    deliveries, rejections = load_state(settings)
    statuses = feed_statuses(settings.calendar, deliveries, settings.as_of)
    result = MonitorResult(settings.as_of, statuses)
    ledger = ledger_for(settings)
    deliver(
        settings,
        lambda channel: plan_messages(settings, statuses, rejections, ledger, channel),
        ledger,
        result,
    )
    return result


def notify_run_failure(settings: Settings, run_id: str, job: str, error: str) -> MonitorResult:
    """Send the run-failure alert to every channel (once per run)."""
    result = MonitorResult(settings.as_of, [])
    ledger = ledger_for(settings)
    message = run_failure_message(settings, run_id, job, error)

    def due(channel: str) -> list[Message]:
        return (
            [] if run_id in ledger.sent_subjects("run_failed", "pipeline", channel) else [message]
        )

    deliver(settings, due, ledger, result)
    return result


def notify_quarantined(settings: Settings) -> MonitorResult:
    """Send alerts for rejected files only (called right after an ingest)."""
    _, rejections = load_state(settings)
    result = MonitorResult(settings.as_of, [])
    ledger = ledger_for(settings)
    deliver(
        settings,
        lambda channel: plan_messages(settings, [], rejections, ledger, channel),
        ledger,
        result,
    )
    return result
