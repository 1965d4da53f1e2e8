"""One part of a rebuild's first pass, for a process of its own: the milestones of one part.

A milestone's events are folded in log order, one after another, so the milestones are
what is shared out: each part reads the events of its milestones (``ViewStore.select_part``)
up to a given head, and decodes, folds and writes them.
The parts write disjoint rows into the same next copies, each one reading back only the
rows it wrote itself, so they need nothing of each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.runner import BATCH, PROJECTIONS, Rebuilt, _Copies

if TYPE_CHECKING:
    from collections.abc import Sequence

    from projections.ports import ViewStore


def fill_part(
    store: ViewStore,
    names: Sequence[str],
    *,
    part: int,
    parts: int,
    head: int,
    batch_size: int = BATCH,
) -> Rebuilt:
    """Fill the next copies of the named projections with part ``part`` of the milestones'
    rows, from the log up to ``head``; how many events that was, and the time each took."""
    copies = _Copies([(PROJECTIONS[name], PROJECTIONS[name].next_copy(store)) for name in names])
    while True:
        with store.read_transaction() as c:
            batch = store.select_part(
                c, copies.position, batch_size, upto=head, part=part, parts=parts
            )
            if batch:
                copies.prepare(c, batch)
        if not batch:
            break
        with store.copy_transaction() as c:
            copies.write(c)
    return copies.rebuilt
