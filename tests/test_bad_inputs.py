"""A catalogue of malformed partner files: each is rejected for its own reason, and loads nothing.

Every case derives one bad file from a good one (an example of tests/data/examples, or a file
written by the demo generator), drops it into a home that already holds a good delivery of
the same feed, and checks that

* the file is rejected with the *specific* rule (and row / column where the rule names one), so
  removing that rule makes the case fail rather than fall through to some other rejection;
* the quarantine holds the file and a ``reason.json`` naming the rule;
* nothing of it reached the warehouse: the raw tables and the loaded deliveries are exactly as
  they were, and the good delivery is still current.

Rules that need the partnership's configuration or look across columns (the MoJ table must hold
the partnership's LA code; a date of birth after the referral; a discharge before the referral;
suppression only where offenders < 30) belong to the expectations layer, not to this catalogue.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from core.contracts import contract_for
from ingest.landing import ingest_feed
from ingest.pseudonymise import load_pseudonymiser
from orchestration.demonstration import generate_landing
from tests.conftest import TEST_KEYS, drop, example

LA = "E08000031"
GOOD = {
    "police_crime": "police_crime_2014-07.csv",
    "rny_treatment": "rny_treatment_2014-07.csv",
    "idva_caseload": "idva_caseload_2014-15_Q2.xlsx",
    "moj_reoffending": "moj_reoffending_2013-12.csv",
}
BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------------------------------------
# Reading and writing the partners' formats
# ---------------------------------------------------------------------------------------------


def police_rows() -> list[list[str]]:
    text = example(GOOD["police_crime"]).read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def police_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return BOM + buffer.getvalue().encode("utf-8")


def treatment_rows() -> list[list[str]]:
    text = example(GOOD["rny_treatment"]).read_bytes().decode("cp1252")
    return list(csv.reader(io.StringIO(text, newline="")))


def treatment_bytes(rows: list[list[str]], encoding: str = "cp1252") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def moj_lines() -> list[str]:
    return example(GOOD["moj_reoffending"]).read_text(encoding="utf-8").splitlines()


def moj_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def moj_row(lines: list[str], la_code: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(la_code + ","))


def set_field(line: str, index: int, value: str) -> str:
    record = next(csv.reader([line]))
    record[index] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(record)
    return buffer.getvalue()


def idva_book() -> openpyxl.Workbook:
    return openpyxl.load_workbook(example(GOOD["idva_caseload"]))


def save(book: openpyxl.Workbook, out: Path, name: str = GOOD["idva_caseload"]) -> Path:
    path = out / name
    book.save(path)
    return path


def write(out: Path, name: str, data: bytes) -> Path:
    path = out / name
    path.write_bytes(data)
    return path


# Column positions, as the contracts give them.
P = {c.source: i for i, c in enumerate(contract_for("police_crime").tables[0].columns)}
T = {c.source: i for i, c in enumerate(contract_for("rny_treatment").tables[0].columns)}
I = {c.source: i + 1 for i, c in enumerate(contract_for("idva_caseload").tables[0].columns)}  # noqa: E741 (P, T, I: police, treatment, IDVA)


# ---------------------------------------------------------------------------------------------
# The cases: each takes a scratch folder and the generated landing, returns the bad file
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    feed: str
    make: Callable[[Path, Path], Path]
    rule: str
    column: str | None = None
    row: int | None = None
    says: str | None = None  # a phrase the partner-facing message must contain


def police(
    mutate: Callable[[list[list[str]]], list[list[str]] | None], name: str = GOOD["police_crime"]
) -> Callable[[Path, Path], Path]:
    def make(out: Path, gen: Path) -> Path:
        rows = police_rows()
        rows = mutate(rows) or rows
        return write(out, name, police_bytes(rows))

    return make


def police_raw(mutate: Callable[[bytes], bytes]) -> Callable[[Path, Path], Path]:
    def make(out: Path, gen: Path) -> Path:
        return write(out, GOOD["police_crime"], mutate(example(GOOD["police_crime"]).read_bytes()))

    return make


def police_cell(row: int, column: str, value: str) -> Callable[[Path, Path], Path]:
    """Set one cell; ``row`` is the row number in the file (header = 1)."""

    def mutate(rows: list[list[str]]) -> None:
        rows[row - 1][P[column]] = value

    return police(mutate)


def police_columns(transform: Callable[[list[str]], list[str]]) -> Callable[[Path, Path], Path]:
    return police(lambda rows: [transform(list(r)) for r in rows])


def swap(record: list[str], a: str, b: str) -> list[str]:
    record[P[a]], record[P[b]] = record[P[b]], record[P[a]]
    return record


def rename(old: str, new: str) -> Callable[[Path, Path], Path]:
    def mutate(rows: list[list[str]]) -> None:
        rows[0][P[old]] = new

    return police(mutate)


def generated(feed: str, source: str, name: str) -> Callable[[Path, Path], Path]:
    """A generated delivery (different bytes from the good one) under another name."""

    def make(out: Path, gen: Path) -> Path:
        return write(out, name, (gen / feed / source).read_bytes())

    return make


def treatment(
    mutate: Callable[[list[list[str]]], None], encoding: str = "cp1252", prefix: bytes = b""
) -> Callable[[Path, Path], Path]:
    def make(out: Path, gen: Path) -> Path:
        rows = treatment_rows()
        mutate(rows)
        return write(out, GOOD["rny_treatment"], prefix + treatment_bytes(rows, encoding))

    return make


def treatment_cell(row: int, column: str, value: str) -> Callable[[Path, Path], Path]:
    def mutate(rows: list[list[str]]) -> None:
        rows[row - 1][T[column]] = value

    return treatment(mutate)


def moj(
    mutate: Callable[[list[str]], list[str] | None], encoding: str = "utf-8"
) -> Callable[[Path, Path], Path]:
    def make(out: Path, gen: Path) -> Path:
        lines = moj_lines()
        lines = mutate(lines) or lines
        data = moj_bytes(lines)
        if encoding != "utf-8":
            data = data.decode("utf-8").encode(encoding)
        return write(out, GOOD["moj_reoffending"], data)

    return make


def moj_cell(la_code: str, index: int, value: str) -> Callable[[Path, Path], Path]:
    def mutate(lines: list[str]) -> None:
        at = moj_row(lines, la_code)
        lines[at] = set_field(lines[at], index, value)

    return moj(mutate)


def idva(mutate: Callable[[openpyxl.Workbook], None]) -> Callable[[Path, Path], Path]:
    def make(out: Path, gen: Path) -> Path:
        book = idva_book()
        mutate(book)
        return save(book, out)

    return make


def idva_cell(row: int, column: str, value: object) -> Callable[[Path, Path], Path]:
    def mutate(book: openpyxl.Workbook) -> None:
        book["Cases"].cell(row=row, column=I[column]).value = value

    return idva(mutate)


def idva_raw(data: Callable[[], bytes]) -> Callable[[Path, Path], Path]:
    return lambda out, gen: write(out, GOOD["idva_caseload"], data())


def last_idva_row(book: openpyxl.Workbook) -> int:
    sheet = book["Cases"]
    return max(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 1).value)


def _idva_totals(book: openpyxl.Workbook) -> None:
    sheet = book["Cases"]
    at = last_idva_row(book) + 1
    sheet.cell(at, 1).value = "Total"
    sheet.cell(at, I["Children in Household"]).value = 99


def _idva_note_below(book: openpyxl.Workbook) -> None:
    book["Cases"].cell(last_idva_row(book) + 3, 1).value = "Source: IDVA case management system"


def _idva_duplicate(book: openpyxl.Workbook) -> None:
    sheet = book["Cases"]
    at = last_idva_row(book)
    sheet.cell(at, 1).value = sheet.cell(4, 1).value


def _idva_header_only(book: openpyxl.Workbook) -> None:
    sheet = book["Cases"]
    sheet.delete_rows(4, sheet.max_row)


def _police_totals(rows: list[list[str]]) -> None:
    rows.append(["Total"] + [""] * 9 + [str(len(rows) - 1)] + [""] * 3)


def _police_mm_dd_swapped(rows: list[list[str]]) -> None:
    # Recorded dates written month first where both readings are valid dates:
    # 09/07/2014 (9 July) becomes 07/09/2014 (read as 7 September).
    # Only the rows whose day is 12 or less are kept, so every date still parses.
    rows[1:] = [r for r in rows[1:] if int(r[P["Recorded Date"]][:2]) <= 12]
    for record in rows[1:]:
        day, month, year = record[P["Recorded Date"]].split("/")
        record[P["Recorded Date"]] = f"{month}/{day}/{year}"
        record[P["Offence Date"]] = ""


def _moj_totals(lines: list[str]) -> None:
    at = moj_row(lines, "E08000035") + 1
    lines.insert(at, 'Total,England and Wales,,"41,234",10.90,11.80,-7.6,Yes')


def _moj_duplicate(lines: list[str]) -> None:
    at = moj_row(lines, "E08000035")
    lines.insert(at + 1, lines[moj_row(lines, LA)])


def _moj_cut(data: bytes) -> bytes:
    at = data.index(b"E08000030")
    return data[: at + 30]


CASES: list[Case] = [
    # --- header ----------------------------------------------------------------------------
    Case(
        "police-missing-column",
        "police_crime",
        police_columns(lambda r: r[: P["Ward"]] + r[P["Ward"] + 1 :]),
        "header",
        says="missing 'Ward'",
    ),
    Case(
        "police-renamed-column",
        "police_crime",
        rename("HO Class", "Home Office Class"),
        "header",
        says="missing 'HO Class'",
    ),
    Case(
        "police-reordered-columns",
        "police_crime",
        police_columns(lambda r: swap(r, "Ward", "Sector")),
        "header",
        says="different order",
    ),
    Case(
        "police-duplicated-column",
        "police_crime",
        police_columns(lambda r: r + [r[P["Sector"]]]),
        "header",
        says="repeats a column",
    ),
    Case(
        "police-extra-column",
        "police_crime",
        police(lambda rows: [r + (["Notes"] if i == 0 else ["x"]) for i, r in enumerate(rows)]),
        "header",
        says="unrecognised column",
    ),
    Case(
        "police-header-stray-spaces",
        "police_crime",
        rename("HO Class", " HO Class "),
        "header",
        column="HO Class",
        says="stray or non-breaking spaces",
    ),
    Case(
        "police-header-non-breaking-space",
        "police_crime",
        rename("HO Class", "HO\xa0Class"),
        "header",
        column="HO Class",
        says="non-breaking",
    ),
    Case(
        "police-title-row-above-header",
        "police_crime",
        police(lambda rows: [["West Midlands Police - crime extract - July 2014"], []] + rows),
        "layout",
        says="on line 3",
    ),
    # --- encoding and byte-order mark --------------------------------------------------------
    Case(
        "police-cp1252-where-utf8-promised",
        "police_crime",
        police_raw(
            lambda b: BOM + b[3:].decode("utf-8").replace("Oldbury", "Öldbury").encode("cp1252")
        ),
        "encoding",
    ),
    Case(
        "police-mojibake",
        "police_crime",
        police_cell(3, "Ward", "Wednesbury North (JosÃ© Café)"),
        "mojibake",
        says="'é'",
    ),
    Case(
        "police-bom-missing",
        "police_crime",
        police_raw(lambda b: b[3:]),
        "byte_order_mark",
        says="no UTF-8 byte-order mark",
    ),
    Case(
        "police-bom-doubled",
        "police_crime",
        police_raw(lambda b: BOM + b),
        "byte_order_mark",
        says="two byte-order marks",
    ),
    Case(
        "rny-utf8-where-cp1252-promised",
        "rny_treatment",
        treatment(lambda r: None, "utf-8"),
        "encoding",
        says="saved as UTF-8",
    ),
    Case("rny-utf8-bom", "rny_treatment", treatment(lambda r: None, prefix=BOM), "byte_order_mark"),
    Case(
        "moj-cp1252-where-utf8-promised",
        "moj_reoffending",
        moj(
            lambda lines: [line.replace("Isles of Scilly", "Ynys Môn") for line in lines],
            encoding="cp1252",
        ),
        "encoding",
    ),
    Case(
        "moj-bom-added",
        "moj_reoffending",
        lambda out, gen: write(
            out, GOOD["moj_reoffending"], BOM + example(GOOD["moj_reoffending"]).read_bytes()
        ),
        "byte_order_mark",
    ),
    # --- layout: titles, footers, totals ---------------------------------------------------
    Case(
        "moj-title-line-removed",
        "moj_reoffending",
        moj(lambda lines: lines[1:]),
        "layout",
        says="on line 3",
    ),
    Case(
        "moj-extra-blank-line-above-header",
        "moj_reoffending",
        moj(lambda lines: lines[:3] + [""] + lines[3:]),
        "layout",
        says="on line 5",
    ),
    Case(
        "moj-notes-removed",
        "moj_reoffending",
        moj(lambda lines: lines[: lines.index("Notes:") - 1]),
        "layout",
        says="'Notes:'",
    ),
    Case("moj-totals-row", "moj_reoffending", moj(_moj_totals), "totals_row", row=17),
    Case(
        "idva-title-rows-removed",
        "idva_caseload",
        idva(lambda book: book["Cases"].delete_rows(1, 2)),
        "layout",
        says="is on row 1",
    ),
    Case(
        "idva-extra-row-above-header",
        "idva_caseload",
        idva(lambda book: book["Cases"].insert_rows(2)),
        "layout",
        says="is on row 4",
    ),
    Case("idva-totals-row", "idva_caseload", idva(_idva_totals), "totals_row"),
    Case(
        "idva-note-below-the-table",
        "idva_caseload",
        idva(_idva_note_below),
        "layout",
        says="below the blank row",
    ),
    Case("police-totals-row", "police_crime", police(_police_totals), "totals_row", row=10),
    Case(
        "police-footnote-line",
        "police_crime",
        police(lambda rows: rows + [["Source: West Midlands Police crime recording system"]]),
        "footer_rows",
        row=10,
    ),
    # --- empty and incomplete files ----------------------------------------------------------
    Case(
        "police-zero-bytes", "police_crime", police_raw(lambda b: b""), "empty_file", says="0 bytes"
    ),
    Case(
        "police-bom-and-blank-lines-only",
        "police_crime",
        police_raw(lambda b: BOM + b"\r\n\r\n"),
        "empty_file",
        says="blank lines",
    ),
    Case("police-header-only", "police_crime", police(lambda rows: rows[:1]), "no_data"),
    Case(
        "idva-cases-header-only",
        "idva_caseload",
        idva(_idva_header_only),
        "no_data",
        says="'Cases'",
    ),
    Case("idva-zero-bytes", "idva_caseload", idva_raw(lambda: b""), "empty_file"),
    Case(
        "police-truncated-mid-row",
        "police_crime",
        police_raw(lambda b: b[: len(b) - 30]),
        "truncated",
    ),
    Case(
        "rny-truncated-mid-row",
        "rny_treatment",
        lambda out, gen: write(
            out, GOOD["rny_treatment"], example(GOOD["rny_treatment"]).read_bytes()[:-60]
        ),
        "truncated",
    ),
    Case(
        "moj-truncated-mid-table",
        "moj_reoffending",
        lambda out, gen: write(
            out, GOOD["moj_reoffending"], _moj_cut(example(GOOD["moj_reoffending"]).read_bytes())
        ),
        "truncated",
    ),
    Case(
        "police-nul-bytes",
        "police_crime",
        police_raw(lambda b: b.replace(b"Oldbury", b"Old\x00bury", 1)),
        "nul_bytes",
    ),
    Case(
        "police-field-over-csv-module-limit",
        "police_crime",
        police_cell(2, "Offence Description", "x" * 140_000),
        "field_too_long",
        column="Offence Description",
        row=2,
    ),
    Case(
        "police-unclosed-quote",
        "police_crime",
        police_raw(lambda b: b.replace(b",Oldbury,", b',"Oldbury,', 1)),
        "csv_structure",
    ),
    # --- values in numeric columns -----------------------------------------------------------
    Case(
        "police-n/a-in-victim-age",
        "police_crime",
        police_cell(4, "Victim Age", "n/a"),
        "integer",
        column="Victim Age",
        row=4,
    ),
    Case(
        "police-thousands-separator-in-victim-age",
        "police_crime",
        police_cell(5, "Victim Age", "1,024"),
        "integer",
        column="Victim Age",
        row=5,
    ),
    Case(
        "police-negative-victim-age",
        "police_crime",
        police_cell(6, "Victim Age", "-4"),
        "range",
        column="Victim Age",
        row=6,
    ),
    Case(
        "moj-star-in-rate",
        "moj_reoffending",
        moj_cell(LA, 4, "*"),
        "number",
        column="Actual Rate",
        row=6,
    ),
    Case(
        "moj-[c]-in-rate",
        "moj_reoffending",
        moj_cell(LA, 5, "[c]"),
        "number",
        column="Predicted Rate",
        row=6,
    ),
    Case(
        "moj-suppression-in-offenders",
        "moj_reoffending",
        moj_cell("E06000053", 3, ".."),
        "integer",
        column="Offenders",
        row=14,
    ),
    Case(
        "moj-thousands-separator-in-rate",
        "moj_reoffending",
        moj_cell(LA, 6, "1,234.5"),
        "number",
        column="Difference (%)",
        row=6,
    ),
    Case(
        "moj-negative-offenders",
        "moj_reoffending",
        moj_cell(LA, 3, "-1746"),
        "range",
        column="Offenders",
        row=6,
    ),
    Case(
        "idva-n/a-in-dash-score",
        "idva_caseload",
        idva_cell(5, "DASH Score", "n/a"),
        "integer",
        column="DASH Score",
        row=5,
    ),
    Case(
        "idva-negative-children",
        "idva_caseload",
        idva_cell(4, "Children in Household", -1),
        "range",
        column="Children in Household",
        row=4,
    ),
    # Ranges are the contract's (core/feeds/*.yml), judged by the SQL checks alone.
    Case(
        "police-victim-age-above-120",
        "police_crime",
        police_cell(6, "Victim Age", "121"),
        "range",
        column="Victim Age",
        row=6,
        says="above 120",
    ),
    Case(
        "idva-dash-score-above-27",
        "idva_caseload",
        idva_cell(5, "DASH Score", 28),
        "range",
        column="DASH Score",
        row=5,
        says="above 27",
    ),
    Case(
        "idva-negative-incidents-screened",
        "idva_caseload",
        idva(lambda book: setattr(book["Screening"].cell(row=5, column=2), "value", -1)),
        "range",
        column="Incidents Screened",
        row=5,
        says="below 0",
    ),
    # Whole numbers, but too big for the warehouse's integer column: named, not a crash.
    Case(
        "idva-children-beyond-integer",
        "idva_caseload",
        idva_cell(4, "Children in Household", 99_999_999_999),
        "integer",
        column="Children in Household",
        row=4,
    ),
    # --- dates -------------------------------------------------------------------------------
    Case(
        "police-mm/dd/yyyy-date",
        "police_crime",
        police_cell(3, "Recorded Date", "07/31/2014"),
        "date_format",
        column="Recorded Date",
        row=3,
    ),
    Case(
        "police-mm/dd-dates-that-parse",
        "police_crime",
        police(_police_mm_dd_swapped),
        "period_mismatch",
        column="Recorded Date",
    ),
    Case(
        "police-two-digit-year",
        "police_crime",
        police_cell(4, "Recorded Date", "04/07/14"),
        "date_format",
        column="Recorded Date",
        row=4,
    ),
    Case(
        "police-excel-serial-date",
        "police_crime",
        police_cell(5, "Offence Date", "41849"),
        "date_format",
        column="Offence Date",
        row=5,
    ),
    Case(
        "police-date-after-period",
        "police_crime",
        police_cell(6, "Recorded Date", "05/08/2014"),
        "date_after_period",
        column="Recorded Date",
        row=6,
    ),
    Case(
        "police-future-date",
        "police_crime",
        police_cell(7, "Recorded Date", "10/07/2099"),
        "future_date",
        column="Recorded Date",
        row=7,
    ),
    Case(
        "rny-future-date-of-birth",
        "rny_treatment",
        treatment_cell(2, "Date of Birth", "25/12/2099"),
        "future_date",
        column="Date of Birth",
        row=2,
    ),
    Case(
        "rny-discharge-after-period",
        "rny_treatment",
        treatment_cell(3, "Discharge Date", "16/08/2014"),
        "date_after_period",
        column="Discharge Date",
        row=3,
    ),
    Case(
        "idva-date-typed-as-text",
        "idva_caseload",
        idva_cell(4, "Referral Date", "09/07/2014"),
        "date_format",
        column="Referral Date",
        row=4,
    ),
    # --- codes -------------------------------------------------------------------------------
    Case(
        "police-unknown-ho-class",
        "police_crime",
        police_cell(2, "HO Class", "99Z"),
        "unknown_code",
        column="HO Class",
        row=2,
        says="ho_offence_classes.csv",
    ),
    Case(
        "rny-unknown-referral-source",
        "rny_treatment",
        treatment_cell(4, "Referral Source", "Police"),
        "allowed_values",
        column="Referral Source",
        row=4,
    ),
    # --- names and periods -------------------------------------------------------------------
    Case(
        "police-wrong-file-name",
        "police_crime",
        generated("police_crime", "police_crime_2014-05.csv", "crimes May 2014.csv"),
        "file_name",
    ),
    Case(
        "police-impossible-month-in-name",
        "police_crime",
        generated("police_crime", "police_crime_2014-05.csv", "police_crime_2014-13.csv"),
        "file_name",
    ),
    Case(
        "police-july-file-named-august",
        "police_crime",
        generated("police_crime", "police_crime_2014-07.csv", "police_crime_2014-08.csv"),
        "period_mismatch",
        column="Recorded Date",
        says="most are in 2014-07",
    ),
    Case(
        "idva-title-period-differs-from-name",
        "idva_caseload",
        generated(
            "idva_caseload", "idva_caseload_2014-15_Q1.xlsx", "idva_caseload_2014-15_Q3.xlsx"
        ),
        "period_mismatch",
    ),
    Case(
        "idva-saved-as-xls-name",
        "idva_caseload",
        generated("idva_caseload", "idva_caseload_2014-15_Q1.xlsx", "idva_caseload_2014-15_Q1.xls"),
        "file_name",
    ),
    # --- workbooks ---------------------------------------------------------------------------
    Case(
        "idva-old-xls-or-password-protected",
        "idva_caseload",
        idva_raw(lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
        "workbook_format",
        says="password-protected",
    ),
    Case(
        "idva-csv-named-xlsx",
        "idva_caseload",
        idva_raw(lambda: example(GOOD["police_crime"]).read_bytes()),
        "workbook_format",
    ),
    Case(
        "idva-truncated-workbook",
        "idva_caseload",
        idva_raw(lambda: example(GOOD["idva_caseload"]).read_bytes()[:3000]),
        "workbook_format",
    ),
    Case(
        "idva-missing-sheet",
        "idva_caseload",
        idva(lambda book: book.remove(book["Screening"])),
        "missing_sheet",
        says="'Screening'",
    ),
    Case(
        "idva-renamed-sheet",
        "idva_caseload",
        idva(lambda book: setattr(book["Cases"], "title", "cases")),
        "missing_sheet",
        says="'Cases'",
    ),
    # --- record keys -------------------------------------------------------------------------
    Case(
        "police-duplicate-crime-reference",
        "police_crime",
        police(lambda rows: rows + [rows[3]]),
        "duplicate_key",
        column="Crime Reference",
    ),
    Case(
        "rny-duplicate-client-and-referral",
        "rny_treatment",
        treatment(lambda rows: rows.append(rows[2][:-1] + ["a different note"])),
        "duplicate_key",
    ),
    Case(
        "idva-duplicate-case-id",
        "idva_caseload",
        idva(_idva_duplicate),
        "duplicate_key",
        column="Case ID",
    ),
    Case(
        "moj-duplicate-la-code",
        "moj_reoffending",
        moj(_moj_duplicate),
        "duplicate_key",
        column="LA Code",
    ),
]


# ---------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated deliveries (small scale) whose bytes differ from the good examples."""
    landing = tmp_path_factory.mktemp("generated")
    generate_landing(
        landing,
        la_code=LA,
        la_name="Wolverhampton",
        first_month=date(2014, 4, 1),
        last_month=date(2014, 9, 1),
        seed=7,
        scale=0.02,
        feeds=("police_crime", "idva_caseload"),
    )
    return landing


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, pseudo_key_module: None):
    """A home per feed holding its good delivery, loaded once and copied for each case."""
    homes: dict[str, Path] = {}

    def seed(feed: str) -> Path:
        if feed not in homes:
            template = tmp_path_factory.mktemp(f"seeded-{feed}")
            drop(template, feed, example(GOOD[feed]))
            [good] = ingest(template, feed)
            assert good.action == "loaded", good.reason
            homes[feed] = template
        return homes[feed]

    return seed


@pytest.fixture(scope="module")
def pseudo_key_module():
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in TEST_KEYS.items():
            patch.setenv(variable, value)
        yield


def ingest(home: Path, feed: str):
    return ingest_feed(
        feed,
        home=home,
        warehouse=home / "warehouse.duckdb",
        pseudonymiser=load_pseudonymiser(home),
        la_code=LA,
    )


def warehouse_state(home: Path, feed: str) -> dict[str, object]:
    """Everything of the feed in the warehouse except rejection notes: counts and row digests."""
    state: dict[str, object] = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for table in contract_for(feed).tables:
            state[table.name] = con.execute(
                f"select count(*), sum(hash(t)) from raw.{table.name} t"
            ).fetchone()
        state["deliveries"] = con.execute(
            "select delivery_id, feed, file_name, sha256, row_count, status from raw.deliveries "
            "where status <> 'rejected' order by delivery_id"
        ).fetchall()
    return state


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_file_is_rejected_and_loads_nothing(
    case: Case, home: Path, gen: Path, seeded, tmp_path_factory
) -> None:
    # The home already holds a good delivery of the feed (loaded, archived, still in landing).
    shutil.copytree(seeded(case.feed), home, dirs_exist_ok=True)
    before = warehouse_state(home, case.feed)

    scratch = tmp_path_factory.mktemp("bad")
    bad = case.make(scratch, gen)
    assert bad.read_bytes() != example(GOOD[case.feed]).read_bytes()
    drop(home, case.feed, bad)
    outcomes = ingest(home, case.feed)
    # A good file stays in landing after it is loaded (archived by its bytes): it comes round
    # again as a duplicate, unless the bad file, named like it, took its place.
    [outcome] = [o for o in outcomes if o.file_name == bad.name]
    assert {o.action for o in outcomes if o is not outcome} <= {"duplicate"}

    # (a) rejected, for this case's own reason
    assert outcome.action == "rejected", f"accepted: {outcome.as_dict()}"
    headline = outcome.problems[0]
    assert headline.rule == case.rule, outcome.reason
    if case.column:
        assert headline.column == case.column, outcome.reason
    if case.row:
        assert case.row in [e.get("row") for e in headline.examples], headline.examples
    if case.says:
        assert case.says in headline.message, headline.message
    # (b) quarantined with a reason a partner can act on
    folder = home / "quarantine" / case.feed
    reason = json.loads((folder / "reason.json").read_text(encoding="utf-8"))
    assert reason["rule"] == case.rule and reason["file"] == bad.name
    assert (folder / bad.name).read_bytes() == bad.read_bytes()
    assert not (home / "landing" / case.feed / bad.name).exists()
    # (c) nothing of it in the warehouse; the good delivery is untouched and still current
    assert warehouse_state(home, case.feed) == before
    assert before["deliveries"][0][-1] == "loaded"
    shutil.rmtree(scratch)


def test_catalogue_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 32
    assert len({c.id for c in CASES}) == len(CASES)
