"""Many landed files of one feed at once: a backlog, ten years of a force, a night's arrivals.

The file-at-a-time path (``landing.ingest_file``) reads, checks and loads each file with its own
queries and its own Great Expectations run: about a third of a second a file whatever its size,
most of it fixed cost. Here a chunk of files goes through each step together:

1. each file alone: the SHA-256 of its bytes, the manifest, the period in its name, its
   encoding and header (cheap, and problems of this kind belong to one file anyway);
2. one DuckDB read of every file of the chunk, each row tagged with its file and row number;
3. the rows typed, a value that does not parse becoming null for now;
4. one screen of the contract's SQL rules, counted per file
   (``table_checks.files_breaking_rules``), and beside it, in a second thread, one run of the
   table's bulk expectation suite (``validate.files_failing_suite``): DuckDB and pandas each
   keep one of two cores busy;
5. every good file archived, then all of them loaded in one transaction
   (``warehouse.load_deliveries``): the chunk is loaded whole or not at all.

A file that a step names or cannot take (a malformed CSV, bytes already seen, a rule broken)
goes through the file-at-a-time path after the chunk, so its rejection reads exactly as it
always has; so does every file that shares its partner and period, which keeps a revision
loading after the file it revises. A good file gets the same verdict either way: the screen is
``check_table``'s rules, the suite the table's own suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from core.contracts import FeedContract, Table
from core.problems import RejectedFile
from expectations.rules import rules_for
from expectations.validate import files_failing_suite
from ingest.csv_layout import check_csv_layout
from ingest.csv_staging import CSV_READ_OPTIONS
from ingest.pseudonymise import Pseudonymiser
from ingest.rule_sql import PeriodSql
from ingest.table_checks import files_breaking_rules
from ingest.typed_rows import key_label, staging_connection, typed_select
from ingest.warehouse import DeliveryRecord, load_deliveries

# CSV bytes read together: bounds memory (the text, then typed rows, of one chunk) while
# keeping the fixed costs per chunk small against the work.
CHUNK_BYTES = 128 * 2**20


def takes_bulk(contract: FeedContract) -> bool:
    """Whether a feed's files can be ingested in bulk: plain one-table UTF-8 CSV, row rules only.

    Workbooks, titled CSVs and indicator returns are read one file at a time; so are feeds
    sent in another encoding (DuckDB reads UTF-8 only; one file is copied to UTF-8 first),
    and a table with a ``contains`` rule, which no frame of many files can judge for each.
    """
    if contract.format != "csv" or len(contract.tables) != 1:
        return False
    if contract.encoding not in (None, "utf-8"):
        return False
    table = contract.tables[0]
    return (
        table.header_row == 1
        and table.title_row is None
        and not table.catalogue
        and all(rule.check != "contains" for rule in rules_for(table.name))
    )


@dataclass
class Candidate:
    """A landed file that passed the per-file checks and waits for its chunk."""

    path: Path
    sha256: str
    record: DeliveryRecord

    @property
    def key(self) -> tuple[str | None, str]:
        """What a later delivery supersedes by: partner and period."""
        assert self.record.period is not None
        return self.record.partner, self.record.period.label


def candidate(path: Path, sha256: str, contract: FeedContract, la_code: str) -> Candidate | None:
    """The file as a bulk candidate, or None when it must go alone (misnamed, bad layout).

    Whether its bytes are known already is the caller's question (``ingest_in_bulk`` asks
    the manifest once for the whole feed).
    """
    period = contract.period_from_file_name(path.name)
    if period is None:
        return None
    try:
        if check_csv_layout(path, contract) not in ("utf-8", "utf-8-sig"):
            return None  # DuckDB reads UTF-8 only: the single path makes a UTF-8 copy
    except RejectedFile:
        return None
    partner = contract.partner_from_file_name(path.name) or contract.partner
    record = DeliveryRecord(
        contract.feed,
        partner,
        path.name,
        sha256,
        period,
        datetime.now(UTC).replace(tzinfo=None),
        la_code,
    )
    return Candidate(path, sha256, record)


def chunks(candidates: Sequence[Candidate], limit: int = CHUNK_BYTES) -> list[list[Candidate]]:
    """Consecutive runs of candidates of at most ``limit`` bytes (at least one file each)."""
    out: list[list[Candidate]] = []
    size = limit
    for item in candidates:
        item_size = item.path.stat().st_size
        if size + item_size > limit:
            out.append([])
            size = 0
        out[-1].append(item)
        size += item_size
    return out


def _stage(
    con: duckdb.DuckDBPyConnection, chunk: Sequence[Candidate], contract: FeedContract
) -> set[int]:
    """Read the chunk's files into ``bulk``; return the files that could not be read with it.

    A file DuckDB refuses (a malformed row) is named in its error: it is set aside and the
    rest read again. A file with a header and no rows is set aside too (``no_data``).
    """
    table = contract.tables[0]
    columns = {c.name: "varchar" for c in table.columns}
    aside: set[int] = set()
    while True:
        reading = [i for i in range(len(chunk)) if i not in aside]
        if not reading:
            return aside
        try:
            # file_index: the file's place in the list read (DuckDB's virtual column).
            con.execute(
                f"create or replace temp table bulk_text as select file_index::integer as "
                f"_read, * from read_csv(?, {CSV_READ_OPTIONS}, columns = ?)",
                [[str(chunk[i].path) for i in reading], columns],
            )
            break
        except duckdb.Error as error:
            named = {i for i in reading if str(chunk[i].path) in str(error)}
            aside |= named or set(reading)
    # Rows were inserted file by file in file order, so a row's line is its rowid less its
    # file's first (data starts on line 2).
    firsts = dict(con.execute("select _read, min(rowid) from bulk_text group by _read").fetchall())
    # A file with a header and no rows has no first row.
    empty = {i for n, i in enumerate(reading) if n not in firsts}

    def by_read(values: Sequence[str]) -> str:
        """A SQL list of one value per file read, picked by the row's ``_read``."""
        return f"[{', '.join(values)}][_read + 1]"

    periods = [PeriodSql.of(chunk[i].record.period) for i in reading]
    # A blank cell is a missing value (docs/feeds.md), whether unquoted or written as "".
    cells = ", ".join(f"nullif({c.name}, '') as {c.name}" for c in table.columns)
    # A view, not a copy: the text is held once. A projection of bulk_text with no join, so
    # its rows keep their order (file, then line) without a sort.
    con.execute(
        f"""
        create or replace temp view bulk as
        select {by_read([str(i) for i in reading])} as _file,
               {by_read([p.start for p in periods])} as _period_start,
               {by_read([p.end for p in periods])} as _period_end,
               {by_read([p.label for p in periods])} as _period_label,
               rowid - {by_read([str(firsts.get(n, 0)) for n in range(len(reading))])} + 2
                   as _row,
               {cells}
        from bulk_text
        """
    )
    return aside | empty


def _sharing_a_key(chunk: Sequence[Candidate], alone: set[int]) -> set[int]:
    """``alone`` and every file with the partner and period of one of them."""
    keys = {chunk[i].key for i in alone}
    return alone | {i for i, item in enumerate(chunk) if item.key in keys}


def _files_failing_suite(
    contract: FeedContract,
    table: Table,
    typed: pa.Table,
    chunk: Sequence[Candidate],
    files: Sequence[int],
    la_code: str,
) -> set[int]:
    """The ``files`` of the chunk (all of them in ``typed``) that break the bulk suite."""
    return files_failing_suite(
        contract, table, typed, {i: chunk[i].record.period for i in files}, la_code=la_code
    )


def _rows_of(typed: pa.Table, files: Sequence[int]) -> pa.Table:
    """The rows of ``typed`` whose ``_file`` is one of ``files``."""
    return typed.filter(pc.is_in(typed["_file"], pa.array(files, pa.int32())))


def bulk_chunk(
    chunk: Sequence[Candidate],
    contract: FeedContract,
    *,
    con: Any,
    pseudonymiser: Pseudonymiser,
    la_code: str | None,
    archive: Callable[[Candidate], None],
) -> tuple[list[tuple[Candidate, int, int]], list[Candidate]]:
    """Check and load one chunk; return (loaded: candidate, delivery id, rows) and the files
    left for the file-at-a-time path, in arrival order.

    ``archive(candidate)`` keeps a good file's bytes; it is called for every file loaded,
    before the load.
    """
    table = contract.tables[0]
    typed = None
    with staging_connection(pseudonymiser) as stage:
        alone = _stage(stage, chunk, contract)
        read = [i for i in range(len(chunk)) if i not in alone]
        if read:
            # Typed before the screen, a value that does not parse becoming null, so that the
            # suite (pandas, one core) runs beside the screen (DuckDB): 0.45 s less a chunk.
            typed = stage.sql(
                typed_select(
                    "bulk",
                    table,
                    contract.pseudonym_domain,
                    key_label(pseudonymiser, contract),
                    by_file=True,
                    lenient=True,
                )
            ).to_arrow_table()
            with ThreadPoolExecutor(1) as pool:
                suite = (
                    pool.submit(_files_failing_suite, contract, table, typed, chunk, read, la_code)
                    if la_code is not None
                    else None
                )
                broken = files_breaking_rules(stage, "bulk", table)
                failing = suite.result() if suite is not None else set()
            good = [i for i in read if i not in broken]
            if broken and good and failing >= set(read):
                # The suite could not tell which files broke it, likely the screen's files
                # alone: ask again without them rather than send every file on its own.
                failing = _files_failing_suite(
                    contract, table, _rows_of(typed, good), chunk, good, la_code
                )
            alone |= broken | failing
    alone = _sharing_a_key(chunk, alone)
    loading = [i for i in range(len(chunk)) if i not in alone]
    loaded: list[tuple[Candidate, int, int]] = []
    if loading and typed is not None:
        # Renumber the loading files 0..n-1 (load_deliveries' _file) and drop the others.
        position = [-1] * len(chunk)
        for new, old in enumerate(loading):
            position[old] = new
        renumbered = pc.take(pa.array(position, pa.int32()), typed["_file"])
        rows = typed.set_column(0, "_file", renumbered)
        if len(loading) < len(read):
            # Only then: the filter copies every column of the chunk (1.7 s at medium).
            rows = rows.filter(pc.greater_equal(renumbered, 0))
        for i in loading:
            archive(chunk[i])
        ids = load_deliveries(con, [chunk[i].record for i in loading], contract, {table.name: rows})
        counts = pc.value_counts(rows["_file"]).to_pylist()
        per_file = {c["values"]: c["counts"] for c in counts}
        loaded = [
            (chunk[i], delivery_id, per_file.get(n, 0))
            for n, (i, delivery_id) in enumerate(zip(loading, ids, strict=True))
        ]
    return loaded, [chunk[i] for i in sorted(alone)]
