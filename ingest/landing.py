"""From the landing folder to the raw layer: identify, archive, check, load or quarantine.

``landing/<feed>/<file>`` → SHA-256 of the bytes (the delivery's identity) →
already known? nothing changes → period from the file name → read and check per contract →
good: copied to ``archive/<feed>/<sha>.<ext>`` *before* loading, then loaded in one transaction;
bad: moved to ``quarantine/<feed>/<file>`` with ``reason.json`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.bulk import CHUNK_BYTES, Candidate, bulk_chunk, candidate, chunks, takes_bulk
from ingest.contracts import FeedContract, contract_for
from ingest.pseudonymise import Pseudonymiser
from ingest.readers import Problem, RejectedFile, describe, read_delivery
from ingest.warehouse import (
    DeliveryRecord,
    KnownDelivery,
    connect,
    ensure_raw_schema,
    find_delivery,
    known_deliveries,
    load_delivery,
    record_rejection,
)

# Files a partner's copy tool leaves while still writing, and editor lock files.
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass
class Outcome:
    """What happened to one landed file."""

    feed: str
    file_name: str
    sha256: str
    action: str  # loaded | duplicate | rejected | waiting
    delivery_id: int | None = None
    period: str | None = None
    rows: int = 0
    reason: str | None = None
    problems: list[Problem] = field(default_factory=list)
    in_bulk: bool = False  # checked and loaded with other files (ingest.bulk)
    duplicate_of: str | None = None  # the name under which a duplicate's bytes came before

    @property
    def is_left_in_landing(self) -> bool:
        """A file loaded by an earlier run and still in landing under the same name."""
        return self.action == "duplicate" and self.duplicate_of == self.file_name

    def as_dict(self) -> dict[str, Any]:
        """A plain summary for logs and Dagster metadata."""
        return {
            "feed": self.feed, "file": self.file_name, "sha256": self.sha256,
            "action": self.action, "delivery_id": self.delivery_id, "period": self.period,
            "rows": self.rows, "reason": self.reason,
        }


def sha256_of(path: Path) -> str:
    """The delivery's identity: SHA-256 of its bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class LandedHashes:
    """SHA-256 of landed files, remembered between runs while the files are unchanged.

    Partners' files stay in landing after they are loaded, so every run would otherwise hash
    them all again: 8.5 GB at national scale (BENCHMARKS.md). A file counts as unchanged when
    its device, inode, size, modification time and change time (ctime) all match. ctime
    moves on every write and, unlike the modification time (``cp -p``, ``touch -d``,
    ``rsync -t``), no tool can set it back. As git does with its index, a hash taken within
    ``settle_ns`` of the file's last change is not remembered: a write in the same clock
    tick would leave ctime where it was.
    """

    def __init__(self, store: Path, settle_ns: int = 2_000_000_000) -> None:
        self.store = store
        self.settle_ns = settle_ns
        self._known: dict[str, list[Any]] = {}
        self._read = False  # whether the store was there and whole
        try:
            self._known = json.loads(store.read_text(encoding="utf-8"))
            self._read = True
        except (OSError, ValueError):
            pass  # no store yet, or a damaged one: it is only a cache, start empty
        self._seen: dict[str, list[Any]] = {}
        self.hits = 0
        self._lock = threading.Lock()

    @classmethod
    def of_feed(cls, home: Path, feed: str) -> "LandedHashes":
        """The cache of one feed's landing folder (one file per feed: feeds are ingested
        separately, perhaps at once)."""
        return cls(home / "state" / "landed-hashes" / f"{feed}.json")

    def sha256(self, path: Path) -> str:
        """The file's SHA-256: remembered if the file is unchanged, else read and hashed."""
        before = path.stat()
        identity = [before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns,
                    before.st_ctime_ns]
        remembered = self._known.get(str(path))
        if remembered is not None and remembered[:5] == identity:
            with self._lock:  # ingest_in_bulk hashes from two threads
                self.hits += 1
            self._seen[str(path)] = remembered
            return remembered[5]
        sha = sha256_of(path)
        after = path.stat()
        if (after.st_ctime_ns == before.st_ctime_ns
                and time.time_ns() - after.st_ctime_ns > self.settle_ns):
            self._seen[str(path)] = [*identity, sha]
        return sha

    def save(self) -> None:
        """Keep the files hashed or found in this run (written whole, then renamed).

        Nothing is written when the store already holds exactly these: the landing sensor
        saves on every tick.
        """
        if self._read and self._seen == self._known:
            return
        self.store.parent.mkdir(parents=True, exist_ok=True)
        partial = self.store.with_suffix(".partial")
        partial.write_text(json.dumps(self._seen), encoding="utf-8")
        os.replace(partial, self.store)


def landed_files(landing: Path, feed: str) -> list[Path]:
    """Files waiting in ``landing/<feed>/`` in arrival order (modification time, then name)."""
    folder = landing / feed
    if not folder.is_dir():
        return []
    files = [
        p for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(IGNORED_PREFIXES)
        and not p.name.endswith(IGNORED_SUFFIXES)
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy so that ``target`` either is absent or holds every byte (rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(target)


def archive_path(home: Path, feed: str, sha256: str, source: Path) -> Path:
    """Where a good delivery is kept for ever: named by its bytes, so never overwritten."""
    return home / "archive" / feed / f"{sha256}{source.suffix.lower()}"


def is_archived(home: Path, feed: str, sha256: str) -> bool:
    """Whether these bytes were already accepted (archived) for the feed.

    Lets the sensor skip delivered files without opening the DuckDB file, which a running
    build holds. A crash between archiving and loading is healed by the next full build,
    which checks the manifest itself.
    """
    return any((home / "archive" / feed).glob(f"{sha256}.*"))


def quarantine(home: Path, source: Path, feed: str, sha256: str, problems: list[Problem],
               partner: str) -> Path:
    """Move a rejected file out of landing, with a reason.json a partner can act on.

    Safe to repeat (a crash may interrupt it): the same bytes are never copied twice and
    their first reason is kept.
    """
    folder = home / "quarantine" / feed
    target = folder / source.name
    if target.exists() and sha256_of(target) != sha256:
        # Keep every rejected version: the earlier one may be what a partner asks about.
        target = folder / f"{source.stem}.{sha256[:12]}{source.suffix}"
    reason_path = target.with_name(target.name + ".reason.json")
    if not (target.exists() and reason_path.exists()):
        _copy_atomically(source, target)
        reason = {
            "file": source.name,
            "feed": feed,
            "partner": partner,
            "sha256": sha256,
            "rejected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rule": problems[0].rule,
            "message": problems[0].message,
            "summary": describe(problems),
            "problems": [p.as_dict() for p in problems],
            "what_to_do": "Correct the file and drop it in the landing folder again; nothing "
                          "from this file has been loaded.",
        }
        text = json.dumps(reason, indent=2, default=str)
        reason_path.write_text(text, encoding="utf-8")
        # The conventional name too, for the latest rejection in the folder.
        (folder / "reason.json").write_text(text, encoding="utf-8")
    source.unlink(missing_ok=True)
    return target


def wait_until_stable(path: Path, quiet_seconds: float, timeout_seconds: float = 300.0) -> bool:
    """Wait until a file has been left alone for ``quiet_seconds``; False if it never is.

    A partner's copy that is still running keeps moving the modification time and size;
    taking the file early would reject (or worse, load) half of it.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False
        if age >= quiet_seconds:
            return True
        if time.monotonic() + (quiet_seconds - age) > deadline:
            return False
        time.sleep(quiet_seconds - age)


def ingest_file(
    path: Path,
    contract: FeedContract,
    *,
    home: Path,
    con: Any,
    pseudonymiser: Pseudonymiser,
    la_code: str,
    sha256: str | None = None,
) -> Outcome:
    """Take one landed file all the way: a no-op, a loaded delivery, or a quarantined file.

    ``con`` is the warehouse connection of the ingest run (raw schema ensured); ``sha256``
    the file's hash when the caller has just taken it.
    """
    sha = sha256 or sha256_of(path)
    feed = contract.feed
    known = find_delivery(con, feed, sha)
    if known is not None:
        return duplicate(path, sha, known, contract, home)
    period = contract.period_from_file_name(path.name)
    # A feed sent by several partners names the sender in the file name.
    partner = contract.partner_from_file_name(path.name) or contract.partner
    record = DeliveryRecord(feed, partner, path.name, sha, period,
                            datetime.now(timezone.utc).replace(tzinfo=None), la_code)
    try:
        if period is None:
            raise RejectedFile([Problem(
                "file_name",
                f"the file name {path.name!r} does not follow the agreed pattern "
                f"{contract.file_name!r}, so its period is unknown",
            )])
        result = read_delivery(path, contract, period, pseudonymiser, la_code=la_code,
                               partner=partner)
    except RejectedFile as rejected:
        summary = describe(rejected.problems)
        # Recorded first: if the move below is cut short, the rerun knows these bytes.
        delivery_id = record_rejection(con, record, summary)
        quarantine(home, path, feed, sha, rejected.problems, partner)
        return Outcome(feed, path.name, sha, "rejected", delivery_id,
                       period.label if period else None, reason=summary,
                       problems=rejected.problems)
    # Archived before it is loaded: every figure can be traced back to bytes we still hold.
    _copy_atomically(path, archive_path(home, feed, sha, path))
    delivery_id = load_delivery(con, record, contract, result.tables)
    return Outcome(feed, path.name, sha, "loaded", delivery_id, period.label, result.row_count)


def duplicate(path: Path, sha: str, known: KnownDelivery, contract: FeedContract,
              home: Path) -> Outcome:
    """A file whose bytes the manifest already holds: nothing to load."""
    if known.status == "rejected":
        # The same bad bytes again (or a quarantine cut short by a crash): still bad,
        # and the partner was told why.
        quarantine(home, path, contract.feed, sha, [Problem(
            "duplicate_rejected",
            f"identical to {known.file_name}, rejected earlier: {known.rejection_reason}")],
            contract.partner)
    return Outcome(contract.feed, path.name, sha, "duplicate", known.delivery_id,
                   reason=f"same bytes as {known.file_name} (delivery {known.delivery_id})",
                   duplicate_of=known.file_name)


def ingest_feed(
    feed: str,
    *,
    home: Path,
    warehouse: Path,
    pseudonymiser: Pseudonymiser,
    la_code: str,
    min_age_seconds: float = 0.0,
    files: Iterable[str] | None = None,
) -> list[Outcome]:
    """Ingest the files waiting in ``home/landing/<feed>/`` (or just ``files``), in arrival order.

    A file modified less than ``min_age_seconds`` ago is waited for; one still changing after
    five minutes is left for the next run. One warehouse connection serves the run; the home
    lock keeps other writers out. Several files of a plain UTF-8 CSV feed are taken in bulk
    (``ingest.bulk``: a chunk of good files per transaction), otherwise each delivery is its
    own transaction.
    """
    contract = contract_for(feed)
    outcomes = []
    waiting = landed_files(home / "landing", feed)
    if files is not None:
        wanted = set(files)
        waiting = [p for p in waiting if p.name in wanted]
    stable = []
    for path in waiting:
        if wait_until_stable(path, min_age_seconds):
            stable.append(path)
        else:
            outcomes.append(Outcome(feed, path.name, "", "waiting",
                                    reason="still being written; taken at the next run"))
    hashes = LandedHashes.of_feed(home, feed)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        if takes_bulk(contract) and len(stable) > 1:
            outcomes += ingest_in_bulk(stable, contract, home=home, con=con,
                                       pseudonymiser=pseudonymiser, la_code=la_code,
                                       hash_of=hashes.sha256)
            # Arrow keeps freed buffers for reuse; the dbt build that follows needs the memory.
            pa.default_memory_pool().release_unused()
        else:
            outcomes += [ingest_file(path, contract, home=home, con=con,
                                     pseudonymiser=pseudonymiser, la_code=la_code,
                                     sha256=hashes.sha256(path))
                         for path in stable]
    hashes.save()
    return outcomes


def ingest_in_bulk(
    paths: list[Path],
    contract: FeedContract,
    *,
    home: Path,
    con: Any,
    pseudonymiser: Pseudonymiser,
    la_code: str,
    chunk_bytes: int = CHUNK_BYTES,
    hash_of: Callable[[Path], str] = sha256_of,
) -> list[Outcome]:
    """Ingest many files of a bulk feed (see ``ingest.bulk``); outcomes in arrival order.

    Files that cannot go in a chunk (bytes already known, a broken name or layout) are taken
    one at a time where they arrived; the chunk gathered so far is loaded first, so a revision
    never loads before the file it revises. ``hash_of`` gives a file's SHA-256
    (``LandedHashes.sha256`` remembers those of files left in landing).
    """
    feed = contract.feed
    outcomes: dict[Path, Outcome] = {}
    pending: list[Candidate] = []

    def keep(item: Candidate) -> None:
        _copy_atomically(item.path, archive_path(home, feed, item.sha256, item.path))

    def one(path: Path, sha: str) -> None:
        outcomes[path] = ingest_file(path, contract, home=home, con=con,
                                     pseudonymiser=pseudonymiser, la_code=la_code, sha256=sha)

    def flush() -> None:
        for chunk in chunks(pending, chunk_bytes):
            loaded, alone = bulk_chunk(chunk, contract, con=con, pseudonymiser=pseudonymiser,
                                       la_code=la_code, archive=keep)
            for item, delivery_id, rows in loaded:
                outcomes[item.path] = Outcome(feed, item.path.name, item.sha256, "loaded",
                                              delivery_id, item.record.period.label, rows,
                                              in_bulk=True)
            for item in alone:
                one(item.path, item.sha256)
        pending.clear()

    # Most landed files were loaded by an earlier run: known from one query, hashed once.
    known_before = known_deliveries(con, feed)

    def examine(path: Path) -> tuple[str, Candidate | None]:
        sha = hash_of(path)
        return sha, (None if sha in known_before else candidate(path, sha, contract, la_code))

    warming: list[threading.Thread] = []

    def warm_suite() -> None:
        # GX's import and the suite take about 5 s: built while the files are hashed and the
        # first chunk read, rather than waited for in the first chunk.
        if warming:
            return
        from expectations.validate import prepare_bulk_suite

        warming.append(threading.Thread(
            target=prepare_bulk_suite, args=(contract, contract.tables[0]), daemon=True,
            name="csp-suite-warm-up"))
        warming[0].start()

    taken: set[str] = set()  # the bytes of this run's files so far
    # Files are hashed and their layout checked two at a time, ahead of the loop: both read
    # every byte, and reading and hashing release the GIL (a medium backlog: 5.6 s to 1.7 s).
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        for path, (sha, item) in zip(paths, pool.map(examine, paths), strict=True):
            if sha in known_before:
                outcomes[path] = duplicate(path, sha, known_before[sha], contract, home)
                continue
            # Bytes taken earlier in this run, or waiting in the chunk, go alone: the
            # file-at-a-time path finds them in the manifest and reports the duplicate.
            if sha not in taken and item is not None:
                warm_suite()
                taken.add(sha)
                pending.append(item)
                continue
            taken.add(sha)
            flush()
            one(path, sha)
    finally:
        pool.shutdown(cancel_futures=True)  # on an error, hash no further files
    flush()
    return [outcomes[path] for path in paths]


def log_lines(feed: str, outcomes: Iterable[Outcome]) -> list[tuple[str, str]]:
    """(level, message) lines for a run's log: one per file that is news, then one for the rest.

    Files loaded by earlier runs and left in landing get a single count, not a line each:
    every log line is a row in Dagster's event log, and at national size a line per landed
    file cost about 16 seconds a build (BENCHMARKS.md).
    """
    lines: list[tuple[str, str]] = []
    left = 0
    for outcome in outcomes:
        if outcome.is_left_in_landing:
            left += 1
            continue
        lines.append(("warning" if outcome.action == "rejected" else "info",
                      f"{feed}: {outcome.file_name} {outcome.action}"
                      + (f" ({outcome.reason})" if outcome.reason else "")
                      + (f", {outcome.rows} rows" if outcome.rows else "")))
    if left:
        lines.append(("info", f"{feed}: {left} file(s) in landing already loaded"))
    return lines


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Counts of outcomes by action."""
    counts: dict[str, int] = {"loaded": 0, "duplicate": 0, "rejected": 0, "waiting": 0}
    for outcome in outcomes:
        counts[outcome.action] += 1
    return counts
