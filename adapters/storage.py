"""What the HTTP adapter and the command line need of a storage backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from uuid import UUID

    from projections.milestones import Record


def sql_conditions(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """The conditions whose values are given, joined with AND ("TRUE" when none are)."""
    present = [(condition, value) for condition, value in pairs if value is not None]
    where = " AND ".join(condition for condition, _ in present) or "TRUE"
    return where, [value for _, value in present]


@dataclass(frozen=True)
class EventFilter:
    project_id: str | None = None
    milestone_id: str | None = None
    type: str | None = None
    since: str | None = None  # instants in their canonical text form compare as text
    until: str | None = None


class Reads(Protocol):
    """Every read the service answers, from the view, the event index or the log."""

    def document(self, public_id: str) -> tuple[int, bytes] | None: ...
    def documents(
        self, project_id: str | None = None, status: str | None = None
    ) -> list[bytes]: ...
    def lag(self) -> tuple[int, int]: ...
    def request(self, key: str) -> tuple[str, str] | None: ...
    def history(self, milestone_id: UUID) -> list[tuple[int, str, bytes]]: ...
    def version_at(self, public_id: str, instant: str) -> int | None: ...
    def events(self, after: int, limit: int, only: EventFilter) -> list[Record]: ...
    def close(self) -> None: ...
