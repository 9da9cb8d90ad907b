"""What waits in a landing folder, whether it is still arriving, and what its bytes are.

A feed's folder is looked at once per run without following anything in it: regular files
are its deliveries, in arrival order; links, pipes, sockets and devices (and folders named
like a delivery) are refused unread; files still being copied and editor lock files are left
alone, and a file still changing is waited for. A delivery is known by the SHA-256 of its
bytes, remembered between runs for the files that stay in landing (``LandedHashes``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.contracts import FeedContract, all_contracts, contract_for
from ingest.redaction import safe_file_name

# Files a partner's copy tool leaves while still writing, and editor lock files.
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


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
    def of_feed(cls, home: Path, feed: str) -> LandedHashes:
        """The cache of one feed's landing folder (one file per feed: feeds are ingested
        separately, perhaps at once)."""
        return cls(home / "state" / "landed-hashes" / f"{feed}.json")

    def sha256(self, path: Path) -> str:
        """The file's SHA-256: remembered if the file is unchanged, else read and hashed."""
        before = path.stat()
        identity = [
            before.st_dev,
            before.st_ino,
            before.st_size,
            before.st_mtime_ns,
            before.st_ctime_ns,
        ]
        remembered = self._known.get(str(path))
        if remembered is not None and remembered[:5] == identity:
            with self._lock:  # ingest_in_bulk hashes from two threads
                self.hits += 1
            self._seen[str(path)] = remembered
            return remembered[5]
        sha = sha256_of(path)
        after = path.stat()
        if (
            after.st_ctime_ns == before.st_ctime_ns
            and time.time_ns() - after.st_ctime_ns > self.settle_ns
        ):
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
    return LandingScan(
        [path for *_, path in sorted(files)], [(path, kind) for *_, path, kind in sorted(refused)]
    )


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
                inside = sorted(
                    e.name
                    for e in os.scandir(entry.path)
                    if not e.name.startswith(IGNORED_PREFIXES)
                )
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
    return (
        f"Not taken: {len(names)} file(s) in {landing} are where no feed looks ({shown}). "
        f"Each feed takes files from its own folder, {landing}/<feed>/: "
        + "; ".join(f"{c.feed}/ ({c.file_name_help})" for c in all_contracts().values())
    )


def landed_files(landing: Path, feed: str) -> list[Path]:
    """Regular files waiting in ``landing/<feed>/`` in arrival order (modification time, then
    name); links, pipes, devices and folders are never among them."""
    return scan_landing(landing, contract_for(feed)).files


def _named_like_delivery(name: str, contract: FeedContract) -> bool:
    extension = "." + contract.format
    return contract.period_from_file_name(name) is not None or name.lower().endswith(extension)


def entry_identity(path: Path) -> str:
    """A stand-in for the SHA-256 of an entry whose bytes cannot or must not be read.

    Stable while the entry is unchanged, so an entry that could not even be moved is recorded
    and alerted once, not at every run; prefixed so it can never equal a real SHA-256.
    """
    st = path.lstat()
    seed = f"{path.name}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}"
    return "unread-" + hashlib.sha256(seed.encode("utf-8", "surrogateescape")).hexdigest()[:57]


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


def hash_or_none(hash_of: Callable[[Path], str], path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read (``ingest_file`` then refuses it)."""
    try:
        return hash_of(path)
    except OSError:
        return None
