"""Run a delivery's expectation suites and turn every failure into a partner-readable Problem.

``validate_delivery`` is called on the typed Arrow tables of a delivery (``ReadResult.tables``
from ``ingest.readers.read_delivery``), after the SQL checks of the reader have passed and
before anything is written to the warehouse. It returns the problems found; an empty list means
the delivery may be loaded.

Design choices, and why:

* **pandas engine.** GX's SQL engine failed on DuckDB through duckdb-engine
  (``MetricResolutionError``), so the Arrow tables are validated as pandas DataFrames.
* **Samples for big tables.** The reader's SQL checks already cover every row for format,
  required and allowed values, ranges and reference lists; the suites add only the
  cross-column, period, partnership and formula rules (expectations/rules.py), and a table
  with none of those is not handed to GX at all.
  A table above ``sample_rows`` is validated on a deterministic sample (same file, same
  sample) so a national police month does not have to go through pandas whole; a problem
  found on a sample says so.
* **One context per process.** The ephemeral context, datasource, suites and validation
  definitions are built on first use and cached; suites take the period and LA code as suite
  parameters, so nothing is rebuilt per delivery.
* **Lazy and quiet.** Importing this module does not import Great Expectations (~2.5 s);
  progress bars and analytics are switched off when it is first used.
* **No personal data in problems.** Values of PII columns (contract ``pii`` set) are withheld
  from examples, even though they are already pseudonymised by the time they get here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from core.contracts import Column, FeedContract, Table
from core.periods import Period
from core.problems import Problem
from expectations.rules import FORMULAS, PERIOD_BOUNDS, rules_for
from expectations.suites import (
    FILE_COLUMN,
    add_derived_columns,
    add_period_columns,
    build_suite,
    import_gx,
    partnership_codes,
    suite_name,
    suite_parameters,
)

if TYPE_CHECKING:
    import pandas as pd

MAX_EXAMPLES = 20
WITHHELD = "(withheld: personal data)"
DEFAULT_SAMPLE_ROWS = 200_000
SAMPLE_SEED = 20140401  # fixed: the same file always gets the same sample

# SUMMARY keeps GX from materialising every unexpected row of a big table; the first
# MAX_EXAMPLES rows (in file order) come back with their source_row, which is all a problem
# shows. unexpected_count is still exact for the rows validated.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["source_row"],
    "partial_unexpected_count": MAX_EXAMPLES,
    "return_unexpected_index_query": False,
}


class ValidationError(RuntimeError):
    """An expectation could not be evaluated: a fault of ours, not the partner's file."""


@dataclass
class _Runtime:
    """The cached GX objects of this process."""

    context: Any
    datasource: Any
    definitions: dict[tuple[str, Table, bool], Any] = field(default_factory=dict)


_runtime: _Runtime | None = None
# The ephemeral context is not safe to share between threads (Dagster's in-process executor
# may run two ingest steps at once): one validation at a time per process.
_lock = threading.RLock()


def _get_runtime() -> _Runtime:
    global _runtime
    if _runtime is None:
        gx = import_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        # tqdm bars ("Calculating Metrics: ...") would otherwise land in every run's stderr.
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        _runtime = _Runtime(context, context.data_sources.add_pandas("csp_deliveries"))
    return _runtime


def _definition(contract: FeedContract, table: Table, bulk: bool = False) -> Any:
    """The validation definition of one table (or its bulk variant), built on first use."""
    runtime = _get_runtime()
    # Keyed by the table's contract itself (a frozen, hashable dataclass), so a contract edited
    # in a long-lived process, or a test's variant of one, gets its own suite; GX names must
    # be unique within the context, hence the counter on a second variant.
    cache_key = (contract.feed, table, bulk)
    if cache_key not in runtime.definitions:
        gx = import_gx()
        name = suite_name(contract, table) + (".bulk" if bulk else "")
        if any(
            key[0] == contract.feed and key[1].name == table.name and key[2] == bulk
            for key in runtime.definitions
        ):
            name = f"{name}#{len(runtime.definitions)}"
        batch = runtime.datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            "whole_table"
        )
        suite = runtime.context.suites.add(build_suite(contract, table, name, bulk))
        runtime.definitions[cache_key] = runtime.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
    return runtime.definitions[cache_key]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def validate_delivery(
    contract: FeedContract,
    tables: Mapping[str, pa.Table],
    period: Period,
    *,
    la_code: str | Sequence[str],
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
) -> list[Problem]:
    """Every expectation a delivery breaks, as Problems; an empty list means it may be loaded.

    ``tables`` are the typed raw tables of the delivery keyed by raw table name, each with a
    ``source_row`` column (``ReadResult.tables``). ``la_code`` is the partnership's local
    authority code (the MoJ table must hold its row). Tables with more than ``sample_rows``
    rows are validated on a deterministic sample of that size.
    """
    if sample_rows < 1:
        raise ValueError("sample_rows must be at least 1")
    problems: list[Problem] = []
    for table in contract.tables:
        if table.name not in tables:
            raise KeyError(f"delivery of {contract.feed} has no table {table.name!r}")
        problems.extend(
            validate_table(
                contract,
                table,
                tables[table.name],
                period,
                la_code=la_code,
                sample_rows=sample_rows,
            )
        )
    return problems


def validate_table(
    contract: FeedContract,
    table: Table,
    data: pa.Table,
    period: Period,
    *,
    la_code: str | Sequence[str],
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
) -> list[Problem]:
    """The problems of one typed table (see ``validate_delivery``)."""
    if "source_row" not in data.column_names:
        raise ValueError(f"table {table.name!r} has no source_row column to name rows by")
    if not rules_for(table.name):
        return []  # nothing the SQL checks have not judged: no suite to run
    total = data.num_rows
    sampled = total > sample_rows
    if sampled:
        data = data.take(sample_indices(data, table, sample_rows, la_code))
    # Dates stay datetime.date objects, so they compare with the date suite parameters.
    frame = data.to_pandas()
    add_derived_columns(frame, table.name)
    with _lock:
        result = _definition(contract, table).run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=suite_parameters(period, la_code),
            result_format=RESULT_FORMAT,
        )
    sample_note = (
        f" (checked on a sample of {len(frame):,} of the file's {total:,} rows: the file may "
        f"hold more such rows)"
        if sampled
        else ""
    )
    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        meta = outcome.expectation_config.meta or {}
        error = _raised(outcome.exception_info)
        if error is not None:
            # Our fault (a missing column, a bad rule), not the partner's: fail the run loudly
            # rather than reject a file with a message the partner cannot act on.
            raise ValidationError(
                f"{table.name}: expectation for rule {meta.get('rule')!r} could not be "
                f"evaluated: {error}"
            )
        failures.append((meta.get("order", 0), outcome))
    failures.sort(key=lambda pair: pair[0])
    return [
        _problem(outcome, frame, table, period, la_code, sample_note) for _, outcome in failures
    ]


def prepare_bulk_suite(contract: FeedContract, table: Table) -> None:
    """Import GX and build a table's bulk suite ahead of its first use (about 5 s).

    Meant for a background thread while files are still being hashed and read. A failure is
    left for that first use (``files_failing_suite``), which makes the same call and reports it.
    """
    if not rules_for(table.name):
        return
    try:
        with _lock:
            _definition(contract, table, bulk=True)
    except Exception:  # noqa: BLE001 - raised again, and reported, by the run that needs it
        pass


def files_failing_suite(
    contract: FeedContract,
    table: Table,
    data: pa.Table,
    periods: Mapping[int, Period],
    *,
    la_code: str | Sequence[str],
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
) -> set[int]:
    """The files of a bulk table that break its suite (all of them when it cannot tell which).

    ``data`` is typed rows of many deliveries with a ``_file`` column (their index in
    ``periods``). The bulk suite is the table's suite with the period bounds as per-row
    columns and the record key unique within each file; like ``validate_table`` it runs on a
    deterministic sample of a big table. A file it names is validated again alone, which is
    what explains the problem to the partner.
    """
    if not rules_for(table.name):
        return set()
    with _lock:
        definition = _definition(contract, table, bulk=True)
        read = {"_file", "source_row"} | _columns_read(definition, table)
    # Only the columns the suite reads go to pandas: GX copies the whole frame for several
    # expectations (dropna, take), and free text it never judges made that 20% of its time.
    data = data.select([n for n in data.column_names if n in read])
    if data.num_rows > sample_rows:
        data = data.take(sample_indices(data, table, sample_rows, la_code))
    frame = data.rename_columns(
        [FILE_COLUMN if n == "_file" else n for n in data.column_names]
    ).to_pandas()
    add_derived_columns(frame, table.name)
    add_period_columns(frame, periods)
    with _lock:
        result = definition.run(
            batch_parameters={"dataframe": frame},
            # The period bounds are columns here; the parameters are still declared.
            expectation_parameters=suite_parameters(next(iter(periods.values())), la_code),
            result_format={
                **RESULT_FORMAT,
                "unexpected_index_column_names": [FILE_COLUMN, "source_row"],
            },
        )
    failing: set[int] = set()
    for outcome in result.results:
        if outcome.success:
            continue
        error = _raised(outcome.exception_info)
        if error is not None:
            raise ValidationError(
                f"{table.name} (bulk): expectation for rule "
                f"{(outcome.expectation_config.meta or {}).get('rule')!r} "
                f"could not be evaluated: {error}"
            )
        listed = (outcome.result or {}).get("partial_unexpected_index_list") or []
        named = {int(entry[FILE_COLUMN]) for entry in listed}
        if not named or len(listed) < int((outcome.result or {}).get("unexpected_count") or 0):
            return set(periods)  # more rows than examples: every file might hold some
        failing |= named
    return failing


def _columns_read(definition: Any, table: Table) -> set[str]:
    """The table's columns a suite's expectations, or the helper columns its rules add, read."""
    names: set[str] = set()
    for expectation in definition.suite.expectations:
        kwargs = expectation.configuration.kwargs
        names.update(kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs)
        names.update(kwargs.get("column_list") or ())
    for rule in rules_for(table.name):
        names.update(rule.columns)
    return names


def _raised(info: Any) -> str | None:
    """The exception message GX recorded for an expectation, if it raised one.

    GX reports it either at the top level or per metric (a dict of such dicts).
    """
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def sample_indices(
    data: pa.Table, table: Table, size: int, la_code: str | Sequence[str]
) -> pa.Array:
    """Row positions of a deterministic sample of ``size`` rows, in file order.

    A fixed seed makes a rerun of the same file reach the same verdict. Rows that a table-level
    ``contains`` rule needs (the partnership's own MoJ row) are always kept, so sampling can
    never invent a "row missing" problem.
    """
    import numpy as np
    import pyarrow.compute as pc

    rng = np.random.default_rng(SAMPLE_SEED)
    chosen = rng.choice(data.num_rows, size=size, replace=False)
    keep: list[int] = []
    for rule in rules_for(table.name):
        if rule.check == "contains" and rule.parameter == "la_code":
            codes = pa.array(partnership_codes(la_code), pa.string())
            matches = pc.indices_nonzero(pc.is_in(data[rule.column], value_set=codes))
            keep.extend(matches.to_pylist()[:1])
    if keep:
        chosen = np.union1d(chosen[: size - len(keep)], np.array(keep, dtype=chosen.dtype))
    return pa.array(np.sort(chosen))


# ---------------------------------------------------------------------------------------------
# Failed expectation -> Problem
# ---------------------------------------------------------------------------------------------


def _problem(
    outcome: Any,
    frame: pd.DataFrame,
    table: Table,
    period: Period,
    la_code: str | Sequence[str],
    sample_note: str,
) -> Problem:
    meta = outcome.expectation_config.meta or {}
    rule_id: str = meta["rule"]
    column = table.column(meta["column"])
    source = column.source
    result = outcome.result or {}
    count = int(result.get("unexpected_count") or 0)
    message = meta["message"] + _bounds_note(meta, period, la_code)
    if meta.get("check") == "contains":
        # Table-level: there is no row to point at, only the value that is missing.
        return Problem(
            rule_id,
            message + sample_note,
            source,
            0,
            [{"value": code} for code in partnership_codes(la_code)],
        )
    listed = result.get("partial_unexpected_index_list") or []
    rows = sorted(int(entry["source_row"]) for entry in listed)
    positions = _positions(frame)
    examples = [
        _example(frame.iloc[positions[row]], row, column, meta, table)
        for row in rows[:MAX_EXAMPLES]
    ]
    return Problem(rule_id, f"{message}: {count} row(s){sample_note}", source, count, examples)


def _positions(frame: pd.DataFrame) -> dict[int, int]:
    return {int(row): position for position, row in enumerate(frame["source_row"])}


def _bounds_note(meta: Mapping[str, Any], period: Period, la_code: str | Sequence[str]) -> str:
    """What a period-dependent rule compared against, in the partner's terms."""
    check = meta.get("check")
    if check == "contains":
        return f" (looked for {', '.join(partnership_codes(la_code))})"
    names = [meta.get("minimum"), meta.get("maximum")]
    dates = [
        PERIOD_BOUNDS[n](period.start, period.end) if isinstance(n, str) else None for n in names
    ]
    if dates[0] and dates[1]:
        return f" ({dates[0]:%d/%m/%Y} to {dates[1]:%d/%m/%Y})"
    if dates[1]:
        return f" ({period.label} ends {dates[1]:%d/%m/%Y})"
    if dates[0]:
        return f" (from {dates[0]:%d/%m/%Y})"
    return ""


def _example(
    row: pd.Series,
    source_row: int,
    column: Column,
    meta: Mapping[str, Any],
    table: Table,
) -> dict[str, Any]:
    example: dict[str, Any] = {"row": source_row}
    example["value"] = _shown(row[column.name], column)
    for name in meta.get("show", []):
        other = table.column(name)
        example[other.source] = _shown(row[name], other)
    if meta.get("check") == "matches":
        inputs = [float(row[name]) for name in meta["inputs"]]
        example["expected"] = round(FORMULAS[meta["formula"]](*inputs), 2)
    return example


def _shown(value: Any, column: Column) -> Any:
    """A value as the partner would recognise it; personal data never leaves."""
    if column.pii:
        return WITHHELD
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    if hasattr(value, "item"):  # numpy scalar -> plain Python for reason.json
        value = value.item()
    if column.type == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)  # integer columns with blanks come through pandas as floats
    return value
