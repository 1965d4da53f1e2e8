"""The live view's row writes of a fold, worked out before any of them is made.

What ``adapters.storage.sql.row_changes`` gives PostgreSQL, without the words (SQLite's are
in its search index, ``adapters.sqlite.search``) and with each due date's keys worked out
once (``adapters.storage.rebuild_rows.find_keys``): less work while the writer lock is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from adapters.storage.rebuild_rows import find_keys

if TYPE_CHECKING:
    from projections.fold import Folded


@dataclass
class ViewWrites:
    """The statements' rows: ``upserts`` whole rows (new, or not known before); of rows
    known before, ``updates`` (status, version, body, id) of those whose keys stay,
    ``retitled`` (status, version, body, title, id), ``redated`` (status, version, body,
    due_at, late_at, id) and ``rekeyed`` (all of them); ``deletes`` ids."""

    upserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    retitled: list[tuple[Any, ...]] = field(default_factory=list)
    redated: list[tuple[Any, ...]] = field(default_factory=list)
    rekeyed: list[tuple[Any, ...]] = field(default_factory=list)
    deletes: list[tuple[str]] = field(default_factory=list)


def view_writes(folded: Folded) -> ViewWrites:
    """A row's statement sets only the sort keys that changed: SQLite rewrites the entries
    of every index on a column that an UPDATE sets, even to the value it had, so a title
    set again with the due date would write both due indexes too (a page each)."""
    writes = ViewWrites()
    for pid, (version, doc) in folded.rows.items():
        if doc is None:
            writes.deletes.append((pid,))
            continue
        before = folded.before.get(pid)
        keys, body = find_keys(doc), orjson.dumps(doc)
        if before is None:
            row = (pid, doc["projectId"], doc["status"], doc["createdAt"], version)
            writes.upserts.append((*row, body, *keys))
            continue
        title, due_at, late_at = keys
        old_title, *old_due = find_keys(before)
        same_title, same_due = old_title == title, old_due == [due_at, late_at]
        document = (doc["status"], version, body)
        if same_title and same_due:
            writes.updates.append((*document, pid))
        elif same_due:
            writes.retitled.append((*document, title, pid))
        elif same_title:
            writes.redated.append((*document, due_at, late_at, pid))
        else:
            writes.rekeyed.append((*document, *keys, pid))
    return writes
