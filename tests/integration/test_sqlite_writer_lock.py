"""SQLite writers take turns on a lock beside the database before BEGIN IMMEDIATE."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import TYPE_CHECKING

from adapters.sqlite.writer_lock import WriterLock

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event
    from pathlib import Path

HOLD = 0.3  # seconds


def _hold(database: str, taken: Event) -> None:
    with WriterLock(database).held():
        taken.set()
        time.sleep(HOLD)


def test_a_writer_in_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    database = str(tmp_path / "m.db")
    context = multiprocessing.get_context("spawn")
    taken = context.Event()
    holder = context.Process(target=_hold, args=(database, taken))
    holder.start()
    try:
        assert taken.wait(30)
        started = time.monotonic()
        with WriterLock(database).held():
            waited = time.monotonic() - started
    finally:
        holder.join(30)
    assert waited > HOLD / 2
    assert (tmp_path / "m.db-writer.lock").exists()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "m.db"))
    inside: list[int] = []
    overlaps: list[int] = []

    def write() -> None:
        for _ in range(50):
            with lock.held():
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.0005)
                inside.pop()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []


def test_an_unwritable_directory_leaves_sqlite_its_own_lock(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "m.db"
    with WriterLock(str(missing)).held():  # no lock file can be made: writes still go on
        pass
    assert WriterLock(":memory:").path is None
