"""SQLite's live row writes set only the sort keys that changed, and leave the rows a
replay would: played on a model of the view's table, statement by statement."""

from __future__ import annotations

from typing import Any

import orjson

from adapters.sqlite.view_rows import ViewWrites, view_writes
from adapters.storage.rebuild_rows import find_keys
from projections.fold import Folded

BASE: dict[str, Any] = {
    "id": "ms_1",
    "projectId": "p",
    "title": "Launch",
    "description": "",
    "status": "pending",
    "dueDate": "2026-03-01",
    "reachedAt": None,
    "createdAt": "2026-01-01T00:00:00.000Z",
}
# Columns after the id: project, status, created, version, body, title, due_at, late_at.
Table = dict[str, list[Any]]


def apply(writes: ViewWrites, table: Table) -> None:
    """What write_rows' statements do, in their order."""
    for row in writes.upserts:
        table[row[0]] = list(row[1:])
    for columns, rows in [
        ([], writes.updates),
        ([5], writes.retitled),
        ([6, 7], writes.redated),
        ([5, 6, 7], writes.rekeyed),
    ]:
        for status, version, body, *keys, pid in rows:
            table[pid][1:5] = [status, table[pid][2], version, body]
            for column, value in zip(columns, keys, strict=True):
                table[pid][column] = value
    for (pid,) in writes.deletes:
        del table[pid]


def row_of(document: dict[str, Any], version: int) -> list[Any]:
    fields = [document["projectId"], document["status"], document["createdAt"], version]
    return [*fields, orjson.dumps(document), *find_keys(document)]


def test_each_change_sets_only_its_own_keys_and_leaves_the_replayed_row() -> None:
    changes: dict[str, dict[str, Any]] = {
        "ms_status": {"status": "reached"},
        "ms_title": {"title": "Liftoff"},
        "ms_due": {"dueDate": "2026-04-01"},
        "ms_both": {"title": "Liftoff", "dueDate": None},
    }
    before = {pid: BASE | {"id": pid} for pid in [*changes, "ms_gone"]}
    table = {pid: row_of(document, 1) for pid, document in before.items()}
    after = {pid: before[pid] | change for pid, change in changes.items()}
    new = BASE | {"id": "ms_new"}
    rows = {pid: (2, document) for pid, document in after.items()}
    folded = Folded(
        rows=rows | {"ms_gone": (2, None), "ms_new": (1, new)},
        before={**before, "ms_new": None},
    )
    writes = view_writes(folded)
    assert [row[-1] for row in writes.updates] == ["ms_status"]
    assert [row[-1] for row in writes.retitled] == ["ms_title"]
    assert [row[-1] for row in writes.redated] == ["ms_due"]
    assert [row[-1] for row in writes.rekeyed] == ["ms_both"]
    assert [row[0] for row in writes.upserts] == ["ms_new"]
    assert writes.deletes == [("ms_gone",)]
    apply(writes, table)
    expected = {pid: row_of(document, 2) for pid, document in after.items()}
    assert table == expected | {"ms_new": row_of(new, 1)}
