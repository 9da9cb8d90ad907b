"""Read a delivered file exactly as its contract describes it, check it, and make it loadable.

Every file goes through the same three steps, whatever its format:

1. *stage*: the bytes become an all-text relation ``src`` in a private in-memory DuckDB
   (CSVs through DuckDB's own reader, never pandas, once ``encoding``, ``headers`` and
   ``csv_layout`` have checked them: ``csv_staging``; workbooks through openpyxl:
   ``sheet_staging``);
2. *check*: the contract's rules run as SQL over ``src`` and every breach is collected with its
   rows, so a partner is told everything wrong with a file at once (``table_checks``, made of
   ``column_rules``, ``row_rules`` and ``catalogue_rules``, written in ``rule_sql``);
3. *type*: one SELECT turns ``src`` into the warehouse's raw columns, pseudonymising
   identifiers on the way, so personal data never reaches the warehouse connection
   (``typed_rows``).

Then the feed's expectation suite (``expectations.validate``) runs over the typed rows.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from core.contracts import FeedContract, Table
from core.periods import Period
from core.problems import Problem, RejectedFile
from expectations.validate import validate_delivery
from ingest.csv_staging import stage_csv_file, stage_titled_csv
from ingest.pseudonymise import Pseudonymiser
from ingest.sheet_staging import stage_workbook
from ingest.table_checks import check_table
from ingest.typed_rows import key_label, staging_connection, typed_select


@dataclass
class ReadResult:
    """A checked, typed delivery: one Arrow table per raw table."""

    tables: dict[str, pa.Table]

    @property
    def row_count(self) -> int:
        """Rows across all tables of the delivery."""
        return sum(t.num_rows for t in self.tables.values())


def _blank_to_null(con: duckdb.DuckDBPyConnection, relation: str, table: Table) -> None:
    # A blank cell is a missing value (docs/feeds.md), whether unquoted or written as "".
    assignments = ", ".join(f"{c.name} = nullif({c.name}, '')" for c in table.columns)
    con.execute(f"update {relation} set {assignments}")


def _stage(
    con: duckdb.DuckDBPyConnection, path: Path, contract: FeedContract, period: Period
) -> dict[str, str]:
    """Stage the delivery by its format; return the relation each table was staged as."""
    if contract.format == "xlsx":
        stage_workbook(con, path, contract, period)
        return {t.name: f"src_{t.name}" for t in contract.tables}
    if any(t.title_row for t in contract.tables):
        stage_titled_csv(con, path, contract, period)
    else:
        stage_csv_file(con, path, contract)
    return {contract.tables[0].name: "src"}


def read_delivery(
    path: Path,
    contract: FeedContract,
    period: Period,
    pseudonymiser: Pseudonymiser,
    *,
    la_code: str | Sequence[str] | None,
    partner: str | None = None,
) -> ReadResult:
    """Read, check and type one delivered file; RejectedFile lists every problem found.

    Two layers: the contract's rules in SQL over every row of the file, then the feed's
    expectation suite (Great Expectations) over the typed rows, for the rules that compare
    columns or need the partnership (``la_code``; None skips the suite, for parser tests).
    """
    with staging_connection(pseudonymiser) as con:
        relations = _stage(con, path, contract, period)
        problems: list[Problem] = []
        for table in contract.tables:
            relation = relations[table.name]
            _blank_to_null(con, relation, table)
            problems.extend(check_table(con, relation, table, period, partner))
        if problems:
            raise RejectedFile(problems)
        tables = {
            table.name: con.sql(
                typed_select(
                    relations[table.name],
                    table,
                    contract.pseudonym_domain,
                    key_label(pseudonymiser, contract),
                )
            ).fetch_arrow_table()
            for table in contract.tables
        }
    if la_code is not None:
        problems = validate_delivery(contract, tables, period, la_code=la_code)
        if problems:
            raise RejectedFile(problems)
    return ReadResult(tables)


def describe(problems: list[Problem]) -> str:
    """A one-paragraph summary of the problems, for logs, alerts and the deliveries table."""
    buffer = io.StringIO()
    for problem in problems:
        buffer.write(problem.message)
        shown = [e for e in problem.examples if "row" in e][:3]
        if shown:
            buffer.write(
                " (e.g. "
                + ", ".join(
                    f"row {e['row']}" + (f": {e['value']!r}" if e.get("value") is not None else "")
                    for e in shown
                )
                + ")"
            )
        buffer.write("; ")
    return buffer.getvalue().rstrip("; ")
