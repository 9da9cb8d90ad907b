"""Our Dagster event log (orchestration/event_log.py): same files, open connections, and the
UI's watcher still told of every event. Real SQLite files, a real watchdog observer."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from bench.event_log import RUN_ID, event
from orchestration.dagster_internals import SqliteEventLogStorage
from orchestration.event_log import OPEN_DATABASES, CspSqliteEventLogStorage
from orchestration.instance import write_instance_yaml


def _open_databases(base_dir: Path) -> set[str]:
    """The database files under ``base_dir`` this process holds open."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(base_dir)) and target.endswith(".db"):
            found.add(target)
    return found


def test_a_home_uses_our_event_log_and_the_stock_one_reads_its_history(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    write_instance_yaml(home)

    @dg.asset
    def one() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, CspSqliteEventLogStorage)
        run_id = dg.materialize([one], instance=instance).run_id
    # Where Dagster's default storage keeps it: a home can switch to ours and back.
    stock = SqliteEventLogStorage(str(home / "history" / "runs"))
    logs = stock.get_logs_for_run(run_id)
    assert any(
        e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
        for e in logs
    )
    assert stock.get_latest_materialization_events([dg.AssetKey("one")])[dg.AssetKey("one")]
    stock.dispose()


def test_ours_reads_what_the_stock_event_log_wrote(tmp_path: Path) -> None:
    stock = SqliteEventLogStorage(str(tmp_path))
    for i in range(10):
        stock.store_event(event(i))
    stock.dispose()
    ours = CspSqliteEventLogStorage(str(tmp_path))
    ours.store_event(event(10))
    assert len(ours.get_logs_for_run(RUN_ID)) == 11
    ours.dispose()


def test_a_watcher_in_another_storage_sees_every_event_as_it_is_stored(tmp_path: Path) -> None:
    """Dagster's UI watches a run's ``.db`` file for the events another process writes; our
    open connections must still change that file after each event."""
    writer = CspSqliteEventLogStorage(str(tmp_path))
    writer.store_event(event(0))
    watcher = CspSqliteEventLogStorage(str(tmp_path))
    seen: list[int] = []
    arrived = threading.Event()

    def on_event(entry: dg.EventLogEntry, _cursor: str) -> None:
        seen.append(1)
        arrived.set()

    watcher.watch(RUN_ID, None, on_event)
    try:
        time.sleep(0.5)  # the observer starts watching
        for i in range(1, 6):
            arrived.clear()
            writer.store_event(event(i))
            # Each event on its own, well before the next: no later write or close tells.
            assert arrived.wait(10), f"the watcher was not told of event {i}"
        assert len(seen) >= 5
    finally:
        watcher.end_watch(RUN_ID, on_event)
        watcher.dispose()
        writer.dispose()


def test_it_keeps_a_bounded_number_of_databases_open(tmp_path: Path) -> None:
    storage = CspSqliteEventLogStorage(str(tmp_path))
    runs = [f"run-{n}" for n in range(OPEN_DATABASES + 4)]
    for run_id in runs:
        storage.store_event(event(1)._replace(run_id=run_id))
        assert len(_open_databases(tmp_path)) <= OPEN_DATABASES
    # The index and the most recent runs stay open; nothing was lost from the closed ones.
    assert str(tmp_path / f"{runs[-1]}.db") in _open_databases(tmp_path)
    assert all(len(storage.get_logs_for_run(run_id)) == 1 for run_id in runs)
    storage.dispose()
    assert not _open_databases(tmp_path)


def test_wipe_closes_the_files_it_deletes_and_the_storage_goes_on(tmp_path: Path) -> None:
    storage = CspSqliteEventLogStorage(str(tmp_path))
    for i in range(3):
        storage.store_event(event(i))
    storage.wipe()
    assert not (tmp_path / f"{RUN_ID}.db").exists()
    assert not any(p.endswith(f"{RUN_ID}.db") for p in _open_databases(tmp_path))
    storage.store_event(event(3))
    assert len(storage.get_logs_for_run(RUN_ID)) == 1
    storage.dispose()


@pytest.mark.parametrize("storage_class", [SqliteEventLogStorage, CspSqliteEventLogStorage])
def test_events_survive_a_new_process_opening_the_directory(
    tmp_path: Path, storage_class: type[SqliteEventLogStorage]
) -> None:
    """What a build writes is in the file when the next build (a new storage) reads it."""
    storage = storage_class(str(tmp_path))
    for i in range(20):
        storage.store_event(event(i))
    storage.dispose()
    assert len(SqliteEventLogStorage(str(tmp_path)).get_logs_for_run(RUN_ID)) == 20
