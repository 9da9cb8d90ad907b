"""Type a checked relation into the warehouse's raw columns, pseudonymising on the way.

One SELECT turns the all-text staged relation into the raw table's columns: dates, whole
numbers, numbers and flags typed, identifiers replaced by keyed tokens and dates of birth by
age bands (``ingest.pseudonymise``), so personal data never reaches the warehouse connection
(SECURITY.md). It runs in the staging connection, which carries the ``pseudonymise`` function
the SELECT calls.
"""

from __future__ import annotations

import duckdb
from duckdb.sqltypes import VARCHAR

from core.contracts import Column, FeedContract, Table
from ingest.pseudonymise import AGE_BAND_SQL, Pseudonymiser
from ingest.rule_sql import DATE_FORMAT, sql_str


def staging_connection(pseudonymiser: Pseudonymiser) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB to stage deliveries in, with ``pseudonymise(domain, value)``."""
    con = duckdb.connect(":memory:")
    con.create_function(
        "pseudonymise", pseudonymiser.token, [VARCHAR, VARCHAR], VARCHAR, side_effects=False
    )
    return con


def _typed_expression(
    column: Column, table: Table, domain: str | None, lenient: bool = False
) -> str:
    c = column.name
    marker = table.suppression_marker
    value = f"nullif({c}, {sql_str(marker)})" if column.suppressible and marker else c
    parse = "try_strptime" if lenient else "strptime"
    if column.pii == "pseudonymise":
        return f"pseudonymise({sql_str(domain or table.name)}, {c})"
    if column.pii == "age_band":
        dob = f"{parse}({c}, '{DATE_FORMAT}')::date"
        at = f"{parse}({column.age_at}, '{DATE_FORMAT}')::date"
        return AGE_BAND_SQL.format(dob=dob, at=at)
    if column.type == "date":
        return f"{parse}({value}, '{DATE_FORMAT}')::date"
    if column.type == "integer":
        whole = f"replace({value}, ',', '')"
        return f"try_cast({whole} as integer)" if lenient else f"{whole}::integer"
    if column.type == "number":
        return f"try_cast({value} as double)" if lenient else f"{value}::double"
    if column.type == "flag":
        return f"({value} = 'Y')"
    if column.type == "yes_no":
        return f"({value} = 'Yes')"
    return value


def typed_select(
    relation: str,
    table: Table,
    domain: str | None,
    key_label: str | None = None,
    *,
    by_file: bool = False,
    lenient: bool = False,
) -> str:
    """The SELECT that turns a staged relation into the raw table's columns.

    ``key_label`` (e.g. ``treatment/v2``) is written beside every token column. ``by_file``
    keeps a bulk relation's ``_file`` first and its rows in the relation's own order (file,
    then line), which spares sorting a whole chunk. ``lenient`` turns a value that
    does not parse into null instead of an error: for rows not yet screened, whose files are
    set aside if any rule is broken. On a file that passes ``check_table`` both give the same
    rows, since its rules require every value to parse.
    """
    columns = [
        f"{_typed_expression(c, table, domain, lenient)} as {c.name}" for c in table.loaded_columns
    ]
    columns += [f"{sql_str(key_label or '')} as {c.key_version_name}" for c in table.token_columns]
    expressions = ",\n    ".join(columns)
    first, order = ("_file, ", "") if by_file else ("", "\norder by _row")
    return f"select {first}_row as source_row,\n    {expressions}\nfrom {relation}{order}"


def key_label(pseudonymiser: Pseudonymiser, contract: FeedContract) -> str | None:
    """The key a feed's tokens are made with (``treatment/v2``), or None without tokens."""
    if not contract.pseudonym_domain:
        return None
    return pseudonymiser.key_for(contract.pseudonym_domain).label
