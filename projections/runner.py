"""Keeping every projection in step with the log, the same way on every backend.

A projection (``Projection``) says how records become its rows and where those live; a
backend supplies the SQL through the ``ViewStore`` port; these are the procedures, the same
for every projection: the live apply inside the events transaction, the catch-up of a
lagging projection, a rebuild that swaps a fresh copy in while the service keeps serving
(of any number of projections, in one pass over the log), and verification against a
replay. Each projection has its own tracking position.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from domain.ids import to_public_id
from projections import rendered
from projections.finding import keys_of, words_of
from projections.fold import fold
from projections.progress import (
    PROGRESS_TRACKING,
    TRANSITIONS_TABLE,
    Replay,
    derive,
)
from projections.rebuild_copy import NextTransitions, NextView
from projections.records import decoded, event_type
from projections.schedule_view import DUE_DATES_VIEW

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.ports import ViewStore
    from projections.records import Event, Record

VIEW_TABLE = "milestones"
NEXT_VIEW_TABLE = "milestones_next"
VIEW_TRACKING = "milestones_view"
BATCH = 20_000

Difference = tuple[Any, Any, Any]  # key, in the projection, in a replay


class NextCopy(Protocol):
    """A rebuild's copy of one projection (``projections.rebuild_copy``), filled batch by batch."""

    kinds: frozenset[str]  # the types of the events it reads: no other is even decoded

    def prepare(self, c: Any, events: list[Event]) -> None:
        """Derive the next rows of events; ``c`` reads back what it must of the rows written
        before (a read transaction, but for the last catch-up)."""

    def write(self, c: Any) -> None:
        """Write the rows prepared since the last write."""

    def swap_in_next(self, c: Any) -> None:
        """Put the next rows in the place of the live ones."""

    def resume(self, c: Any) -> None:
        """Go on from rows that other processes wrote: nothing of them is in memory."""


class Projection(Protocol):
    """What the procedures need of one projection; ``c`` is a backend's cursor."""

    name: str  # what the operator calls it
    tracking: str  # the name of its position in the tracking table
    rows: str  # what its rows are, for the operator's reports

    def apply(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        """Apply records to the live rows (tracking is the runner's)."""

    def create_next(self, store: ViewStore, c: Any) -> NextCopy:
        """Create the next rows, empty, which a rebuild fills beside the live ones."""

    def next_copy(self, store: ViewStore) -> NextCopy:
        """The next rows as they are, for a process that fills a part of them."""

    def replayed(self, batches: Iterator[list[Record]]) -> dict[Any, Any]:
        """What the rows should be, by key, after the whole log."""

    def stored(self, store: ViewStore, c: Any) -> dict[Any, Any]:
        """What the live rows are, by key."""


class MilestoneView:
    """Each live milestone's document, and the event index that feed and time travel use."""

    name = "milestones"
    tracking = VIEW_TRACKING
    rows = "milestones"

    def apply(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        folded = fold(records, lambda ids: store.load_documents(c, VIEW_TABLE, ids))
        store.write_rows(c, VIEW_TABLE, folded)
        store.write_entries(c, folded)
        rendered.publish(folded.rows)  # the documents a write answers with

    def create_next(self, store: ViewStore, c: Any) -> NextCopy:
        store.create_next_view(c)
        return self.next_copy(store)

    def next_copy(self, store: ViewStore) -> NextCopy:
        return NextView(store, NEXT_VIEW_TABLE)

    def replayed(self, batches: Iterator[list[Record]]) -> dict[Any, Any]:
        replayed: dict[str, Document | None] = {}

        def current(ids: list[str]) -> dict[str, Document]:
            return {i: document for i in ids if (document := replayed.get(i)) is not None}

        for batch in batches:
            folded = fold(batch, current, index=False)
            replayed.update((pid, document) for pid, (_, document) in folded.rows.items())
        return {pid: _with_find_keys(doc) for pid, doc in replayed.items() if doc is not None}

    def stored(self, store: ViewStore, c: Any) -> dict[Any, Any]:
        # A row's find keys and words must be its document's own, or finding goes astray.
        keys = store.live_keys(c)
        return {
            pid: doc | {"findKeys": keys.get(pid)} for pid, doc in store.live_documents(c).items()
        }


def _with_find_keys(document: Document) -> Document:
    return document | {"findKeys": (keys_of(document), words_of(document))}


class ProgressView:
    """Each project's status transitions (``projections.progress``): the progress series."""

    name = "progress"
    tracking = PROGRESS_TRACKING
    rows = "transitions"

    def apply(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        transitions = derive(records, lambda ids: store.standings(c, TRANSITIONS_TABLE, ids))
        if transitions:
            store.write_transitions(c, TRANSITIONS_TABLE, transitions)

    def create_next(self, store: ViewStore, c: Any) -> NextCopy:
        store.create_next_transitions(c)
        return self.next_copy(store)

    def next_copy(self, store: ViewStore) -> NextCopy:
        return NextTransitions(store)

    def replayed(self, batches: Iterator[list[Record]]) -> dict[Any, Any]:
        replay = Replay()
        return {row[0]: row for batch in batches for row in replay.derive(batch)}

    def stored(self, store: ViewStore, c: Any) -> dict[Any, Any]:
        return {row[0]: row for row in store.stored_transitions(c)}


MILESTONE_VIEW = MilestoneView()
PROGRESS_VIEW = ProgressView()
# Every projection, in the order they are applied; a new one is added here.
PROJECTIONS: dict[str, Projection] = {
    p.name: p for p in (MILESTONE_VIEW, PROGRESS_VIEW, DUE_DATES_VIEW)
}
TRACKINGS = [p.tracking for p in PROJECTIONS.values()]  # what a write moves on, together


def apply_records(
    store: ViewStore,
    c: Any,
    records: list[Record],
    idempotency_keys: Sequence[IdempotencyKey] = (),
) -> None:
    """Apply records to every projection and track the last one; and remember the
    idempotency keys of the creates that made them."""
    for projection in PROJECTIONS.values():
        projection.apply(store, c, records)
    store.track_as(c, TRACKINGS, records[-1][0])
    for request in idempotency_keys:
        store.remember_request(
            c, request.key, request.fingerprint, to_public_id(request.milestone_id)
        )


def catch_up(store: ViewStore, projection: Projection = MILESTONE_VIEW) -> int:
    """Apply what the log holds beyond the projection's position; how many events that was.

    It excludes event writers throughout, so no live write interleaves.
    """
    applied = 0
    with store.write_transaction() as c:
        position = store.position_of(c, projection.tracking)
        while batch := store.select_records(c, position, BATCH):
            projection.apply(store, c, batch)
            position = batch[-1][0]
            store.track_as(c, [projection.tracking], position)
            applied += len(batch)
    return applied


def catch_up_all(store: ViewStore) -> dict[str, int]:
    """Catch every projection up, e.g. one that a database written before it lacks."""
    return {name: catch_up(store, projection) for name, projection in PROJECTIONS.items()}


def positions(store: ViewStore) -> tuple[dict[str, int], int]:
    """Each projection's position, and the log's head, in one snapshot."""
    with store.read_transaction() as c:
        tracked = {name: store.position_of(c, p.tracking) for name, p in PROJECTIONS.items()}
        return tracked, store.head(c)


def rebuild(
    store: ViewStore,
    progress: Callable[[int, int], None],
    projection: Projection = MILESTONE_VIEW,
) -> int:
    """Rebuild one projection (``rebuild_all``); how many events it read."""
    return rebuild_all(store, progress, [projection]).events


@dataclass
class Rebuilt:
    events: int  # how many the log held at the swap, all read once
    # Each projection's own share of the time: deriving, writing and swapping in its rows.
    # The rest of a rebuild's time is reading and decoding the log, and committing.
    seconds: dict[str, float] = field(default_factory=dict)


class _Copies:
    """The next copies of one rebuild, fed the same events, each one's time kept apart."""

    def __init__(self, copies: list[tuple[Projection, NextCopy]]) -> None:
        self.copies = copies
        self.kinds = frozenset[str]().union(*(copy.kinds for _, copy in self.copies))
        self.rebuilt = Rebuilt(0, dict.fromkeys((p.name for p, _ in copies), 0.0))
        self.position = 0  # of the last record prepared

    def resume(self, c: Any, filled: Rebuilt, position: int, *, gained: bool) -> None:
        """Go on after other processes filled the next rows up to ``position``; ``gained``:
        the log holds more already, so the copies prepare to read back what they wrote."""
        if gained:  # else an index for reading standings back would be built for nothing
            for _, copy in self.copies:
                copy.resume(c)
        self.position = position
        self.rebuilt.events += filled.events
        for name, seconds in filled.seconds.items():
            self.rebuilt.seconds[name] += seconds

    def prepare(self, c: Any, batch: list[Record]) -> None:
        # Decoded once for every copy, and only if one of them reads it.
        events = decoded(record for record in batch if event_type(record[3]) in self.kinds)
        for projection, copy in self.copies:
            started = time.perf_counter()
            reads_all = copy.kinds >= self.kinds
            copy.prepare(c, events if reads_all else [e for e in events if e[3] in copy.kinds])
            self._spent(projection, started)
        self.position = batch[-1][0]
        self.rebuilt.events += len(batch)

    def write(self, c: Any) -> None:
        for projection, copy in self.copies:
            started = time.perf_counter()
            copy.write(c)
            self._spent(projection, started)

    def swap_in(self, store: ViewStore, c: Any) -> None:
        for projection, copy in self.copies:
            started = time.perf_counter()
            # Live writes kept the tracked position at the head, where the new copy is now;
            # a projection that lagged (written by no recorder of ours) is at the head from
            # here on.
            if self.position > store.position_of(c, projection.tracking):
                store.track_as(c, [projection.tracking], self.position)
            copy.swap_in_next(c)
            self._spent(projection, started)

    def _spent(self, projection: Projection, started: float) -> None:
        self.rebuilt.seconds[projection.name] += time.perf_counter() - started


def rebuild_all(
    store: ViewStore,
    progress: Callable[[int, int], None],
    projections: Sequence[Projection],
    batch_size: int = BATCH,
    fill: Callable[[int], Rebuilt | None] | None = None,
) -> Rebuilt:
    """Build a fresh copy of projections beside their live rows, then swap them all in.

    One pass over the log serves them all: each batch of records is read and decoded once
    and handed to every projection's copy. Live writes go on meanwhile and the copies catch
    up with them; only the last catch-up and the swap exclude writers, so readers never see
    a partial projection.

    ``fill``, given the log's head, may fill the next rows up to it in other processes (each
    milestone's events in one of them; None: it did not), and the pass goes on from there.
    """
    with store.write_transaction(exclusive=False) as c:
        copies = _Copies([(p, p.create_next(store, c)) for p in projections])
        head = store.head(c)
    if fill is not None and (filled := fill(head)) is not None:
        with store.copy_transaction() as c:
            copies.resume(c, filled, head, gained=store.head(c) > head)
    while True:
        with store.read_transaction() as c:
            batch = store.select_records(c, copies.position, batch_size)
            head = store.head(c)
            if batch:
                copies.prepare(c, batch)  # outside the writes, which exclude event writers
        if len(batch) < batch_size:
            break  # close to the head: this batch and the rest are written while writers wait
        with store.copy_transaction() as c:  # live writers touch no next copy
            copies.write(c)
        progress(copies.rebuilt.events, head)
    with store.write_transaction() as c:
        copies.write(c)
        while batch := store.select_records(c, copies.position, batch_size):
            copies.prepare(c, batch)
            copies.write(c)
        copies.swap_in(store, c)
    progress(copies.rebuilt.events, copies.rebuilt.events)
    return copies.rebuilt


def verify(store: ViewStore, projection: Projection = MILESTONE_VIEW) -> list[Difference]:
    """Replay the whole log in memory and compare it with the projection, in one snapshot."""

    def batches(c: Any) -> Iterator[list[Record]]:
        position = 0
        while batch := store.select_records(c, position, BATCH):
            yield batch
            position = batch[-1][0]

    with store.read_transaction() as c:
        expected = projection.replayed(batches(c))
        live = projection.stored(store, c)
    return [
        (key, live.get(key), expected.get(key))
        for key in sorted(live.keys() | expected.keys())
        if live.get(key) != expected.get(key)
    ]
