"""The Milestone aggregate: its four events and the rules behind them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.milestone import (
    EDITABLE,
    InvalidReachedAt,
    Milestone,
    MilestoneDeleted,
    MilestoneNotFound,
    Status,
    format_instant,
    utc_now,
)

REACHED_BY_CLIENT = datetime(2025, 12, 12, 16, 0, tzinfo=UTC)


def new(**fields: Any) -> tuple[Milestone, Milestone.Created]:
    milestone = Milestone.create(**{"project_id": "proj_01", "title": "Beta", **fields})
    (created,) = milestone.collect_events()
    assert isinstance(created, Milestone.Created)
    return milestone, created


def tick() -> None:
    """Let the clock move past the current millisecond, so event times differ."""
    time.sleep(0.003)


def test_create_defaults() -> None:
    milestone, created = new()
    assert milestone.project_id == "proj_01"
    assert milestone.title == "Beta"
    assert milestone.description == ""
    assert milestone.status is Status.PENDING
    assert milestone.due_date is None
    assert milestone.reached_at is None
    assert milestone.deleted is False
    assert milestone.version == 1
    assert created.originator_version == 1
    assert created.status == Status.PENDING
    assert created.reached_at is None
    assert milestone.created_on == created.timestamp


def test_create_with_every_field() -> None:
    milestone, created = new(
        description="QA on staging", status=Status.IN_PROGRESS, due_date="2026-03-01"
    )
    assert (milestone.description, milestone.status, milestone.due_date) == (
        "QA on staging",
        Status.IN_PROGRESS,
        "2026-03-01",
    )
    assert milestone.reached_at is None
    assert (created.description, created.status, created.due_date) == (
        "QA on staging",
        Status.IN_PROGRESS,
        "2026-03-01",
    )


def test_created_as_reached_was_reached_by_its_created_event() -> None:
    milestone, created = new(status=Status.REACHED)
    assert milestone.status is Status.REACHED
    assert milestone.reached_at is not None
    assert milestone.reached_at == milestone.created_on == created.timestamp
    assert created.reached_at == created.timestamp


def test_id_time_is_the_created_event_time() -> None:
    milestone, created = new()
    epoch_millis = (created.timestamp - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )
    assert milestone.id.version == 7
    # One clock reading is the event time, the createdAt and the id's time.
    assert milestone.id.int >> 80 == epoch_millis


def test_ids_of_new_milestones_sort_in_creation_order() -> None:
    ids = [Milestone.create(project_id="p", title=str(i)).id for i in range(300)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_every_event_time_has_millisecond_precision() -> None:
    milestone, created = new()
    events: list[Any] = [created]
    for i in range(20):
        milestone.update(title=f"t{i}", status=list(Status)[(i + 1) % 3])
        events += milestone.collect_events()
    milestone.delete()
    events += milestone.collect_events()
    assert len(events) == 1 + 20 + 20 + 1
    for event in events:
        assert event.timestamp.microsecond % 1000 == 0
        assert event.timestamp.utcoffset() == timedelta(0)
    assert milestone.created_on.microsecond % 1000 == 0
    assert milestone.reached_at is not None
    assert milestone.reached_at.microsecond % 1000 == 0


def test_utc_now_and_format_instant() -> None:
    now = utc_now()
    assert now.microsecond % 1000 == 0
    assert now.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)
    assert format_instant(datetime(2026, 2, 19, 10, 30, tzinfo=UTC)) == "2026-02-19T10:30:00.000Z"
    plus_two = datetime(2026, 2, 19, 12, 30, 0, 123999, tzinfo=UTC).astimezone(
        datetime.now(UTC).astimezone().tzinfo
    )
    assert format_instant(plus_two) == "2026-02-19T12:30:00.123Z"


def test_update_with_current_values_records_nothing() -> None:
    milestone, _ = new(description="d", status=Status.IN_PROGRESS, due_date="2026-03-01")
    milestone.update(
        title="Beta",
        description="d",
        status=Status.IN_PROGRESS,
        due_date="2026-03-01",
        reached_at=None,
    )
    milestone.update()
    assert milestone.collect_events() == []
    assert milestone.version == 1


def test_update_records_one_updated_event_with_only_the_changed_fields() -> None:
    milestone, _ = new(description="d", due_date="2026-03-01")
    milestone.update(title="Beta", description="new", due_date=None, status=Status.PENDING)
    (updated,) = milestone.collect_events()
    assert isinstance(updated, Milestone.Updated)
    assert updated.changes == {"description": "new", "due_date": None}
    assert updated.originator_version == 2
    assert (milestone.description, milestone.due_date, milestone.version) == ("new", None, 2)


def test_every_editable_field_can_change() -> None:
    milestone, _ = new()
    changes: dict[str, Any] = {
        "title": "Gamma",
        "description": "text",
        "due_date": "2026-03-01T00:00:00Z",
        "reached_at": REACHED_BY_CLIENT,
    }
    assert set(changes) == set(EDITABLE)
    milestone.update(**changes)
    (updated,) = milestone.collect_events()
    assert isinstance(updated, Milestone.Updated)
    assert updated.changes == changes
    assert {name: getattr(milestone, name) for name in EDITABLE} == changes
    assert milestone.status is Status.PENDING


def test_status_change_records_status_changed_with_from_and_to() -> None:
    milestone, _ = new()
    milestone.update(status=Status.IN_PROGRESS)
    (changed,) = milestone.collect_events()
    assert isinstance(changed, Milestone.StatusChanged)
    assert changed.from_status == Status.PENDING
    assert changed.to_status == Status.IN_PROGRESS
    assert changed.reached_at is None
    assert milestone.status is Status.IN_PROGRESS
    assert milestone.version == 2


def test_status_given_as_text_is_a_status() -> None:
    milestone, _ = new()
    milestone.update(status="in_progress")  # type: ignore[arg-type]
    (changed,) = milestone.collect_events()
    assert isinstance(changed, Milestone.StatusChanged)
    assert milestone.status is Status.IN_PROGRESS


def test_fields_and_status_in_one_update_record_updated_then_status_changed() -> None:
    milestone, _ = new()
    milestone.update(title="Gamma", status=Status.REACHED)
    updated, changed = milestone.collect_events()
    assert isinstance(updated, Milestone.Updated)
    assert updated.changes == {"title": "Gamma"}
    assert isinstance(changed, Milestone.StatusChanged)
    assert (updated.originator_version, changed.originator_version) == (2, 3)
    assert milestone.version == 3


@pytest.mark.parametrize("start", [Status.PENDING, Status.IN_PROGRESS])
def test_becoming_reached_sets_reached_at_to_the_status_changed_time(start: Status) -> None:
    milestone, created = new(status=start)
    tick()
    milestone.update(status=Status.REACHED)
    (changed,) = milestone.collect_events()
    assert isinstance(changed, Milestone.StatusChanged)
    assert changed.timestamp > created.timestamp
    assert changed.reached_at == changed.timestamp
    assert milestone.reached_at == changed.timestamp
    assert milestone.modified_on == changed.timestamp


def test_leaving_reached_keeps_reached_at() -> None:
    milestone, _ = new()
    milestone.update(status=Status.REACHED)
    first = milestone.reached_at
    assert first is not None
    tick()
    milestone.update(status=Status.IN_PROGRESS)
    *_, left = milestone.collect_events()
    assert isinstance(left, Milestone.StatusChanged)
    assert left.reached_at == first
    assert milestone.reached_at == first
    assert milestone.status is Status.IN_PROGRESS


def test_reaching_again_keeps_the_first_value() -> None:
    milestone, _ = new()
    milestone.update(status=Status.REACHED)
    first = milestone.reached_at
    tick()
    milestone.update(status=Status.PENDING)
    tick()
    milestone.update(status=Status.REACHED)
    events = milestone.collect_events()
    assert [type(e) for e in events] == [Milestone.StatusChanged] * 3
    first_reaching, _, reaching_again = events
    assert isinstance(reaching_again, Milestone.StatusChanged)
    assert reaching_again.timestamp > first_reaching.timestamp
    assert milestone.reached_at == first == first_reaching.timestamp
    assert reaching_again.reached_at == first


def test_created_as_reached_keeps_its_reached_at_when_reached_again() -> None:
    milestone, created = new(status=Status.REACHED)
    tick()
    milestone.update(status=Status.PENDING)
    tick()
    milestone.update(status=Status.REACHED)
    assert milestone.reached_at == created.timestamp


def test_a_reached_at_set_by_the_client_is_kept_when_reached() -> None:
    milestone, _ = new()
    milestone.update(reached_at=REACHED_BY_CLIENT, status=Status.REACHED)
    updated, changed = milestone.collect_events()
    assert isinstance(updated, Milestone.Updated)
    assert isinstance(changed, Milestone.StatusChanged)
    assert changed.reached_at == REACHED_BY_CLIENT
    assert milestone.reached_at == REACHED_BY_CLIENT


def test_a_cleared_reached_at_is_set_again_by_the_next_reaching() -> None:
    milestone, _ = new(status=Status.REACHED)
    milestone.update(status=Status.PENDING, reached_at=None)
    assert milestone.reached_at is None
    tick()
    milestone.update(status=Status.REACHED)
    *_, changed = milestone.collect_events()
    assert milestone.reached_at == changed.timestamp


def test_a_reached_at_later_than_now_is_refused_and_records_nothing() -> None:
    milestone, _ = new(status=Status.REACHED)
    later = utc_now() + timedelta(seconds=5)
    with pytest.raises(InvalidReachedAt, match="later than now"):
        milestone.update(reached_at=later, title="changed")
    assert milestone.collect_events() == []
    assert (milestone.title, milestone.version) == ("Beta", 1)


def test_a_reached_at_of_now_or_earlier_is_a_correction() -> None:
    milestone, _ = new()
    now = utc_now()
    milestone.update(reached_at=now)
    assert milestone.reached_at == now


@pytest.mark.parametrize("status", [None, Status.REACHED])
def test_a_reached_milestone_may_not_lose_its_reached_at(status: Status | None) -> None:
    milestone, created = new(status=Status.REACHED)
    with pytest.raises(InvalidReachedAt, match="null while the milestone is reached"):
        milestone.update(reached_at=None, status=status, title="changed")
    assert milestone.collect_events() == []
    assert (milestone.reached_at, milestone.version) == (created.timestamp, 1)


def test_reached_at_null_is_allowed_when_the_milestone_leaves_or_is_not_reached() -> None:
    milestone, _ = new(status=Status.REACHED)
    milestone.update(reached_at=None, status=Status.IN_PROGRESS)
    assert milestone.reached_at is None
    milestone.update(reached_at=None)
    tick()
    # Becoming reached with reachedAt null is not left null: the event's time is taken.
    milestone.update(reached_at=None, status=Status.REACHED)
    *_, changed = milestone.collect_events()
    assert milestone.reached_at == changed.timestamp


def test_delete_records_deleted() -> None:
    milestone, _ = new()
    milestone.delete()
    (deleted,) = milestone.collect_events()
    assert isinstance(deleted, Milestone.Deleted)
    assert deleted.originator_version == 2
    assert milestone.deleted is True


def test_a_deleted_milestone_refuses_update_and_delete() -> None:
    milestone, _ = new()
    milestone.delete()
    milestone.collect_events()
    with pytest.raises(MilestoneDeleted):
        milestone.update(title="again")
    with pytest.raises(MilestoneDeleted):
        milestone.update(status=Status.REACHED)
    with pytest.raises(MilestoneDeleted):
        milestone.update()
    with pytest.raises(MilestoneDeleted):
        milestone.delete()
    assert milestone.collect_events() == []
    assert milestone.version == 2
    assert issubclass(MilestoneDeleted, MilestoneNotFound)


@pytest.mark.parametrize(
    "field", ["project_id", "status_", "id", "deleted", "created_on", "version", "projectId"]
)
def test_update_with_a_field_that_is_not_editable_raises_type_error(field: str) -> None:
    milestone, _ = new()
    fields: dict[str, Any] = {field: "x", "title": "changed"}
    with pytest.raises(TypeError, match="not editable"):
        milestone.update(**fields)
    assert milestone.collect_events() == []
    assert milestone.title == "Beta"
    assert milestone.project_id == "proj_01"


def test_update_with_a_non_editable_field_names_it() -> None:
    milestone, _ = new()
    fields: dict[str, Any] = {"project_id": "other"}
    with pytest.raises(TypeError, match="project_id"):
        milestone.update(**fields)
