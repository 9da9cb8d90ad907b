"""A pre-filled quarterly return for a partner, so partners send back what the pipeline expects.

The workbook is named as the contract wants it back (``partner_return_<partner>_YYYY-YY_Qn``),
its ``Return`` sheet already holds the partner's indicator codes and the period, its cells
carry data validation, and an ``Instructions`` sheet explains each figure and the due date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from core.contracts import contract_for
from core.dbt_project import DBT_PROJECT_DIR
from core.periods import (
    Period,
    financial_year_label,
    financial_year_start_year,
    parse_quarter_label,
    quarter_number,
)

FEED = "partner_returns"
HEADER = ["Indicator Code", "Period", "Numerator", "Denominator", "Value", "Notes"]
LOCKED_FILL = PatternFill("solid", fgColor="D9D9D9")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")


@dataclass(frozen=True)
class CatalogueEntry:
    """One indicator of the catalogue seed, as a partner needs to read it."""

    code: str
    name: str
    unit: str
    definition: str


def owned_indicators(partner: str) -> list[CatalogueEntry]:
    """The indicators a partner returns, from the catalogue seed."""
    with (DBT_PROJECT_DIR / "seeds" / "indicators.csv").open(newline="", encoding="utf-8") as f:
        return [
            CatalogueEntry(r["code"], r["name"], r["unit"], r["definition"])
            for r in csv.DictReader(f)
            if r["owner"] == partner
        ]


def template_file_name(partner: str, period: Period) -> str:
    """The name the pipeline expects the return under."""
    year = financial_year_label(financial_year_start_year(period.start), "-")
    return f"partner_return_{partner}_{year}_Q{quarter_number(period.start)}.xlsx"


def write_return_template(partner: str, quarter: str, folder: Path) -> Path:
    """Write the pre-filled return for ``partner`` and ``quarter`` into ``folder``."""
    contract = contract_for(FEED)
    if partner not in contract.partners:
        raise ValueError(f"unknown partner {partner!r}; partners: {', '.join(contract.partners)}")
    period = parse_quarter_label(quarter)
    due = period.end + timedelta(days=contract.due_days_after_period_end)
    indicators = owned_indicators(partner)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in indicators:
        sheet.append([entry.code, period.label, None, None, None, None])
    last = len(indicators) + 1
    percent_rows = [i + 2 for i, e in enumerate(indicators) if e.unit == "percent"]
    count_rows = [i + 2 for i, e in enumerate(indicators) if e.unit == "count"]

    whole = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        error="A whole number, 0 or more.",
        showErrorMessage=True,
    )
    percent = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="100",
        showErrorMessage=True,
        error="A percentage between 0 and 100: 100 × Numerator / "
        "Denominator, to one decimal place.",
    )
    # Counts give a value only: their numerator and denominator must stay empty.
    empty = DataValidation(
        type="textLength",
        operator="equal",
        formula1="0",
        showErrorMessage=True,
        error="Counts give a Value only; leave this cell empty.",
    )
    for validation in (whole, percent, empty):
        sheet.add_data_validation(validation)
    for row in percent_rows:
        for column in "CD":
            whole.add(f"{column}{row}")
            sheet[f"{column}{row}"].fill = INPUT_FILL
        percent.add(f"E{row}")
        sheet[f"E{row}"].fill = INPUT_FILL
    for row in count_rows:
        whole.add(f"E{row}")
        sheet[f"E{row}"].fill = INPUT_FILL
        for column in "CD":
            empty.add(f"{column}{row}")
            sheet[f"{column}{row}"].fill = LOCKED_FILL
    for column, width in zip("ABCDEF", (26, 12, 12, 13, 10, 50), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:F{last}"

    notes = workbook.create_sheet("Instructions")
    notes.append([f"Quarterly return: {partner}, {period.label}"])
    notes["A1"].font = Font(bold=True, size=14)
    notes.append([f"Please return this file, under the same name, by {due:%d %B %Y}."])
    notes.append(
        [
            "Fill the yellow cells on the Return sheet. Do not change the codes, the "
            "period, the column headings or the sheet name. Percentages: give the "
            "Numerator and Denominator, and Value = 100 × Numerator / Denominator "
            "to one decimal place. Counts: give the Value only. Notes are optional "
            "commentary on a figure; never put names or other personal details in them."
        ]
    )
    notes.append([])
    notes.append(["Indicator Code", "Name", "Unit", "Definition"])
    for cell in notes[5]:
        cell.font = Font(bold=True)
    for entry in indicators:
        notes.append([entry.code, entry.name, entry.unit, entry.definition])
    notes.column_dimensions["A"].width = 26
    notes.column_dimensions["B"].width = 60
    notes.column_dimensions["D"].width = 80
    for row in notes.iter_rows(min_row=3, max_row=3):
        row[0].alignment = Alignment(wrap_text=True)

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / template_file_name(partner, period)
    workbook.save(target)
    return target
