"""Words for what a partner sent, without repeating it: landing is untrusted.

Two kinds of text from a delivered file reach messages, logs, alerts, the manifest and
Dagster's storage: its *name*, and cells the contract does not know (a header cell that is not
an agreed column name, a title row that says the wrong thing). Neither may be quoted as it is:

* a header row that is really the first record (a file sent without its header) holds a
  client's ID, date of birth, name and address, so an unrecognised cell is *described*
  (position, length, kinds of character), never repeated (SECURITY.md);
* a file name is chosen by whoever can write to landing: control characters and terminal
  escapes in it would forge console and log lines, and a very long one breaks the file
  names derived from it, so it is made printable and bounded before it is shown anywhere.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Long enough for any real delivery's name (the longest agreed pattern is about 45).
MAX_SHOWN_NAME = 120
ELLIPSIS = "…"
# Bytes of a shown name: the quarantine stores files under it, with a SHA-256 prefix and
# ".reason.json.partial" added, and Linux allows 255 bytes in a name.
MAX_NAME_BYTES = 160


def _character_classes(text: str) -> list[str]:
    classes = []
    if any(c.isalpha() for c in text):
        classes.append("letters")
    if any(c.isdigit() for c in text):
        classes.append("digits")
    if any(c.isspace() for c in text):
        classes.append("spaces")
    if any(not (c.isalpha() or c.isdigit() or c.isspace()) for c in text):
        classes.append("other characters")
    return classes


def describe_text(value: Any) -> str:
    """A cell described, not quoted: ``'blank'`` or ``'14 characters: letters and spaces'``."""
    text = "" if value is None else str(value)
    if not text.strip():
        return "blank"
    classes = _character_classes(text)
    kinds = ", ".join(classes[:-1]) + (" and " if len(classes) > 1 else "") + classes[-1]
    return f"{len(text)} character{'s' if len(text) != 1 else ''}: {kinds}"


def describe_cells(values: list[Any], known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Each cell of a header row: an agreed column name as it is, anything else described."""
    return [
        repr(v) if v in known else f"column {i} ({describe_text(v)})"
        for i, v in enumerate(values, start=1)
    ]


def _printable(character: str) -> bool:
    # Cc: control characters (newline, ESC of terminal sequences); Cf: format characters
    # (right-to-left overrides that reorder what a reader sees); Zl, Zp: line separators.
    return unicodedata.category(character) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def safe_file_name(name: str, limit: int = MAX_SHOWN_NAME) -> str:
    """A file name fit to print, log, store or put in a CSV cell: one line, bounded.

    Each unprintable character becomes ``?``; a name longer than ``limit`` characters (or
    ``MAX_NAME_BYTES`` bytes in UTF-8) keeps its start and its extension with ``…`` between.
    Names of real deliveries come out unchanged.
    """
    shown = "".join(c if _printable(c) else "?" for c in name)
    if len(shown) <= limit and len(shown.encode("utf-8")) <= MAX_NAME_BYTES:
        return shown
    dot = shown.rfind(".")
    suffix = shown[dot:] if 0 < dot and len(shown) - dot <= 10 else ""
    head = shown[: limit - len(suffix) - 1]
    while len((head + ELLIPSIS + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        head = head[:-1]
    return head + ELLIPSIS + suffix
