"""How due dates moved, and what changed between two instants: folds of stored events.

An ``Updated`` event records only the new values of the fields it changed, so the value a
move came from is the one the fold had reached before it. Every figure here is computed
from the events themselves, so a store written before these questions were asked answers
them in full.

The due instant of a ``dueDate`` is the one finding uses (``domain.due``): a date-time is
that instant, a date ``D`` is ``D`` at 00:00:00Z.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from domain.due import due_instant
from projections.document import DOCUMENT_KEYS
from projections.fold import apply
from projections.records import stored_instant

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from projections.document import Document

# version, event type, decoded state: one event of one milestone's stream
StreamEvent = tuple[int, str, dict[str, Any]]
Slip = int | float | None

_MICROSECOND = timedelta(microseconds=1)
_PER_SECOND = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)  # many milestones share a due date
def due_microseconds(due_date: str | None) -> int | None:
    """The due instant of a due date in microseconds since 1970 (the finest a due date can
    name), so that slips are whole numbers that SQL subtracts, compares and sorts."""
    return None if due_date is None else (due_instant(due_date) - _EPOCH) // _MICROSECOND


def seconds(microseconds: int | None) -> Slip:
    """Microseconds in seconds: an int when whole (JSON shows no fraction), else exact to
    the microsecond."""
    if microseconds is None:
        return None
    if microseconds % _PER_SECOND == 0:
        return microseconds // _PER_SECOND
    return microseconds / _PER_SECOND


def slip_seconds(before: str | None, after: str | None) -> Slip:
    """The due instant of ``after`` minus that of ``before``, in seconds; None if either is."""
    start, end = due_microseconds(before), due_microseconds(after)
    return None if start is None or end is None else seconds(end - start)


def due_date_set(kind: str, state: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether an event sets ``dueDate``, and to what (a Created event always sets it)."""
    if kind == "Created":
        return True, state["due_date"]
    if kind == "Updated" and "due_date" in state["changes"]:
        return True, state["changes"]["due_date"]
    return False, None


@dataclass
class DueHistory:
    """A milestone's due date folded over its events: where it started, where it is, moves."""

    milestone_id: str
    original: str | None = None
    current: str | None = None
    moves: list[Document] = field(default_factory=list)

    def follow(self, version: int, kind: str, state: dict[str, Any]) -> None:
        """Fold in one event of the stream, in version order."""
        sets, value = due_date_set(kind, state)
        if not sets:
            return
        if kind != "Created":
            self.moves.append(
                {
                    "version": version,
                    "occurredAt": stored_instant(state["timestamp"]),
                    "actor": state["actor"],
                    "requestId": state["request_id"],
                    "from": self.current,
                    "to": value,
                    "slipSeconds": slip_seconds(self.current, value),
                }
            )
        self.current = value
        if self.original is None:
            self.original = value

    @property
    def total_slip_seconds(self) -> Slip:
        return slip_seconds(self.original, self.current)

    def document(self) -> Document:
        """The schedule of one milestone, its keys in the documented order."""
        return {
            "milestoneId": self.milestone_id,
            "originalDueDate": self.original,
            "dueDate": self.current,
            "changes": len(self.moves),
            "totalSlipSeconds": self.total_slip_seconds,
            "moves": self.moves,
        }


def due_history(milestone_id: str, events: Iterable[StreamEvent]) -> DueHistory:
    history = DueHistory(milestone_id)
    for version, kind, state in events:
        history.follow(version, kind, state)
    return history


# milestone id, title, status, original due date, latest due date, number of moves, total
# slip in microseconds: a live milestone that has or had a due date, as the due-date
# projection and the view tell it
ScheduledRow = tuple[str, str, str, "str | None", "str | None", int, "int | None"]


def project_schedule(rows: Iterable[ScheduledRow]) -> list[Document]:
    """The project's schedule, in the rows' order (the most slipped first)."""
    return [
        {
            "milestoneId": public_id,
            "title": title,
            "status": status,
            "originalDueDate": original,
            "dueDate": current,
            "changes": moves,
            "totalSlipSeconds": seconds(slip),
        }
        for public_id, title, status, original, current, moves, slip in rows
    ]


# --- Changes between two instants -----------------------------------------------------------

# version, occurredAt, actor, event type, decoded state (None: not needed, after ``until``)
WindowEvent = tuple[int, str, str | None, str, dict[str, Any] | None]


def last_version_by(events: Sequence[tuple[int, str]], instant: str) -> int:
    """The latest version whose event occurred at or before ``instant`` (0: none), as time
    travel picks the version of ``?asOf=``."""
    return max((version for version, occurred_at in events if occurred_at <= instant), default=0)


def change(
    milestone_id: str, events: Sequence[WindowEvent], since: str, until: str
) -> Document | None:
    """What happened to one milestone in the window ``(since, until]``, or None if no event
    of it falls there. ``before`` and ``after`` are the milestone as time travel shows it
    at ``since`` and ``until``: null before it was created and once it is deleted."""
    in_window = [event for event in events if since < event[1] <= until]
    if not in_window:
        return None
    times = [(version, occurred_at) for version, occurred_at, *_ in events]
    at_since, at_until = last_version_by(times, since), last_version_by(times, until)
    before = after = document = None
    for version, _, _, kind, state in events:
        if version > at_until:
            break
        if state is None:
            msg = f"the event {version} of {milestone_id} was needed but not read"
            raise LookupError(msg)
        document = apply(document, milestone_id, kind, state)
        if version == at_since:
            before = document
        if version == at_until:
            after = document
    actors = [actor for _, _, actor, _, _ in in_window if actor is not None]
    fields = _differing(before, after)
    return {
        "milestoneId": milestone_id,
        "kind": _kind(before, after, fields),
        "fields": fields,
        "before": before,
        "after": after,
        "events": len(in_window),
        "actors": list(dict.fromkeys(actors)),
    }


def _differing(before: Document | None, after: Document | None) -> list[str]:
    if before is None or after is None:
        return []
    return [key for key in DOCUMENT_KEYS if before[key] != after[key]]


def _kind(before: Document | None, after: Document | None, fields: list[str]) -> str:
    if before is None:
        return "added" if after is not None else "transient"
    if after is None:
        return "removed"
    return "changed" if fields else "unchanged"
