"""What the feeds' generators share: months, the seasonal curve, how dates and flags are
written, and workbooks that are the same bytes on every run."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl

from core.periods import calendar_month, first_of_month, quarter_containing


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s to ``last``'s, in order."""
    out, m = [], first_of_month(first)
    while m <= first_of_month(last):
        out.append(m)
        m = first_of_month(m, 1)
    return out


def whole_quarters(months: list[date]) -> list[date]:
    """First months of the financial quarters whose three months are all in range."""
    have = set(months)
    return [
        m
        for m in months
        if m == quarter_containing(m).start and all(first_of_month(m, k) in have for k in range(3))
    ]


def month_label(d: date) -> str:
    """``YYYY-MM`` of the month holding ``d``, as file names and monthly counts are keyed."""
    return calendar_month(d.year, d.month).label


def dmy(d: date | None) -> str:
    """A date as the partners' CSV files write it (dd/mm/yyyy); blank for none."""
    return "" if d is None else d.strftime("%d/%m/%Y")


def yn(b: bool) -> str:
    """Y or N, as the CSV files write a flag."""
    return "Y" if b else "N"


def season(m: date) -> float:
    """Crime and referrals peak in summer and around Christmas; a gentle, fixed curve."""
    return {
        1: 0.93,
        2: 0.88,
        3: 0.97,
        4: 0.98,
        5: 1.04,
        6: 1.05,
        7: 1.09,
        8: 1.06,
        9: 1.00,
        10: 1.00,
        11: 0.95,
        12: 0.99,
    }[m.month]


def deterministic_xlsx(wb: openpyxl.Workbook, path: Path, stamp: datetime) -> None:
    """Save a workbook with fixed timestamps, so the same seed gives the same bytes.

    A delivery's identity is the SHA-256 of its bytes: openpyxl would stamp the current
    time into docProps/core.xml and into every zip entry.
    """
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso.encode(), data)
            zi = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())
