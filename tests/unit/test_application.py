"""The application's use cases: idempotent creates and time travel, in memory
(``tests.unit.memory``)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest

from domain.application import Milestones, request_fingerprint
from domain.ids import from_public_id, to_public_id
from domain.milestone import (
    IdempotencyKeyReused,
    Milestone,
    MilestoneNotFound,
    Status,
    VersionBeyondStream,
)
from tests.unit.memory import InMemoryMilestones, KeyedRecorder, in_memory_milestones

if TYPE_CHECKING:
    from uuid import UUID


@pytest.fixture
def app() -> Milestones:
    return in_memory_milestones()


def events_of(app: Milestones, milestone_id: UUID) -> list[Milestone.Event]:
    return [cast("Milestone.Event", event) for event in app.events.get(milestone_id)]


def all_events(app: Milestones) -> int:
    return app.recorder.max_notification_id() or 0


def tick() -> None:
    """Let the clock pass the current millisecond, so event times differ."""
    time.sleep(0.003)


COMMAND: dict[str, Any] = {"project_id": "proj_01", "title": "Beta", "status": Status.IN_PROGRESS}


# --- idempotent creates --------------------------------------------------------------


def test_a_first_create_under_a_key_records_the_key_with_the_milestone(app: Milestones) -> None:
    milestone = app.create_once("key-1", COMMAND)
    assert (milestone.version, milestone.title, milestone.status) == (1, "Beta", "in_progress")
    assert app.get(milestone.id).title == "Beta"
    recorder = app.recorder
    assert isinstance(recorder, KeyedRecorder)
    assert recorder.keys == {"key-1": (request_fingerprint(COMMAND), to_public_id(milestone.id))}


def test_a_retry_gets_the_first_milestone_and_records_nothing(app: Milestones) -> None:
    first = app.create_once("key-1", COMMAND)
    reordered = dict(reversed(list(COMMAND.items())))
    again = app.create_once("key-1", reordered)
    assert again.id == first.id
    assert again.version == 1
    assert all_events(app) == 1


def test_a_retry_after_changes_gets_the_milestone_as_the_first_create_made_it(
    app: Milestones,
) -> None:
    first = app.create_once("key-1", COMMAND)
    app.update(first.id, {"title": "Renamed", "status": Status.REACHED})
    again = app.create_once("key-1", COMMAND)
    assert (again.id, again.version, again.title, again.status) == (
        first.id,
        1,
        "Beta",
        Status.IN_PROGRESS,
    )
    assert app.get(first.id).title == "Renamed"


def test_a_retry_of_a_deleted_milestone_still_gets_the_first_response(app: Milestones) -> None:
    first = app.create_once("key-1", COMMAND)
    app.delete(first.id)
    again = app.create_once("key-1", COMMAND)
    assert (again.id, again.version, again.deleted) == (first.id, 1, False)


def test_the_key_with_another_command_is_refused_and_records_nothing(app: Milestones) -> None:
    app.create_once("key-1", COMMAND)
    with pytest.raises(IdempotencyKeyReused):
        app.create_once("key-1", {**COMMAND, "title": "Gamma"})
    with pytest.raises(IdempotencyKeyReused):
        app.create_once("key-1", {**COMMAND, "description": ""})  # a field more is another body
    assert all_events(app) == 1


def test_keys_are_independent_and_plain_creates_record_none(app: Milestones) -> None:
    one = app.create_once("key-1", COMMAND)
    two = app.create_once("key-2", COMMAND)
    plain = app.create(**COMMAND)
    assert len({one.id, two.id, plain.id}) == 3
    recorder = app.recorder
    assert isinstance(recorder, KeyedRecorder)
    assert set(recorder.keys) == {"key-1", "key-2"}


def test_the_fingerprint_is_of_the_arguments_in_any_order() -> None:
    assert request_fingerprint({"title": "a", "project_id": "p"}) == request_fingerprint(
        {"project_id": "p", "title": "a"}
    )
    assert request_fingerprint({"title": "a"}) != request_fingerprint({"title": "b"})
    assert request_fingerprint({"status": Status.REACHED}) == request_fingerprint(
        {"status": "reached"}
    )
    assert len(request_fingerprint({})) == 64


def test_a_key_whose_record_is_missing_is_refused(app: Milestones) -> None:
    """A key that clashed but cannot be found is not replayed as someone else's milestone."""
    recorder = app.recorder
    assert isinstance(recorder, KeyedRecorder)
    recorder.keys["key-1"] = ("another fingerprint", to_public_id(app.create(**COMMAND).id))
    with pytest.raises(IdempotencyKeyReused):
        app.create_once("key-1", COMMAND)


# --- time travel ---------------------------------------------------------------------


def a_history(app: Milestones) -> UUID:
    """A milestone with versions 1 (Beta), 2 (Gamma), 3 (reached), each a tick apart."""
    milestone = app.create(project_id="proj_01", title="Beta")
    tick()
    app.update(milestone.id, {"title": "Gamma"})
    tick()
    app.update(milestone.id, {"status": Status.REACHED})
    return milestone.id


def test_a_version_is_the_milestone_after_that_event(app: Milestones) -> None:
    milestone_id = a_history(app)
    assert [app.as_it_was(milestone_id, version=v).title for v in (1, 2, 3)] == [
        "Beta",
        "Gamma",
        "Gamma",
    ]
    assert app.as_it_was(milestone_id, version=3).status is Status.REACHED


def test_a_version_beyond_the_stream_names_the_latest(app: Milestones) -> None:
    milestone_id = a_history(app)
    with pytest.raises(VersionBeyondStream) as raised:
        app.as_it_was(milestone_id, version=4)
    assert raised.value.latest == 3


def test_an_instant_gives_the_version_then_inclusively(app: Milestones) -> None:
    milestone_id = a_history(app)
    created, renamed, reached = events_of(app, milestone_id)
    assert app.as_it_was(milestone_id, as_of=created.timestamp).version == 1
    between = renamed.timestamp - timedelta(milliseconds=1)
    assert app.as_it_was(milestone_id, as_of=between).title == "Beta"
    assert app.as_it_was(milestone_id, as_of=renamed.timestamp).title == "Gamma"
    assert app.as_it_was(milestone_id, as_of=reached.timestamp + timedelta(days=1)).version == 3


def test_before_its_creation_a_milestone_is_not_found(app: Milestones) -> None:
    milestone_id = a_history(app)
    (created, *_) = events_of(app, milestone_id)
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(milestone_id, as_of=created.timestamp - timedelta(milliseconds=1))


def test_a_deleted_milestone_is_found_only_before_its_deletion(app: Milestones) -> None:
    milestone_id = a_history(app)
    tick()
    app.delete(milestone_id)
    *_, reached, deleted = events_of(app, milestone_id)
    assert app.as_it_was(milestone_id, version=3).title == "Gamma"
    assert app.as_it_was(milestone_id, as_of=reached.timestamp).version == 3
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(milestone_id, version=4)
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(milestone_id, as_of=deleted.timestamp)


def test_an_unknown_milestone_is_not_found_at_any_version(app: Milestones) -> None:
    unknown = app.create(project_id="p", title="t").id
    public_id = to_public_id(unknown)
    other = from_public_id(public_id[:-1] + ("1" if public_id.endswith("0") else "0"))
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(other, version=1)
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(other, as_of=events_of(app, unknown)[0].timestamp)


def test_time_travel_takes_a_version_an_instant_or_both(app: Milestones) -> None:
    milestone_id = a_history(app)
    created, renamed, _ = events_of(app, milestone_id)
    with pytest.raises(TypeError):
        app.as_it_was(milestone_id)
    # Both: the state after that event, if it had occurred by then.
    assert app.as_it_was(milestone_id, version=1, as_of=renamed.timestamp).title == "Beta"
    assert app.as_it_was(milestone_id, version=2, as_of=renamed.timestamp).title == "Gamma"
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(milestone_id, version=2, as_of=created.timestamp)
    with pytest.raises(MilestoneNotFound):
        app.as_it_was(milestone_id, version=9, as_of=renamed.timestamp)


def test_use_cases_that_look_up_need_their_lookups() -> None:
    bare = InMemoryMilestones()
    milestone_id = a_history(bare)
    with pytest.raises(RuntimeError, match="lookups"):
        bare.as_it_was(milestone_id, as_of=events_of(bare, milestone_id)[0].timestamp)
    assert bare.as_it_was(milestone_id, version=1).title == "Beta"  # a version needs none
