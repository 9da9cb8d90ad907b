"""Key rotation: re-derive every token made by one key from the archived files, in one go.

A token cannot be turned into another token (that is the point of a keyed hash), so a new key
means going back to the identifiers, which only the archive holds. The rotation is safe to
repeat and to interrupt:

1. the next key version is prepared (a ``v<N>.key.pending`` file, or ``<VARIABLE>_NEXT`` when
   keys come from the environment) and reused if a rotation was cut short;
2. every delivery that has rows in the warehouse is re-read from the archive under it (nothing
   is written; a missing or no-longer-readable file stops the rotation here);
3. all the tokens and their key labels are replaced in one transaction, which also checks that
   no row was left under the old key;
4. only then does the new key become current (the pending file is renamed, the old key file
   moved to ``retired/``).

Between 3 and 4 the loader refuses new deliveries (their key label would not match), so a
crash there cannot mix keys; running ``csp rekey`` again finishes the job.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.contracts import DOMAINS, FeedContract, Table, all_contracts
from core.problems import RejectedFile
from core.targets import PostgresTarget
from ingest.archive_quarantine import archive_path
from ingest.pseudonymise import (
    DomainKey,
    Pseudonymiser,
    checked_secret,
    create_key_file,
    key_dir,
    key_env,
)
from ingest.readers import describe, read_delivery
from ingest.warehouse import PostgresConnection, connect

# Deliveries whose rows are in the raw tables (a rejected one has none).
HELD_STATUSES = ("loaded", "superseded")


class RekeyError(RuntimeError):
    """The rotation cannot go ahead; nothing has been changed."""


@dataclass(frozen=True)
class RekeyResult:
    """What a rotation did."""

    key_name: str
    old_label: str
    new_label: str
    deliveries: int
    tokens: int
    seconds: float
    retired_key: Path | None  # where the old key file went; None when keys are in the env
    env_variable: str | None  # set this to the new key (and its _VERSION) to finish


def feeds_of_key(pseudonymiser: Pseudonymiser, key_name: str) -> list[FeedContract]:
    """The feeds whose tokens the key named ``key_name`` makes."""
    return [
        c
        for c in all_contracts().values()
        if c.pseudonym_domain and pseudonymiser.key_name(c.pseudonym_domain) == key_name
    ]


def prepare_next_key(home: Path, current: DomainKey) -> DomainKey:
    """The key version after ``current``: a pending key file (made once, then reused), or
    ``<VARIABLE>_NEXT`` when the current key comes from the environment."""
    variable = key_env(current.name)
    if current.source == variable:
        secret = os.environ.get(f"{variable}_NEXT")
        if not secret:
            raise RekeyError(
                f"the {current.name} key comes from {variable}: put the new key in "
                f"{variable}_NEXT and run `csp rekey` again"
            )
        return DomainKey(
            current.name,
            current.version + 1,
            checked_secret(secret.encode("utf-8"), f"{variable}_NEXT"),
            f"{variable}_NEXT",
        )
    pending = key_dir(home) / current.name / f"v{current.version + 1}.key.pending"
    create_key_file(pending)
    return DomainKey(
        current.name,
        current.version + 1,
        checked_secret(pending.read_bytes().strip(), str(pending)),
        str(pending),
    )


def _held_deliveries(con: Any, feeds: list[str]) -> list[tuple]:
    placeholders = ", ".join("?" for _ in feeds)
    statuses = ", ".join(f"'{s}'" for s in HELD_STATUSES)
    return con.execute(
        f"""
        select delivery_id, feed, partner, file_name, sha256 from raw.deliveries
        where feed in ({placeholders}) and status in ({statuses}) order by delivery_id
        """,
        feeds,
    ).fetchall()


def key_names(pseudonymiser: Pseudonymiser) -> list[str]:
    """Every key a home can have: one per pseudonymisation domain, or per linked group."""
    return sorted({pseudonymiser.key_name(domain) for domain in DOMAINS})


def rederive_tokens(
    home: Path,
    warehouse: Path | PostgresTarget,
    pseudonymiser: Pseudonymiser,
    key_name: str,
) -> dict[str, pa.Table | None]:
    """Every held delivery of the key's feeds, re-read from the archive under
    ``pseudonymiser``: per raw table, (delivery_id, source_row, tokens, key labels), or None
    for a table with no rows yet."""
    contracts = {c.feed: c for c in feeds_of_key(pseudonymiser, key_name)}
    if not contracts:
        raise RekeyError(
            f"no feed is pseudonymised with the key {key_name!r}: the keys are "
            f"{', '.join(key_names(pseudonymiser))}"
        )
    with connect(warehouse, read_only=True) as con:
        deliveries = _held_deliveries(con, list(contracts))
    missing = [
        f"{feed}/{name} (delivery {d}, {archive_path(home, feed, sha, Path(name))})"
        for d, feed, _, name, sha in deliveries
        if not archive_path(home, feed, sha, Path(name)).is_file()
    ]
    if missing:
        raise RekeyError(
            "these deliveries are no longer in the archive, so their tokens cannot "
            "be re-derived: " + "; ".join(missing)
        )
    parts: dict[str, list[pa.Table]] = {
        t.name: [] for c in contracts.values() for t in c.tables if t.token_columns
    }
    for delivery_id, feed, partner, name, sha in deliveries:
        contract = contracts[feed]
        period = contract.period_from_file_name(name)
        try:
            # la_code=None: the contract's rules (docs/feeds.md) are checked again, the
            # partnership's expectation suite is not (the delivery was accepted under it).
            result = read_delivery(
                archive_path(home, feed, sha, Path(name)),
                contract,
                period,
                pseudonymiser,
                la_code=None,
                partner=partner,
            )
        except RejectedFile as rejected:
            raise RekeyError(
                f"{feed}/{name} (delivery {delivery_id}) no longer reads from the "
                f"archive: {describe(rejected.problems)}"
            ) from None
        for table in contract.tables:
            if not table.token_columns:
                continue
            names = [
                "source_row",
                *(c.name for c in table.token_columns),
                *(c.key_version_name for c in table.token_columns),
            ]
            batch = result.tables[table.name].select(names)
            batch = batch.add_column(
                0, "delivery_id", pa.array([delivery_id] * batch.num_rows, pa.int32())
            )
            parts[table.name].append(batch)
    return {name: pa.concat_tables(batches) if batches else None for name, batches in parts.items()}


def _replace_tokens(con: Any, table: Table, batch: pa.Table | None, new_label: str) -> None:
    if batch is not None:
        columns = [n for n in batch.column_names if n not in ("delivery_id", "source_row")]
        assignments = ", ".join(f"{c} = b.{c}" for c in columns)
        staged = f"rekey_{table.name}"
        if isinstance(con, PostgresConnection):
            con.execute(f"create temporary table {staged} (like raw.{table.name}) on commit drop")
            con.copy_table(staged, batch)
        else:
            con.register(staged, batch)
        con.execute(
            f"update raw.{table.name} as r set {assignments} from {staged} as b "
            "where r.delivery_id = b.delivery_id and r.source_row = b.source_row"
        )
        if not isinstance(con, PostgresConnection):
            con.unregister(staged)
    left = sum(
        con.execute(
            f"select count(*) from raw.{table.name} where {c.key_version_name} is distinct from ?",
            [new_label],
        ).fetchone()[0]
        for c in table.token_columns
    )
    if left:
        raise RekeyError(
            f"{left} row(s) of raw.{table.name} belong to no archived delivery, so "
            "their tokens could not be re-derived; nothing was changed"
        )


def apply_tokens(
    warehouse: Path | PostgresTarget, batches: dict[str, pa.Table | None], new_label: str
) -> None:
    """Replace tokens and key labels from ``batches`` in one transaction (all or nothing)."""
    tables = {t.name: t for c in all_contracts().values() for t in c.tables}
    with connect(warehouse) as con:
        con.execute("begin transaction")
        try:
            for name, batch in batches.items():
                _replace_tokens(con, tables[name], batch, new_label)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def make_current(home: Path, old: DomainKey, new: DomainKey) -> Path | None:
    """Promote the pending key file and retire the old one; None for environment keys."""
    if new.source.endswith("_NEXT"):
        return None
    folder = key_dir(home) / new.name
    Path(new.source).replace(folder / f"v{new.version}.key")
    retired = folder / "retired" / f"v{old.version}.key"
    retired.parent.mkdir(mode=0o700, exist_ok=True)
    Path(old.source).replace(retired)
    return retired


def rekey(
    home: Path, warehouse: Path | PostgresTarget, pseudonymiser: Pseudonymiser, domain: str
) -> RekeyResult:
    """Rotate the key serving ``domain`` (or the linked group's key, named either way)."""
    started = time.perf_counter()
    key_name = domain if domain in pseudonymiser.keys else pseudonymiser.key_name(domain)
    if key_name not in pseudonymiser.keys:
        raise RekeyError(
            f"no key named {domain!r}: the keys are {', '.join(key_names(pseudonymiser))}"
            + f" (this home holds {', '.join(sorted(pseudonymiser.keys)) or 'none yet'})"
        )
    old = pseudonymiser.keys[key_name]
    new = prepare_next_key(home, old)
    batches = rederive_tokens(home, warehouse, pseudonymiser.with_key(new), key_name)
    apply_tokens(warehouse, batches, new.label)
    retired = make_current(home, old, new)
    return RekeyResult(
        key_name=key_name,
        old_label=old.label,
        new_label=new.label,
        deliveries=len(
            {
                d
                for b in batches.values()
                if b is not None
                for d in b.column("delivery_id").to_pylist()
            }
        ),
        tokens=sum(b.num_rows for b in batches.values() if b is not None),
        seconds=round(time.perf_counter() - started, 2),
        retired_key=retired,
        env_variable=None if retired else key_env(key_name),
    )
