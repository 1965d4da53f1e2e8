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
    """The statements' rows: ``upserts`` whole rows (new, or with new keys), ``updates``
    (status, version, body, id) of rows whose keys stay, ``deletes`` ids."""

    upserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    deletes: list[tuple[str]] = field(default_factory=list)


def view_writes(folded: Folded) -> ViewWrites:
    """A row whose sort keys stay as they were (a status change, say) has only its status,
    version and document updated, so that its indexes are left alone."""
    writes = ViewWrites()
    for pid, (version, doc) in folded.rows.items():
        if doc is None:
            writes.deletes.append((pid,))
            continue
        before = folded.before.get(pid)
        keys = find_keys(doc)
        if before is not None and find_keys(before) == keys:
            writes.updates.append((doc["status"], version, orjson.dumps(doc), pid))
        else:
            row = (pid, doc["projectId"], doc["status"], doc["createdAt"], version)
            writes.upserts.append((*row, orjson.dumps(doc), *keys))
    return writes
