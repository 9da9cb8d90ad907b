"""Zip archives dropped in a feed's landing folder, unpacked into the files the feed takes.

data.police.uk's archive download is a zip of ``YYYY-MM/YYYY-MM-<force>-<kind>.csv`` for each
month and force chosen. A user drops it as it comes; the entries the feed takes (its file-name
pattern: the street files) are written beside it as ordinary landed files, each then checked
and loaded as if downloaded alone, and every other entry (outcomes, stop and search) is listed
as ignored. The zip itself is removed once unpacked: its bytes that matter are archived entry
by entry, like any delivery.

Landing is untrusted (SECURITY.md): an entry's folder is never used (only its last name part,
which must match the feed's pattern, so no entry can write outside the folder), entries are
read as bytes (a link stored in a zip is never made), and sizes are counted as bytes are
written, not trusted from the zip's own directory.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.contracts import FeedContract
from core.problems import Problem
from ingest.limits import MAX_ARCHIVE_ENTRIES, MAX_ARCHIVE_ENTRY_BYTES
from ingest.private import create_private
from ingest.redaction import safe_file_name


@dataclass
class Unpacked:
    """What one archive gave: the entries taken, those ignored, or why it could not be read."""

    archive: Path
    taken: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    already_waiting: list[str] = field(default_factory=list)
    problem: Problem | None = None

    @property
    def summary(self) -> str:
        """One line for the build's output and the run's log."""
        parts = [f"{len(self.taken)} file(s) taken"]
        if self.already_waiting:
            parts.append(
                f"{len(self.already_waiting)} already waiting in landing, left as they were"
            )
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (", ..." if len(self.ignored) > 5 else "")
            parts.append(f"{len(self.ignored)} ignored, not taken by this feed ({shown})")
        return "; ".join(parts)


def takes_archives(contract: FeedContract) -> bool:
    """Whether the feed's landing folder takes zip archives (``archives: zip``)."""
    return contract.extra.get("archives") == "zip"


def is_archive(path: Path) -> bool:
    """A file named like a zip archive."""
    return path.name.lower().endswith(".zip")


def _entry_name(info: zipfile.ZipInfo) -> str:
    return PurePosixPath(info.filename.replace("\\", "/")).name


def _too_big(name: str) -> Problem:
    return Problem(
        "archive_too_big",
        f"the entry {name!r} of the archive unpacks to more than "
        f"{MAX_ARCHIVE_ENTRY_BYTES // 2**20:,} MiB, more than any month of a "
        "force could hold: download the months again",
    )


def _write_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one entry to ``target`` through a ``.partial`` file, counting its bytes."""
    partial = target.with_name(target.name + ".partial")
    written = 0
    try:
        with archive.open(info) as source, create_private(partial) as sink:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > MAX_ARCHIVE_ENTRY_BYTES:
                    raise _ArchiveRefused(_too_big(safe_file_name(info.filename)))
                sink.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


class _ArchiveRefused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def unpack_archive(path: Path, contract: FeedContract) -> Unpacked:
    """Write the entries of ``path`` that the feed takes beside it, then remove the archive.

    A damaged archive, or one too large to be a download, is left where it is with the
    problem set (the caller quarantines it); nothing of it is left half-written.
    """
    result = Unpacked(path)
    folder = path.parent
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ARCHIVE_ENTRIES:
                raise _ArchiveRefused(
                    Problem(
                        "archive_too_big",
                        f"the archive holds {len(infos):,} entries, more than "
                        f"the {MAX_ARCHIVE_ENTRIES:,} a download of many years of every force "
                        "holds",
                    )
                )
            wanted = []
            for info in infos:
                name = _entry_name(info)
                if info.is_dir() or not name:
                    continue
                if contract.period_from_file_name(name) is None:
                    result.ignored.append(safe_file_name(name))
                elif (folder / name).exists():
                    result.already_waiting.append(name)
                else:
                    wanted.append((info, name))
            written: list[Path] = []
            try:
                for info, name in wanted:
                    _write_entry(archive, info, folder / name)
                    written.append(folder / name)
            except BaseException:
                # All or nothing: an archive that breaks part-way leaves no entry behind.
                for done in written:
                    done.unlink(missing_ok=True)
                raise
            result.taken = [name for _, name in wanted]
    except _ArchiveRefused as refused:
        result.problem = refused.problem
        return result
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as error:
        # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression.
        result.problem = Problem(
            "archive_unreadable",
            "the file is named like a zip archive but could not be unpacked "
            f"({type(error).__name__}): download it again",
        )
        return result
    os.unlink(path)
    return result
