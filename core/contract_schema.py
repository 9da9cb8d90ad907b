"""The schema of a feed contract file (``core/feeds/<feed>.yml``), checked before it is used.

Every key a contract may hold is declared here, at the top level, in a table and in a column,
with the values it may take. A key the schema does not know is an error rather than ignored:
a misspelt ``requried: true`` would otherwise leave the column optional without a word.
``validate_contract`` turns pydantic's errors into one message naming the file, the path of
each key at fault (``tables[0].columns[3].requried``) and the nearest valid key or value.
"""

from __future__ import annotations

import codecs
import difflib
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
)

# The pseudonymisation domains: each has a key of its own, and a contract that pseudonymises
# a column names the one its tokens belong to.
DOMAINS = ("domestic_abuse", "treatment", "offenders")

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

# Literal of a runtime tuple: the column types are the keys of SQL_TYPES, listed once.
ColumnType = Literal[tuple(SQL_TYPES)]  # type: ignore[valid-type]
PseudonymDomain = Literal[DOMAINS]  # type: ignore[valid-type]


def _number(value: Any) -> int | float:
    # YAML reads `yes` and `true` as booleans, which Python counts as numbers: refuse them.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"should be a number, not {value!r}")
    return value


def _allowed_value(value: Any) -> str | int:
    # An unquoted Yes / No in a YAML list is a boolean, and would be compared as "True".
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"should be text (quote Yes, No, true and false), not {value!r}")
    return value


# One validator each rather than a union, so a wrong value gives one error, not one per type.
Number = Annotated[int | float, PlainValidator(_number)]
AllowedValue = Annotated[str | int, PlainValidator(_allowed_value)]


class _Strict(BaseModel):
    """Unknown keys are errors, and values are taken as YAML wrote them (no "3" for 3)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ReferenceFile(_Strict):
    """A column of a CSV in the repository (a dbt seed), e.g. the Home Office offence classes."""

    file: str
    column: str


class CatalogueFile(_Strict):
    """The indicator catalogue a return is checked against: its file and the columns of it."""

    file: str
    code: str
    owner: str
    unit: str
    min: str | None = None  # the column of an indicator's lowest plausible value
    max: str | None = None


class ColumnSpec(_Strict):
    """One column of a table, as a contract writes it."""

    source: str
    name: str
    type: ColumnType
    required: bool = False
    allowed: list[AllowedValue] | None = None
    pii: Literal["pseudonymise", "age_band", "drop"] | None = None
    age_at: str | None = None
    not_after_period: bool = False
    matches_period: bool = False
    min: Number | None = None
    max: Number | None = None
    # The readers strip commas from grouped numbers ("1,954"): a comma is the only separator.
    thousands: Literal[","] | None = None
    suppressible: bool = False
    reference: ReferenceFile | None = None


class TableSpec(_Strict):
    """One table of a contract: a CSV file, or one sheet of a workbook."""

    name: str
    columns: list[ColumnSpec] = Field(min_length=1)
    header_row: int = Field(default=1, ge=1)
    sheet: str | None = None
    title_row: int | None = Field(default=None, ge=1)
    period_row: int | None = Field(default=None, ge=1)
    # "notes": a blank line, "Notes:" and numbered notes end the table (the MoJ layout).
    footer: Literal["notes"] | None = None
    suppression_marker: str | None = None
    record_key: list[str] | None = None  # None: the feed's own record_key
    period_column: str | None = None
    period_majority: Number | None = Field(default=None, ge=0, le=1)
    owner_column: str | None = None
    catalogue: CatalogueFile | None = None
    no_future_dates: bool = False
    max_field_length: int = Field(default=DEFAULT_MAX_FIELD_LENGTH, ge=1)


class ContractFile(_Strict):
    """A whole contract file: the feed, its delivery, its calendar and its tables."""

    feed: str
    partner: str
    description: str = ""
    format: Literal["csv", "xlsx"]
    cadence: Literal["monthly", "quarterly"]
    due_days_after_period_end: int = Field(ge=0)
    due_months_after_period_end: int = Field(default=0, ge=0)
    file_name: str
    file_name_help: str = ""
    record_key: list[str]
    tables: list[TableSpec] = Field(min_length=1)
    encoding: str | None = None
    byte_order_mark: Literal["required", "forbidden"] | None = None
    ends_with_newline: bool = False
    pseudonym_domain: PseudonymDomain | None = None
    # Keys of some feeds only, read through FeedContract.extra:
    partners: list[str] | None = None  # each partner with a calendar of its own
    senders: ReferenceFile | None = None  # who else may name themselves in the file name
    archives: Literal["zip"] | None = None  # the landing folder takes zip archives

    @field_validator("file_name")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"{value!r} is not a valid regular expression: {error}") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"{value!r} is not an encoding Python knows") from None
        return value


def validate_contract(raw: Any, path: Path) -> ContractFile:
    """The contract read from ``path``, checked against the schema.

    Raises ValueError naming the file and, for each problem, the path of the key at fault and
    what is wrong with it: for an unknown key or value, the nearest valid one.
    """
    try:
        return ContractFile.model_validate(raw)
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors(include_url=False)]
        raise ValueError(
            f"{path.name}: the contract does not fit its schema "
            f"({len(problems)} problem(s)):\n  " + "\n  ".join(problems)
        ) from None


def schema_keys(model: type[BaseModel] = ContractFile) -> dict[str, set[str]]:
    """Every key the schema allows, per kind of mapping (``contract``, ``table``, ...)."""
    kinds = {
        ContractFile: "contract",
        TableSpec: "table",
        ColumnSpec: "column",
        ReferenceFile: "reference",
        CatalogueFile: "catalogue",
    }
    found: dict[str, set[str]] = {}

    def visit(current: type[BaseModel]) -> None:
        found[kinds[current]] = set(current.model_fields)
        for info in current.model_fields.values():
            for inner in _members(info.annotation):
                inner = get_args(inner)[0] if get_origin(inner) is list else inner
                if _is_model(inner) and kinds[inner] not in found:
                    visit(inner)

    visit(model)
    return found


def _describe(error: Any) -> str:
    """One line for one pydantic error: the key's path, then what is wrong with it."""
    loc = tuple(error["loc"])
    where = _path(loc) or "the file"
    kind = error["type"]
    if kind == "extra_forbidden":
        valid = sorted(_model_keys(loc[:-1]))
        return f"{where}: unknown key{_nearest(str(loc[-1]), valid)}"
    if kind == "missing":
        return f"{where}: missing (a required key)"
    if kind == "literal_error":
        valid = _literal_values(loc)
        shown = ", ".join(repr(v) for v in valid)
        near = _nearest(str(error["input"]), [str(v) for v in valid])
        return f"{where}: {error['input']!r} is not one of {shown}{near}"
    if kind == "model_type":  # a list or a value where keys were expected, or an empty file
        return f"{where}: should be a mapping of keys (key: value), not {error['input']!r}"
    if kind == "value_error":  # this module's own validators, which show the value
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    message = error["msg"].replace("Input should", "should", 1)
    return f"{where}: {message} (got {error['input']!r})"


def _nearest(word: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(word, valid, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _path(loc: tuple[Any, ...]) -> str:
    """``('tables', 0, 'columns', 3, 'requried')`` -> ``tables[0].columns[3].requried``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _members(annotation: Any) -> list[Any]:
    """The types an annotation stands for: a union's members, an Annotated's base type."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _annotation_at(loc: tuple[Any, ...]) -> Any:
    """The annotation of the value at ``loc``, walking models by key and lists by index."""
    current: Any = ContractFile
    for part in loc:
        step = None
        for member in _members(current):
            if isinstance(part, str) and _is_model(member) and part in member.model_fields:
                step = member.model_fields[part].annotation
            elif isinstance(part, int) and get_origin(member) is list:
                step = get_args(member)[0]
            if step is not None:
                break
        if step is None:
            return None
        current = step
    return current


def _model_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at ``loc``."""
    for member in _members(_annotation_at(loc)):
        if _is_model(member):
            return list(member.model_fields)
    return []


def _literal_values(loc: tuple[Any, ...]) -> list[Any]:
    """The values a Literal-typed key at ``loc`` may take."""
    return [
        value
        for member in _members(_annotation_at(loc))
        if get_origin(member) is Literal
        for value in get_args(member)
    ]
