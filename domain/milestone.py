"""The Milestone aggregate: every change is one of four events."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.caller import ANONYMOUS, Caller
from domain.ids import new_milestone_uuid

if TYPE_CHECKING:
    from uuid import UUID

# The attributes that an Updated event may change (status has its own event).
EDITABLE = ("title", "description", "due_date", "reached_at")


class Status(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    REACHED = "reached"


class MilestoneError(Exception):
    """Base class of the domain's errors."""


class MilestoneNotFound(MilestoneError):
    """No milestone has this id (or had it at the requested version or time)."""


class MilestoneDeleted(MilestoneNotFound):
    """The milestone was deleted and takes no more commands."""


class VersionMismatch(MilestoneError):
    """The caller expected another version of the milestone."""

    def __init__(self, expected: object, actual: int) -> None:
        super().__init__(f"expected version {expected}, found {actual}")
        self.actual = actual


class IdempotencyKeyReused(MilestoneError):
    """An idempotency key that was first used with another command; nothing was recorded."""


class VersionBeyondStream(MilestoneError):
    """A version that the milestone has not reached (yet)."""

    def __init__(self, requested: int, latest: int) -> None:
        super().__init__(f"version {requested} is beyond the stream ({latest})")
        self.latest = latest


class ConcurrentUpdate(MilestoneError):
    """A write kept losing the race with other writers and was given up."""


class InvalidReachedAt(MilestoneError):
    """A ``reached_at`` that the milestone cannot have; nothing was recorded."""


def utc_now() -> datetime:
    """The current time at millisecond precision, so stored event time is shown exactly."""
    return instant_of(time.time_ns())


def instant_of(unix_ns: int) -> datetime:
    """The UTC instant of a nanosecond clock reading, cut to the millisecond."""
    seconds, nanos = divmod(unix_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1_000_000 * 1000)


def format_instant(instant: datetime) -> str:
    """The one text form of every instant the service writes: ``2026-02-19T10:30:00.000Z``."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _who_was_not_recorded(state: dict[str, Any]) -> None:
    """The upcast of a record from before events carried who made them."""
    state["actor"] = None
    state["request_id"] = None


class Milestone(Aggregate):
    class Event(Aggregate.Event):
        # Who made the change and in which request: facts recorded with the event, decided
        # by the caller's adapter, never by the aggregate.
        actor: str | None
        request_id: str | None

        @staticmethod
        def create_timestamp() -> datetime:
            return utc_now()

    class Created(Event, Aggregate.Created):
        # Version 2 added reached_at, for milestones created as reached. Version 1 records
        # could only create milestones that were not reached, so theirs is null.
        # Version 3 added actor and request_id; older records did not know them.
        class_version = 3

        project_id: str
        title: str
        description: str
        status: Status
        due_date: str | None
        reached_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reached_at"] = None

        upcast_v2_v3 = staticmethod(_who_was_not_recorded)

    class Updated(Event):
        # Version 2 added actor and request_id.
        class_version = 2
        changes: dict[str, Any]
        upcast_v1_v2 = staticmethod(_who_was_not_recorded)

        def apply(self, aggregate: Any) -> None:
            for name, value in self.changes.items():
                setattr(aggregate, name, value)

    class StatusChanged(Event):
        # Version 2 added actor and request_id.
        class_version = 2
        from_status: Status
        to_status: Status
        reached_at: datetime | None
        upcast_v1_v2 = staticmethod(_who_was_not_recorded)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = Status(self.to_status)
            aggregate.reached_at = self.reached_at

    class Deleted(Event):
        # Version 2 added actor and request_id.
        class_version = 2
        upcast_v1_v2 = staticmethod(_who_was_not_recorded)

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True

    def __init__(
        self,
        *,
        project_id: str,
        title: str,
        description: str,
        status: Status,
        due_date: str | None,
        reached_at: datetime | None,
    ) -> None:
        self.project_id = project_id
        self.title = title
        self.description = description
        self.status = Status(status)
        self.due_date = due_date
        self.reached_at = reached_at
        self.deleted = False

    @classmethod
    def create(
        cls,
        *,
        project_id: str,
        title: str,
        description: str = "",
        status: Status = Status.PENDING,
        due_date: str | None = None,
        milestone_id: UUID | None = None,
        caller: Caller = ANONYMOUS,
    ) -> Milestone:
        # One clock reading is the event time, the createdAt, the id's time and,
        # for a milestone created as reached, its reachedAt.
        status = Status(status)
        unix_ns = time.time_ns()
        now = instant_of(unix_ns)
        return cls._create(
            cls.Created,
            id=milestone_id or new_milestone_uuid(unix_ns),
            timestamp=now,
            project_id=project_id,
            title=title,
            description=description,
            status=status,
            due_date=due_date,
            reached_at=now if status is Status.REACHED else None,
            **caller.recorded(),
        )

    def update(
        self, *, status: Status | None = None, caller: Caller = ANONYMOUS, **fields: Any
    ) -> None:
        """Change any of the EDITABLE fields and the status; unchanged values are no change."""
        self._refuse_if_deleted()
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            msg = f"not editable: {sorted(unknown)}"
            raise TypeError(msg)
        changes = {name: value for name, value in fields.items() if getattr(self, name) != value}
        # Checked before any event is triggered, so a refused command leaves no trace.
        if "reached_at" in fields:
            self._check_reached_at(fields["reached_at"], status)
        if changes:
            self.trigger_event(self.Updated, changes=changes, **caller.recorded())
        if status is not None and status != self.status:
            self._change_status(Status(status), caller)

    def delete(self, caller: Caller = ANONYMOUS) -> None:
        self._refuse_if_deleted()
        self.trigger_event(self.Deleted, **caller.recorded())

    def _check_reached_at(self, reached_at: datetime | None, status: Status | None) -> None:
        """A correction of reached_at may backfill, not foretell; and a milestone that
        stays reached keeps a reached_at (one that becomes reached gets its event's)."""
        if reached_at is not None and reached_at > utc_now():
            raise InvalidReachedAt("must not be later than now")
        stays_reached = self.status is Status.REACHED and status in {None, Status.REACHED}
        if stays_reached and reached_at is None:
            raise InvalidReachedAt("must not be null while the milestone is reached")

    def _change_status(self, status: Status, caller: Caller) -> None:
        now = utc_now()
        # reachedAt is a fact of event time: the first StatusChanged to reached sets it,
        # leaving reached keeps it, reaching again keeps the first value.
        reached_at = self.reached_at
        if status is Status.REACHED and reached_at is None:
            reached_at = now
        self.trigger_event(
            self.StatusChanged,
            timestamp=now,
            from_status=self.status,
            to_status=status,
            reached_at=reached_at,
            **caller.recorded(),
        )

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise MilestoneDeleted(self.id)
