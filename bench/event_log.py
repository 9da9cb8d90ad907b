"""Benchmark: storing Dagster events, the stock SQLite event log against ours.

    .venv/bin/python -m bench.event_log [--events N] [--rounds R]

Both storages get the same events, one at a time as a run stores them: a third each of step
events (written to the run's database), asset materialisations and check results (both
mirrored in the index).
Rounds alternate stock and ours, each in a fresh directory, and the last line is the ratio
of the medians: ``ratio stock/ours: X``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import dagster as dg
from dagster import DagsterEvent, DagsterEventType, EventLogEntry

from orchestration.dagster_internals import (
    CspSqliteEventLogStorage,
    SqliteEventLogStorage,
    StepMaterializationData,
)

RUN_ID = "bench-run"


def event(i: int) -> EventLogEntry:
    """The ``i``-th event of the run: in turn a step event, a materialisation of one of 50
    assets, and a check's result on one of them (a build's mix, roughly)."""
    asset_key = dg.AssetKey(f"asset_{i % 50}")
    if i % 3 == 1:
        dagster_event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            "bench",
            event_specific_data=StepMaterializationData(dg.AssetMaterialization(asset_key)),
        )
    elif i % 3 == 2:
        dagster_event = DagsterEvent(
            DagsterEventType.ASSET_CHECK_EVALUATION.value,
            "bench",
            event_specific_data=dg.AssetCheckEvaluation(
                asset_key=asset_key, check_name="check", passed=True
            ),
        )
    else:
        dagster_event = DagsterEvent(DagsterEventType.STEP_START.value, "bench")
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id=RUN_ID,
        timestamp=time.time(),
        dagster_event=dagster_event,
    )


def seconds_to_store(make: Callable[[str], SqliteEventLogStorage], events: int) -> float:
    """Seconds for a fresh storage to store ``events`` events (the first, which creates the
    run's database, untimed)."""
    with tempfile.TemporaryDirectory() as base_dir:
        storage = make(base_dir)
        storage.store_event(event(0))
        started = time.perf_counter()
        for i in range(1, events + 1):
            storage.store_event(event(i))
        elapsed = time.perf_counter() - started
        if len(storage.get_logs_for_run(RUN_ID)) != events + 1:
            raise RuntimeError("the storage lost events")
        storage.dispose()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    """Print each round, the medians, and ``ratio stock/ours``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=700, help="events a round (a build: ~700)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    stock: list[float] = []
    ours: list[float] = []
    for n in range(args.rounds):
        stock.append(seconds_to_store(SqliteEventLogStorage, args.events))
        ours.append(seconds_to_store(CspSqliteEventLogStorage, args.events))
        print(f"round {n + 1}: stock {stock[-1]:.2f} s, ours {ours[-1]:.2f} s")
    stock_median, ours_median = statistics.median(stock), statistics.median(ours)
    print(f"events: {args.events}")
    print(f"stock: {stock_median:.2f} s ({1000 * stock_median / args.events:.2f} ms an event)")
    print(f"ours: {ours_median:.2f} s ({1000 * ours_median / args.events:.2f} ms an event)")
    print(f"ratio stock/ours: {stock_median / ours_median:.2f}")


if __name__ == "__main__":
    main()
