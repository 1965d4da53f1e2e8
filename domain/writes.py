"""Group commit: commands that arrive together are decided one after another and recorded
in one transaction, so concurrent writers share a commit and its flush to disk.

Each request thread submits a command (a ``Unit``) and waits. One of the waiting threads
leads: it takes every command queued so far (up to ``WriteQueue.most``), hands them to the
application to decide and record as one batch, settles each, and passes the lead to the
first thread still waiting. A lone write is a batch of one; under load the batch holds what
queued up while the previous one committed.

With a ``timeout``, each command must be recorded within that many seconds of its
submission: one whose deadline passes while it waits is refused without being attempted,
and the storage bounds a batch's attempts by its earliest deadline (``recording_deadline``),
so that a storage outage is answered in time however many writes queue up.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from domain.milestone import Milestone
    from domain.ports import IdempotencyKey


class Batch:
    """What the commands of one batch have decided so far: the milestones they changed (a
    later command of the batch sees an earlier one's changes) and the keys to record."""

    def __init__(self, load: Callable[[UUID], Milestone]) -> None:
        self.milestones: dict[UUID, Milestone] = {}
        self.keys: list[IdempotencyKey] = []
        self._load = load

    def get(self, milestone_id: UUID) -> Milestone:
        milestone = self.milestones.get(milestone_id)
        return self._load(milestone_id) if milestone is None else milestone

    def stage(self, milestone: Milestone, key: IdempotencyKey | None = None) -> Milestone:
        self.milestones[milestone.id] = milestone
        if key is not None:
            self.keys.append(key)
        return milestone


class DeadlinePassed(Exception):
    """The command waited its whole time for a turn to be recorded: it was not attempted."""


_recording = threading.local()


def recording_deadline() -> float | None:
    """The earliest deadline (``time.monotonic()``) of the batch this thread is recording:
    the storage makes no attempt that would end after it. None: no deadline."""
    deadline: float | None = getattr(_recording, "deadline", None)
    return deadline


# A command: it reads and stages milestones through the batch and returns the one it made
# or changed. It must raise before it changes anything, so a refused command leaves no trace.
Unit = Callable[[Batch], "Milestone"]


class Pending:
    """A submitted command, until it is settled with the milestone it left or an error."""

    __slots__ = ("_woken", "deadline", "error", "leads", "reads", "rendering", "result", "unit")

    def __init__(
        self, unit: Unit, reads: UUID | None = None, deadline: float | None = None
    ) -> None:
        self.unit = unit
        self.reads = reads  # the milestone it changes, if one that exists already
        self.deadline = deadline
        self.result: Milestone | None = None
        self.error: BaseException | None = None
        # What recording the result rendered for clients (the view's document), if anything.
        self.rendering: object | None = None
        self.leads = False  # woken to lead the next batch rather than settled
        self._woken = threading.Event()

    def decide(self, batch: Batch) -> bool:
        """Run the command in the batch; whether it was accepted (if not, its error is kept)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.error = DeadlinePassed()
            return False
        try:
            # A copy as this command left the milestone: a later command may change the
            # same object while this one's answer is rendered.
            self.result = copy.copy(self.unit(batch))
        except Exception as error:  # noqa: BLE001 - each command's error is its caller's
            self.error = error
            return False
        return True

    def fail(self, error: BaseException) -> None:
        self.result, self.error = None, error

    def settle(self) -> None:
        self._woken.set()

    def wake_to_lead(self) -> None:
        self.leads = True
        self._woken.set()

    def wait(self) -> None:
        self._woken.wait()

    def outcome(self) -> Milestone:
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise RuntimeError("a write was settled without an outcome")
        return self.result


class WriteQueue:
    """Leader and followers: one thread at a time records a batch for the others."""

    most = 64  # commands in one transaction at the most, so no batch grows without bound

    def __init__(
        self, record: Callable[[list[Pending]], None], timeout: float | None = None
    ) -> None:
        self._record = record
        self._timeout = timeout
        self._lock = threading.Lock()
        self._queued: list[Pending] = []
        self._leading = False
        # Per request thread: what its last write's recording rendered of the result.
        self._answered = threading.local()

    def submit(self, unit: Unit, reads: UUID | None = None) -> Milestone:
        """Run the command in a batch; ``reads``: the recorded milestone it changes, so
        that the batch can bring every such milestone up to date at once."""
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        pending = Pending(unit, reads, deadline)
        with self._lock:
            self._queued.append(pending)
            follows, self._leading = self._leading, True
        if follows:
            pending.wait()
        if not follows or pending.leads:
            self._lead()
        self._answered.rendering = None
        outcome = pending.outcome()
        self._answered.rendering = pending.rendering
        return outcome

    def last_rendering(self) -> object | None:
        """What recording rendered of the milestone this thread's last ``submit`` returned."""
        return getattr(self._answered, "rendering", None)

    def _lead(self) -> None:
        with self._lock:
            batch, self._queued = self._queued[: self.most], self._queued[self.most :]
        deadlines = [pending.deadline for pending in batch if pending.deadline is not None]
        _recording.deadline = min(deadlines, default=None)
        try:
            self._record(batch)
        except BaseException as error:  # noqa: BLE001 - a fault of the recording itself
            # Whether anything was committed is unknown: no command may report success.
            for pending in batch:
                pending.fail(error)
        finally:
            _recording.deadline = None
            for pending in batch:
                pending.settle()
            with self._lock:
                if self._queued:
                    self._queued[0].wake_to_lead()
                else:
                    self._leading = False
