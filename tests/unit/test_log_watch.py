"""The one watcher of the log per process: started by the first waiter, stopped when idle,
waking every waiter when the log grows, surviving a storage that fails, ended by a stop."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from adapters.storage.log_watch import LogWaiter, PollingWatch, close_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WAKE_LIMIT = 1.0  # seconds from a commit to the waiters' wake-up


class Log:
    """A log's head that a test moves; ``fail`` makes the next looks fail."""

    def __init__(self) -> None:
        self.position = 0
        self.fail = 0
        self.looks = 0

    def head(self) -> int:
        self.looks += 1
        if self.fail:
            self.fail -= 1
            raise OSError("the storage is gone")
        return self.position

    def watch(self) -> PollingWatch:
        return PollingWatch(self.head, lambda: None, interval=0.01)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_the_watcher_runs_only_while_someone_waits_and_a_while_after() -> None:
    log = Log()
    waiter = LogWaiter(log.watch, idle_seconds=0.1)
    assert not waiter.running
    assert log.looks == 0  # nobody waits: nothing looks at the log
    with waiter.watching():
        assert waiter.running
    wait_until(lambda: not waiter.running)
    looks = log.looks
    time.sleep(0.1)
    assert log.looks == looks
    with waiter.watching():  # and again, for the next waiter
        assert waiter.running


def test_every_waiter_wakes_when_the_log_grows() -> None:
    log = Log()
    waiter = LogWaiter(log.watch)
    woken: list[float] = []

    def wait() -> None:
        with waiter.watching():
            generation = waiter.generation()
            ready.wait()
            if waiter.wait(generation, timeout=5.0) != generation:
                woken.append(time.monotonic())

    ready = threading.Event()
    threads = [threading.Thread(target=wait) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: waiter.running)
    ready.set()
    committed = time.monotonic()
    log.position = 1
    for thread in threads:
        thread.join(timeout=5.0)
    assert len(woken) == 4
    assert max(woken) - committed < WAKE_LIMIT


def test_a_wait_without_a_change_ends_at_its_timeout() -> None:
    waiter = LogWaiter(Log().watch)
    with waiter.watching():
        generation = waiter.generation()
        started = time.monotonic()
        assert waiter.wait(generation, timeout=0.2) == generation
        assert time.monotonic() - started >= 0.2


def test_a_failing_storage_is_watched_again_and_wakes_the_waiters_when_it_answers() -> None:
    log = Log()
    waiter = LogWaiter(log.watch)
    with waiter.watching():
        generation = waiter.generation()
        log.fail = 2  # the next look fails, and the first arm after it
        latest = waiter.wait(generation, timeout=5.0)
        # What was committed while it could not look is unknown: the waiters read again.
        assert latest != generation
        log.position = 5
        assert waiter.wait(latest, timeout=5.0) != latest


def test_the_shared_read_runs_before_each_wake_and_a_failed_one_wakes_nobody() -> None:
    log = Log()
    waiter = LogWaiter(log.watch)
    reads: list[tuple[bool, int]] = []
    failures = [2]  # the read after the first commit fails twice, then works

    def read(anew: bool) -> bool:
        if log.position == 1 and failures[0]:
            failures[0] -= 1
            reads.append((anew, -1))
            raise OSError("the storage is gone")
        reads.append((anew, log.position))
        return True

    waiter.on_change(read)
    with waiter.watching():
        wait_until(lambda: len(reads) == 1)  # when armed: from the head, anew
        generation = waiter.generation()
        log.position = 1
        started = time.monotonic()
        latest = waiter.wait(generation, timeout=5.0)
        # The wake came once a read worked: the waiters find what it read.
        assert reads == [(True, 0), (False, -1), (False, -1), (False, 1)]
        assert latest == generation + 1
        assert time.monotonic() - started >= 2.0  # a second between two tries


def test_a_stop_ends_every_wait_at_once() -> None:
    waiter = LogWaiter(Log().watch)
    with waiter.watching():
        generation = waiter.generation()
        threading.Timer(0.1, close_all).start()
        started = time.monotonic()
        waiter.wait(generation, timeout=10.0)
        assert time.monotonic() - started < 2.0
        assert waiter.closing


@pytest.fixture(autouse=True)
def _no_watcher_left() -> Iterator[None]:
    yield
    # close_all ends every waiter of the process, those of the other tests too.
    close_all()
