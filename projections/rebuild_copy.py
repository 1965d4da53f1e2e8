"""What a rebuild fills beside the live rows: each projection's next copy.

A rebuild reads the log once and hands the same decoded events to the next copy of every
projection it rebuilds (``projections.runner.rebuild_all``). Each copy derives its rows
outside the transaction that writes them (``prepare``), so that the writes, which exclude
event writers on SQLite, take no longer than the SQL itself (``write``).

Only the rebuild writes a next copy, so what a copy wrote there is what is there: the
documents and standings of the milestones it has met are taken from memory instead of being
read back batch after batch. Memory is bounded: beyond ``REMEMBERED`` milestones it keeps
those of the last batch alone, and reads any other from its next rows when it meets it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from projections.fold import Folded, fold_events
from projections.progress import COUNTED, NEXT_TRANSITIONS_TABLE, derive_events
from projections.records import EVENT_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from projections.document import Document
    from projections.ports import ViewStore
    from projections.progress import Standing, Transition
    from projections.records import Event

# Milestones whose documents (or standings) a next copy keeps in memory: about 100 MB of
# documents at most, and every milestone of a store of that size.
REMEMBERED = 100_000

V = TypeVar("V")


class Memory(Generic[V]):
    """What a next copy holds of each milestone it met, as it wrote it there."""

    def __init__(self) -> None:
        self._values: dict[str, V] = {}
        self.forgot = False  # whether it ever forgot a milestone to stay within bounds

    def known(
        self, public_ids: list[str], read: Callable[[list[str]], Mapping[str, V]]
    ) -> dict[str, V]:
        """The values of milestones, from memory or else from ``read`` (the next rows)."""
        found: dict[str, V] = {}
        missing = []
        for public_id in public_ids:
            value = self._values.get(public_id)
            if value is None:
                missing.append(public_id)
            else:
                found[public_id] = value
        if missing:
            found.update(read(missing))
        return found

    def remember(self, values: Mapping[str, V | None]) -> None:
        """The values a batch left (None: the milestone is gone from the next rows)."""
        if len(self._values) + len(values) > REMEMBERED:
            self._values, self.forgot = {}, True
        for public_id, value in values.items():
            if value is None:
                self._values.pop(public_id, None)
            else:
                self._values[public_id] = value


class NextView:
    """The next copy of the milestone view: its documents, keys and words."""

    kinds = EVENT_TYPES

    def __init__(self, store: ViewStore, table: str) -> None:
        self._store, self._table = store, table
        self._documents: Memory[Document] = Memory()
        self._pending: list[Folded] = []

    def prepare(self, c: Any, events: list[Event]) -> None:
        def load(public_ids: list[str]) -> dict[str, Document]:
            read = lambda ids: self._store.load_documents(c, self._table, ids)  # noqa: E731
            return self._documents.known(public_ids, read)

        folded = fold_events(events, load, index=False)
        self._documents.remember({pid: document for pid, (_, document) in folded.rows.items()})
        self._pending.append(folded)

    def write(self, c: Any) -> None:
        for folded in self._pending:
            self._store.write_next_rows(c, folded)
        self._pending.clear()

    def swap_in_next(self, c: Any) -> None:
        self._store.swap_in_next_view(c)

    def resume(self, c: Any) -> None:
        # Documents are read back from the next rows when met, which the primary key serves.
        self._documents = Memory()


class NextTransitions:
    """The next copy of the progress projection: every status transition."""

    kinds = COUNTED

    def __init__(self, store: ViewStore) -> None:
        self._store = store
        self._standings: Memory[Standing] = Memory()
        self._pending: list[Transition] = []
        self._indexed = False

    def prepare(self, c: Any, events: list[Event]) -> None:
        def standings(public_ids: list[str]) -> dict[str, Standing]:
            read = lambda ids: self._store.standings(c, NEXT_TRANSITIONS_TABLE, ids)  # noqa: E731
            return self._standings.known(public_ids, read)

        transitions = derive_events(events, standings)
        self._standings.remember(
            {public_id: (project, after) for _, project, _, public_id, _, after in transitions}
        )
        self._pending += transitions

    def write(self, c: Any) -> None:
        if self._standings.forgot and not self._indexed:
            # Standings will be read back from here on: by milestone, which wants an index.
            # Until then the inserts had one index less to keep.
            self._store.index_next_transitions(c)
            self._indexed = True
        if self._pending:
            self._store.write_transitions(c, NEXT_TRANSITIONS_TABLE, self._pending)
        self._pending = []

    def swap_in_next(self, c: Any) -> None:
        self._store.swap_in_next_transitions(c)

    def resume(self, c: Any) -> None:
        # Standings are read back by milestone from here on, which wants the index.
        self._standings = Memory()
        self._standings.forgot = True
        if not self._indexed:
            self._store.index_next_transitions(c)
            self._indexed = True
