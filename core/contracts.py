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

from core.periods import Period, calendar_month, financial_quarter, quarter_ending

# One contract per feed, as data: core/feeds/<feed>.yml.
CONTRACTS_DIR = Path(__file__).with_name("feeds")
# The pseudonymisation domains: each has a key of its own, and a contract that pseudonymises
# a column names the one its tokens belong to.
DOMAINS = ("domestic_abuse", "treatment", "offenders")
# Reference lists named in a contract (``reference: {file: ..., column: ...}``) are paths
# relative to the repository root, e.g. the dbt seed of Home Office offence classes.
REPO_ROOT = Path(__file__).resolve().parents[1]
# Excel cannot hold more than 32,767 characters in a cell, so a longer field in an export
# means a runaway quote or a damaged file, not data.
DEFAULT_MAX_FIELD_LENGTH = 32767

# Contract type -> warehouse column type. Flags (Y/N) and Yes/No become booleans.
SQL_TYPES: dict[str, str] = {
    "text": "varchar",
    "date": "date",
    "integer": "integer",
    "number": "double",
    "flag": "boolean",
    "yes_no": "boolean",
    "quarter": "varchar",  # a financial quarter written '2014/15 Q2'
    "month": "varchar",  # a calendar month written '2018-01', as data.police.uk writes it
}


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
            Indicator(row[spec["code"]], row[spec["owner"]] or "", row[spec["unit"]],
                      _bound(row.get(spec["min"])) if "min" in spec else None,
                      _bound(row.get(spec["max"])) if "max" in spec else None)
            for row in csv.DictReader(handle))


def police_forces() -> list[tuple[str, str]]:
    """(slug, name) of the 43 police forces of England and Wales: those with a force area of
    their own (the seed also lists British Transport Police and Northern Ireland's force, as
    data.police.uk publishes them)."""
    import csv

    with (REPO_ROOT / "dbt_project/seeds/police_forces.csv").open(encoding="utf-8") as handle:
        return [(row["force"], row["force_name"]) for row in csv.DictReader(handle)
                if row["pfa_code"]]


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


def _column(raw: dict[str, Any]) -> Column:
    allowed = raw.get("allowed")
    reference = raw.get("reference")
    return Column(
        source=raw["source"],
        name=raw["name"],
        type=raw["type"],
        required=bool(raw.get("required", False)),
        allowed=tuple(str(a) for a in allowed) if allowed else None,
        pii=raw.get("pii"),
        age_at=raw.get("age_at"),
        not_after_period=bool(raw.get("not_after_period", False)),
        matches_period=bool(raw.get("matches_period", False)),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        thousands=raw.get("thousands"),
        suppressible=bool(raw.get("suppressible", False)),
        reference=load_reference(reference["file"], reference["column"]) if reference else None,
        reference_name=reference["file"] if reference else None,
    )


def _table(raw: dict[str, Any], feed_key: list[str]) -> Table:
    return Table(
        name=raw["name"],
        columns=tuple(_column(c) for c in raw["columns"]),
        header_row=int(raw.get("header_row", 1)),
        sheet=raw.get("sheet"),
        title_row=raw.get("title_row"),
        period_row=raw.get("period_row"),
        footer=raw.get("footer"),
        suppression_marker=raw.get("suppression_marker"),
        record_key=tuple(raw.get("record_key", feed_key)),
        period_column=raw.get("period_column"),
        period_majority=raw.get("period_majority"),
        owner_column=raw.get("owner_column"),
        catalogue=load_catalogue(raw["catalogue"]) if raw.get("catalogue") else (),
        no_future_dates=bool(raw.get("no_future_dates", False)),
        max_field_length=int(raw.get("max_field_length", DEFAULT_MAX_FIELD_LENGTH)),
    )


def load_contract(path: Path) -> FeedContract:
    """Read one contract file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    known = {f for f in FeedContract.__dataclass_fields__}
    contract = FeedContract(
        feed=raw["feed"],
        partner=raw["partner"],
        description=raw.get("description", ""),
        format=raw["format"],
        cadence=raw["cadence"],
        due_days_after_period_end=int(raw["due_days_after_period_end"]),
        file_name=raw["file_name"],
        file_name_help=raw.get("file_name_help", ""),
        due_months_after_period_end=int(raw.get("due_months_after_period_end", 0)),
        record_key=tuple(raw["record_key"]),
        tables=tuple(_table(t, raw["record_key"]) for t in raw["tables"]),
        encoding=raw.get("encoding"),
        byte_order_mark=raw.get("byte_order_mark"),
        ends_with_newline=bool(raw.get("ends_with_newline", False)),
        pseudonym_domain=raw.get("pseudonym_domain"),
        extra={k: v for k, v in raw.items() if k not in known and k != "tables"},
    )
    has_tokens = any(t.token_columns for t in contract.tables)
    if has_tokens and contract.pseudonym_domain not in DOMAINS:
        # Each domain has a key of its own: a token column must say whose key makes it.
        raise ValueError(f"{path.name}: pseudonym_domain must be one of {', '.join(DOMAINS)} "
                         "when a column is pseudonymised")
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
