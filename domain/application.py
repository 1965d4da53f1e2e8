"""The application service: the use cases, each loading a milestone, changing it, saving it."""

from __future__ import annotations

import hashlib
import random
import time
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

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

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Mapping
    from datetime import datetime
    from uuid import UUID

    from eventsourcing.persistence import Recording

    from domain.ports import Lookups


def request_fingerprint(command: Mapping[str, Any]) -> str:
    """What identifies a create's request: its arguments, whatever order they came in."""
    return hashlib.sha256(orjson.dumps(command, option=orjson.OPT_SORT_KEYS)).hexdigest()


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
        # The reads behind idempotent creates and time travel. They come from the storage
        # this application's recorder creates, so the composition root sets them after.
        self.lookups: Lookups | None = None

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
        milestone = _new_milestone(project_id, title, description, status, due_date, caller=caller)
        self.save(milestone)
        return milestone

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
        milestone = _new_milestone(**command, caller=caller)
        try:
            self.save(milestone, idempotency_keys=[IdempotencyKey(key, fingerprint, milestone.id)])
        except IntegrityError:
            # A brand-new aggregate id cannot clash, so the key did.
            return self._first_made(key, fingerprint)
        return milestone

    def _first_made(self, key: str, fingerprint: str) -> Milestone:
        recorded = self._lookups().request(key)
        if recorded is None or recorded[0] != fingerprint:
            raise IdempotencyKeyReused(key)
        return self.get(from_public_id(recorded[1]), version=1)

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
        for attempt in range(self.max_attempts):
            if attempt:
                # Spread the retries of writers that collided, so they stop colliding.
                time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
            milestone = self.get(milestone_id)
            if milestone.deleted:
                raise MilestoneDeleted(milestone_id)
            if if_version is not None and milestone.version not in if_version:
                raise VersionMismatch(if_version, milestone.version)
            command(milestone)
            try:
                self.save(milestone)
            except IntegrityError:
                # Another writer saved this version first: reload and decide again.
                continue
            return milestone
        raise ConcurrentUpdate(milestone_id)


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
