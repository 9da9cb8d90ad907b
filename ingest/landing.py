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
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.contracts import FeedContract, all_contracts, contract_for
from core.problems import Problem, RejectedFile
from ingest.archives import Unpacked, is_archive, takes_archives, unpack_archive
from ingest.bulk import (
    CHUNK_BYTES,
    Candidate,
    bulk_chunk,
    candidate,
    chunks,
    takes_bulk,
)
from ingest.private import create_private, make_private, private_folder
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

# Files a partner's copy tool leaves while still writing, and editor lock files.
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


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
            "feed": self.feed, "file": self.file_name, "sha256": self.sha256,
            "action": self.action, "delivery_id": self.delivery_id, "period": self.period,
            "rows": self.rows, "reason": self.reason,
        }


def sha256_of(path: Path) -> str:
    """The delivery's identity: SHA-256 of its bytes, read in chunks."""
    digest = hashlib.sha256()
    # O_NOFOLLOW: a file swapped for a link since it was listed is refused, not followed.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
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


def entry_kind(path: Path) -> str | None:
    """None for a regular file; otherwise what the landing entry is, in words.

    Decided on the entry itself (``lstat``), never on what a link points at: a link named
    like a delivery could point at a key file or ``/proc/self/environ`` (SECURITY.md).
    """
    return _kind_of(path.lstat().st_mode)


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


@dataclass(frozen=True)
class LandingScan:
    """What waits in ``landing/<feed>/``, each list in arrival order (modification time, then
    name)."""

    files: list[Path]  # regular files: the deliveries to read
    refused: list[tuple[Path, str]]  # entries refused unread, with what each is


def scan_landing(landing: Path, contract: FeedContract) -> LandingScan:
    """One look at a feed's landing folder: its regular files, and the entries refused unread.

    Files still being written and editor lock files are left out. Links, pipes, sockets and
    devices are refused whatever their name; a folder only when it is named like one of the
    feed's files (partners may keep other folders there). Each entry is examined once,
    without following it.
    """
    folder = landing / contract.feed
    if not folder.is_dir():
        return LandingScan([], [])
    files: list[tuple[int, str, Path]] = []
    refused: list[tuple[int, str, Path, str]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(IGNORED_PREFIXES) or entry.name.endswith(IGNORED_SUFFIXES):
                continue
            st = entry.stat(follow_symlinks=False)
            kind = _kind_of(st.st_mode)
            if kind is None:
                files.append((st.st_mtime_ns, entry.name, Path(entry.path)))
            elif kind != "a folder" or _named_like_delivery(entry.name, contract):
                refused.append((st.st_mtime_ns, entry.name, Path(entry.path), kind))
    return LandingScan([path for *_, path in sorted(files)],
                       [(path, kind) for *_, path, kind in sorted(refused)])


def unowned_entries(landing: Path) -> list[str]:
    """Names of what waits in ``landing`` where no feed looks: a file at its top, or a folder
    no feed owns (with the files in it). Never read; named so that nothing is ignored without
    a word (the build's output and ``csp status`` list them)."""
    feeds = set(all_contracts())
    found: list[str] = []
    try:
        entries = sorted(os.scandir(landing), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(IGNORED_PREFIXES) or entry.name in feeds:
            continue
        shown = safe_file_name(entry.name)
        if entry.is_dir(follow_symlinks=False):
            try:
                inside = sorted(e.name for e in os.scandir(entry.path)
                                if not e.name.startswith(IGNORED_PREFIXES))
            except OSError:
                inside = []
            found += [f"{shown}/{safe_file_name(name)}" for name in inside] or [f"{shown}/"]
        else:
            found.append(shown)
    return found


def unowned_message(landing: Path, names: list[str]) -> str | None:
    """One paragraph naming the files no feed takes, and where each feed's files go."""
    if not names:
        return None
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (f"Not taken: {len(names)} file(s) in {landing} are where no feed looks ({shown}). "
            f"Each feed takes files from its own folder, {landing}/<feed>/: "
            + "; ".join(f"{c.feed}/ ({c.file_name_help})" for c in all_contracts().values()))


def landed_files(landing: Path, feed: str) -> list[Path]:
    """Regular files waiting in ``landing/<feed>/`` in arrival order (modification time, then
    name); links, pipes, devices and folders are never among them."""
    return scan_landing(landing, contract_for(feed)).files


def _named_like_delivery(name: str, contract: FeedContract) -> bool:
    extension = "." + contract.format
    return (contract.period_from_file_name(name) is not None
            or name.lower().endswith(extension))


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy so that ``target`` either is absent or holds every byte (rename is atomic).

    The copy is owner-only from its first byte: archived and quarantined files hold personal
    data in clear (SECURITY.md).
    """
    partial = target.with_name(target.name + ".partial")
    with os.fdopen(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as src, \
            create_private(partial) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    partial.replace(target)


def archive_path(home: Path, feed: str, sha256: str, source: Path) -> Path:
    """Where a good delivery is kept for ever: named by its bytes, so never overwritten."""
    return home / "archive" / feed / f"{sha256}{source.suffix.lower()}"


def archive(home: Path, feed: str, sha256: str, source: Path) -> None:
    """Keep a good delivery's bytes before it is loaded, owner-only."""
    target = archive_path(home, feed, sha256, source)
    private_folder(target.parent, home / "archive")
    _copy_atomically(source, target)


def is_archived(home: Path, feed: str, sha256: str) -> bool:
    """Whether these bytes were already accepted (archived) for the feed.

    Lets the sensor skip delivered files without opening the DuckDB file, which a running
    build holds. A crash between archiving and loading is healed by the next full build,
    which checks the manifest itself.
    """
    return any((home / "archive" / feed).glob(f"{sha256}.*"))


def _reason_sha(reason_path: Path) -> str | None:
    try:
        return json.loads(reason_path.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None


def quarantine_target(folder: Path, file_name: str, sha256: str) -> Path:
    """Where a rejected delivery goes in ``quarantine/<feed>/``: never over another one.

    The name as shown everywhere (``safe_file_name``); then, if that place holds other bytes or
    would clash with the folder's reason files, the name with the first 12 hex digits of the
    SHA-256 before its extension. The place already holding these very bytes (a quarantine
    cut short and repeated) is reused.
    """
    name = safe_file_name(file_name)
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, dot + suffix) if dot and stem else (name, "")
    clashes = name == "reason.json" or name.endswith(".reason.json")
    candidates = [] if clashes else [name]
    candidates += [f"{stem}.{sha256[:12]}{suffix}"]
    candidates += [f"{stem}.{sha256[:12]}.{n}{suffix}" for n in range(2, 100)]
    for candidate in candidates:
        target = folder / candidate
        reason = folder / f"{candidate}.reason.json"
        taken = os.path.lexists(target) or reason.exists()
        if not taken or _reason_sha(reason) == sha256:
            return target
    raise FileExistsError(f"no free name in {folder} for {name}")


def _write_reason(target: Path, reason: dict[str, Any]) -> None:
    """``<target>.reason.json``, and the folder's ``reason.json`` (the latest rejection)."""
    text = json.dumps(reason, indent=2, default=str)
    for path in (target.with_name(target.name + ".reason.json"), target.parent / "reason.json"):
        partial = path.with_name(path.name + ".partial")
        with create_private(partial) as handle:
            handle.write(text.encode("utf-8"))
        partial.replace(path)


def _move_out_of_landing(source: Path, target: Path) -> None:
    """Move a rejected entry into quarantine without reading it where a rename can.

    A rename never reads the bytes (so an unreadable file moves too) and never follows a link;
    across file systems the bytes are copied, then the landing copy removed.
    """
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != getattr(os, "EXDEV", 18):
            raise
        _copy_atomically(source, target)
        source.unlink()
    kind = entry_kind(target)
    if kind is None:
        make_private(target)
    elif kind == "a folder":
        private_folder(target, target)


def _quarantine_folder(home: Path, feed: str) -> Path:
    """``quarantine/<feed>/``, created owner-only: rejected files hold personal data."""
    return private_folder(home / "quarantine" / feed, home / "quarantine")


def quarantine(home: Path, source: Path, feed: str, sha256: str, problems: list[Problem],
               partner: str) -> Path:
    """Move a rejected file out of landing, with a reason.json a partner can act on.

    Safe to repeat (a crash may interrupt it): the same bytes are never quarantined twice and
    their first reason is kept; other bytes never overwrite a quarantined file.
    """
    folder = _quarantine_folder(home, feed)
    target = quarantine_target(folder, source.name, sha256)
    if not os.path.lexists(target):
        _write_reason(target, _reason(source.name, feed, partner, sha256, problems))
        _move_out_of_landing(source, target)
    else:
        source.unlink(missing_ok=True)
    return target


def _reason(file_name: str, feed: str, partner: str | None, sha256: str,
            problems: list[Problem]) -> dict[str, Any]:
    return {
        "file": safe_file_name(file_name),
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


def entry_identity(path: Path) -> str:
    """A stand-in for the SHA-256 of an entry whose bytes cannot or must not be read.

    Stable while the entry is unchanged, so an entry that could not even be moved is recorded
    and alerted once, not at every run; prefixed so it can never equal a real SHA-256.
    """
    st = path.lstat()
    seed = f"{path.name}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}"
    return "unread-" + hashlib.sha256(seed.encode("utf-8", "surrogateescape")).hexdigest()[:57]


def refuse(path: Path, contract: FeedContract, problem: Problem, *, home: Path, con: Any,
           la_code: str) -> Outcome:
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
        record = DeliveryRecord(feed, partner, shown, identity, None,
                                datetime.now(timezone.utc).replace(tzinfo=None), la_code)
        record_rejection(con, record, reason)
    try:
        target = quarantine_target(_quarantine_folder(home, feed), path.name, identity)
        _write_reason(target, _reason(path.name, feed, partner, identity, [problem]))
        if entry_kind(path) in (None, "a folder"):
            _move_out_of_landing(path, target)
        else:
            path.unlink()
    except OSError as error:
        reason += (f" It could not be taken out of landing either ({error.strerror}): "
                   "remove it by hand.")
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
    record = DeliveryRecord(feed, partner, shown, sha, period,
                            datetime.now(timezone.utc).replace(tzinfo=None), la_code)
    try:
        if period is None:
            raise RejectedFile([Problem(
                "file_name",
                f"the file name {shown!r} is not one this feed takes, so its period is "
                f"unknown: name it {contract.file_name_help}",
            )])
        # A table of every authority (the MoJ's) must hold each district of the partnership.
        result = read_delivery(path, contract, period, pseudonymiser,
                               la_code=tuple(districts) or la_code,
                               partner=partner)
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
        return Outcome(feed, shown, sha, "rejected", delivery_id,
                       period.label if period else None, reason=summary, problems=problems)
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


def duplicate(path: Path, sha: str, known: KnownDelivery, contract: FeedContract,
              home: Path) -> Outcome:
    """A file whose bytes the manifest already holds: nothing to load."""
    shown = safe_file_name(path.name)
    if known.status == "rejected":
        # The same bad bytes again (or a quarantine cut short by a crash): still bad, and a
        # rejection of this run, whatever the name they came under this time.
        problem = Problem(
            "duplicate_rejected",
            f"identical to {known.file_name}, rejected earlier: {known.rejection_reason}")
        quarantine(home, path, contract.feed, sha, [problem], contract.partner)
        return Outcome(contract.feed, shown, sha, "rejected", known.delivery_id,
                       reason=problem.message, problems=[problem],
                       duplicate_of=known.file_name)
    return Outcome(contract.feed, shown, sha, "duplicate", known.delivery_id,
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
            outcomes.append(Outcome(feed, path.name, "", "waiting",
                                    reason="still being written; taken at the next run"))
    hashes = LandedHashes.of_feed(home, feed)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        outcomes += [refuse(path, contract, not_a_file(kind), home=home, con=con,
                            la_code=la_code) for path, kind in refused]
        outcomes += [refuse(u.archive, contract, u.problem, home=home, con=con, la_code=la_code)
                     for u in broken_archives if u.problem is not None]
        if takes_bulk(contract) and len(stable) > 1:
            outcomes += ingest_in_bulk(stable, contract, home=home, con=con,
                                       pseudonymiser=pseudonymiser, la_code=la_code,
                                       hash_of=hashes.sha256)
            # Arrow keeps freed buffers for reuse; the dbt build that follows needs the memory.
            pa.default_memory_pool().release_unused()
        else:
            outcomes += [ingest_file(path, contract, home=home, con=con,
                                     pseudonymiser=pseudonymiser, la_code=la_code,
                                     sha256=hash_or_none(hashes.sha256, path),
                                     districts=districts)
                         for path in stable]
    hashes.save()
    return outcomes


def unpack_landed_archives(landing: Path, contract: FeedContract
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
        outcomes.append(Outcome(contract.feed, safe_file_name(path.name), "", "unpacked",
                                reason=unpacked.summary))
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
        outcomes[path] = ingest_file(path, contract, home=home, con=con,
                                     pseudonymiser=pseudonymiser, la_code=la_code, sha256=sha)

    def flush() -> None:
        for chunk in chunks(pending, chunk_bytes):
            try:
                loaded, alone = bulk_chunk(chunk, contract, con=con,
                                           pseudonymiser=pseudonymiser, la_code=la_code,
                                           archive=keep)
            except (MissingKeyError, KeyConfigError):
                raise
            except Exception:  # noqa: BLE001 - bulk is only a faster way: take each file alone
                # Its load is one transaction, so nothing of the chunk is in the warehouse;
                # alone, a file that breaks the reader is quarantined with a reason.
                loaded, alone = [], list(chunk)
            for item, delivery_id, rows in loaded:
                outcomes[item.path] = Outcome(feed, item.path.name, item.sha256, "loaded",
                                              delivery_id, item.record.period.label, rows,
                                              in_bulk=True)
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
            if sha is None:  # unreadable: taken alone, and refused with its reason
                flush()
                outcomes[path] = ingest_file(path, contract, home=home, con=con,
                                             pseudonymiser=pseudonymiser, la_code=la_code)
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


def hash_or_none(hash_of: Callable[[Path], str], path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read (``ingest_file`` then refuses it)."""
    try:
        return hash_of(path)
    except OSError:
        return None


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
        # ``unpacked`` (an archive opened into its files) is counted only where there was one.
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts
