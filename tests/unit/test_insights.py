"""The insights' arithmetic: the summary's due rules, interval ends, the running sum, and the
transitions that the progress projection derives from records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from projections.insights import (
    MAX_POINTS,
    first_end_after,
    first_end_at_or_after,
    interval_ends,
    series,
    summary,
)
from projections.progress import Replay, derive

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday


def milestone(i: int, status: str, due: str | None, reached_at: str | None = None) -> Any:
    return {
        "id": f"ms_{i:026d}",
        "projectId": "p",
        "title": f"m{i}",
        "description": "",
        "status": status,
        "dueDate": due,
        "reachedAt": reached_at,
        "createdAt": "2026-01-01T00:00:00.000Z",
    }


def test_summary_counts_by_status_and_the_due_rules() -> None:
    documents = [
        milestone(1, "pending", "2026-03-09"),  # due yesterday: overdue
        milestone(2, "in_progress", "2026-03-10"),  # due today (a date): not yet overdue
        milestone(3, "pending", "2026-03-10T11:59:59.999Z"),  # a moment ago: overdue
        milestone(4, "pending", "2026-03-10T12:00:00Z"),  # now exactly: not yet
        milestone(5, "reached", "2026-03-01", "2026-03-01T23:59:59.999Z"),  # on its day
        milestone(6, "reached", "2026-03-01", "2026-03-02T00:00:00.000Z"),  # a day late
        milestone(7, "reached", "2026-03-01T10:00:00+01:00", "2026-03-01T09:00:00.000Z"),
        milestone(8, "reached", None, "2026-03-01T09:00:00.000Z"),  # no due date: neither
        milestone(9, "pending", None),
    ]
    result = summary("p", documents, NOW)
    assert result == {
        "projectId": "p",
        "total": 9,
        "byStatus": {"pending": 4, "in_progress": 1, "reached": 4},
        "overdue": 2,
        "reachedOnTime": 2,
        "reachedLate": 1,
        # Today's date is due at today's midnight, before 12:00 today, and not yet overdue.
        "nextDue": documents[1],
    }


def test_next_due_ties_are_broken_by_id_and_an_empty_project_has_zeros() -> None:
    same_instant = [
        milestone(3, "pending", "2026-04-01T00:00:00Z"),
        milestone(2, "pending", "2026-04-01"),
        milestone(4, "reached", "2026-03-20"),
    ]
    assert summary("p", same_instant, NOW)["nextDue"] == same_instant[1]
    assert summary("empty", [], NOW) == {
        "projectId": "empty",
        "total": 0,
        "byStatus": {"pending": 0, "in_progress": 0, "reached": 0},
        "overdue": 0,
        "reachedOnTime": 0,
        "reachedLate": 0,
        "nextDue": None,
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("instant", "day", "week"),
    [
        ("2026-03-10T12:00:00Z", "2026-03-11T00:00:00Z", "2026-03-16T00:00:00Z"),
        ("2026-03-16T00:00:00Z", "2026-03-17T00:00:00Z", "2026-03-23T00:00:00Z"),  # a Monday
        ("2026-03-15T23:59:59.999Z", "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z"),
        ("2026-03-16T00:30:00+01:00", "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z"),
    ],
)
def test_the_first_end_after_an_instant(instant: str, day: str, week: str) -> None:
    assert first_end_after(at(instant), "day") == at(day)
    assert first_end_after(at(instant), "week") == at(week)
    assert at(week).weekday() == 0


def test_an_end_itself_is_the_first_end_at_or_after_it() -> None:
    assert first_end_at_or_after(at("2026-03-16T00:00:00Z"), "week") == at("2026-03-16T00:00:00Z")
    assert first_end_at_or_after(at("2026-03-16T00:00:00.001Z"), "day") == at(
        "2026-03-17T00:00:00Z"
    )
    assert first_end_at_or_after(at("2026-03-17T00:00:00Z"), "week") == at("2026-03-23T00:00:00Z")


def test_interval_ends_run_from_after_since_to_at_or_after_until() -> None:
    ends = interval_ends(at("2026-03-10T12:00:00Z"), at("2026-03-30T00:00:00Z"), "week")
    assert ends == [at(f"2026-03-{d}T00:00:00Z") for d in (16, 23, 30)]
    assert interval_ends(at("2026-03-10T12:00:00Z"), at("2026-03-10T13:00:00Z"), "day") == [
        at("2026-03-11T00:00:00Z")
    ]
    # An until before the first end after since asks for no point at all.
    assert interval_ends(at("2026-03-11T00:00:00Z"), at("2026-03-11T00:00:00Z"), "day") == []


def test_more_than_the_maximum_of_points_is_refused() -> None:
    since = at("2026-01-01T12:00:00Z")
    last = first_end_after(since, "day") + timedelta(days=MAX_POINTS - 1)
    ends = interval_ends(since, last, "day")
    assert ends is not None
    assert len(ends) == MAX_POINTS
    assert interval_ends(since, last + timedelta(milliseconds=1), "day") is None


def test_series_is_a_running_sum_and_an_event_at_an_end_belongs_to_the_next_point() -> None:
    days = [
        ("2026-03-09", None, "pending", 2),
        ("2026-03-10", None, "reached", 1),
        ("2026-03-10", "pending", None, 1),
        ("2026-03-11", "pending", "in_progress", 1),  # on the day the first end begins
        ("2026-03-12", "reached", None, 1),  # deleted
        ("2026-03-12", "in_progress", "pending", 1),  # moved back
    ]
    ends = [at("2026-03-11T00:00:00Z") + timedelta(days=i) for i in range(3)]
    assert series(days, ends) == [
        {"at": "2026-03-11T00:00:00.000Z", "total": 2, "pending": 1, "in_progress": 0,
         "reached": 1},
        {"at": "2026-03-12T00:00:00.000Z", "total": 2, "pending": 0, "in_progress": 1,
         "reached": 1},
        {"at": "2026-03-13T00:00:00.000Z", "total": 1, "pending": 1, "in_progress": 0,
         "reached": 0},
    ]  # fmt: skip


TOPIC = "domain.milestone:Milestone."


def record(position: int, public_id: str, version: int, kind: str, **state: Any) -> Any:
    instant = {"_type_": "datetime_iso", "_data_": f"2026-03-10T10:00:{position:02d}+00:00"}
    return (
        position,
        public_id,
        version,
        TOPIC + kind,
        orjson.dumps({"timestamp": instant, "class_version": 2, **state}),
    )


def test_transitions_of_records_need_standings_only_for_milestones_created_earlier() -> None:
    created = {"project_id": "p", "title": "t", "description": "", "due_date": None}
    records = [
        record(1, "a", 1, "Created", status="pending", reached_at=None, **created),
        record(2, "a", 2, "Updated", changes={"title": "u"}),
        record(3, "a", 3, "StatusChanged", from_status="pending", to_status="reached",
               reached_at=None),
        record(4, "b", 5, "Deleted"),
    ]  # fmt: skip
    asked: list[list[str]] = []

    def standings(ids: list[str]) -> dict[str, tuple[str, str | None]]:
        asked.append(ids)
        return {"b": ("q", "in_progress")}

    assert derive(records, standings) == [
        (1, "p", "2026-03-10T10:00:01.000Z", "a", None, "pending"),
        (3, "p", "2026-03-10T10:00:03.000Z", "a", "pending", "reached"),
        (4, "q", "2026-03-10T10:00:04.000Z", "b", "in_progress", None),
    ]
    assert asked == [["b"]]


def test_a_replay_remembers_standings_from_batch_to_batch() -> None:
    created = {"project_id": "p", "title": "t", "description": "", "due_date": None}
    replay = Replay()
    first = replay.derive([record(1, "a", 1, "Created", status="reached", reached_at=None,
                                  **created)])  # fmt: skip
    second = replay.derive([record(2, "a", 2, "Deleted")])
    assert [t[4:] for t in first + second] == [(None, "reached"), ("reached", None)]
