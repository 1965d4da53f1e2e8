"""The schedule and the changes as pure folds of stored event states."""

from __future__ import annotations

from typing import Any

import pytest

from projections.schedule import (
    DueHistory,
    change,
    due_history,
    last_version_by,
    project_schedule,
    slip_seconds,
    slipped_count,
)

ID, OTHER = "ms_01KGC6WBM0EQ3TMJVCHM71YEJV", "ms_01KGC6WBM0EQ3TMJVCHM71YEJW"
DAY = 86_400


def _at(second: int) -> dict[str, str]:
    return {"_data_": f"2026-02-01T00:00:{second:02d}.000000+00:00"}


def created(due_date: str | None, second: int = 0, actor: str | None = "alice") -> dict[str, Any]:
    return {
        "project_id": "p",
        "title": "Beta",
        "description": "",
        "status": "pending",
        "due_date": due_date,
        "reached_at": None,
        "timestamp": _at(second),
        "actor": actor,
        "request_id": f"req-{second}",
    }


def updated(second: int, actor: str | None = "bob", **changes: Any) -> dict[str, Any]:
    return {
        "changes": changes,
        "timestamp": _at(second),
        "actor": actor,
        "request_id": f"r{second}",
    }


def deleted(second: int, actor: str | None = "bob") -> dict[str, Any]:
    return {"timestamp": _at(second), "actor": actor, "request_id": f"r{second}"}


# --- slip -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "slip"),
    [
        ("2026-03-01", "2026-03-08", 7 * DAY),  # dates: their midnights UTC
        ("2026-03-08", "2026-03-01", -7 * DAY),  # pulled in
        ("2026-03-01", "2026-03-01T12:00:00Z", 12 * 3600),  # a date against a date-time
        ("2026-03-01", "2026-03-01T00:00:00Z", 0),  # the same instant, written another way
        ("2026-03-01T02:00:00+02:00", "2026-03-01T00:00:00Z", 0),  # another offset
        ("2026-03-01T00:00:00Z", "2026-03-01T00:00:01.5Z", 1.5),  # a fraction
        ("2026-03-01T00:00:00.250Z", "2026-03-01T00:00:00Z", -0.25),
        ("2026-03-01T00:00:00.000001Z", "2026-03-01T00:00:00Z", -0.000001),
        (None, "2026-03-01", None),
        ("2026-03-01", None, None),
        (None, None, None),
    ],
)
def test_slip_is_the_difference_of_due_instants_in_seconds(
    before: str | None, after: str | None, slip: float | None
) -> None:
    assert slip_seconds(before, after) == slip


def test_a_whole_slip_is_an_integer_and_only_a_fraction_is_a_float() -> None:
    assert isinstance(slip_seconds("2026-03-01", "2026-03-01T00:00:00.000Z"), int)
    assert isinstance(slip_seconds("2026-03-01", "2026-03-02"), int)
    assert isinstance(slip_seconds("2026-03-01", "2026-03-01T00:00:00.5Z"), float)


# --- one milestone --------------------------------------------------------------------------


def test_moves_record_from_and_to_as_stored_and_who_moved_it() -> None:
    history = due_history(
        ID,
        [
            (1, "Created", created("2026-03-01")),
            (2, "Updated", updated(1, title="Renamed")),  # no move
            (3, "StatusChanged", {"timestamp": _at(2), "actor": None, "request_id": None}),
            (4, "Updated", updated(3, due_date="2026-03-01T00:00:00Z")),  # same instant
            (5, "Updated", updated(4, actor=None, due_date="2026-02-27T12:00:00+00:00")),
        ],
    )
    assert history.document() == {
        "milestoneId": ID,
        "originalDueDate": "2026-03-01",
        "dueDate": "2026-02-27T12:00:00+00:00",
        "changes": 2,
        "totalSlipSeconds": -(DAY + DAY // 2),
        "moves": [
            {
                "version": 4,
                "occurredAt": "2026-02-01T00:00:03.000Z",
                "actor": "bob",
                "requestId": "r3",
                "from": "2026-03-01",
                "to": "2026-03-01T00:00:00Z",
                "slipSeconds": 0,
            },
            {
                "version": 5,
                "occurredAt": "2026-02-01T00:00:04.000Z",
                "actor": None,
                "requestId": "r4",
                "from": "2026-03-01T00:00:00Z",
                "to": "2026-02-27T12:00:00+00:00",
                "slipSeconds": -(DAY + DAY // 2),
            },
        ],
    }
    assert list(history.document()) == [
        "milestoneId",
        "originalDueDate",
        "dueDate",
        "changes",
        "totalSlipSeconds",
        "moves",
    ]


def test_the_original_due_date_may_come_from_a_later_move_and_null_sides_have_no_slip() -> None:
    history = due_history(
        ID,
        [
            (1, "Created", created(None)),
            (2, "Updated", updated(1, due_date="2026-03-01")),
            (3, "Updated", updated(2, due_date=None)),
            (4, "Updated", updated(3, due_date="2026-03-03")),
        ],
    )
    document = history.document()
    assert document["originalDueDate"] == "2026-03-01"
    assert document["dueDate"] == "2026-03-03"
    assert document["totalSlipSeconds"] == 2 * DAY
    assert [move["slipSeconds"] for move in document["moves"]] == [None, None, None]
    assert [(move["from"], move["to"]) for move in document["moves"]] == [
        (None, "2026-03-01"),
        ("2026-03-01", None),
        (None, "2026-03-03"),
    ]


def test_a_due_date_now_null_has_no_total_slip_and_one_never_set_has_no_original() -> None:
    cleared = due_history(
        ID, [(1, "Created", created("2026-03-01")), (2, "Updated", updated(1, due_date=None))]
    )
    assert (cleared.document()["dueDate"], cleared.total_slip_seconds) == (None, None)
    assert cleared.ever_due
    never = due_history(ID, [(1, "Created", created(None)), (2, "Updated", updated(1, title="x"))])
    assert never.document() == {
        "milestoneId": ID,
        "originalDueDate": None,
        "dueDate": None,
        "changes": 0,
        "totalSlipSeconds": None,
        "moves": [],
    }
    assert not never.ever_due


def test_after_a_delete_the_due_date_is_the_one_it_had() -> None:
    history = due_history(
        ID,
        [
            (1, "Created", created("2026-03-01")),
            (2, "Updated", updated(1, due_date="2026-03-02")),
            (3, "Deleted", deleted(2)),
        ],
    )
    assert (history.current, history.total_slip_seconds, len(history.moves)) == (
        "2026-03-02",
        DAY,
        1,
    )


# --- a project ------------------------------------------------------------------------------


def _document(public_id: str, title: str = "T") -> dict[str, Any]:
    return {"id": public_id, "title": title, "status": "pending"}


def _history(
    public_id: str, original: str | None, current: str | None, moves: int = 1
) -> DueHistory:
    history = DueHistory(public_id, original, current)
    history.moves = [{}] * moves
    return history


def test_a_project_schedule_orders_by_slip_descending_nulls_last_ties_by_id() -> None:
    histories = [
        _history("ms_b", "2026-03-01", "2026-03-02"),  # +1 day
        _history("ms_a", "2026-03-01", "2026-03-02"),  # +1 day, a lower id
        _history("ms_c", "2026-03-01", "2026-02-28"),  # pulled in
        _history("ms_d", "2026-03-01", None),  # no slip to tell
        _history("ms_e", "2026-03-01", "2026-03-01", moves=0),  # never moved
        _history("ms_f", None, None, moves=0),  # never had a due date: left out
        _history("ms_gone", "2026-03-01", "2026-04-01"),  # not live: left out
    ]
    documents = [_document(pid) for pid in ("ms_a", "ms_b", "ms_c", "ms_d", "ms_e", "ms_f")]
    rows = project_schedule(histories, documents, None)
    assert [row["milestoneId"] for row in rows] == ["ms_a", "ms_b", "ms_e", "ms_c", "ms_d"]
    assert list(rows[0]) == [
        "milestoneId",
        "title",
        "status",
        "originalDueDate",
        "dueDate",
        "changes",
        "totalSlipSeconds",
    ]
    slipped = project_schedule(histories, documents, True)
    assert [row["milestoneId"] for row in slipped] == ["ms_a", "ms_b"]
    on_time = project_schedule(histories, documents, False)
    assert [row["milestoneId"] for row in on_time] == ["ms_e", "ms_c", "ms_d"]
    assert slipped_count(histories, documents) == {"slipped": 2}
    assert project_schedule([], [], None) == []


# --- changes between two instants -----------------------------------------------------------

T = [f"2026-02-01T00:00:{second:02d}.000Z" for second in range(10)]


def _stream(*events: tuple[int, str, dict[str, Any]]) -> list[Any]:
    return [
        (version, T[int(state["timestamp"]["_data_"][17:19])], state["actor"], kind, state)
        for version, kind, state in events
    ]


def test_before_and_after_are_the_states_at_the_inclusive_ends() -> None:
    stream = _stream(
        (1, "Created", created("2026-03-01", second=1)),
        (2, "Updated", updated(3, title="Two")),
        (3, "Updated", updated(5, actor="carol", due_date="2026-03-02")),
        (4, "Updated", updated(7, actor="bob", title="Four")),
    )
    result = change(ID, stream, T[3], T[5])  # the event at since is before, at until in it
    assert result is not None
    assert result["before"]["title"] == "Two"
    assert result["after"]["dueDate"] == "2026-03-02"
    assert result["after"]["title"] == "Two"
    assert (result["kind"], result["fields"], result["events"], result["actors"]) == (
        "changed",
        ["dueDate"],
        1,
        ["carol"],
    )
    assert list(result) == ["milestoneId", "kind", "fields", "before", "after", "events", "actors"]
    assert change(ID, stream, T[3], T[3]) is None  # since == until: an empty window
    assert change(ID, stream, T[6], T[7]) is not None
    assert change(ID, stream, T[7], T[9]) is None  # the event at since is not in the window


def test_kinds_of_change() -> None:
    stream = _stream(
        (1, "Created", created("2026-03-01", second=1, actor=None)),
        (2, "Updated", updated(3, actor="bob", title="Two")),
        (3, "Updated", updated(5, actor="alice", title="Beta")),
        (4, "Deleted", deleted(7, actor="bob")),
    )

    def kind(since: int, until: int) -> tuple[str, list[str], list[str]]:
        result = change(ID, stream, T[since], T[until])
        assert result is not None
        return result["kind"], result["fields"], result["actors"]

    assert kind(0, 2) == ("added", [], [])  # the Created event had no actor
    assert kind(2, 4) == ("changed", ["title"], ["bob"])
    assert kind(2, 6) == ("unchanged", [], ["bob", "alice"])  # renamed and back
    assert kind(6, 8) == ("removed", [], ["bob"])
    assert kind(0, 9) == ("transient", [], ["bob", "alice"])


def test_the_version_at_an_instant_is_the_latest_that_occurred_by_it_as_time_travel_picks() -> None:
    # A clock that stepped back: version 3 occurred before version 2 did.
    events = [(1, T[1]), (2, T[5]), (3, T[4])]
    assert last_version_by(events, T[0]) == 0
    assert last_version_by(events, T[4]) == 3
    assert last_version_by(events, T[5]) == 3


def test_events_beyond_until_are_not_needed() -> None:
    stream = _stream(
        (1, "Created", created("2026-03-01", second=1)),
        (2, "Updated", updated(3, title="Two")),
    )
    stream[1] = (*stream[1][:4], None)  # not decoded: after the window
    result = change(ID, stream, T[0], T[2])
    assert result is not None
    assert result["after"]["title"] == "Beta"
    with pytest.raises(LookupError):
        change(ID, stream, T[0], T[3])
