"""The due-date projection: each milestone's first and latest due date and how often it moved.

A project's schedule (and its summary's ``slipped``) asks this of every milestone of the
project at once; folding their histories from the log at each request costs a read of
every Created and Updated event of the project. The rows are exactly what
``projections.schedule.DueHistory`` folds from a history, kept as the events are recorded
(in the events transaction, like the view), built from the whole log when missing, and
rebuilt and verified by name like every projection.

Only events that can set a due date are read (Created, and Updated events that name
``due_date``): a status change, a rename or a delete writes nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from projections.records import decoded, event_type
from projections.schedule import due_date_set, due_microseconds

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from projections.ports import ViewStore
    from projections.records import Event, Record

# milestone id, project id, original due date, latest due date, number of moves, the
# position of the last event that set it (so that applying an event twice changes nothing),
# and the due instants of the original and the latest due date in microseconds (so that the
# total slip is their difference, which SQL sorts and filters by)
DueRow = tuple[str, str, "str | None", "str | None", int, int, "int | None", "int | None"]
# new due date, its due instant, position, milestone id: one move, as the live apply writes it
Move = tuple["str | None", "int | None", int, str]

DUE_TABLE = "due_dates"
NEXT_DUE_TABLE = "due_dates_next"
DUE_TRACKING = "due_dates_view"
SETS_A_DUE_DATE = frozenset({"Created", "Updated"})


class DueDates(Protocol):
    """A backend's SQL of the due-date rows (``table`` is the live or the next one)."""

    def record(self, c: Any, created: list[DueRow], moves: list[Move]) -> None:
        """Insert the rows of new milestones, then apply moves in order, each to a row whose
        position is before its own (one applied already is not applied again)."""

    def write(self, c: Any, table: str, rows: list[DueRow]) -> None:
        """Insert rows, or replace those of the same milestones."""

    def stored(self, c: Any, table: str = DUE_TABLE) -> list[DueRow]: ...
    def create_next(self, c: Any) -> None:
        """An empty next table, without its index by project."""

    def swap_in_next(self, c: Any) -> None: ...


def may_set_a_due_date(record: Record) -> bool:
    """Whether a stored record can set a due date; decided without decoding it. The state
    of an Updated event that sets one names ``due_date`` among its changes."""
    kind = event_type(record[3])
    return kind == "Created" or (kind == "Updated" and b"due_date" in record[4])


def derive(
    events: Iterable[Event], known: Callable[[list[str]], Mapping[str, DueRow]]
) -> dict[str, DueRow]:
    """The rows that events (in log order) change, by milestone.

    ``known`` fetches, all at once, the rows of the milestones whose first event here is
    not their Created event.
    """
    setting = [event for event in events if due_date_set(event[3], event[4])[0]]
    firsts: dict[str, str] = {}
    for _, public_id, _, kind, _ in setting:
        firsts.setdefault(public_id, kind)
    rows = dict(known([pid for pid, kind in firsts.items() if kind != "Created"]))
    changed: dict[str, DueRow] = {}
    for position, public_id, _, kind, state in setting:
        value = due_date_set(kind, state)[1]
        at = due_microseconds(value)
        if kind == "Created":
            row: DueRow = (public_id, state["project_id"], value, value, 0, position, at, at)
        else:
            _, project_id, original, _, moves, _, original_at, _ = rows[public_id]
            if original is None:
                original, original_at = value, at
            row = (public_id, project_id, original, value, moves + 1, position, original_at, at)
        rows[public_id] = changed[public_id] = row
    return changed


def changes_of(events: Iterable[Event]) -> tuple[list[DueRow], list[Move]]:
    """What events (in log order) write: rows of new milestones and moves. The live apply
    reads nothing back: a move updates its row in place."""
    created: list[DueRow] = []
    moves: list[Move] = []
    for position, public_id, _, kind, state in events:
        sets, value = due_date_set(kind, state)
        at = due_microseconds(value)
        if kind == "Created":
            created.append((public_id, state["project_id"], value, value, 0, position, at, at))
        elif sets:
            moves.append((value, at, position, public_id))
    return created, moves


class DueDatesView:
    """The projection the runner keeps (``projections.runner.PROJECTIONS``)."""

    name = "schedule"
    tracking = DUE_TRACKING
    rows = "due dates"

    def apply(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        events = decoded(record for record in records if may_set_a_due_date(record))
        created, moves = changes_of(events)
        if created or moves:
            store.due_dates.record(c, created, moves)

    def create_next(self, store: ViewStore, c: Any) -> NextDueDates:
        store.due_dates.create_next(c)
        return self.next_copy(store)

    def next_copy(self, store: ViewStore) -> NextDueDates:
        return NextDueDates(store)

    def replayed(self, batches: Iterator[list[Record]]) -> dict[Any, Any]:
        rows: dict[str, DueRow] = {}
        for batch in batches:
            events = decoded(record for record in batch if may_set_a_due_date(record))
            rows.update(derive(events, lambda ids: {pid: rows[pid] for pid in ids}))
        return rows

    def stored(self, store: ViewStore, c: Any) -> dict[Any, Any]:
        return {row[0]: row for row in store.due_dates.stored(c)}


class NextDueDates:
    """The next copy of the due-date rows. A row is one short tuple a milestone, so every
    one stays in memory for the rebuild and none is read back."""

    kinds = SETS_A_DUE_DATE

    def __init__(self, store: ViewStore) -> None:
        self._store = store
        self._rows: dict[str, DueRow] = {}
        self._pending: dict[str, DueRow] = {}

    def prepare(self, c: Any, events: list[Event]) -> None:
        changed = derive(events, lambda ids: {pid: self._rows[pid] for pid in ids})
        self._rows.update(changed)
        self._pending.update(changed)

    def write(self, c: Any) -> None:
        if self._pending:
            self._store.due_dates.write(c, NEXT_DUE_TABLE, list(self._pending.values()))
        self._pending = {}

    def swap_in_next(self, c: Any) -> None:
        self._store.due_dates.swap_in_next(c)

    def resume(self, c: Any) -> None:
        # Other processes wrote the rows so far: the next moves are applied to those.
        self._rows = {row[0]: row for row in self._store.due_dates.stored(c, NEXT_DUE_TABLE)}


DUE_DATES_VIEW = DueDatesView()
