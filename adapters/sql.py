"""SQL that both backends build the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from projections.fold import Folded


def sql_conditions(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """The conditions whose values are given, joined with AND ("TRUE" when none are)."""
    present = [(condition, value) for condition, value in pairs if value is not None]
    where = " AND ".join(condition for condition, _ in present) or "TRUE"
    return where, [value for _, value in present]


def row_changes(folded: Folded) -> tuple[list[tuple[Any, ...]], list[tuple[str]]]:
    """The view rows to write, (id, projectId, status, createdAt, version, body), and the
    ids to delete, after a fold."""
    upserts = [
        (pid, doc["projectId"], doc["status"], doc["createdAt"], version, orjson.dumps(doc))
        for pid, (version, doc) in folded.rows.items()
        if doc is not None
    ]
    deletes = [(pid,) for pid, (_, doc) in folded.rows.items() if doc is None]
    return upserts, deletes
