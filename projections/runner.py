"""Keeping every projection in step with the log, the same way on every backend.

A projection (``Projection``) says how records become its rows and where those live; a
backend supplies the SQL through the ``ViewStore`` port; these are the procedures, the same
for every projection: the live apply inside the events transaction, the catch-up of a
lagging projection, a rebuild that swaps a fresh copy in while the service keeps serving,
and verification against a replay. Each projection has its own tracking position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from domain.ids import to_public_id
from projections.finding import keys_of, words_of
from projections.fold import fold
from projections.progress import (
    NEXT_TRANSITIONS_TABLE,
    PROGRESS_TRACKING,
    TRANSITIONS_TABLE,
    Replay,
    derive,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.ports import ViewStore
    from projections.records import Record

VIEW_TABLE = "milestones"
NEXT_VIEW_TABLE = "milestones_next"
VIEW_TRACKING = "milestones_view"
BATCH = 20_000

Difference = tuple[Any, Any, Any]  # key, in the projection, in a replay


class Projection(Protocol):
    """What the procedures need of one projection; ``c`` is a backend's cursor."""

    name: str  # what the operator calls it
    tracking: str  # the name of its position in the tracking table
    rows: str  # what its rows are, for the operator's reports

    def apply(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        """Apply records to the live rows (tracking is the runner's)."""

    def create_next(self, store: ViewStore, c: Any) -> None: ...
    def copy(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        """Apply records to the next rows, which a rebuild fills beside the live ones."""

    def swap_in_next(self, store: ViewStore, c: Any) -> None: ...
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

    def create_next(self, store: ViewStore, c: Any) -> None:
        store.create_next_view(c)

    def copy(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        load = lambda ids: store.load_documents(c, NEXT_VIEW_TABLE, ids)  # noqa: E731
        store.write_rows(c, NEXT_VIEW_TABLE, fold(records, load, index=False))

    def swap_in_next(self, store: ViewStore, c: Any) -> None:
        store.swap_in_next_view(c)

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
        self._write(store, c, TRANSITIONS_TABLE, records)

    def create_next(self, store: ViewStore, c: Any) -> None:
        store.create_next_transitions(c)

    def copy(self, store: ViewStore, c: Any, records: list[Record]) -> None:
        self._write(store, c, NEXT_TRANSITIONS_TABLE, records)

    def swap_in_next(self, store: ViewStore, c: Any) -> None:
        store.swap_in_next_transitions(c)

    def replayed(self, batches: Iterator[list[Record]]) -> dict[Any, Any]:
        replay = Replay()
        return {row[0]: row for batch in batches for row in replay.derive(batch)}

    def stored(self, store: ViewStore, c: Any) -> dict[Any, Any]:
        return {row[0]: row for row in store.stored_transitions(c)}

    @staticmethod
    def _write(store: ViewStore, c: Any, table: str, records: list[Record]) -> None:
        transitions = derive(records, lambda ids: store.standings(c, table, ids))
        if transitions:
            store.write_transitions(c, table, transitions)


MILESTONE_VIEW = MilestoneView()
PROGRESS_VIEW = ProgressView()
# Every projection, in the order they are applied; a new one is added here.
PROJECTIONS: dict[str, Projection] = {p.name: p for p in (MILESTONE_VIEW, PROGRESS_VIEW)}


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
        store.track_as(c, projection.tracking, records[-1][0])
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
            store.track_as(c, projection.tracking, position)
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
    """Build a fresh copy beside the live rows, then swap them; how many events it read.

    Live writes go on meanwhile and the fresh copy catches up with them; only the last
    catch-up and the swap exclude writers, so readers never see a partial projection.
    """
    with store.write_transaction(exclusive=False) as c:
        projection.create_next(store, c)
    position = done = 0

    def copy(c: Any, batch: list[Record]) -> None:
        nonlocal position, done
        projection.copy(store, c, batch)
        position, done = batch[-1][0], done + len(batch)

    while True:
        with store.read_transaction() as c:
            batch = store.select_records(c, position, BATCH)
            head = store.head(c)
        if len(batch) < BATCH:
            break  # close to the head: the rest is copied while writers wait
        with store.write_transaction(exclusive=False) as c:  # live writers touch no next copy
            copy(c, batch)
        progress(done, head)
    with store.write_transaction() as c:
        while batch := store.select_records(c, position, BATCH):
            copy(c, batch)
        # Live writes kept the tracked position at the head, where the new copy is now; a
        # projection that lagged (written by no recorder of ours) is at the head from here on.
        if position > store.position_of(c, projection.tracking):
            store.track_as(c, projection.tracking, position)
        projection.swap_in_next(store, c)
    progress(done, done)
    return done


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
