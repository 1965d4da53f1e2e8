"""One part of a rebuild's first pass, for a process of its own: the milestones of one part.

A milestone's events are folded in log order, one after another, so the milestones are
what is shared out: each part takes those whose public id ends in its share of characters
and reads the log up to a given head, decoding, folding and writing only their events.
The parts write disjoint rows into the same next copies, each one reading back only the
rows it wrote itself, so they need nothing of each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.runner import BATCH, PROJECTIONS, Rebuilt, _Copies

# A part reads every record of a batch but decodes only its own share: batches of its own
# events as large as a single pass's take a larger read.
PART_BATCH = 4 * BATCH

if TYPE_CHECKING:
    from collections.abc import Sequence

    from projections.ports import ViewStore


def part_of(public_id: str, parts: int) -> int:
    """Which of ``parts`` parts a milestone is in: by the last character of its id, which is
    random (stable across processes, unlike ``hash``)."""
    return ord(public_id[-1]) % parts


def fill_part(
    store: ViewStore,
    names: Sequence[str],
    *,
    part: int,
    parts: int,
    head: int,
    batch_size: int = PART_BATCH,
) -> Rebuilt:
    """Fill the next copies of the named projections with part ``part`` of the milestones'
    rows, from the log up to ``head``; how many events that was, and the time each took."""
    copies = _Copies([(PROJECTIONS[name], PROJECTIONS[name].next_copy(store)) for name in names])
    position = 0
    while position < head:
        with store.read_transaction() as c:
            batch = store.select_records(c, position, batch_size)
            if not batch:
                break
            position = batch[-1][0]
            mine = [r for r in batch if r[0] <= head and part_of(r[1], parts) == part]
            if mine:
                copies.prepare(c, mine)
        with store.copy_transaction() as c:
            copies.write(c)
    return copies.rebuilt
