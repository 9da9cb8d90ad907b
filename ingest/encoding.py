"""The bytes of a delivered text file: byte-order mark, encoding, line breaks, completeness.

Checked a chunk at a time before anything parses the file, so that a file saved the wrong way
(another encoding, a stray or missing byte-order mark, old Mac line breaks), garbled by an
earlier re-save, cut short, or not text at all is named as such rather than misread. Also
gives DuckDB, which reads only UTF-8, a UTF-8 copy of a file sent in another encoding.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.contracts import FeedContract
from core.problems import RejectedFile, reject
from ingest.headers import HEADER_SEARCH_ROWS
from ingest.limits import MAX_LINE_BYTES, MAX_ROWS

UTF8_BOM = codecs.BOM_UTF8
# A run of characters that is UTF-8 read as Windows-1252 ("JosÃ©" for "José", "â€™" for "’").
MOJIBAKE = re.compile("[\u00c2\u00c3][^\x00-\x7f]|\u00e2[^\x00-\x7f]{2}")


def _mojibake(text: str) -> tuple[str, str] | None:
    """The first run of ``text`` that is UTF-8 misread as Windows-1252, and what it should say."""
    # Every such run starts with one of three letters; str.find is far faster than the regex.
    if not any(lead in text for lead in "\u00c2\u00c3\u00e2"):
        return None
    for match in MOJIBAKE.finditer(text):
        try:
            meant = match.group().encode("cp1252").decode("utf-8")
        except UnicodeError:
            continue
        return match.group(), meant
    return None


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8 with at least one non-ASCII character."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()


def _saved_as_utf8(contract: FeedContract) -> RejectedFile:
    return reject(
        "encoding",
        f"the file is saved as UTF-8, but this feed is sent in {contract.encoding} "
        "(Windows-1252): its accented letters and symbols would load garbled (e.g. "
        "'é' as 'Ã©'); export it again as Windows-1252 ('CSV', not 'CSV UTF-8')",
    )


def check_encoding(path: Path, contract: FeedContract) -> str:
    """Check the byte-order mark, decodability and completeness; return the codec to read with.

    Also catches the ways a re-saved file goes wrong without failing to decode: a file meant
    to be Windows-1252 saved as UTF-8, text that was UTF-8 read as Windows-1252 and saved
    again (mojibake), a file of nothing but blank lines, and a file cut off mid-line.
    """
    with path.open("rb") as handle:
        head = handle.read(len(UTF8_BOM) * 2)
    if not head:
        raise reject("empty_file", "the file is empty (0 bytes)")
    has_bom = head.startswith(UTF8_BOM)
    if contract.byte_order_mark == "required" and not has_bom:
        raise reject(
            "byte_order_mark",
            "the file has no UTF-8 byte-order mark; this extract is saved from Excel as "
            "'CSV UTF-8' and always starts with one",
        )
    if head.startswith(UTF8_BOM * 2):
        raise reject("byte_order_mark", "the file starts with two byte-order marks")
    if contract.byte_order_mark == "forbidden" and has_bom:
        raise reject(
            "byte_order_mark",
            f"the file starts with a UTF-8 byte-order mark, but this feed is sent in "
            f"{contract.encoding}",
        )
    codec = "utf-8-sig" if contract.encoding == "utf-8" else contract.encoding or "utf-8"
    single_byte = codec not in ("utf-8", "utf-8-sig")
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    # For a single-byte feed: does the file also read as UTF-8 (with non-ASCII in it)?
    utf8_probe = codecs.getincrementaldecoder("utf-8")(errors="strict")
    utf8_ok, non_ascii, has_content = True, False, False
    line_no, offset, carry, last = 1, 0, "", b""
    line_length, saw_cr = 0, False  # bytes of the current line so far; any CR in the file
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            saw_cr = saw_cr or b"\r" in chunk
            line_length = _check_line_lengths(chunk, line_length, line_no, saw_cr)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_at = offset + error.start
                if single_byte and _is_utf8(path):
                    raise _saved_as_utf8(contract) from None
                raise reject(
                    "encoding",
                    f"the file is not valid {contract.encoding}: byte 0x{chunk[error.start]:02x} "
                    f"at byte offset {bad_at} (about line {line_no})",
                    row_count=1,
                    examples=[{"byte_offset": bad_at}],
                ) from None
            if "\x00" in text:
                raise reject("nul_bytes", "the file contains NUL bytes (a binary or damaged file)")
            if single_byte:
                non_ascii = non_ascii or not chunk.isascii()
                if utf8_ok:
                    try:
                        utf8_probe.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
            elif not chunk.isascii():
                found = _mojibake(carry + text)
                if found:
                    raise reject(
                        "mojibake",
                        f"the file holds garbled characters such as {found[0]!r} (about line "
                        f"{line_no}), which is {found[1]!r} after being read with the wrong "
                        "encoding and saved again; export the file afresh from the source "
                        "system as UTF-8",
                        row_count=1,
                        examples=[{"line": line_no, "found": found[0], "meant": found[1]}],
                    )
            if not single_byte:
                carry = text[-2:]
            has_content = has_content or bool(text.strip())
            line_no += text.count("\n")
            if line_no > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise reject(
                    "too_many_rows",
                    f"the file has more than {MAX_ROWS:,} lines, more than any delivery of "
                    "this feed could hold: send one period per file",
                )
            offset += len(chunk)
            last = chunk[-1:]
    if single_byte and non_ascii and utf8_ok:
        try:
            utf8_probe.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
        if utf8_ok:
            raise _saved_as_utf8(contract)
    if not has_content:
        raise reject("empty_file", "the file holds no header and no data, only blank lines")
    if saw_cr and line_no == 1:
        raise _cr_line_endings()
    if contract.ends_with_newline and last != b"\n":
        raise reject(
            "truncated",
            f"the file ends part-way through line {line_no} (the last line has no line break): "
            "it looks cut short, e.g. an upload that did not finish; send the whole file again",
            row_count=1,
            examples=[{"line": line_no}],
        )
    return codec


def _cr_line_endings() -> RejectedFile:
    return reject(
        "line_endings",
        "the lines of the file end with a carriage return alone (the old Mac format), which "
        "is not a line break to a CSV reader: save it again as CSV with Windows (CR LF) or "
        "Unix (LF) line endings",
    )


def line_endings(path: Path) -> tuple[int, int]:
    """How many line breaks of the file are CR LF, and how many LF alone."""
    crlf = lf = 0
    ended_with_cr = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            crlf += chunk.count(b"\r\n") + (ended_with_cr and chunk.startswith(b"\n"))
            lf += chunk.count(b"\n")
            ended_with_cr = chunk.endswith(b"\r")
    return crlf, lf - crlf


def _check_line_lengths(chunk: bytes, carried: int, line_no: int, saw_cr: bool) -> int:
    """Refuse a line longer than ``MAX_LINE_BYTES``; return the length of the chunk's last line.

    A chunk is ``MAX_LINE_BYTES`` long, so a line too long always runs across a chunk's end:
    only the line carried over from earlier chunks needs counting.
    """
    first = chunk.find(b"\n")
    if first == -1:
        carried += len(chunk)
    elif carried + first <= MAX_LINE_BYTES:
        return len(chunk) - chunk.rfind(b"\n") - 1
    if carried > MAX_LINE_BYTES or first != -1:
        if saw_cr and line_no == 1:
            raise _cr_line_endings()
        raise line_too_long(line_no)
    return carried


@contextmanager
def utf8_copy(path: Path, codec: str) -> Iterator[Path]:
    """A UTF-8 view of the file for DuckDB, which reads only UTF-8 without extensions."""
    if codec in ("utf-8", "utf-8-sig"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="csp-") as tmp:
        target = Path(tmp) / path.name
        with (
            path.open("r", encoding=codec, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        yield target


def line_too_long(line_no: int) -> RejectedFile:
    """The rejection of a file whose line ``line_no`` is longer than any row of a feed."""
    return reject(
        "line_too_long",
        f"line {line_no} is longer than {MAX_LINE_BYTES:,} characters, far more than any row "
        "of this feed: the file is damaged, is not this feed's CSV, or its line breaks were "
        "lost",
        row_count=1,
        examples=[{"line": line_no}],
    )
