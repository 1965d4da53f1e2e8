"""What the read side needs of a storage backend, and what it offers the adapters.

``ViewStore`` is the SQL of one backend that the runner (``projections.runner``) keeps the
view with; ``Reads`` is every query the service answers from the view, the event index or
the log. Each backend implements both (``adapters.sqlite``, ``adapters.postgres``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent

    from projections.document import Document
    from projections.finding import Find, Keys
    from projections.fold import Folded
    from projections.progress import Standing, Transition
    from projections.records import Record
    from projections.schedule import ScheduledRow
    from projections.schedule_view import DueDates


class ViewStore(Protocol):
    """The SQL of one backend; ``c`` is that backend's cursor."""

    @property
    def due_dates(self) -> DueDates:
        """The SQL of the due-date projection's rows."""

    def write_transaction(self, *, exclusive: bool = True) -> AbstractContextManager[Any]:
        """A transaction that writes; ``exclusive``: and excludes every writer of events."""

    def read_transaction(self) -> AbstractContextManager[Any]:
        """A transaction that reads one consistent snapshot."""

    def copy_transaction(self) -> AbstractContextManager[Any]:
        """A write transaction of a rebuild's next rows, which no live writer touches.

        Its commit need not reach the disk by itself: the next rows are thrown away if the
        rebuild does not finish, and the swap's transaction, which does reach the disk,
        takes every earlier commit with it.
        """

    def select_records(self, c: Any, after: int, limit: int) -> list[Record]: ...
    def select_part(
        self, c: Any, after: int, limit: int, *, upto: int, part: int, parts: int
    ) -> list[Record]:
        """``select_records`` up to ``upto``, of the milestones in part ``part`` of ``parts``
        (a stable function of the milestone's id, the same in every process)."""

    def head(self, c: Any) -> int: ...
    def load_documents(self, c: Any, table: str, public_ids: list[str]) -> dict[str, Document]: ...
    def live_documents(self, c: Any) -> dict[str, Document]: ...
    def live_keys(self, c: Any) -> dict[str, tuple[Keys, list[str]]]:
        """The find keys and the words the view stores beside each document."""

    def write_rows(self, c: Any, table: str, folded: Folded) -> None: ...
    def write_entries(self, c: Any, folded: Folded) -> None: ...
    def remember_request(self, c: Any, key: str, fingerprint: str, public_id: str) -> None:
        """Record an idempotency key; a key recorded before is an IntegrityError."""

    def recorded_requests(self, c: Any) -> dict[str, tuple[str, str]]:
        """Every idempotency key and fingerprint, by the id of the milestone it created."""

    def create_next_view(self, c: Any) -> None:
        """An empty next view, its secondary indexes left for the swap to build."""

    def write_next_rows(self, c: Any, folded: Folded) -> None:
        """``write_rows`` into the next view, which only the rebuild writes: a milestone that
        was not in the fold's ``before`` is not in the table either."""

    def swap_in_next_view(self, c: Any) -> None: ...
    def position_of(self, c: Any, tracking: str) -> int:
        """A projection's tracked position (0 before its first event)."""

    def track_as(self, c: Any, trackings: Sequence[str], position: int) -> None:
        """Set these projections' tracked position (one statement where the SQL allows)."""

    def standings(self, c: Any, table: str, public_ids: list[str]) -> dict[str, Standing]:
        """The project and last status of milestones, from their latest transitions."""

    def write_transitions(self, c: Any, table: str, transitions: list[Transition]) -> None:
        """Insert transitions; one already there (a catch-up's overlap) is left as it is."""

    def stored_transitions(self, c: Any) -> list[Transition]: ...
    def create_next_transitions(self, c: Any) -> None:
        """An empty next table of transitions, without secondary indexes."""

    def index_next_transitions(self, c: Any) -> None:
        """Index the next transitions by milestone, for standings read back from them."""

    def swap_in_next_transitions(self, c: Any) -> None: ...


# milestone id, version, occurredAt, actor, topic, stored state
StreamRow = tuple[str, int, str, "str | None", str, bytes]


@dataclass(frozen=True)
class EventFilter:
    project_id: str | None = None
    milestone_id: str | None = None
    type: str | None = None
    since: str | None = None  # instants in their canonical text form compare as text
    until: str | None = None
    actor: str | None = None


# What the event index says of one event, for a filter to be applied to it in memory:
# milestone id, project, type, occurredAt, actor (None for an event the index lacks, which
# a filtered feed leaves out, as its join with the index does).
IndexKeys = tuple[str, str, str, str, "str | None"]


class Reads(Protocol):
    """Every read the service answers, from the view, the event index or the log."""

    def document(self, public_id: str) -> tuple[int, bytes] | None: ...
    def documents(
        self, project_id: str | None = None, status: str | None = None
    ) -> list[bytes]: ...
    def find(self, find: Find) -> list[tuple[str | None, str, bytes]]:
        """(sort key, id, document) of each match in order; with a limit, up to one more."""

    def projects(self, after: str | None, limit: int | None) -> list[tuple[str, str, int]]:
        """(project, status, how many live milestones) of the projects after ``after`` (by
        code point), at most ``limit`` projects; the rows in no particular order."""

    def lag(self) -> tuple[int, int]: ...
    def request(self, key: str) -> tuple[str, str] | None: ...
    def history(self, milestone_id: UUID) -> list[tuple[int, str, bytes]]: ...
    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of each milestone after the version given for it, in one read."""

    def version_at(self, public_id: str, instant: str) -> int | None: ...
    def events(self, after: int, limit: int, only: EventFilter) -> list[Record]: ...
    def events_indexed(self, after: int, limit: int) -> list[tuple[Record, IndexKeys | None]]:
        """A page of the whole log in commit order, each event with its index entry: one
        read that every filter of the feed can then be applied to."""

    def daily_transitions(self, project_id: str) -> list[tuple[str, str | None, str | None, int]]:
        """The project's transitions counted by the UTC date of their occurredAt, status
        before and status after, in date order: (date, before, after, how many)."""

    def scheduled(self, project_id: str, slipped: bool | None = None) -> list[ScheduledRow]:
        """The project's live milestones that have or had a due date (from the due-date
        projection beside the view), the most slipped first, those without a slip to tell
        last, ties by id; ``slipped``: only those with a total slip above 0, or the others."""

    def slipped(self, project_id: str) -> int:
        """How many of the project's live milestones have a total slip above 0."""

    def window_milestones(
        self, project_id: str, since: str, until: str, after: str, limit: int
    ) -> list[str]:
        """The ids above ``after``, in order, of the project's milestones with an event in
        ``(since, until]``; at most ``limit``."""

    def streams(self, public_ids: list[str]) -> list[StreamRow]:
        """Every event of these milestones, by milestone, each one's in log order (which is
        its versions' order, and an index's: no sort)."""

    def close(self) -> None: ...
