"""Schema evolution: a ``Created`` record of version 1 (before ``reached_at`` existed, so
without it and without ``class_version``) is written straight into the event table, as the
old code left it, and the new code reads it everywhere: the domain, the view's catch-up
and rebuild, the history, time travel, the feed and the export.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import pytest
from falcon import testing

from adapters.backup import export_lines, import_lines
from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.postgres.recorder import EVENTS_TABLE
from adapters.settings import Settings, sqlite_path
from domain.ids import new_milestone_uuid, to_public_id
from domain.milestone import Milestone, Status
from projections import runner
from projections.chain import chain_of
from projections.document import document_of
from projections.records import decode

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from uuid import UUID

    from adapters.bootstrap import Service

CREATED_TOPIC = "domain.milestone:Milestone.Created"
OCCURRED_AT = "2025-06-01T12:00:00.123Z"
# What version 1 of Milestone.Created stored: no reached_at, no class_version.
V1_STATE = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-01T12:00:00.123000+00:00"},
    "originator_topic": "domain.milestone:Milestone",
    "project_id": "proj_legacy",
    "title": "Written by version 1",
    "description": "before reached_at existed",
    "status": "in_progress",
    "due_date": "2025-07-01",
}
EXPECTED_FIELDS = {
    "projectId": "proj_legacy",
    "title": "Written by version 1",
    "description": "before reached_at existed",
    "status": "in_progress",
    "dueDate": "2025-07-01",
    "reachedAt": None,
}


def write_v1_record(database_url: str, milestone_id: UUID) -> None:
    """The old record, inserted with the backend's plain driver, beside the application."""
    state = orjson.dumps(V1_STATE)
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            lite.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                "VALUES (?, 1, ?, ?)",
                (milestone_id.hex, CREATED_TOPIC, state),
            )
    else:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            connection.execute(
                f"INSERT INTO {EVENTS_TABLE} "  # noqa: S608 - a constant
                "(originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)",
                (milestone_id, CREATED_TOPIC, state),
            )


@pytest.fixture
def legacy_id() -> UUID:
    millis = int(datetime.fromisoformat(OCCURRED_AT).timestamp() * 1000)
    return new_milestone_uuid(millis * 1_000_000)


@pytest.fixture
def service(open_services: Callable[[], Service], database_url: str, legacy_id: UUID) -> Service:
    """A service whose log holds a version 1 record, written after it opened, then caught up."""
    service = open_services()
    service.milestones.create(project_id="proj_new", title="Written by version 2")
    write_v1_record(database_url, legacy_id)
    # As a service starting on this log would: every projection catches up.
    assert runner.catch_up_all(service.store) == {"milestones": 1, "progress": 1, "schedule": 1}
    return service


def expected_document(legacy_id: UUID) -> dict[str, Any]:
    return {"id": to_public_id(legacy_id), **EXPECTED_FIELDS, "createdAt": OCCURRED_AT}


def test_the_record_is_of_version_1(service: Service, legacy_id: UUID) -> None:
    (version, topic, state) = service.reads.history(legacy_id)[0]
    assert (version, topic) == (1, CREATED_TOPIC)
    stored = orjson.loads(state)
    assert "class_version" not in stored
    assert "reached_at" not in stored
    # New records of the same class carry their version.
    new = service.milestones.create(project_id="proj_new", title="Written by version 2")
    [(_, _, new_state)] = service.reads.history(new.id)
    assert orjson.loads(new_state)["class_version"] == Milestone.Created.class_version == 3


def test_the_projection_upcasts_it() -> None:
    state = decode(CREATED_TOPIC, orjson.dumps(V1_STATE))
    assert state["reached_at"] is None
    assert "class_version" not in state


def test_the_domain_reads_it(service: Service, legacy_id: UUID) -> None:
    milestone = service.milestones.get(legacy_id)
    assert milestone.version == 1
    assert milestone.reached_at is None
    assert milestone.status is Status.IN_PROGRESS
    assert milestone.created_on == datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert document_of(milestone) == expected_document(legacy_id)


def test_the_view_caught_up_with_it(service: Service, legacy_id: UUID) -> None:
    row = service.reads.document(to_public_id(legacy_id))
    assert row is not None
    assert (row[0], orjson.loads(row[1])) == (1, expected_document(legacy_id))
    position, head = service.reads.lag()
    assert position == head == 2


def test_a_service_opened_later_reads_it(
    open_services: Callable[[], Service], database_url: str, legacy_id: UUID
) -> None:
    # Written while no service was open: the next one to open catches its view up.
    first = open_services()
    write_v1_record(database_url, legacy_id)
    assert first.reads.document(to_public_id(legacy_id)) is None
    later = open_services()
    row = later.reads.document(to_public_id(legacy_id))
    assert row is not None
    assert orjson.loads(row[1]) == expected_document(legacy_id)
    assert later.reads.lag() == (1, 1)


def test_a_rebuild_reads_it(service: Service, legacy_id: UUID) -> None:
    assert runner.rebuild(service.store, lambda done, total: None) == 2
    row = service.reads.document(to_public_id(legacy_id))
    assert row is not None
    assert orjson.loads(row[1]) == expected_document(legacy_id)
    assert runner.verify(service.store) == []


def test_http_reads_it(service: Service, legacy_id: UUID) -> None:
    client = testing.TestClient(create_app(service.milestones, service.reads))
    public_id = to_public_id(legacy_id)
    path = f"/api/milestones/{public_id}"
    expected = expected_document(legacy_id)
    assert client.simulate_get(path).json == {"data": expected}
    history = client.simulate_get(f"{path}/history")
    assert history.status_code == 200, history.text
    created = {
        "milestoneId": public_id,
        "version": 1,
        "type": "Created",
        "occurredAt": OCCURRED_AT,
        "actor": None,
        "requestId": None,
        "payload": EXPECTED_FIELDS,
    }
    assert history.json == {"data": [created], "count": 1}
    assert client.simulate_get(path, params={"version": "1"}).json == {"data": expected}
    assert client.simulate_get(path, params={"asOf": OCCURRED_AT}).json == {"data": expected}
    assert client.simulate_get(path, params={"asOf": "2025-06-01T12:00:00.122Z"}).status_code == (
        404
    )
    feed = client.simulate_get("/api/events", params={"milestoneId": public_id}).json
    assert [{k: v for k, v in e.items() if k != "position"} for e in feed["data"]] == [created]
    assert (
        client.simulate_get("/api/events", params={"projectId": "proj_legacy"}).json["count"] == 1
    )

    # The new code goes on from the old record: a PATCH reaches it.
    result = client.simulate_patch(path, json={"status": "reached"})
    assert result.status_code == 200, result.text
    events = client.simulate_get(f"{path}/history").json["data"]
    assert [e["type"] for e in events] == ["Created", "StatusChanged"]
    reached_at = events[1]["occurredAt"]
    assert events[1]["payload"] == {"from": "in_progress", "to": "reached", "reachedAt": reached_at}
    assert result.json["data"] == expected | {"status": "reached", "reachedAt": reached_at}
    assert client.simulate_get(path, params={"version": "1"}).json == {"data": expected}
    assert runner.verify(service.store) == []


def test_export_reads_it_and_import_keeps_it(
    service: Service, legacy_id: UUID, tmp_path: Path
) -> None:
    lines = list(export_lines(service.store))
    exported = [orjson.loads(line) for line in lines]
    public_id = to_public_id(legacy_id)
    [legacy] = [event for event in exported if event["milestoneId"] == public_id]
    # Hashed as the history shows it (upcast): an import, which writes today's shape,
    # keeps the hash.
    assert [event.pop("hash") for event in exported] == chain_of(exported)
    assert legacy == {
        "position": 2,
        "milestoneId": public_id,
        "version": 1,
        "type": "Created",
        "occurredAt": OCCURRED_AT,
        "actor": None,
        "requestId": None,
        "payload": EXPECTED_FIELDS,
    }
    # An import writes it in today's shape, and the milestone is the same.
    restored = open_service(Settings(database_url=f"sqlite:///{tmp_path}/restored.db"))
    try:
        assert import_lines(restored, lines) == 2
        assert document_of(restored.milestones.get(legacy_id)) == expected_document(legacy_id)
        [(_, _, state)] = restored.reads.history(legacy_id)
        assert orjson.loads(state)["class_version"] == Milestone.Created.class_version
        again = [orjson.loads(line) for line in export_lines(restored.store)]
        assert [event["hash"] for event in again] == chain_of(exported)
        assert [{k: v for k, v in event.items() if k != "hash"} for event in again] == exported
    finally:
        restored.close()
