"""The application in memory: the library's in-memory recorder, taught to keep idempotency
keys as the SQL recorders do (a key recorded twice fails the save), and lookups that answer
from it and from the event store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import IntegrityError
from eventsourcing.popo import POPOApplicationRecorder

from domain.application import Milestones
from domain.ids import from_public_id, to_public_id
from domain.milestone import Milestone, format_instant

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from uuid import UUID

    from eventsourcing.persistence import ApplicationRecorder, StoredEvent

    from domain.ports import IdempotencyKey


class KeyedRecorder(POPOApplicationRecorder):
    """Events in memory, and the idempotency keys recorded with them."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, tuple[str, str]] = {}

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        idempotency_keys: Sequence[IdempotencyKey] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        with self._database_lock:
            for request in idempotency_keys:
                if request.key in self.keys:
                    raise IntegrityError(request.key)
            positions = super().insert_events(stored_events, **kwargs)
            for request in idempotency_keys:
                self.keys[request.key] = (request.fingerprint, to_public_id(request.milestone_id))
            return positions


class InMemoryMilestones(Milestones):
    def construct_recorder(self) -> ApplicationRecorder:
        return KeyedRecorder()


class MemoryLookups:
    """The lookups over the in-memory recorder and the event store."""

    def __init__(self, app: Milestones) -> None:
        self._app = app

    def request(self, key: str) -> tuple[str, str] | None:
        recorder = self._app.recorder
        assert isinstance(recorder, KeyedRecorder)
        return recorder.keys.get(key)

    def version_at(self, public_id: str, instant: str) -> int | None:
        events = cast(
            "list[Milestone.Event]", list(self._app.events.get(from_public_id(public_id)))
        )
        versions = [e.originator_version for e in events if format_instant(e.timestamp) <= instant]
        return max(versions, default=None)

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        recorder = self._app.recorder
        return [
            event
            for milestone_id, after in versions.items()
            for event in recorder.select_events(milestone_id, gt=after)
        ]


def in_memory_milestones() -> Milestones:
    milestones = InMemoryMilestones()
    milestones.lookups = MemoryLookups(milestones)
    return milestones
