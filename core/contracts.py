"""Feed contracts: what each partner sends, described as data (one YAML file per feed).

The readers, the validators, the raw-table DDL and the delivery calendar are all driven by
these contracts, so a new feed (or a partner changing a column) is a change to a YAML file,
not to five copies of the same code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

# DOMAINS, SQL_TYPES and DEFAULT_MAX_FIELD_LENGTH are part of the schema (the values a contract
# may use), and are imported from here by the rest of the code.
from core.contract_schema import (
    DEFAULT_MAX_FIELD_LENGTH,
    DOMAINS,
    SQL_TYPES,
    ColumnSpec,
    TableSpec,
    validate_contract,
)
from core.periods import Period, calendar_month, financial_quarter, quarter_ending

# One contract per feed, as data: core/feeds/<feed>.yml.
CONTRACTS_DIR = Path(__file__).with_name("feeds")
# Reference lists named in a contract (``reference: {file: ..., column: ...}``) are paths
# relative to the repository root, e.g. the dbt seed of Home Office offence classes.
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Column:
    """One column of a delivered table, as the partner names it and as the warehouse stores it."""

    source: str
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pii: str | None = None  # pseudonymise | age_band | drop
    age_at: str | None = None
    not_after_period: bool = False
    # Every row's value must be the file's own period (a police.uk month column).
    matches_period: bool = False
    minimum: float | None = None
    maximum: float | None = None
    thousands: str | None = None
    suppressible: bool = False
    reference: tuple[str, ...] | None = None  # the codes of a reference list
    reference_name: str | None = None  # where that list comes from, for messages

    @property
    def loaded(self) -> bool:
        """Whether the column reaches the warehouse at all (free text never does)."""
        return self.pii != "drop"

    @property
    def key_version_name(self) -> str:
        """The raw column beside a token holding the label of the key that made it."""
        return f"{self.name}_key_version"

    @property
    def sql_type(self) -> str:
        """The warehouse type of the loaded column."""
        if self.pii == "age_band":
            return "varchar"
        return SQL_TYPES[self.type]


class Indicator(NamedTuple):
    """One indicator of a catalogue, as a return of it is checked."""

    code: str
    owner: str  # the partner whose return carries it; "" for none
    unit: str  # count | percent | percent_diff
    minimum: float | None = None  # the indicator's own plausible range, where it has one
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    """One table of a delivery: a CSV file, or one sheet of a workbook."""

    name: str
    columns: tuple[Column, ...]
    header_row: int = 1
    sheet: str | None = None
    title_row: int | None = None
    period_row: int | None = None
    footer: str | None = None
    suppression_marker: str | None = None
    record_key: tuple[str, ...] = ()
    # The column whose dates place a row in a period, and the share of rows (with a valid
    # date) that must fall inside the period named in the file name.
    period_column: str | None = None
    period_majority: float | None = None
    no_future_dates: bool = False
    max_field_length: int = DEFAULT_MAX_FIELD_LENGTH
    # Indicator returns: the column holding indicator codes, checked against the catalogue
    # (code -> owning partner, unit and range) for ownership, for percentages' consistency
    # and for values the indicator cannot take.
    owner_column: str | None = None
    catalogue: tuple[Indicator, ...] = ()

    @property
    def source_names(self) -> list[str]:
        """Header names exactly as the partner writes them, in order."""
        return [c.source for c in self.columns]

    @property
    def loaded_columns(self) -> list[Column]:
        """Columns that reach the warehouse, in order."""
        return [c for c in self.columns if c.loaded]

    @property
    def token_columns(self) -> list[Column]:
        """Columns replaced by keyed-hash tokens; each is stored beside its key's label."""
        return [c for c in self.columns if c.pii == "pseudonymise"]

    def column(self, name: str) -> Column:
        """The column with warehouse name ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class FeedContract:
    """Everything the pipeline knows about one partner feed."""

    feed: str
    partner: str
    description: str
    format: str  # csv | xlsx
    cadence: str  # monthly | quarterly
    due_days_after_period_end: int
    file_name: str
    record_key: tuple[str, ...]
    tables: tuple[Table, ...]
    # The file name in plain words with an example, for the partner told their name is wrong.
    file_name_help: str = ""
    # Due at the end of the Nth month after the period (police.uk publishes a month by the end
    # of the second month after it), then ``due_days_after_period_end`` more days.
    due_months_after_period_end: int = 0
    encoding: str | None = None
    byte_order_mark: str | None = None  # required | forbidden
    ends_with_newline: bool = False  # a CSV cut short (partial upload) ends mid-line
    pseudonym_domain: str | None = None
    # The keys only some feeds have (``partners``, ``senders``, ``archives``: ContractFile in
    # core/contract_schema.py), as the contract writes them; absent keys are left out.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def partners(self) -> tuple[str, ...]:
        """Partners that each send this feed on a calendar of their own (partner returns)."""
        return tuple(self.extra.get("partners", ()))

    @property
    def senders(self) -> tuple[str, ...]:
        """Who else may name themselves in the file name without a calendar of their own: the
        police forces, for a force-wide extract (``police_crime_<force>_YYYY-MM.csv``)."""
        spec = self.extra.get("senders")
        return load_reference(spec["file"], spec["column"]) if spec else ()

    def _known_sender(self, name: str | None) -> bool:
        return name is None or name in self.partners or name in self.senders

    def _match_file_name(self, file_name: str) -> re.Match[str] | None:
        # ASCII: to Python's re, \d is any script's digit, and a full-width "２０１４" in a
        # name must not be read as a period (int() would accept it).
        return re.fullmatch(self.file_name, file_name, flags=re.ASCII)

    def partner_from_file_name(self, file_name: str) -> str | None:
        """The partner (or force) a file name names, for feeds sent by several senders."""
        match = self._match_file_name(file_name)
        if not match or "partner" not in match.groupdict():
            return None
        partner = match["partner"]
        return partner if partner is not None and self._known_sender(partner) else None

    def period_from_file_name(self, file_name: str) -> Period | None:
        """The period a file covers, read from its name; None when the name breaks the contract."""
        match = self._match_file_name(file_name)
        if not match:
            return None
        parts = match.groupdict()
        if "partner" in parts and not self._known_sender(parts["partner"]):
            return None
        try:
            if "quarter" in parts:
                fy_start = int(parts["fy_start"])
                if (fy_start + 1) % 100 != int(parts["fy_end"]):
                    return None
                return financial_quarter(fy_start, int(parts["quarter"]))
            year, month = int(parts["year"]), int(parts["month"])
            if not 1 <= month <= 12:
                return None
            if self.cadence == "monthly":
                return calendar_month(year, month)
            # Quarterly files named by the last month of the quarter they cover.
            if month not in (3, 6, 9, 12):
                return None
            return quarter_ending(year, month)
        except ValueError:
            return None


def _bound(text: str | None) -> float | None:
    """A catalogue bound: a number, or None for a blank cell (no bound)."""
    if not text or not text.strip():
        return None
    bound = float(text)
    if not math.isfinite(bound):
        raise ValueError(f"a catalogue bound must be a finite number, not {text!r}")
    return bound


def load_catalogue(spec: dict[str, str]) -> tuple[Indicator, ...]:
    """Every indicator of the catalogue CSV a contract names: code, owner, unit and range.

    ``spec`` names the CSV's columns; ``min`` and ``max`` (columns of optional bounds on an
    indicator's value) may be left out of it, and a blank cell is no bound.
    """
    import csv

    path = REPO_ROOT / spec["file"]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return tuple(
            Indicator(
                row[spec["code"]],
                row[spec["owner"]] or "",
                row[spec["unit"]],
                _bound(row.get(spec["min"])) if "min" in spec else None,
                _bound(row.get(spec["max"])) if "max" in spec else None,
            )
            for row in csv.DictReader(handle)
        )


def police_forces() -> list[tuple[str, str]]:
    """(slug, name) of the 43 police forces of England and Wales: those with a force area of
    their own (the seed also lists British Transport Police and Northern Ireland's force, as
    data.police.uk publishes them)."""
    import csv

    with (REPO_ROOT / "dbt_project/seeds/police_forces.csv").open(encoding="utf-8") as handle:
        return [
            (row["force"], row["force_name"]) for row in csv.DictReader(handle) if row["pfa_code"]
        ]


@cache
def load_reference(file: str, column: str) -> tuple[str, ...]:
    """The codes in ``column`` of a reference CSV (path relative to the repository root)."""
    import csv

    path = REPO_ROOT / file
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            raise ValueError(f"reference list {file} has no column {column!r}")
        return tuple(sorted({row[column].strip() for row in reader if row[column].strip()}))


def _column(spec: ColumnSpec) -> Column:
    reference = spec.reference
    return Column(
        source=spec.source,
        name=spec.name,
        type=spec.type,
        required=spec.required,
        allowed=tuple(str(a) for a in spec.allowed) if spec.allowed else None,
        pii=spec.pii,
        age_at=spec.age_at,
        not_after_period=spec.not_after_period,
        matches_period=spec.matches_period,
        minimum=spec.min,
        maximum=spec.max,
        thousands=spec.thousands,
        suppressible=spec.suppressible,
        reference=load_reference(reference.file, reference.column) if reference else None,
        reference_name=reference.file if reference else None,
    )


def _table(spec: TableSpec, feed_key: list[str]) -> Table:
    catalogue = spec.catalogue
    return Table(
        name=spec.name,
        columns=tuple(_column(c) for c in spec.columns),
        header_row=spec.header_row,
        sheet=spec.sheet,
        title_row=spec.title_row,
        period_row=spec.period_row,
        footer=spec.footer,
        suppression_marker=spec.suppression_marker,
        record_key=tuple(feed_key if spec.record_key is None else spec.record_key),
        period_column=spec.period_column,
        period_majority=spec.period_majority,
        owner_column=spec.owner_column,
        # A catalogue's min / max columns are optional: left out, its bounds are None.
        catalogue=load_catalogue(catalogue.model_dump(exclude_none=True)) if catalogue else (),
        no_future_dates=spec.no_future_dates,
        max_field_length=spec.max_field_length,
    )


def load_contract(path: Path) -> FeedContract:
    """Read one contract file, checked against the schema (core/contract_schema.py).

    Raises ValueError naming the file and every key at fault: an unknown (misspelt) key, a
    missing one, or a value the key cannot take.
    """
    spec = validate_contract(yaml.safe_load(path.read_text(encoding="utf-8")), path)
    # The schema's keys that are no field of FeedContract (partners, senders, archives), as the
    # contract writes them: only the feeds that use one have it.
    feed_specific = set(type(spec).model_fields) - set(FeedContract.__dataclass_fields__)
    contract = FeedContract(
        feed=spec.feed,
        partner=spec.partner,
        description=spec.description,
        format=spec.format,
        cadence=spec.cadence,
        due_days_after_period_end=spec.due_days_after_period_end,
        file_name=spec.file_name,
        file_name_help=spec.file_name_help,
        due_months_after_period_end=spec.due_months_after_period_end,
        record_key=tuple(spec.record_key),
        tables=tuple(_table(t, spec.record_key) for t in spec.tables),
        encoding=spec.encoding,
        byte_order_mark=spec.byte_order_mark,
        ends_with_newline=spec.ends_with_newline,
        pseudonym_domain=spec.pseudonym_domain,
        extra=spec.model_dump(include=feed_specific, exclude_unset=True),
    )
    has_tokens = any(t.token_columns for t in contract.tables)
    if has_tokens and contract.pseudonym_domain not in DOMAINS:
        # Each domain has a key of its own: a token column must say whose key makes it.
        raise ValueError(
            f"{path.name}: pseudonym_domain must be one of {', '.join(DOMAINS)} "
            "when a column is pseudonymised"
        )
    return contract


@cache
def all_contracts() -> dict[str, FeedContract]:
    """Every feed contract, keyed by feed id, in a stable order."""
    contracts = (load_contract(p) for p in sorted(CONTRACTS_DIR.glob("*.yml")))
    return {c.feed: c for c in contracts}


def contract_for(feed: str) -> FeedContract:
    """The contract of ``feed``; KeyError names the known feeds."""
    contracts = all_contracts()
    if feed not in contracts:
        raise KeyError(f"unknown feed {feed!r}; known feeds: {', '.join(contracts)}")
    return contracts[feed]
