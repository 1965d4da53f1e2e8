"""Keeping the view in step with the log, the same way on every backend.

A backend supplies the SQL through the ``ViewStore`` port; these are the procedures: the
live apply inside the events transaction, the catch-up of a lagging view, a rebuild that
swaps a fresh view in while the service keeps serving, and verification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.ids import to_public_id
from projections.finding import keys_of, words_of
from projections.fold import fold

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.ports import ViewStore
    from projections.records import Record

VIEW_TABLE = "milestones"
NEXT_VIEW_TABLE = "milestones_next"
VIEW_TRACKING = "milestones_view"
BATCH = 20_000

Difference = tuple[str, "Document | None", "Document | None"]  # id, in the view, in a replay


def apply_records(
    store: ViewStore,
    c: Any,
    records: list[Record],
    idempotency_keys: Sequence[IdempotencyKey] = (),
) -> None:
    """Apply records to the live view and the event index, and track the last one; and
    remember the idempotency keys of the creates that made them."""
    folded = fold(records, lambda ids: store.load_documents(c, VIEW_TABLE, ids))
    store.write_rows(c, VIEW_TABLE, folded)
    store.write_entries(c, folded)
    store.track(c, records[-1][0])
    for request in idempotency_keys:
        store.remember_request(
            c, request.key, request.fingerprint, to_public_id(request.milestone_id)
        )


def catch_up(store: ViewStore) -> int:
    """Apply what the log holds beyond the view's position; how many events that was.

    It excludes event writers throughout, so no live write interleaves.
    """
    applied = 0
    with store.write_transaction() as c:
        position = store.view_position(c)
        while batch := store.select_records(c, position, BATCH):
            apply_records(store, c, batch)
            position = batch[-1][0]
            applied += len(batch)
    return applied


def rebuild(store: ViewStore, progress: Callable[[int, int], None]) -> int:
    """Build a fresh view beside the live one, then swap them; how many events it read.

    Live writes go on meanwhile and the fresh view catches up with them; only the last
    catch-up and the swap exclude writers, so readers never see a partial view.
    """
    with store.write_transaction(exclusive=False) as c:
        store.create_next_view(c)
    position = done = 0

    def copy(c: Any, batch: list[Record]) -> None:
        nonlocal position, done
        folded = fold(batch, lambda ids: store.load_documents(c, NEXT_VIEW_TABLE, ids), index=False)
        store.write_rows(c, NEXT_VIEW_TABLE, folded)
        position, done = batch[-1][0], done + len(batch)

    while True:
        with store.read_transaction() as c:
            batch = store.select_records(c, position, BATCH)
            head = store.head(c)
        if len(batch) < BATCH:
            break  # close to the head: the rest is copied while writers wait
        with store.write_transaction(exclusive=False) as c:  # live writers touch no next view
            copy(c, batch)
        progress(done, head)
    with store.write_transaction() as c:
        while batch := store.select_records(c, position, BATCH):
            copy(c, batch)
        # Live writes kept the tracked position at the head, where the new view is now; a
        # view that lagged (written by no recorder of ours) is at the head from here on.
        if position > store.view_position(c):
            store.track(c, position)
        store.swap_in_next_view(c)
    progress(done, done)
    return done


def verify(store: ViewStore) -> list[Difference]:
    """Replay the whole log in memory and compare it with the view, in one snapshot."""
    replayed: dict[str, Document | None] = {}

    def current(ids: list[str]) -> dict[str, Document]:
        return {i: document for i in ids if (document := replayed.get(i)) is not None}

    with store.read_transaction() as c:
        position = 0
        while batch := store.select_records(c, position, BATCH):
            folded = fold(batch, current, index=False)
            replayed.update(
                (public_id, document) for public_id, (_, document) in folded.rows.items()
            )
            position = batch[-1][0]
        live = store.live_documents(c)
        stored_keys = store.live_keys(c)
    expected = {public_id: doc for public_id, doc in replayed.items() if doc is not None}
    differences: list[Difference] = []
    for public_id in sorted(live.keys() | expected.keys()):
        in_view, in_replay = live.get(public_id), expected.get(public_id)
        if in_view != in_replay:
            differences.append((public_id, in_view, in_replay))
        elif in_view is not None:  # the same document: are its find keys and words its own?
            stored = stored_keys.get(public_id)
            derived = (keys_of(in_view), words_of(in_view))
            if stored != derived:
                differences.append(
                    (public_id, in_view | {"findKeys": stored}, in_view | {"findKeys": derived})
                )
    return differences
