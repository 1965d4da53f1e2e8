"""What the application hands its recorder, and the reads it needs beside the event store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent


@dataclass(frozen=True)
class IdempotencyKey:
    """A create's idempotency key, recorded in the transaction of the milestone's events.

    A save passes these to the recorder as ``idempotency_keys``; recording a key that was
    recorded before fails the whole save with the library's IntegrityError.
    """

    key: str
    fingerprint: str  # of the command that the key was first used with
    milestone_id: UUID


class Lookups(Protocol):
    """Recorded facts that the use cases look up by something other than a milestone id."""

    def request(self, key: str) -> tuple[str, str] | None:
        """The fingerprint and public milestone id recorded under an idempotency key."""

    def version_at(self, public_id: str, instant: str) -> int | None:
        """A milestone's version as of an instant (``format_instant``'s text, inclusive),
        if it existed then."""

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of each milestone after the version given for it, in one read:
        each milestone's in version order."""
