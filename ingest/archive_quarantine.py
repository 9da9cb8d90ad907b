"""Where a landed file's bytes go: a good delivery to the archive, a rejected one to quarantine.

``archive/<feed>/<sha>.<ext>`` keeps every accepted delivery for ever, copied *before* it is
loaded, so every figure can be traced back to bytes still held. ``quarantine/<feed>/<file>``
takes a rejected file out of landing, with a ``reason.json`` beside it a partner can act on.
Both are owner-only from their first byte: they hold personal data in clear (SECURITY.md).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.problems import Problem
from ingest.arrivals import entry_kind
from ingest.private import create_private, make_private, private_folder
from ingest.readers import describe
from ingest.redaction import safe_file_name


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy so that ``target`` either is absent or holds every byte (rename is atomic).

    The copy is owner-only from its first byte: archived and quarantined files hold personal
    data in clear (SECURITY.md).
    """
    partial = target.with_name(target.name + ".partial")
    with (
        os.fdopen(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as src,
        create_private(partial) as dst,
    ):
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
    for choice in candidates:
        target = folder / choice
        reason = folder / f"{choice}.reason.json"
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


def quarantine(
    home: Path, source: Path, feed: str, sha256: str, problems: list[Problem], partner: str
) -> Path:
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


def quarantine_unread(
    home: Path, path: Path, feed: str, partner: str | None, identity: str, problem: Problem
) -> None:
    """Quarantine's side of ``landing.refuse``: the reason written, then the entry moved in,
    or removed where it holds no bytes of its own. ``identity`` stands in for its SHA-256."""
    target = quarantine_target(_quarantine_folder(home, feed), path.name, identity)
    _write_reason(target, _reason(path.name, feed, partner, identity, [problem]))
    if entry_kind(path) in (None, "a folder"):
        _move_out_of_landing(path, target)
    else:
        path.unlink()


def _reason(
    file_name: str, feed: str, partner: str | None, sha256: str, problems: list[Problem]
) -> dict[str, Any]:
    return {
        "file": safe_file_name(file_name),
        "feed": feed,
        "partner": partner,
        "sha256": sha256,
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rule": problems[0].rule,
        "message": problems[0].message,
        "summary": describe(problems),
        "problems": [p.as_dict() for p in problems],
        "what_to_do": "Correct the file and drop it in the landing folder again; nothing "
        "from this file has been loaded.",
    }


def quarantine_reasons(home: Path) -> dict[str, str]:
    """file name -> one-line reason, read back from the reason.json files in quarantine/
    (what ``_reason`` wrote): ``csp status`` shows each feed's latest rejection with it."""
    reasons: dict[str, str] = {}
    for path in sorted((home / "quarantine").glob("*/*.reason.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        reasons[data.get("file", path.name)] = data.get("message", "")
    return reasons
