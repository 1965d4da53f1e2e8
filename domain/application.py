"""The application service: each command loads a milestone, changes it and saves it."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.milestone import (
    ConcurrentUpdate,
    DuplicateRequest,
    Milestone,
    MilestoneDeleted,
    MilestoneNotFound,
    Status,
    VersionMismatch,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Mapping
    from uuid import UUID

    from eventsourcing.persistence import Recording


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
        request: tuple[str, str] | None = None,
    ) -> Milestone:
        """A new milestone; ``request`` (idempotency key, request fingerprint), if given, is
        recorded with it, and a key that was used before raises DuplicateRequest.
        """
        milestone = Milestone.create(
            project_id=project_id,
            title=title,
            description=description,
            status=status or Status.PENDING,
            due_date=due_date,
        )
        try:
            requests = [] if request is None else [(*request, milestone.id)]
            self.save(milestone, requests=requests)
        except IntegrityError:
            # A brand-new aggregate id cannot clash, so the request key did.
            if request is None:
                raise
            raise DuplicateRequest(request[0]) from None
        return milestone

    def update(
        self,
        milestone_id: UUID,
        changes: dict[str, Any],
        *,
        if_version: Container[int] | None = None,
    ) -> Milestone:
        return self._change(milestone_id, lambda m: m.update(**changes), if_version)

    def delete(self, milestone_id: UUID, *, if_version: Container[int] | None = None) -> Milestone:
        return self._change(milestone_id, Milestone.delete, if_version)

    def get(self, milestone_id: UUID, version: int | None = None) -> Milestone:
        try:
            return self.repository.get(milestone_id, version=version)
        except AggregateNotFoundError:
            raise MilestoneNotFound(milestone_id) from None

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
