"""From the landing folder to the raw layer: identify, archive, check, load or quarantine.

``landing/<feed>/<file>`` → SHA-256 of the bytes (the delivery's identity) →
already known? nothing changes → period from the file name → read and check per contract →
good: copied to ``archive/<feed>/<sha>.<ext>`` *before* loading, then loaded in one transaction;
bad: moved to ``quarantine/<feed>/<file>`` with ``reason.json`` beside it.

What waits in landing and how its bytes are known is ``ingest.arrivals``; where accepted and
rejected bytes are kept is ``ingest.archive_quarantine``; here each file is taken to its
``Outcome``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.contracts import FeedContract, contract_for
from core.problems import Problem, RejectedFile
from expectations.validate import prepare_bulk_suite
from ingest.archive_quarantine import archive, quarantine, quarantine_unread
from ingest.archives import Unpacked, is_archive, takes_archives, unpack_archive
from ingest.arrivals import (
    LandedHashes,
    entry_identity,
    hash_or_none,
    scan_landing,
    sha256_of,
    wait_until_stable,
)
from ingest.bulk import (
    CHUNK_BYTES,
    Candidate,
    bulk_chunk,
    candidate,
    chunks,
    takes_bulk,
)
from ingest.pseudonymise import KeyConfigError, MissingKeyError, Pseudonymiser
from ingest.readers import describe, read_delivery
from ingest.redaction import safe_file_name
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


@dataclass
class Outcome:
    """What happened to one landed file."""

    feed: str
    file_name: str
    sha256: str
    action: str  # loaded | duplicate | rejected | waiting | unpacked
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
            "feed": self.feed,
            "file": self.file_name,
            "sha256": self.sha256,
            "action": self.action,
            "delivery_id": self.delivery_id,
            "period": self.period,
            "rows": self.rows,
            "reason": self.reason,
        }


def refuse(
    path: Path, contract: FeedContract, problem: Problem, *, home: Path, con: Any, la_code: str
) -> Outcome:
    """Take out of landing an entry that is refused without being read, with its reason.

    A link, pipe, socket or device holds no bytes of its own: it is removed (its target, if
    any, is left alone). A folder or an unreadable file is moved into quarantine. Where even
    that fails, the entry is recorded once and left, with a message saying so.
    """
    feed = contract.feed
    identity = entry_identity(path)
    shown = safe_file_name(path.name)
    partner = contract.partner_from_file_name(path.name) or contract.partner
    reason = problem.message
    if find_delivery(con, feed, identity) is None:
        record = DeliveryRecord(
            feed, partner, shown, identity, None, datetime.now(UTC).replace(tzinfo=None), la_code
        )
        record_rejection(con, record, reason)
    try:
        quarantine_unread(home, path, feed, partner, identity, problem)
    except OSError as error:
        reason += (
            f" It could not be taken out of landing either ({error.strerror}): remove it by hand."
        )
    return Outcome(feed, shown, identity, "rejected", reason=reason, problems=[problem])


def not_a_file(kind: str) -> Problem:
    """The problem of a landing entry that is not a regular file."""
    return Problem(
        "not_a_regular_file",
        f"this is {kind}, not a file: only files a partner delivered are read, and nothing "
        "in landing is followed elsewhere; put the file itself in the landing folder",
    )


def unreadable(error: OSError) -> Problem:
    """The problem of a landed file that cannot be opened or read."""
    return Problem(
        "unreadable_file",
        f"the file cannot be read ({error.strerror or type(error).__name__}): check its "
        "permissions (the pipeline's account must be able to read it) and deliver it again",
    )


def ingest_file(
    path: Path,
    contract: FeedContract,
    *,
    home: Path,
    con: Any,
    pseudonymiser: Pseudonymiser,
    la_code: str,
    sha256: str | None = None,
    districts: Sequence[str] = (),
) -> Outcome:
    """Take one landed file all the way: a no-op, a loaded delivery, or a quarantined file.

    ``con`` is the warehouse connection of the ingest run (raw schema ensured); ``sha256``
    the file's hash when the caller has just taken it.
    """
    feed = contract.feed
    try:
        sha = sha256 or sha256_of(path)
    except OSError as error:
        return refuse(path, contract, unreadable(error), home=home, con=con, la_code=la_code)
    known = find_delivery(con, feed, sha)
    if known is not None:
        return duplicate(path, sha, known, contract, home)
    period = contract.period_from_file_name(path.name)
    # A feed sent by several partners names the sender in the file name.
    partner = contract.partner_from_file_name(path.name) or contract.partner
    shown = safe_file_name(path.name)
    record = DeliveryRecord(
        feed, partner, shown, sha, period, datetime.now(UTC).replace(tzinfo=None), la_code
    )
    try:
        if period is None:
            raise RejectedFile(
                [
                    Problem(
                        "file_name",
                        f"the file name {shown!r} is not one this feed takes, so its period is "
                        f"unknown: name it {contract.file_name_help}",
                    )
                ]
            )
        # A table of every authority (the MoJ's) must hold each district of the partnership.
        result = read_delivery(
            path,
            contract,
            period,
            pseudonymiser,
            la_code=tuple(districts) or la_code,
            partner=partner,
        )
    except RejectedFile as rejected:
        problems = rejected.problems
    except (MissingKeyError, KeyConfigError):
        raise  # the pipeline's configuration, not the file: stop, as before anything is read
    except Exception as error:  # noqa: BLE001 - one file that breaks the reader must not stop the build
        problems = [could_not_check(error)]
    else:
        problems = []
    if problems:
        summary = describe(problems)
        # Recorded first: if the move below is cut short, the rerun knows these bytes.
        delivery_id = record_rejection(con, record, summary)
        quarantine(home, path, feed, sha, problems, partner)
        return Outcome(
            feed,
            shown,
            sha,
            "rejected",
            delivery_id,
            period.label if period else None,
            reason=summary,
            problems=problems,
        )
    # Archived before it is loaded: every figure can be traced back to bytes we still hold.
    archive(home, feed, sha, path)
    delivery_id = load_delivery(con, record, contract, result.tables)
    return Outcome(feed, shown, sha, "loaded", delivery_id, period.label, result.row_count)


def could_not_check(error: Exception) -> Problem:
    """The problem of a file whose reading failed in a way no rule foresaw.

    Only the kind of error is named: an error's text can quote the file's contents.
    """
    if isinstance(error, MemoryError):
        what = "it needs more memory than the pipeline has"
    elif isinstance(error, OSError):
        what = f"it could not be read ({error.strerror or type(error).__name__})"
    else:
        what = f"the reader stopped on it ({type(error).__name__})"
    return Problem(
        "unreadable_file",
        f"the file could not be checked: {what}. Nothing of it was loaded; check that it is "
        "this feed's file, saved as agreed, and deliver it again",
    )


def duplicate(
    path: Path, sha: str, known: KnownDelivery, contract: FeedContract, home: Path
) -> Outcome:
    """A file whose bytes the manifest already holds: nothing to load."""
    shown = safe_file_name(path.name)
    if known.status == "rejected":
        # The same bad bytes again (or a quarantine cut short by a crash): still bad, and a
        # rejection of this run, whatever the name they came under this time.
        problem = Problem(
            "duplicate_rejected",
            f"identical to {known.file_name}, rejected earlier: {known.rejection_reason}",
        )
        quarantine(home, path, contract.feed, sha, [problem], contract.partner)
        return Outcome(
            contract.feed,
            shown,
            sha,
            "rejected",
            known.delivery_id,
            reason=problem.message,
            problems=[problem],
            duplicate_of=known.file_name,
        )
    return Outcome(
        contract.feed,
        shown,
        sha,
        "duplicate",
        known.delivery_id,
        reason=f"same bytes as {known.file_name} (delivery {known.delivery_id})",
        duplicate_of=known.file_name,
    )


def ingest_feed(
    feed: str,
    *,
    home: Path,
    warehouse: Path,
    pseudonymiser: Pseudonymiser,
    la_code: str,
    min_age_seconds: float = 0.0,
    files: Iterable[str] | None = None,
    districts: Sequence[str] = (),
) -> list[Outcome]:
    """Ingest the files waiting in ``home/landing/<feed>/`` (or just ``files``), in arrival order.

    A file modified less than ``min_age_seconds`` ago is waited for; one still changing after
    five minutes is left for the next run. One warehouse connection serves the run; the home
    lock keeps other writers out. Several files of a plain UTF-8 CSV feed are taken in bulk
    (``ingest.bulk``: a chunk of good files per transaction), otherwise each delivery is its
    own transaction.
    """
    contract = contract_for(feed)
    outcomes, broken_archives = unpack_landed_archives(home / "landing", contract)
    scan = scan_landing(home / "landing", contract)
    waiting = [p for p in scan.files if p not in {u.archive for u in broken_archives}]
    refused = scan.refused
    if files is not None:
        wanted = set(files)
        waiting = [p for p in waiting if p.name in wanted]
        refused = [(p, kind) for p, kind in refused if p.name in wanted]
    stable = []
    for path in waiting:
        if wait_until_stable(path, min_age_seconds):
            stable.append(path)
        else:
            outcomes.append(
                Outcome(
                    feed,
                    path.name,
                    "",
                    "waiting",
                    reason="still being written; taken at the next run",
                )
            )
    hashes = LandedHashes.of_feed(home, feed)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        outcomes += [
            refuse(path, contract, not_a_file(kind), home=home, con=con, la_code=la_code)
            for path, kind in refused
        ]
        outcomes += [
            refuse(u.archive, contract, u.problem, home=home, con=con, la_code=la_code)
            for u in broken_archives
            if u.problem is not None
        ]
        if takes_bulk(contract) and len(stable) > 1:
            outcomes += ingest_in_bulk(
                stable,
                contract,
                home=home,
                con=con,
                pseudonymiser=pseudonymiser,
                la_code=la_code,
                hash_of=hashes.sha256,
            )
            # Arrow keeps freed buffers for reuse; the dbt build that follows needs the memory.
            pa.default_memory_pool().release_unused()
        else:
            outcomes += [
                ingest_file(
                    path,
                    contract,
                    home=home,
                    con=con,
                    pseudonymiser=pseudonymiser,
                    la_code=la_code,
                    sha256=hash_or_none(hashes.sha256, path),
                    districts=districts,
                )
                for path in stable
            ]
    hashes.save()
    return outcomes


def unpack_landed_archives(
    landing: Path, contract: FeedContract
) -> tuple[list[Outcome], list[Unpacked]]:
    """Unpack every zip archive waiting in a feed's folder that takes them (``archives``).

    Returns an ``unpacked`` outcome per archive unpacked, and the archives that could not be
    (the caller quarantines them with their problem).
    """
    folder = landing / contract.feed
    if not takes_archives(contract) or not folder.is_dir():
        return [], []
    outcomes, broken = [], []
    for path in scan_landing(landing, contract).files:
        if not is_archive(path):
            continue
        unpacked = unpack_archive(path, contract)
        if unpacked.problem is not None:
            broken.append(unpacked)
            continue
        outcomes.append(
            Outcome(
                contract.feed, safe_file_name(path.name), "", "unpacked", reason=unpacked.summary
            )
        )
    return outcomes, broken


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
        archive(home, feed, item.sha256, item.path)

    def one(path: Path, sha: str) -> None:
        outcomes[path] = ingest_file(
            path,
            contract,
            home=home,
            con=con,
            pseudonymiser=pseudonymiser,
            la_code=la_code,
            sha256=sha,
        )

    def flush() -> None:
        for chunk in chunks(pending, chunk_bytes):
            try:
                loaded, alone = bulk_chunk(
                    chunk,
                    contract,
                    con=con,
                    pseudonymiser=pseudonymiser,
                    la_code=la_code,
                    archive=keep,
                )
            except (MissingKeyError, KeyConfigError):
                raise
            except Exception:  # noqa: BLE001 - bulk is only a faster way: take each file alone
                # Its load is one transaction, so nothing of the chunk is in the warehouse;
                # alone, a file that breaks the reader is quarantined with a reason.
                loaded, alone = [], list(chunk)
            for item, delivery_id, rows in loaded:
                outcomes[item.path] = Outcome(
                    feed,
                    item.path.name,
                    item.sha256,
                    "loaded",
                    delivery_id,
                    item.record.period.label,
                    rows,
                    in_bulk=True,
                )
            for item in alone:
                one(item.path, item.sha256)
        pending.clear()

    # Most landed files were loaded by an earlier run: known from one query, hashed once.
    known_before = known_deliveries(con, feed)

    def examine(path: Path) -> tuple[str | None, Candidate | None]:
        sha = hash_or_none(hash_of, path)
        if sha is None or sha in known_before:
            return sha, None
        try:
            return sha, candidate(path, sha, contract, la_code)
        except Exception:  # noqa: BLE001 - taken alone, where its error quarantines it
            return sha, None

    warming: list[threading.Thread] = []

    def warm_suite() -> None:
        # GX's import and the suite take about 5 s: built while the files are hashed and the
        # first chunk read, rather than waited for in the first chunk.
        if warming:
            return
        warming.append(
            threading.Thread(
                target=prepare_bulk_suite,
                args=(contract, contract.tables[0]),
                daemon=True,
                name="csp-suite-warm-up",
            )
        )
        warming[0].start()

    taken: set[str] = set()  # the bytes of this run's files so far
    # Files are hashed and their layout checked two at a time, ahead of the loop: both read
    # every byte, and reading and hashing release the GIL (a medium backlog: 5.6 s to 1.7 s).
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        for path, (sha, item) in zip(paths, pool.map(examine, paths), strict=True):
            if sha is None:  # unreadable: taken alone, and refused with its reason
                flush()
                outcomes[path] = ingest_file(
                    path, contract, home=home, con=con, pseudonymiser=pseudonymiser, la_code=la_code
                )
                continue
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
        lines.append(
            (
                "warning" if outcome.action == "rejected" else "info",
                f"{feed}: {outcome.file_name} {outcome.action}"
                + (f" ({outcome.reason})" if outcome.reason else "")
                + (f", {outcome.rows} rows" if outcome.rows else ""),
            )
        )
    if left:
        lines.append(("info", f"{feed}: {left} file(s) in landing already loaded"))
    return lines


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Counts of outcomes by action."""
    counts: dict[str, int] = {"loaded": 0, "duplicate": 0, "rejected": 0, "waiting": 0}
    for outcome in outcomes:
        # ``unpacked`` (an archive opened into its files) is counted only where there was one.
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts
