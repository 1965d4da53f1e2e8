"""The schedule and the changes as pure folds of stored event states."""

from __future__ import annotations

import random
from typing import Any

import pytest

from projections.schedule import (
    ScheduledRow,
    change,
    due_history,
    due_microseconds,
    last_version_by,
    project_schedule,
    seconds,
    slip_seconds,
)
from projections.schedule_view import derive

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
    never = due_history(ID, [(1, "Created", created(None)), (2, "Updated", updated(1, title="x"))])
    assert never.document() == {
        "milestoneId": ID,
        "originalDueDate": None,
        "dueDate": None,
        "changes": 0,
        "totalSlipSeconds": None,
        "moves": [],
    }


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


def test_a_project_schedule_shows_each_row_with_its_slip_in_seconds() -> None:
    rows: list[ScheduledRow] = [
        ("ms_a", "T", "reached", "2026-03-01", "2026-03-02T00:00:00Z", 1, DAY * 1_000_000),
        ("ms_b", "T", "pending", "2026-03-01", "2026-03-01T00:00:00.5Z", 2, 500_000),
        ("ms_d", "T", "pending", "2026-03-01", None, 1, None),
    ]
    schedule = project_schedule(rows)
    assert schedule[0] == {
        "milestoneId": "ms_a",
        "title": "T",
        "status": "reached",
        "originalDueDate": "2026-03-01",
        "dueDate": "2026-03-02T00:00:00Z",
        "changes": 1,
        "totalSlipSeconds": DAY,
    }
    assert list(schedule[0]) == [
        "milestoneId",
        "title",
        "status",
        "originalDueDate",
        "dueDate",
        "changes",
        "totalSlipSeconds",
    ]
    assert [row["totalSlipSeconds"] for row in schedule] == [DAY, 0.5, None]
    assert isinstance(schedule[0]["totalSlipSeconds"], int)
    assert project_schedule([]) == []


def test_due_instants_in_microseconds_make_the_slip() -> None:
    assert due_microseconds(None) is None
    assert due_microseconds("1970-01-02") == DAY * 1_000_000
    assert due_microseconds("1970-01-01T01:00:00+01:00") == 0
    assert due_microseconds("1969-12-31T23:59:59.999999Z") == -1
    assert seconds(None) is None
    assert seconds(-1_500_000) == -1.5
    assert seconds(3_000_000) == 3


# --- the due-date projection ----------------------------------------------------------------


def _random_stream(rng: random.Random, public_id: str) -> list[Any]:
    dues = [None, "2026-03-01", "2026-03-01T00:00:00Z", "2026-03-02", "2026-02-27T10:00:00+02:00"]
    events: list[Any] = [(1, "Created", created(rng.choice(dues)))]
    for version in range(2, rng.randint(2, 12)):
        kind = rng.choice(["Updated", "Updated", "StatusChanged", "Title"])
        if kind == "Updated":
            events.append((version, "Updated", updated(version, due_date=rng.choice(dues))))
        elif kind == "Title":
            events.append((version, "Updated", updated(version, title="Title due_date")))
        else:
            events.append((version, "StatusChanged", deleted(version) | {"to_status": "reached"}))
    return [(0, public_id, *event) for event in events]  # positions are set in log order


@pytest.mark.parametrize("seed", range(5))
def test_the_projection_rows_are_the_fold_of_each_history_whatever_the_batches(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not a secret
    streams = {f"ms_{n}": _random_stream(rng, f"ms_{n}") for n in range(20)}
    log: list[Any] = []
    pending = {pid: list(events) for pid, events in streams.items()}
    while any(pending.values()):  # the streams interleaved, each in version order
        pid = rng.choice([pid for pid, events in pending.items() if events])
        log.append((len(log) + 1, *pending[pid].pop(0)[1:]))
    rows: dict[str, Any] = {}
    cut = sorted(rng.sample(range(1, len(log)), 4))
    for start, end in zip([0, *cut], [*cut, len(log)], strict=True):
        rows.update(derive(log[start:end], lambda ids: {pid: rows[pid] for pid in ids}))
    for pid, events in streams.items():
        history = due_history(
            pid, [(version, kind, state) for _, _, version, kind, state in events]
        )
        last_set = max(
            position
            for position, public_id, _, kind, state in log
            if public_id == pid and (kind == "Created" or "due_date" in state.get("changes", {}))
        )
        original_at, due_at = due_microseconds(history.original), due_microseconds(history.current)
        assert rows[pid] == (
            pid,
            "p",
            history.original,
            history.current,
            len(history.moves),
            last_set,
            original_at,
            due_at,
        )


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
