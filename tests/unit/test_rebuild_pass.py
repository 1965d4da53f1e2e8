"""The sweep of a rebuild's first pass makes each projection's last rows exactly as the
batch-by-batch folds do (documents, transitions, due-date rows), upcasts old records as
the mapper does, and refuses what the folds refuse."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from domain.ids import public_id_of_hex
from projections.fold import fold
from projections.progress import Replay
from projections.rebuild_pass import RawRecord, live, sweep
from projections.schedule_view import DUE_DATES_VIEW

TOPIC = "domain.milestone:Milestone."
A, B, C = (uuid.UUID(int=n).hex for n in (1, 2, 3))


def _instant(second: int, millis: int = 0) -> dict[str, str]:
    fraction = f".{millis:03d}000" if millis else ""
    return {"_type_": "datetime_iso", "_data_": f"2026-03-01T10:00:{second:02d}{fraction}+00:00"}


def _created(project: str, title: str, due: str | None, version: int = 3) -> dict[str, Any]:
    state: dict[str, Any] = {
        "originator_topic": "domain.milestone:Milestone",
        "project_id": project,
        "title": title,
        "description": "Words of the description",
        "status": "pending",
        "due_date": due,
    }
    if version >= 2:  # the class version that added reached_at
        state["reached_at"] = None
    if version >= 3:  # the class version that added who made it
        state |= {"actor": "ann@example.com", "request_id": "r1", "class_version": 3}
    return state


LOG: list[tuple[str, str, dict[str, Any]]] = [
    (A, "Created", _created("p1", "Alpha launch", "2026-04-01")),
    (B, "Created", _created("p2", "Beta", None, version=1)),  # stored before upcasts
    (A, "Updated", {"changes": {"title": "Alpha go-live", "due_date": "2026-05-01"}}),
    (B, "StatusChanged", {"from_status": "pending", "to_status": "reached",
                          "reached_at": _instant(9, 250), "class_version": 2}),
    (C, "Created", _created("p1", "Gamma", "2026-06-30T12:00:00Z")),
    (A, "StatusChanged", {"from_status": "pending", "to_status": "in_progress",
                          "reached_at": None, "class_version": 2}),
    (B, "Updated", {"changes": {"due_date": "2026-07-01"}}),  # version 1: no actor
    (C, "Deleted", {"class_version": 2, "actor": None, "request_id": None}),
    (A, "Updated", {"changes": {"description": "Reworded"}, "class_version": 2}),
]  # fmt: skip


def _log() -> list[RawRecord]:
    versions: dict[str, int] = {}
    records = []
    for position, (hex_id, kind, state) in enumerate(LOG, start=1):
        versions[hex_id] = versions.get(hex_id, 0) + 1
        stored = {"timestamp": _instant(position), **state}
        if kind != "Created" and "class_version" in state and "actor" not in state:
            stored |= {"actor": "bob@example.com", "request_id": f"r{position}"}
        records.append((position, hex_id, versions[hex_id], TOPIC + kind, orjson.dumps(stored)))
    return records


def _records(raw: list[RawRecord]) -> list[tuple[int, str, int, str, bytes]]:
    return [(p, public_id_of_hex(h), v, t, s) for p, h, v, t, s in raw]


@pytest.mark.parametrize("cut", [None, 3, 5])
def test_a_sweep_makes_the_rows_the_folds_make(cut: int | None) -> None:
    raw = _log()
    # Swept in one run, or in two runs one after the other: the same rows.
    swept = sweep(raw) if cut is None else sweep(raw[cut:], sweep(raw[:cut]))
    records = _records(raw)

    folded = fold(records, lambda ids: {}, index=False)
    assert {m.public_id: (m.version, m.document) for m in live(swept)} == {
        pid: row for pid, row in folded.rows.items() if row[1] is not None
    }
    # Byte for byte, as the view stores them.
    assert [orjson.dumps(m.document) for m in live(swept)] == [
        orjson.dumps(folded.rows[m.public_id][1]) for m in live(swept)
    ]
    assert swept.transitions == Replay().derive(records)
    assert swept.due_rows == DUE_DATES_VIEW.replayed(iter([records]))
    assert swept.events == len(raw)
    # The search index's row of each milestone is its Created event's position.
    assert {m.public_id: m.created_at for m in swept.milestones.values()} == {
        public_id_of_hex(A): 1,
        public_id_of_hex(B): 2,
        public_id_of_hex(C): 5,
    }
    assert [m.public_id for m in live(swept)] == sorted([public_id_of_hex(A), public_id_of_hex(B)])


def test_an_event_of_a_milestone_never_created_is_refused() -> None:
    raw = _log()
    with pytest.raises(LookupError, match=public_id_of_hex(B)):
        sweep([raw[0], raw[3]])  # B changes status, but its Created was not swept


def test_an_event_of_a_deleted_milestone_is_refused() -> None:
    raw = _log()
    after_delete = (10, C, 3, TOPIC + "Updated", raw[2][4])
    with pytest.raises(LookupError, match=public_id_of_hex(C)):
        sweep([*raw, after_delete])


def test_an_unknown_event_type_is_refused() -> None:
    raw = _log()
    renamed = (10, A, 5, TOPIC + "Renamed", raw[2][4])
    with pytest.raises(ValueError, match="unknown milestone event type: Renamed"):
        sweep([*raw, renamed])
