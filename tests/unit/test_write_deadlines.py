"""Write deadlines (``domain.writes``): a command queued behind a batch that does not end
is refused at its deadline without being attempted, and the batch being recorded tells the
storage its earliest deadline."""

from __future__ import annotations

import threading
import time

import pytest

from adapters.postgres.pool import bound_by_write_deadlines
from domain.milestone import Milestone
from domain.writes import Batch, DeadlinePassed, Pending, WriteQueue, recording_deadline

TIMEOUT = 0.3  # seconds each command has, from its submission
WAIT = 10.0  # seconds; every wait here ends long before unless something is broken


def _made(batch: Batch) -> Milestone:
    return batch.stage(Milestone.create(project_id="proj_01", title="t"))


def test_a_command_queued_past_its_deadline_is_refused_without_being_attempted() -> None:
    first_started, release = threading.Event(), threading.Event()
    attempted: list[int] = []
    deadlines: list[float | None] = []

    def record(batch: list[Pending]) -> None:
        deadlines.append(recording_deadline())
        unused = Batch(lambda _: pytest.fail("nothing is loaded"))
        attempted.extend(id(pending) for pending in batch if pending.decide(unused))
        first_started.set()
        release.wait(WAIT)  # the storage does not answer, for longer than any deadline

    queue = WriteQueue(record, TIMEOUT)
    outcomes: list[BaseException | Milestone] = []

    def submit() -> None:
        try:
            outcomes.append(queue.submit(_made))
        except DeadlinePassed as error:
            outcomes.append(error)

    first = threading.Thread(target=submit)
    first.start()
    assert first_started.wait(WAIT)
    submitted = time.monotonic()
    queued = threading.Thread(target=submit)
    queued.start()
    time.sleep(TIMEOUT * 2)  # the queued command's deadline passes while it waits
    release.set()
    first.join(WAIT)
    queued.join(WAIT)
    assert len(attempted) == 1  # the queued command was never decided
    assert isinstance(outcomes[-1], DeadlinePassed)
    assert time.monotonic() - submitted < WAIT
    # Each batch was recorded under its earliest deadline; nothing is left on the thread.
    assert all(deadline is not None for deadline in deadlines)
    assert recording_deadline() is None


def test_without_a_timeout_there_is_no_deadline() -> None:
    seen: list[float | None] = []

    def record(batch: list[Pending]) -> None:
        seen.append(recording_deadline())
        for pending in batch:
            pending.decide(Batch(lambda _: pytest.fail("nothing is loaded")))

    assert WriteQueue(record).submit(_made).title == "t"
    assert seen == [None]


def test_a_batch_is_bounded_by_its_earliest_deadline() -> None:
    seen: list[float | None] = []

    def record(batch: list[Pending]) -> None:
        seen.append(recording_deadline())
        for pending in batch:
            pending.decide(Batch(lambda _: pytest.fail("nothing is loaded")))

    before = time.monotonic()
    WriteQueue(record, TIMEOUT).submit(_made)
    (deadline,) = seen
    assert deadline is not None
    assert before + TIMEOUT <= deadline <= time.monotonic() + TIMEOUT


class _Pool:
    """The part of a connection pool the bound wraps: how long each wait was allowed."""

    timeout = 5.0

    def __init__(self) -> None:
        self.waits: list[float | None] = []

    def getconn(self, timeout: float | None = None) -> str:
        self.waits.append(timeout)
        return "connection"


def test_the_storage_waits_no_longer_than_the_batch_may_and_not_at_all_after() -> None:
    pool = _Pool()
    bound_by_write_deadlines(pool)
    assert pool.getconn() == "connection"  # outside a batch: the pool's own timeout
    tried_after: list[BaseException] = []

    def record(batch: list[Pending]) -> None:
        pool.getconn()
        time.sleep(TIMEOUT * 1.5)
        try:
            pool.getconn()
        except DeadlinePassed as error:
            tried_after.append(error)
            raise

    with pytest.raises(DeadlinePassed):
        WriteQueue(record, TIMEOUT).submit(_made)
    assert pool.waits[0] is None
    assert pool.waits[1] is not None
    assert 0 < pool.waits[1] <= TIMEOUT
    assert len(pool.waits) == 2  # the wait after the deadline was never begun
    assert len(tried_after) == 1
