"""The warehouse's raw layer: one table per feed table, a manifest of deliveries, configuration.

Only this module writes to schema ``raw``. A delivery is loaded in one transaction together
with its manifest row, so a crash leaves it absent, never half there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from core.contracts import FeedContract, Table, all_contracts
from core.feed_calendar import CalendarEntry
from core.feed_status import CalendarJudgement, Delivered, judged_periods
from core.periods import Period
from core.settings import duckdb_memory_limit
from core.targets import PostgresTarget
from ingest.private import make_private

DELIVERIES_DDL = """
create table if not exists raw.deliveries (
    delivery_id integer primary key,
    feed varchar not null,
    partner varchar,
    file_name varchar not null,
    sha256 varchar not null,
    period_label varchar,
    period_start date,
    period_end date,
    row_count integer not null,
    received_at timestamp not null,
    status varchar not null,
    rejection_reason varchar,
    la_code varchar
)
"""

CONFIG_DDL = [
    """
    create table if not exists raw.partnership (
        la_code varchar not null,
        name varchar not null
    )
    """,
    """
    create table if not exists raw.lsoa_lookup (
        lsoa_code varchar not null,
        la_code varchar not null,
        la_name varchar,
        force varchar
    )
    """,
    """
    create table if not exists raw.district_lookup (
        la_code varchar not null,
        la_name varchar,
        csp_code varchar not null,
        csp_name varchar,
        pfa_code varchar,
        pfa_name varchar
    )
    """,
    """
    create table if not exists raw.lsoa_population (
        lsoa_code varchar not null,
        estimate_year integer not null,
        population integer not null
    )
    """,
    """
    create table if not exists raw.feed_calendar (
        feed varchar not null,
        partner varchar,
        cadence varchar not null,
        due_days_after_period_end integer not null,
        calendar_start date,
        suspended_since date,
        suspension_reason varchar
    )
    """,
]


# The feed calendar judged on the build's as-of date (core/feed_status.py), rewritten by every
# build before dbt runs (write_feed_status): the dbt models read the judgement, never repeat it.
FEED_STATUS_DDL = [
    """
    create table if not exists raw.feed_status (
        as_of_date date not null,
        feed_key varchar not null,
        feed varchar not null,
        partner varchar,
        effective_calendar_start date,
        first_delivered_period_start date,
        last_delivered_period_start date,
        delivery_count integer not null,
        state varchar not null,
        last_period varchar,
        last_received_at timestamp,
        next_period varchar,
        next_due_date date,
        overdue_count integer not null,
        last_quarantined_file varchar,
        is_due_soon boolean not null
    )
    """,
    """
    create table if not exists raw.feed_periods (
        as_of_date date not null,
        feed_key varchar not null,
        feed varchar not null,
        partner varchar,
        period_label varchar not null,
        period_start date not null,
        period_end date not null,
        quarter_start date not null,
        due_date date not null,
        is_delivered boolean not null,
        latest_delivery_id integer,
        is_past_due boolean not null,
        is_overdue boolean not null,
        is_next_due boolean not null,
        is_expected boolean not null,
        is_through_as_of_quarter boolean not null
    )
    """,
]

# Column types of the two tables as Arrow writes them (in the order of the DDL above).
FEED_STATUS_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("feed_key", pa.string()),
        ("feed", pa.string()),
        ("partner", pa.string()),
        ("effective_calendar_start", pa.date32()),
        ("first_delivered_period_start", pa.date32()),
        ("last_delivered_period_start", pa.date32()),
        ("delivery_count", pa.int32()),
        ("state", pa.string()),
        ("last_period", pa.string()),
        ("last_received_at", pa.timestamp("us")),
        ("next_period", pa.string()),
        ("next_due_date", pa.date32()),
        ("overdue_count", pa.int32()),
        ("last_quarantined_file", pa.string()),
        ("is_due_soon", pa.bool_()),
    ]
)
FEED_PERIODS_SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("feed_key", pa.string()),
        ("feed", pa.string()),
        ("partner", pa.string()),
        ("period_label", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("quarter_start", pa.date32()),
        ("due_date", pa.date32()),
        ("is_delivered", pa.bool_()),
        ("latest_delivery_id", pa.int32()),
        ("is_past_due", pa.bool_()),
        ("is_overdue", pa.bool_()),
        ("is_next_due", pa.bool_()),
        ("is_expected", pa.bool_()),
        ("is_through_as_of_quarter", pa.bool_()),
    ]
)


# Configuration columns added since a warehouse may have been made. A new warehouse gets them
# the same way, so old and new tables have the same columns in the same order.
CONFIG_MIGRATIONS = [
    "alter table raw.feed_calendar add column if not exists due_months_after_period_end "
    "integer default 0",
]


def raw_table_ddl(table: Table) -> str:
    """CREATE TABLE for a contract table: delivery id, source row, then the loaded columns."""
    columns = ["delivery_id integer not null", "source_row integer not null"]
    columns += [f"{c.name} {c.sql_type}" for c in table.loaded_columns]
    columns += [f"{c.key_version_name} varchar" for c in table.token_columns]
    body = ",\n    ".join(columns)
    return f"create table if not exists raw.{table.name} (\n    {body}\n)"


def raw_table_migrations(table: Table) -> list[str]:
    """ALTERs bringing a raw table made by an earlier version up to the contract.

    Key labels arrived with per-domain keys: older rows get none, so the key check below
    refuses to mix them with new ones until ``csp rekey`` has re-derived them.
    """
    return [
        f"alter table raw.{table.name} add column if not exists {c.key_version_name} varchar"
        for c in table.token_columns
    ]


class KeyMismatchError(RuntimeError):
    """A delivery's tokens were made by another key than the tokens already in the table."""


def check_key_labels(con: Any, table: Table, batch: pa.Table) -> None:
    """Refuse to add tokens under one key to a table holding tokens under another.

    Tokens made by two keys never match, so a mixture would silently split every person in
    two: this happens when a rotation was interrupted or the wrong key is configured.
    """
    for column in table.token_columns:
        name = column.key_version_name
        for label in {v for v in batch.column(name).to_pylist() if v is not None}:
            other = con.execute(
                f"select coalesce({name}, 'none (loaded before key versions)') from "
                f"raw.{table.name} where coalesce({name}, '') <> ? limit 1",
                [label],
            ).fetchone()
            if other:
                domain = label.split("/")[0]
                raise KeyMismatchError(
                    f"raw.{table.name}.{column.name} holds tokens made by key {other[0]}, but "
                    f"this delivery's were made by {label}: a key rotation was interrupted or "
                    f"the wrong key is configured. Run `csp rekey {domain}` to finish the "
                    "rotation, or configure the key the warehouse was built with"
                )


@contextmanager
def connect(path: Path | PostgresTarget, read_only: bool = False) -> Iterator[Any]:
    """A short-lived connection: DuckDB allows one writer, so never hold one open for long.

    ``path`` is the DuckDB file, or a ``PostgresTarget`` for the Postgres warehouse (then the
    connection is a ``PostgresConnection`` with the same ``execute`` as DuckDB's).
    """
    if isinstance(path, PostgresTarget):
        with connect_postgres(path, read_only=read_only) as pg:
            yield pg
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = duckdb_memory_limit()
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        # Tokens and age bands are personal data still: owner-only (SECURITY.md).
        make_private(path)
        make_private(path.with_name(path.name + ".wal"))
    try:
        # DuckDB keeps the blocks it writes in memory up to its limit, 80% of the machine by
        # default: a national ingest held 2.3 GiB that way (BENCHMARKS.md). Set, not passed
        # as config, so that it never clashes with another connection to the same file.
        con.execute(f"set memory_limit = '{limit}'")
        yield con
    finally:
        con.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, manifest, configuration and every feed table if missing."""
    if isinstance(con, PostgresConnection):
        _ensure_raw_schema_postgres(con)
        return
    con.execute("create schema if not exists raw")
    con.execute(DELIVERIES_DDL)
    for ddl in [*CONFIG_DDL, *CONFIG_MIGRATIONS, *FEED_STATUS_DDL]:
        con.execute(ddl)
    for contract in all_contracts().values():
        for table in contract.tables:
            con.execute(raw_table_ddl(table))
            for ddl in raw_table_migrations(table):
                con.execute(ddl)


@dataclass(frozen=True)
class KnownDelivery:
    """A delivery already in the manifest, found by the SHA-256 of its bytes."""

    delivery_id: int
    file_name: str
    status: str
    received_at: datetime
    rejection_reason: str | None


def find_delivery(con: duckdb.DuckDBPyConnection, feed: str, sha256: str) -> KnownDelivery | None:
    """The earliest delivery of these exact bytes to this feed, if any."""
    row = con.execute(
        """
        select delivery_id, file_name, status, received_at, rejection_reason
        from raw.deliveries where feed = ? and sha256 = ? order by delivery_id limit 1
        """,
        [feed, sha256],
    ).fetchone()
    return KnownDelivery(*row) if row else None


def known_deliveries(con: duckdb.DuckDBPyConnection, feed: str) -> dict[str, KnownDelivery]:
    """The earliest delivery of each distinct content of this feed, by SHA-256: one query
    instead of one per landed file (``find_delivery``)."""
    rows = con.execute(
        """
        select sha256, delivery_id, file_name, status, received_at, rejection_reason
        from raw.deliveries where feed = ? order by delivery_id desc
        """,
        [feed],
    ).fetchall()
    return {sha: KnownDelivery(*known) for sha, *known in rows}  # the earliest written last


def _next_delivery_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(delivery_id), 0) + 1 from raw.deliveries").fetchone()[0]


@dataclass(frozen=True)
class DeliveryRecord:
    """The manifest facts of one delivery."""

    feed: str
    partner: str | None
    file_name: str
    sha256: str
    period: Period | None
    received_at: datetime
    la_code: str


def _insert_manifest_rows(
    con: duckdb.DuckDBPyConnection,
    records: Sequence[DeliveryRecord],
    row_counts: Sequence[int],
    status: str,
    rejection_reason: str | None = None,
) -> list[int]:
    """Add manifest rows, with consecutive new ids in the order of ``records``, in one
    statement (a chunk of a backlog has dozens)."""
    first = _next_delivery_id(con)
    ids = list(range(first, first + len(records)))
    values: list[Any] = []
    for delivery_id, record, row_count in zip(ids, records, row_counts, strict=True):
        period = record.period
        values += [
            delivery_id,
            record.feed,
            record.partner,
            record.file_name,
            record.sha256,
            period.label if period else None,
            period.start if period else None,
            period.end if period else None,
            row_count,
            record.received_at,
            status,
            rejection_reason,
            record.la_code,
        ]
    row = "(" + ", ".join(["?"] * 13) + ")"
    con.execute(f"insert into raw.deliveries values {', '.join([row] * len(records))}", values)
    return ids


def load_delivery(
    con: duckdb.DuckDBPyConnection,
    record: DeliveryRecord,
    contract: FeedContract,
    tables: dict[str, pa.Table],
) -> int:
    """Load a checked delivery and its manifest row in one transaction; return its id.

    An earlier delivery for the same period is marked superseded in the same transaction; its
    rows stay in the raw table (history), and staging reads only current deliveries.
    """
    tagged = {
        name: batch.add_column(0, "_file", pa.array([0] * batch.num_rows, pa.int32()))
        for name, batch in tables.items()
    }
    return load_deliveries(con, [record], contract, tagged)[0]


def _rows_per_file(tables: dict[str, pa.Table], files: int) -> list[int]:
    """Rows of each delivery (``_file`` index) across the tables."""
    counts = [0] * files
    for batch in tables.values():
        grouped = batch.group_by("_file").aggregate([("_file", "count")])
        for index, count in zip(
            grouped["_file"].to_pylist(), grouped["_file_count"].to_pylist(), strict=True
        ):
            counts[index] += count
    return counts


def load_deliveries(
    con: duckdb.DuckDBPyConnection,
    records: list[DeliveryRecord],
    contract: FeedContract,
    tables: dict[str, pa.Table],
) -> list[int]:
    """Load checked deliveries, in order, and their manifest rows in one transaction.

    ``tables`` hold the rows of every delivery, each tagged with its index in ``records`` in
    a ``_file`` column. All or nothing: a failure leaves the warehouse as it was. Returns the
    delivery ids, in the order of ``records``.
    """
    if not records:
        return []
    if isinstance(con, PostgresConnection):
        # Concurrent loaders must not take the same delivery id (max + 1).
        con.execute("begin transaction")
        con.execute("lock table raw.deliveries in share row exclusive mode")
    else:
        con.execute("begin transaction")
    try:
        ids = _insert_manifest_rows(con, records, _rows_per_file(tables, len(records)), "loaded")
        # A delivery supersedes every earlier one loaded for its partner and period,
        # including one loaded a moment ago in this same batch.
        con.execute(
            """
            update raw.deliveries set status = 'superseded'
            where feed = ? and status = 'loaded' and exists (
                select 1 from raw.deliveries as later
                where later.delivery_id between ? and ?
                  and later.feed = raw.deliveries.feed
                  and coalesce(later.partner, '') = coalesce(raw.deliveries.partner, '')
                  and later.period_label = raw.deliveries.period_label
                  and later.delivery_id > raw.deliveries.delivery_id)
            """,
            [records[0].feed, ids[0], ids[-1]],
        )
        delivery_ids = pa.array(ids, pa.int32())
        for table in contract.tables:
            tagged = tables[table.name]
            batch = tagged.drop_columns(["_file"]).add_column(
                0, "delivery_id", pc.take(delivery_ids, tagged["_file"])
            )
            check_key_labels(con, table, batch)
            if isinstance(con, PostgresConnection):
                con.copy_table(f"raw.{table.name}", batch)
                continue
            con.register("delivery_batch", batch)
            names = ", ".join(batch.column_names)
            con.execute(f"insert into raw.{table.name} ({names}) select * from delivery_batch")
            con.unregister("delivery_batch")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return ids


def record_rejection(con: duckdb.DuckDBPyConnection, record: DeliveryRecord, reason: str) -> int:
    """Note a rejected delivery in the manifest (no data of it is written anywhere here)."""
    return _insert_manifest_rows(con, [record], [0], "rejected", reason)[0]


LOOKUP_COLUMNS = ("lsoa_code", "la_code", "la_name", "force")


class LsoaLookupError(ValueError):
    """The LSOA lookup file is unusable; the message names the file and the problem."""


def read_lsoa_lookup(path: Path) -> pa.Table:
    """The LSOA → local authority lookup (``lsoa_code, la_code, la_name, force``), checked."""
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in LOOKUP_COLUMNS}, strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise LsoaLookupError(f"{path}: not a readable CSV ({error})") from None
    missing = [c for c in LOOKUP_COLUMNS if c not in table.column_names]
    if missing:
        raise LsoaLookupError(
            f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(LOOKUP_COLUMNS)})"
        )
    table = table.select(list(LOOKUP_COLUMNS))
    codes = table.column("lsoa_code").to_pylist()
    if None in codes or None in table.column("la_code").to_pylist():
        raise LsoaLookupError(f"{path}: every row needs an lsoa_code and an la_code")
    if len(set(codes)) != len(codes):
        seen: set[str] = set()
        twice = sorted({c for c in codes if c in seen or seen.add(c)})
        raise LsoaLookupError(f"{path}: LSOA code(s) listed twice: {', '.join(twice[:5])}")
    return table


def replace_reference_table(con: Any, table: str, rows: pa.Table | None) -> None:
    """Replace ``raw.<table>`` (configuration, like the calendar) within the caller's
    transaction: the reference files describe the build, they are not history."""
    con.execute(f"delete from raw.{table}")
    if rows is None or not rows.num_rows:
        return
    if isinstance(con, PostgresConnection):
        con.copy_table(f"raw.{table}", rows)
        return
    con.register("reference_batch", rows)
    con.execute(f"insert into raw.{table} select * from reference_batch")
    con.unregister("reference_batch")


def write_lsoa_lookup(con: Any, lookup: pa.Table | None) -> None:
    """Replace raw.lsoa_lookup within the caller's transaction."""
    replace_reference_table(con, "lsoa_lookup", lookup)


def write_configuration(
    con: duckdb.DuckDBPyConnection,
    la_code: str,
    name: str,
    calendar: Sequence[CalendarEntry],
    lsoa_lookup: pa.Table | None = None,
    district_lookup: pa.Table | None = None,
    population: pa.Table | None = None,
) -> None:
    """Replace the configuration tables: they describe the build, they are not history."""
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.partnership")
        con.execute("insert into raw.partnership values (?, ?)", [la_code, name])
        con.execute("delete from raw.feed_calendar")
        con.executemany(
            "insert into raw.feed_calendar (feed, partner, cadence, due_days_after_period_end,"
            " due_months_after_period_end, calendar_start, suspended_since, suspension_reason)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    e.feed,
                    e.partner,
                    e.cadence,
                    e.due_days_after_period_end,
                    e.due_months_after_period_end,
                    e.calendar_start,
                    e.suspended_since,
                    e.suspension_reason,
                ]
                for e in calendar
            ],
        )
        write_lsoa_lookup(con, lsoa_lookup)
        replace_reference_table(con, "district_lookup", district_lookup)
        replace_reference_table(con, "lsoa_population", population)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def read_deliveries(con: Any) -> list[Delivered]:
    """Every delivery in raw.deliveries, in arrival order, as the feed status reads them.

    Not filtered by the as-of date: ``received_at`` is when the pipeline took a file, which
    for a rebuilt past quarter is today; the as-of date judges due dates, not arrivals.
    """
    rows = con.execute(
        "select feed, period_label, period_start, received_at, status, file_name, partner, "
        "delivery_id from raw.deliveries order by delivery_id"
    ).fetchall()
    return [Delivered(*row) for row in rows]


def read_feed_calendar(con: Any) -> list[CalendarEntry]:
    """The feed calendar as the last build configured it (raw.feed_calendar)."""
    rows = con.execute(
        "select feed, partner, cadence, due_days_after_period_end, calendar_start, "
        "suspended_since, suspension_reason, coalesce(due_months_after_period_end, 0) "
        "from raw.feed_calendar"
    ).fetchall()
    return [CalendarEntry(*row) for row in rows]


def _feed_status_rows(judgements: Sequence[CalendarJudgement], as_of: date) -> pa.Table:
    rows = [
        {
            "as_of_date": as_of,
            "feed_key": j.feed_key,
            "feed": j.entry.feed,
            "partner": j.entry.partner,
            "effective_calendar_start": j.effective_calendar_start,
            "first_delivered_period_start": j.first_delivered_period_start,
            "last_delivered_period_start": j.last_delivered_period_start,
            "delivery_count": j.delivery_count,
            "state": j.status.state,
            "last_period": j.status.last_period,
            "last_received_at": j.status.last_received,
            "next_period": j.status.next_period,
            "next_due_date": j.status.next_due,
            "overdue_count": len(j.status.overdue),
            "last_quarantined_file": j.status.last_quarantined,
            "is_due_soon": j.status.due_soon,
        }
        for j in judgements
    ]
    return pa.Table.from_pylist(rows, schema=FEED_STATUS_SCHEMA)


def _feed_period_rows(judgements: Sequence[CalendarJudgement], as_of: date) -> pa.Table:
    rows = [
        {
            "as_of_date": as_of,
            "feed_key": p.feed_key,
            "feed": j.entry.feed,
            "partner": j.entry.partner,
            "period_label": p.label,
            "period_start": p.start,
            "period_end": p.end,
            "quarter_start": p.quarter_start,
            "due_date": p.due,
            "is_delivered": p.is_delivered,
            "latest_delivery_id": p.latest_delivery_id,
            "is_past_due": p.is_past_due,
            "is_overdue": p.is_overdue,
            "is_next_due": p.is_next_due,
            "is_expected": p.is_expected,
            "is_through_as_of_quarter": p.is_through_as_of_quarter,
        }
        for j in judgements
        for p in j.periods
    ]
    return pa.Table.from_pylist(rows, schema=FEED_PERIODS_SCHEMA)


def write_feed_status(
    con: Any, as_of: date, calendar: Sequence[CalendarEntry] | None = None
) -> list[CalendarJudgement]:
    """Judge every feed calendar row on ``as_of`` and replace raw.feed_status and
    raw.feed_periods with the judgement, in one transaction; return it.

    ``calendar`` is the build's (settings.calendar), else raw.feed_calendar's. The build calls
    this after every ingest and before dbt, whose models read the two tables: the calendar
    rule has one home, core/feed_status.py. The tables must exist (``ensure_raw_schema``).
    """
    if calendar is None:
        calendar = read_feed_calendar(con)
    judgements = judged_periods(calendar, read_deliveries(con), as_of)
    con.execute("begin transaction")
    try:
        replace_reference_table(con, "feed_status", _feed_status_rows(judgements, as_of))
        replace_reference_table(con, "feed_periods", _feed_period_rows(judgements, as_of))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return judgements


# --- Postgres ------------------------------------------------------------------------------
# The same raw layer on PostgreSQL (CSP_TARGET=postgres): the same tables, manifest and
# one-transaction-per-delivery rule; rows go in with COPY ... FROM STDIN.

POSTGRES_TYPES = {"double": "double precision"}


class PostgresConnection:
    """A psycopg2 connection in autocommit mode with DuckDB's ``execute`` (``?`` parameters),
    so the raw-layer functions above run unchanged: ``begin``/``commit`` are explicit."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @staticmethod
    def _sql(sql: str, parameters: Sequence[Any] | None) -> str:
        return sql if parameters is None else sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        cursor = self.raw.cursor()
        cursor.execute(self._sql(sql, parameters), parameters)
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(self._sql(sql, ()), rows)

    def copy_table(self, table: str, batch: pa.Table) -> None:
        """COPY an Arrow table into ``table`` (columns by name), as CSV."""
        import io

        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        # Every value quoted, null an empty unquoted field: COPY's CSV reads back null as null,
        # '' as '' and never takes a value for its end-of-data marker.
        for index, field in enumerate(batch.schema):
            if pa.types.is_timestamp(field.type):
                batch = batch.set_column(
                    index, field.name, pc.cast(batch.column(index), pa.timestamp("us"))
                )
        buffer = io.BytesIO()
        pacsv.write_csv(
            batch, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        )
        buffer.seek(0)
        names = ", ".join(batch.column_names)
        with self.raw.cursor() as cursor:
            cursor.copy_expert(f"copy {table} ({names}) from stdin with (format csv)", buffer)

    def close(self) -> None:
        self.raw.close()


@contextmanager
def connect_postgres(
    target: PostgresTarget, read_only: bool = False
) -> Iterator[PostgresConnection]:
    """A short-lived autocommit connection to the Postgres warehouse, as ``target.role``."""
    import psycopg2

    raw = psycopg2.connect(target.dsn)
    raw.autocommit = True
    con = PostgresConnection(raw)
    try:
        if target.role:
            try:
                con.execute(f'set role "{target.role}"')
            except psycopg2.Error as error:
                raise RuntimeError(
                    f"cannot act as role {target.role} on Postgres ({str(error).strip()}): "
                    "run `csp db init` once as the database owner"
                ) from error
        if read_only:
            con.execute("set default_transaction_read_only = on")
        yield con
    finally:
        con.close()


def postgres_ddl(ddl: str) -> str:
    """A raw-layer CREATE TABLE in Postgres' spelling of the types."""
    for duck, pg in POSTGRES_TYPES.items():
        ddl = re.sub(rf"\b{duck}\b", pg, ddl)
    return ddl


def _ensure_raw_schema_postgres(con: PostgresConnection) -> None:
    exists = con.execute(
        "select 1 from information_schema.schemata where schema_name = 'raw'"
    ).fetchone()
    if not exists:  # `csp db init` creates it, owned by csp_loader
        con.execute("create schema if not exists raw")
    statements = [DELIVERIES_DDL, *CONFIG_DDL, *CONFIG_MIGRATIONS, *FEED_STATUS_DDL]
    for contract in all_contracts().values():
        for table in contract.tables:
            statements += [raw_table_ddl(table), *raw_table_migrations(table)]
    con.execute("begin transaction")
    try:
        # Two loaders creating the same table at once would collide on pg_type: one at a time.
        con.execute("select pg_advisory_xact_lock(hashtext('csp raw schema'))")
        for ddl in statements:
            con.execute(postgres_ddl(ddl))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
