"""Group commit: commands that arrive together are decided in turn and recorded together
(``domain.writes``), in memory."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from eventsourcing.persistence import OperationalError

from domain.milestone import Milestone, MilestoneDeleted, Status, VersionMismatch
from domain.writes import Batch, Pending, WriteQueue
from tests.unit.memory import InMemoryMilestones, KeyedRecorder, in_memory_milestones

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from uuid import UUID

    from eventsourcing.persistence import Recording, StoredEvent

    from domain.application import Milestones

WAIT = 10.0  # seconds; every wait here ends long before unless something is broken


def _made(title: str) -> Callable[[Batch], Milestone]:
    return lambda batch: batch.stage(Milestone.create(project_id="proj_01", title=title))


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(0)`` .. ``work(count - 1)`` at once, each on a thread; their results or errors."""
    results: list[Any] = [None] * count

    def run(number: int) -> None:
        try:
            results[number] = work(number)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[number] = error

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return results


class _HeldQueue:
    """A queue whose first batch is held until released, so that others queue behind it."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.batches: list[list[Pending]] = []
        self.first_started, self.release = threading.Event(), threading.Event()
        self._fail = fail
        self.queue = WriteQueue(self._record)

    def _record(self, batch: list[Pending]) -> None:
        self.batches.append(batch)
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release.wait(WAIT)
            if self._fail is not None:
                raise self._fail
        staged = Batch(lambda milestone_id: pytest.fail(f"nothing to load: {milestone_id}"))
        for pending in batch:
            pending.decide(staged)

    def submit_behind_the_first(self, count: int) -> list[Any]:
        """One command that is held, then ``count`` more that queue meanwhile."""
        first = threading.Thread(target=self.queue.submit, args=(_made("first"),))
        first.start()
        assert self.first_started.wait(WAIT)
        queued = threading.Thread(target=self._release_when_queued, args=(count,))
        queued.start()
        results = _in_threads(count, lambda number: self.queue.submit(_made(f"m{number}")))
        first.join(WAIT)
        queued.join(WAIT)
        return results

    def _release_when_queued(self, count: int) -> None:
        while len(self.queue._queued) < count:  # the queue holds them all: release
            threading.Event().wait(0.001)
        self.release.set()


def test_commands_that_queue_behind_a_batch_are_recorded_together_in_the_next() -> None:
    held = _HeldQueue()
    results = held.submit_behind_the_first(5)
    assert [len(batch) for batch in held.batches] == [1, 5]
    assert sorted(m.title for m in results) == [f"m{number}" for number in range(5)]


def test_a_batch_holds_at_most_so_many_commands() -> None:
    held = _HeldQueue()
    held.queue.most = 3
    results = held.submit_behind_the_first(7)
    assert [len(batch) for batch in held.batches] == [1, 3, 3, 1]
    assert all(isinstance(result, Milestone) for result in results)


def test_a_batch_that_cannot_be_recorded_fails_its_commands_and_the_next_batch_goes_on() -> None:
    held = _HeldQueue(fail=OperationalError("disk I/O error"))
    first_result: list[Any] = []
    first = threading.Thread(
        target=lambda: first_result.append(_outcome(held.queue, _made("first")))
    )
    first.start()
    assert held.first_started.wait(WAIT)
    held.release.set()
    first.join(WAIT)
    assert isinstance(first_result[0], OperationalError)
    assert held.queue.submit(_made("after")).title == "after"


def _outcome(queue: WriteQueue, unit: Callable[[Batch], Milestone]) -> Any:
    try:
        return queue.submit(unit)
    except Exception as error:  # noqa: BLE001 - the test looks at it
        return error


# --- the application's batches ------------------------------------------------------


class CountingSaves:
    """How many milestones each save recorded (the application's observers see each save)."""

    def __init__(self, app: Milestones) -> None:
        self.sizes: list[int] = []
        app.observers.append(self._saved)

    def _saved(self, recordings: list[Recording[Any]]) -> None:
        self.sizes.append(len({r.domain_event.originator_id for r in recordings}))


def test_concurrent_creates_share_saves_and_each_is_recorded_once() -> None:
    app = in_memory_milestones()
    saves = CountingSaves(app)
    made = _in_threads(40, lambda number: app.create(project_id="p", title=f"t{number}"))
    assert sorted(m.title for m in made) == sorted(f"t{number}" for number in range(40))
    assert sum(saves.sizes) == 40
    assert app.recorder.max_notification_id() == 40


def test_changes_of_one_milestone_in_one_batch_each_see_the_one_before() -> None:
    app = in_memory_milestones()
    milestone_id = app.create(project_id="p", title="t").id
    answers = _in_threads(12, lambda n: app.update(milestone_id, {"title": f"t{n}"}))
    # Each answer is the milestone as its own change left it, not as a later one did.
    assert sorted(answer.version for answer in answers) == list(range(2, 14))
    history = list(app.events.get(milestone_id))
    titles = {event.originator_version: event.changes["title"] for event in history[1:]}  # type: ignore[attr-defined]
    assert all(titles[answer.version] == answer.title for answer in answers)
    assert app.get(milestone_id).version == 13


def test_a_refused_command_leaves_the_rest_of_its_batch_recorded() -> None:
    app = in_memory_milestones()
    gone, kept = (app.create(project_id="p", title=title).id for title in ("gone", "kept"))
    app.delete(gone)

    def command(number: int) -> Milestone:
        if number % 3 == 0:
            return app.update(gone, {"title": "x"})
        if number % 3 == 1:
            return app.update(kept, {"status": Status.IN_PROGRESS}, if_version={99})
        return app.update(kept, {"title": f"kept {number}"})

    answers = _in_threads(12, command)
    assert all(isinstance(a, MilestoneDeleted) for a in answers[0::3])
    assert all(isinstance(a, VersionMismatch) for a in answers[1::3])
    assert all(isinstance(a, Milestone) for a in answers[2::3])
    assert app.get(kept).version == 1 + 4
    assert app.get(gone).version == 2


class RacedRecorder(KeyedRecorder):
    """Before the first save, another writer records the next version of ``raced``."""

    raced: tuple[Milestones, UUID] | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.raced is not None:
            app, milestone_id = self.raced
            self.raced = None
            # As another process has it: from the log, not from this process's cache.
            rival = app.get(milestone_id, version=1)
            rival.update(title="the rival's")
            app.save(rival)
        return super().insert_events(stored_events, **kwargs)


class RacedMilestones(InMemoryMilestones):
    def construct_recorder(self) -> RacedRecorder:
        return RacedRecorder()


def test_a_batch_that_lost_a_race_is_decided_again_command_by_command() -> None:
    app = RacedMilestones()
    milestone_id = app.create(project_id="p", title="t").id
    recorder = app.recorder
    assert isinstance(recorder, RacedRecorder)
    recorder.raced = (app, milestone_id)
    changed = app.update(milestone_id, {"description": "mine"})
    assert (changed.version, changed.title, changed.description) == (3, "the rival's", "mine")
    assert app.get(milestone_id).version == 3


class FailingOnceRecorder(KeyedRecorder):
    fail = False

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.fail:
            self.fail = False
            raise OperationalError("disk I/O error")
        return super().insert_events(stored_events, **kwargs)


class FailingOnceMilestones(InMemoryMilestones):
    def construct_recorder(self) -> FailingOnceRecorder:
        return FailingOnceRecorder()


def test_a_change_that_failed_to_record_is_forgotten_by_the_cache() -> None:
    app = FailingOnceMilestones()
    milestone_id = app.create(project_id="p", title="t").id
    recorder = app.recorder
    assert isinstance(recorder, FailingOnceRecorder)
    recorder.fail = True
    with pytest.raises(OperationalError):
        app.update(milestone_id, {"title": "lost"})
    # The next command starts from the log, where the failed change is not.
    changed = app.update(milestone_id, {"description": "kept"})
    assert (changed.version, changed.title) == (2, "t")
    assert [type(e).__name__ for e in app.events.get(milestone_id)] == ["Created", "Updated"]
