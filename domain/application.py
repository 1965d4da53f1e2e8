"""The application service: the use cases, each loading a milestone, changing it, saving it
(with the commands that arrive at the same time, in one transaction: ``domain.writes``)."""

from __future__ import annotations

import hashlib
import random
import time
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

import orjson
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, PersistenceError

from domain.caller import ANONYMOUS, Caller
from domain.ids import from_public_id, to_public_id
from domain.milestone import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    Milestone,
    MilestoneDeleted,
    MilestoneNotFound,
    Status,
    VersionBeyondStream,
    VersionMismatch,
    format_instant,
)
from domain.ports import IdempotencyKey
from domain.writes import Batch, Pending, WriteQueue

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Mapping
    from contextlib import AbstractContextManager
    from datetime import datetime
    from uuid import UUID

    from eventsourcing.persistence import Recording

    from domain.ports import Lookups


def request_fingerprint(command: Mapping[str, Any]) -> str:
    """What identifies a create's request: its arguments, whatever order they came in."""
    return hashlib.sha256(orjson.dumps(command, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A command's result and what recording it rendered of that very state."""

    milestone: Milestone
    value: object


class Milestones(Application[Any]):
    name = "Milestones"
    # Recently used milestones stay in memory; a command reads only the events recorded
    # since (the library's fast-forward), not a snapshot and the events after it.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}
    # Snapshots bound the replay behind a command or a historic read on a long stream.
    snapshotting_intervals: ClassVar = {Milestone: 100}
    # How often a write that lost the optimistic-concurrency race reloads and tries again.
    max_attempts = 20

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        # Called with the recordings of every save, after it committed (e.g. for metrics).
        self.observers: list[Callable[[list[Recording[Any]]], None]] = []
        # Called after every batch with how many commands it held and how many seconds it
        # held the writer turn (recording and committing), e.g. for metrics.
        self.batch_observers: list[Callable[[int, float], None]] = []
        # The reads behind idempotent creates and time travel. They come from the storage
        # this application's recorder creates, so the composition root sets them after.
        self.lookups: Lookups | None = None
        # Held while a batch records: where the storage has one writer at a time (SQLite),
        # its queue, which the processes take in turn; elsewhere nothing. A command that
        # lost a race to another process is decided again inside it, so it cannot lose twice.
        self.writer_turn: Callable[[], AbstractContextManager[None]] = nullcontext
        # What the storage rendered, while recording a batch in this thread, of each milestone
        # the batch changed: (version, rendering) by public id, e.g. the view's documents. A
        # write's answer is then that rendering rather than a second one of the aggregate.
        self.renderings: Callable[[], Mapping[str, tuple[int, object]]] | None = None
        timeout = self.env.get("MILESTONES_STORAGE_TIMEOUT")
        # Each write is answered within the storage timeout of its arrival, however many
        # queue behind a storage that does not answer.
        self._writes = WriteQueue(self._record_batch, float(timeout) if timeout else None)
        # The cached milestones brought up to date with the log for the batch being decided.
        self._current: set[UUID] = set()

    def rendering(self, milestone: Milestone) -> object | None:
        """What the storage rendered of ``milestone`` when this thread's last write recorded
        it, if that write returned it as it is now; None if nothing was rendered of it."""
        rendering = self._writes.last_rendering()
        if isinstance(rendering, _Rendered) and rendering.milestone is milestone:
            return rendering.value
        return None

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        for observer in self.observers:
            observer(recordings)

    def create(
        self,
        *,
        project_id: str,
        title: str,
        description: str = "",
        status: Status | None = None,
        due_date: str | None = None,
        caller: Caller = ANONYMOUS,
    ) -> Milestone:
        def create(batch: Batch) -> Milestone:
            # Made in its batch, so that ids and creation times follow the order of the log.
            made = _new_milestone(project_id, title, description, status, due_date, caller=caller)
            return batch.stage(made)

        return self._writes.submit(create)

    def create_once(
        self, key: str, command: Mapping[str, Any], caller: Caller = ANONYMOUS
    ) -> Milestone:
        """What ``create(**command)`` makes, once per idempotency key.

        The first call records the key with the milestone; a retry with the same command
        gets the milestone as that first call made it, and nothing is recorded; the key
        with another command raises IdempotencyKeyReused. Who calls is not part of the
        command: the first caller's Created event is the one that stays.
        """
        fingerprint = request_fingerprint(command)

        def create(batch: Batch) -> Milestone:
            recorded = self._lookups().request(key)
            if recorded is not None:
                if recorded[0] != fingerprint:
                    raise IdempotencyKeyReused(key)
                return self.get(from_public_id(recorded[1]), version=1)
            milestone = _new_milestone(**command, caller=caller)
            return batch.stage(milestone, IdempotencyKey(key, fingerprint, milestone.id))

        return self._writes.submit(create)

    def update(
        self,
        milestone_id: UUID,
        changes: dict[str, Any],
        *,
        if_version: Container[int] | None = None,
        caller: Caller = ANONYMOUS,
    ) -> Milestone:
        return self._change(milestone_id, lambda m: m.update(**changes, caller=caller), if_version)

    def delete(
        self,
        milestone_id: UUID,
        *,
        if_version: Container[int] | None = None,
        caller: Caller = ANONYMOUS,
    ) -> Milestone:
        return self._change(milestone_id, lambda m: m.delete(caller), if_version)

    def get(self, milestone_id: UUID, version: int | None = None) -> Milestone:
        try:
            return self.repository.get(milestone_id, version=version)
        except AggregateNotFoundError:
            raise MilestoneNotFound(milestone_id) from None

    def as_it_was(
        self, milestone_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> Milestone:
        """The milestone after its event ``version``, or as of the instant ``as_of``
        (inclusive); with both, after event ``version`` if that event had occurred by
        ``as_of``. Not found if it did not exist then or was deleted.
        """
        if as_of is not None:
            latest = self._lookups().version_at(to_public_id(milestone_id), format_instant(as_of))
            if latest is None or (version or 0) > latest:
                raise MilestoneNotFound(milestone_id)
            version = version or latest
        elif version is None:
            raise TypeError("as_it_was takes a version, an instant or both")
        milestone = self.get(milestone_id, version)
        if milestone.version != version:
            raise VersionBeyondStream(version, milestone.version)
        if milestone.deleted:
            raise MilestoneNotFound(milestone_id)
        return milestone

    def _lookups(self) -> Lookups:
        if self.lookups is None:
            raise RuntimeError("the application was not given its lookups")
        return self.lookups

    def _change(
        self,
        milestone_id: UUID,
        command: Callable[[Milestone], None],
        if_version: Container[int] | None,
    ) -> Milestone:
        def change(batch: Batch) -> Milestone:
            milestone = batch.get(milestone_id)
            if milestone.deleted:
                raise MilestoneDeleted(milestone_id)
            if if_version is not None and milestone.version not in if_version:
                raise VersionMismatch(if_version, milestone.version)
            command(milestone)
            return batch.stage(milestone)

        return self._writes.submit(change, reads=milestone_id)

    def _record_batch(self, batch: list[Pending]) -> None:
        """Decide the batch's commands in turn, then record what they changed in one
        transaction while this process has the storage's writer turn.

        They decide before the turn is taken, on the cached milestones brought up to date
        with the log, so that the turn (which the other processes wait for) holds only the
        recording. Another process may record a change of one of them meanwhile: the
        version the batch records is then taken, the storage refuses the whole batch, and
        each command is decided again on its own, in the turn.
        """
        staged = Batch(self._cached)
        self._current = self._bring_up_to_date({p.reads for p in batch if p.reads})
        try:
            accepted = [pending for pending in batch if pending.decide(staged)]
        finally:
            self._current = set()
        try:
            with self.writer_turn():
                taken = time.perf_counter()
                failure = self._save(staged)
                held = time.perf_counter() - taken
        except BaseException:
            self._forget(staged)  # decided on the cached milestones, and not recorded
            raise
        for observer in self.batch_observers:
            observer(len(batch), held)
        if failure is None:
            self._hand_over_renderings(accepted)
        if isinstance(failure, IntegrityError):
            # Another writer recorded a version or a key first: each again on its own.
            for pending in accepted:
                self._record_alone(pending)
        elif failure is not None:
            for pending in accepted:
                pending.fail(failure)

    def _record_alone(self, pending: Pending) -> None:
        """Decide and record one command, again after each lost race, with jittered pauses
        so that writers who collided stop colliding."""
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
            staged = Batch(self._cached)
            with self.writer_turn():
                decided = pending.decide(staged)
                failure = self._save(staged) if decided else None
            if decided and failure is None:
                self._hand_over_renderings([pending])
            if not isinstance(failure, IntegrityError):
                if failure is not None:
                    pending.fail(failure)
                return
        milestone = pending.result
        pending.fail(ConcurrentUpdate(None if milestone is None else milestone.id))

    def _hand_over_renderings(self, accepted: list[Pending]) -> None:
        """Give each command the storage's rendering of its result, where one was made of
        that very version (a command followed by another on the same milestone in its
        batch has none: the batch rendered only the last)."""
        if self.renderings is None:
            return
        rendered = self.renderings()
        for pending in accepted:
            milestone = pending.result
            if milestone is None:
                continue
            made = rendered.get(to_public_id(milestone.id))
            if made is not None and made[0] == milestone.version:
                pending.rendering = _Rendered(milestone, made[1])

    def _save(self, staged: Batch) -> Exception | None:
        """Record what the batch changed; the error if that failed, after which the cache
        holds none of its milestones (they would be ahead of the log)."""
        try:
            if staged.milestones:
                self._save_milestones(staged)
        except Exception as error:  # noqa: BLE001 - the outcome of every command in it
            self._forget(staged)
            return error
        if self.repository.cache is not None:
            for milestone_id, milestone in staged.milestones.items():
                self.repository.cache.put(milestone_id, milestone)
        return None

    def _save_milestones(self, staged: Batch) -> None:
        """``save(*milestones, idempotency_keys=...)``, without its runtime Protocol checks
        of each argument (tens of µs each on Python 3.11): these are all aggregates."""
        processing = ProcessingEvent[Any]()
        for milestone in staged.milestones.values():
            processing.events.extend(milestone.collect_events())
            processing.aggregates[milestone.id] = milestone
        processing.saved_kwargs["idempotency_keys"] = staged.keys
        recordings = self._record(processing)
        # The events are recorded: a snapshot that fails to save only makes later loads
        # replay more, and must not turn a committed write into an error.
        with suppress(PersistenceError):
            self._take_snapshots(processing)
        self._notify(recordings)

    def _forget(self, staged: Batch) -> None:
        if self.repository.cache is not None:
            for milestone_id in staged.milestones:
                with suppress(KeyError):
                    self.repository.cache.get(milestone_id, evict=True)

    def _bring_up_to_date(self, milestone_ids: set[UUID]) -> set[UUID]:
        """Apply to the cached milestones among these the events recorded since they were
        cached (by other processes), all read at once rather than one read per command;
        the ids of those milestones."""
        cache = self.repository.cache
        if cache is None or self.lookups is None or not milestone_ids:
            return set()
        cached: dict[UUID, Milestone] = {}
        for milestone_id in milestone_ids:
            with suppress(KeyError):
                cached[milestone_id] = cast("Milestone", cache.get(milestone_id))
        for stored in self.lookups.events_after({i: m.version for i, m in cached.items()}):
            event = cast("Milestone.Event", self.mapper.to_domain_event(stored))
            event.mutate(cached[event.originator_id])
        return set(cached)

    def _cached(self, milestone_id: UUID) -> Milestone:
        # Commands run one batch at a time in a process, so they may change the cached
        # milestone itself (brought up to date with the log first); a batch that fails to
        # record forgets what it changed.
        cache = self.repository.cache
        if cache is not None and milestone_id in self._current:
            with suppress(KeyError):
                return cast("Milestone", cache.get(milestone_id))
        try:
            return self.repository.get(milestone_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            raise MilestoneNotFound(milestone_id) from None


def _new_milestone(
    project_id: str,
    title: str,
    description: str = "",
    status: Status | None = None,
    due_date: str | None = None,
    *,
    caller: Caller = ANONYMOUS,
) -> Milestone:
    return Milestone.create(
        project_id=project_id,
        title=title,
        description=description,
        status=status or Status.PENDING,
        due_date=due_date,
        caller=caller,
    )
