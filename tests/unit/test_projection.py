"""The milestone read model: folding the stored log gives the aggregates' documents."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import Milestones
from domain.ids import to_public_id
from domain.milestone import InvalidReachedAt, Milestone, MilestoneDeleted, Status
from projections.document import document_of as document_of_aggregate
from projections.events import event_document
from projections.fold import Folded, fold
from projections.records import EVENT_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable

    from projections.document import Document
    from projections.records import Record

KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

# --- commands -------------------------------------------------------------------------

texts = st.text(max_size=12)
statuses = st.sampled_from(list(Status))
due_dates = st.none() | st.sampled_from(
    ["2026-03-01", "2026-03-01T00:00:00Z", "2026-03-01T09:30:00.5+02:00", "1999-12-31"]
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
instants = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2025, 1, 1),  # noqa: DTZ001 - a reachedAt is never later than now
    timezones=zones,
)


@dataclass(frozen=True)
class Create:
    project_id: str
    title: str
    description: str
    status: Status | None
    due_date: str | None


@dataclass(frozen=True)
class Update:
    target: int
    changes: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    target: int


creates = st.builds(
    Create,
    project_id=st.sampled_from(["proj_01", "proj_02"]),
    title=texts,
    description=texts,
    status=st.none() | statuses,
    due_date=due_dates,
)
change_sets = st.fixed_dictionaries(
    {},
    optional={
        "title": texts | st.just("same"),
        "description": texts,
        "status": statuses,
        "due_date": due_dates,
        "reached_at": instants,
    },
)
updates = st.builds(Update, target=st.integers(0, 50), changes=change_sets)
deletes = st.builds(Delete, target=st.integers(0, 50))
commands = st.lists(st.one_of(creates, updates, updates, updates, deletes), min_size=1, max_size=30)


def run(app: Milestones, script: list[Create | Update | Delete]) -> tuple[list[UUID], set[UUID]]:
    """Run the commands; the ids in creation order, and those deleted."""
    created: list[UUID] = []
    deleted: set[UUID] = set()
    for command in script:
        if isinstance(command, Create):
            milestone = app.create(
                project_id=command.project_id,
                title=command.title,
                description=command.description,
                status=command.status,
                due_date=command.due_date,
            )
            created.append(milestone.id)
        elif created:
            target = created[command.target % len(created)]
            action: Callable[[], object] = (
                functools.partial(app.update, target, command.changes)
                if isinstance(command, Update)
                else functools.partial(app.delete, target)
            )
            if target in deleted:
                with pytest.raises(MilestoneDeleted):
                    action()
            else:
                try:
                    action()
                except InvalidReachedAt:  # a reached milestone keeps its reachedAt
                    continue
                if isinstance(command, Delete):
                    deleted.add(target)
    return created, deleted


def stored_records(app: Milestones) -> list[Record]:
    records: list[Record] = []
    for n in app.recorder.select_notifications(1, 1000):
        assert isinstance(n.originator_id, UUID)
        records.append(
            (n.id, to_public_id(n.originator_id), n.originator_version, n.topic, n.state)
        )
    return records


def no_documents(ids: list[str]) -> dict[str, Document]:
    assert ids == [], "a fold from the start of the log never needs to load a document"
    return {}


def new_app() -> Milestones:
    return Milestones(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def expected_rows(app: Milestones, created: list[UUID], deleted: set[UUID]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for milestone_id in created:
        if milestone_id in deleted:
            stream = app.events.get(milestone_id)
            rows[to_public_id(milestone_id)] = (max(e.originator_version for e in stream), None)
        else:
            aggregate = app.get(milestone_id)
            rows[to_public_id(milestone_id)] = (aggregate.version, document_of_aggregate(aggregate))
    return rows


def assert_same_rows(folded: dict[str, Any], expected: dict[str, Any]) -> None:
    assert folded.keys() == expected.keys()
    for public_id, (version, document) in expected.items():
        got_version, got = folded[public_id]
        assert got_version == version
        if document is None:
            assert got is None
        else:
            assert got is not None
            assert list(got) == KEYS
            assert got == document
            # Same keys, same order, same JSON on the wire.
            assert orjson.dumps(got) == orjson.dumps(document)


# --- properties -----------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=commands)
def test_fold_of_the_log_is_the_document_of_each_aggregate(
    script: list[Create | Update | Delete],
) -> None:
    app = new_app()
    created, deleted = run(app, script)
    records = stored_records(app)
    folded = fold(records, no_documents)
    assert_same_rows(folded.rows, expected_rows(app, created, deleted))
    for public_id, (_, document) in folded.rows.items():
        if document is not None:
            assert document["id"] == public_id
            assert INSTANT.fullmatch(document["createdAt"])
            assert document["reachedAt"] is None or INSTANT.fullmatch(document["reachedAt"])
            assert document["status"] in {s.value for s in Status}
    # One index entry per record, in log order, at the record's position.
    assert [entry[0] for entry in folded.entries] == [record[0] for record in records]
    assert [entry[3] for entry in folded.entries] == [record[2] for record in records]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=commands, cuts=st.lists(st.integers(0, 200), max_size=4))
def test_folding_the_log_in_pieces_gives_the_same_documents(
    script: list[Create | Update | Delete], cuts: list[int]
) -> None:
    app = new_app()
    created, deleted = run(app, script)
    records = stored_records(app)
    bounds = sorted({0, len(records), *(cut % (len(records) + 1) for cut in cuts)})
    view: dict[str, tuple[int, Document | None]] = {}
    entries: list[Any] = []

    def load(ids: list[str]) -> dict[str, Document]:
        documents = {}
        for public_id in ids:
            row = view.get(public_id)
            if row is not None and row[1] is not None:
                documents[public_id] = row[1]
        return documents

    for start, stop in itertools.pairwise(bounds):
        piece: Folded = fold(records[start:stop], load)
        view.update(piece.rows)
        entries += piece.entries
    assert_same_rows(view, expected_rows(app, created, deleted))
    assert entries == fold(records, no_documents).entries


# --- examples -------------------------------------------------------------------------


def test_a_known_history_folds_to_the_expected_document() -> None:
    app = new_app()
    milestone = app.create(project_id="proj_01", title="Beta", due_date="2026-03-01")
    app.update(milestone.id, {"title": "Beta launch", "status": Status.REACHED})
    reached = app.get(milestone.id).reached_at
    assert reached is not None
    app.update(milestone.id, {"status": Status.IN_PROGRESS, "description": "again"})
    folded = fold(stored_records(app), no_documents)
    (row,) = folded.rows.values()
    assert row == (
        5,
        {
            "id": to_public_id(milestone.id),
            "projectId": "proj_01",
            "title": "Beta launch",
            "description": "again",
            "status": "in_progress",
            "dueDate": "2026-03-01",
            "reachedAt": reached.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "createdAt": milestone.created_on.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
        },
    )


def test_a_deleted_milestone_folds_to_none() -> None:
    app = new_app()
    milestone = app.create(project_id="p", title="t")
    app.delete(milestone.id)
    folded = fold(stored_records(app), no_documents)
    assert folded.rows == {to_public_id(milestone.id): (2, None)}
    assert [entry[4] for entry in folded.entries] == ["Created", "Deleted"]
    assert folded.entries[1][2] == "p"  # the Deleted entry still names its project


def test_an_event_for_a_milestone_that_is_not_in_the_view_is_refused() -> None:
    app = new_app()
    milestone = app.create(project_id="p", title="t")
    app.update(milestone.id, {"title": "u"})
    _, updated = stored_records(app)
    with pytest.raises(LookupError):
        fold([updated], lambda ids: {})


def test_an_unknown_event_type_is_refused() -> None:
    app = new_app()
    milestone = app.create(project_id="p", title="t")
    app.update(milestone.id, {"title": "u"})
    created, (position, public_id, version, _, state) = stored_records(app)
    snapshot = (position, public_id, version, "domain.milestone:Milestone.Snapshot", state)
    with pytest.raises(ValueError, match="Snapshot"):
        fold([created, snapshot], no_documents)


def test_a_version_1_created_record_is_upcast() -> None:
    app = new_app()
    app.create(project_id="p", title="t", due_date="2026-03-01")
    ((position, public_id, version, topic, stored),) = stored_records(app)
    state = orjson.loads(stored)
    assert state.pop("class_version") == Milestone.Created.class_version
    # Version 1 had neither reached_at nor who made the event.
    assert state.pop("reached_at") is None
    assert (state.pop("actor"), state.pop("request_id")) == (None, None)
    old = (position, public_id, version, topic, orjson.dumps(state))
    (row,) = fold([old], no_documents).rows.values()
    assert row == fold(stored_records(app), no_documents).rows[public_id]
    assert row[1] is not None
    assert row[1]["reachedAt"] is None
    assert list(row[1]) == KEYS
    document = event_document(public_id, version, topic, old[4])
    assert document["payload"]["reachedAt"] is None
    assert (document["actor"], document["requestId"]) == (None, None)


def test_event_documents_of_a_history() -> None:
    app = new_app()
    milestone = app.create(project_id="p", title="t", status=Status.IN_PROGRESS)
    app.update(milestone.id, {"title": "u", "status": Status.REACHED})
    app.delete(milestone.id)
    public_id = to_public_id(milestone.id)
    history = [
        event_document(pid, version, topic, state)
        for _, pid, version, topic, state in stored_records(app)
    ]
    assert [e["type"] for e in history] == ["Created", "Updated", "StatusChanged", "Deleted"]
    assert set(EVENT_TYPES) == {"Created", "Updated", "StatusChanged", "Deleted"}
    assert [e["version"] for e in history] == [1, 2, 3, 4]
    for event in history:
        assert list(event) == [
            "milestoneId", "version", "type", "occurredAt", "actor", "requestId", "payload"
        ]  # fmt: skip
        assert event["milestoneId"] == public_id
        assert INSTANT.fullmatch(event["occurredAt"])
    created, updated, changed, deleted = (e["payload"] for e in history)
    assert created == {
        "projectId": "p",
        "title": "t",
        "description": "",
        "status": "in_progress",
        "dueDate": None,
        "reachedAt": None,
    }
    assert updated == {"title": "u"}
    assert changed == {
        "from": "in_progress",
        "to": "reached",
        "reachedAt": history[2]["occurredAt"],
    }
    assert deleted == {}
