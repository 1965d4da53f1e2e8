"""Who: every event records its actor and request id (contract section 8), on both backends.

The app runs in-process over a real store: named and legacy tokens, the proxy's header,
its bad values (a 400 that records nothing), the feed's ``actor`` filter, export and
import keeping both exactly, records of the shapes before actors existed read back
through every path, and an event index made before it had an actor column.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import pytest
from falcon import testing

from adapters.backup import export_lines, import_lines
from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.http.identity import legacy_name, parse_tokens
from adapters.http.middleware import BearerAuth
from adapters.postgres.recorder import EVENTS_TABLE
from adapters.settings import Settings, sqlite_path
from domain.caller import Caller
from domain.ids import from_public_id, to_public_id
from projections import runner
from projections.document import document_of
from tests.api_client import assert_problem, rejected
from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import falcon

    from adapters.bootstrap import Service

HEADER = "X-Forwarded-User"
ALICE, BOB, LEGACY, VIEWER = "tok-alice-1", "tok-bob-2", "tok-legacy-3", "tok-viewer-4"
TOKENS = f"{ALICE} alice@example.com\n{BOB} bob\n{LEGACY}\n{VIEWER} viewer read-only\n"


class Client(AppClient):
    """The API in-process over any app, not only the tests' default one."""

    def __init__(self, app: falcon.App[falcon.Request, falcon.Response]) -> None:
        self.test_client = testing.TestClient(app)


def proxied(service: Service) -> Client:
    return Client(create_app(service.milestones, service.reads, actor_header=HEADER))


def with_tokens(service: Service) -> Client:
    auth = BearerAuth(parse_tokens(TOKENS), protect_metrics=False)
    return Client(create_app(service.milestones, service.reads, auth=auth))


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def lifecycle(client: Client, headers: Mapping[str, str]) -> str:
    """Create, patch (an Updated and a StatusChanged) and delete a milestone."""
    status, _, body = client.request(
        "POST", "/api/milestones", {"projectId": "proj_who", "title": "Who"}, headers
    )
    assert status == 201, body
    public_id: str = body["data"]["id"]
    path = f"/api/milestones/{public_id}"
    status, _, body = client.request("PATCH", path, {"title": "W", "status": "reached"}, headers)
    assert status == 200, body
    status, _, body = client.request("DELETE", path, None, headers)
    assert status == 200, body
    return public_id


def who(events: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(event["actor"], event["requestId"]) for event in events]


# --- the caller of a command -----------------------------------------------------------------


def test_the_application_records_the_caller_of_every_command(service: Service) -> None:
    alice, bob = Caller("alice", "req-1"), Caller("bob", "req-2")
    milestone = service.milestones.create(project_id="p", title="t", caller=alice)
    service.milestones.update(milestone.id, {"title": "u", "status": "reached"}, caller=bob)
    service.milestones.delete(milestone.id, caller=Caller(None, "req-3"))
    once = service.milestones.create_once("key-1", {"project_id": "p", "title": "o"}, alice)
    again = service.milestones.create_once("key-1", {"project_id": "p", "title": "o"}, bob)
    assert again.id == once.id
    records = [
        *service.reads.history(milestone.id),
        *service.reads.history(once.id),
    ]
    actors = [orjson.loads(state)["actor"] for _, _, state in records]
    request_ids = [orjson.loads(state)["request_id"] for _, _, state in records]
    # The retry of an idempotent create records nothing: its first caller stays.
    assert actors == ["alice", "bob", "bob", None, "alice"]
    assert request_ids == ["req-1", "req-2", "req-2", "req-3", "req-1"]


# --- tokens --------------------------------------------------------------------------------


def test_a_named_token_is_the_actor_and_a_forged_header_changes_nothing(service: Service) -> None:
    client = with_tokens(service)
    forged = {HEADER: "mallory", "X-Actor": "mallory", "X-Request-Id": "req-alice"}
    public_id = lifecycle(client, bearer(ALICE, **forged))
    status, _, body = client.request(
        "GET", f"/api/milestones/{public_id}/history", None, bearer(BOB)
    )
    assert status == 200, body
    history = body["data"]
    assert who(history) == [("alice@example.com", "req-alice")] * 4


def test_a_legacy_token_is_named_by_its_hash_never_by_itself(service: Service) -> None:
    client = with_tokens(service)
    public_id = lifecycle(client, bearer(LEGACY))
    _, _, body = client.request("GET", f"/api/milestones/{public_id}/history", None, bearer(LEGACY))
    actors = {event["actor"] for event in body["data"]}
    assert actors == {legacy_name(LEGACY)}
    (actor,) = actors
    assert actor.startswith("token-")
    assert len(actor) == len("token-") + 8
    assert LEGACY not in actor


def test_a_read_only_token_reads_and_records_nothing(service: Service) -> None:
    client = with_tokens(service)
    public_id = lifecycle(client, bearer(BOB))
    status, _, body = client.request("GET", "/api/events?actor=bob", None, bearer(VIEWER))
    assert status == 200, body
    assert {event["milestoneId"] for event in body["data"]} == {public_id}
    status, _, _ = client.request(
        "POST", "/api/milestones", {"projectId": "p", "title": "t"}, bearer(VIEWER)
    )
    assert status == 403
    _, _, body = client.request("GET", "/api/events?actor=viewer", None, bearer(VIEWER))
    assert body["data"] == []


# --- the proxy's header --------------------------------------------------------------------


def test_the_proxys_header_is_the_actor(service: Service) -> None:
    client = proxied(service)
    name = "José Núñez (ops)"
    public_id = lifecycle(
        client, {HEADER: name.encode().decode("latin-1"), "X-Request-Id": "req-proxy"}
    )
    assert who(client.history(public_id)) == [(name, "req-proxy")] * 4


def test_without_the_header_the_actor_is_null_and_the_request_id_the_services(
    service: Service,
) -> None:
    client = proxied(service)
    status, headers, body = client.request(
        "POST", "/api/milestones", {"projectId": "proj_who", "title": "Anonymous"}
    )
    assert status == 201, body
    (created,) = client.history(body["data"]["id"])
    assert created["actor"] is None
    assert created["requestId"] == headers["X-Request-Id"]
    assert len(created["requestId"]) == 32


def test_without_tokens_or_header_setting_no_header_names_the_actor(service: Service) -> None:
    client = Client(create_app(service.milestones, service.reads))
    public_id = lifecycle(client, {HEADER: "mallory"})
    assert {event["actor"] for event in client.history(public_id)} == {None}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a" * 201, id="201-chars"),
        pytest.param("tab\there", id="control"),
        pytest.param("x\x7f", id="delete"),
        pytest.param("\xff\xfe", id="not-utf8"),
        pytest.param("\xc2\x85", id="utf8-c1-control"),
        pytest.param("", id="empty"),
    ],
)
def test_a_bad_header_value_is_a_400_naming_it_and_records_nothing(
    shared_service: Service, value: str
) -> None:
    client = proxied(shared_service)
    milestone, _ = client.create(projectId="proj_who_bad")
    path = f"/api/milestones/{milestone['id']}"
    headers = {HEADER: value}
    for method, target, body in (
        ("POST", "/api/milestones", {"projectId": "proj_who_bad", "title": "t"}),
        ("PATCH", path, {"title": "changed"}),
        ("DELETE", path, None),
        ("GET", path, None),
    ):
        problem = rejected(client, method, target, body, headers, status=400, fields={HEADER})
        assert "printable" in problem["errors"][0]["message"]
    assert client.get(milestone["id"])[0]["title"] == "A milestone"


def test_two_hundred_printable_characters_are_an_actor(shared_service: Service) -> None:
    client = proxied(shared_service)
    name = "ü" * 100 + "a b" * 33 + "z"
    assert len(name) == 200
    status, _, body = client.request(
        "POST",
        "/api/milestones",
        {"projectId": "proj_who", "title": "t"},
        {HEADER: name.encode().decode("latin-1")},
    )
    assert status == 201, body
    assert client.history(body["data"]["id"])[0]["actor"] == name


# --- the feed ------------------------------------------------------------------------------


def test_the_feed_filters_by_actor_exactly(service: Service) -> None:
    client = proxied(service)
    ids = {name: lifecycle(client, {HEADER: name}) for name in ("carol", "carol2", "Carol")}
    anonymous = lifecycle(client, {})
    for name, public_id in ids.items():
        status, _, body = client.request("GET", f"/api/events?actor={name}")
        assert status == 200, body
        assert [e["milestoneId"] for e in body["data"]] == [public_id] * 4
        assert {e["actor"] for e in body["data"]} == {name}
    # With other filters, and paged: each event once, in order.
    page1 = client.request("GET", "/api/events?actor=carol&type=StatusChanged")[2]
    assert [e["type"] for e in page1["data"]] == ["StatusChanged"]
    first = client.request("GET", "/api/events?actor=carol&limit=3")[2]
    rest = client.request("GET", f"/api/events?actor=carol&after={first['next']}")[2]
    assert first["count"] == 3
    assert [e["version"] for e in first["data"] + rest["data"]] == [1, 2, 3, 4]
    assert rest["next"] is None
    assert client.request("GET", "/api/events?actor=nobody")[2]["data"] == []
    assert anonymous not in {e["milestoneId"] for e in client.feed() if e["actor"] is not None}
    assert_problem(client.request("GET", "/api/events?actor="), 400, {"actor"})


# --- export and import ---------------------------------------------------------------------


def test_export_and_import_keep_actor_and_request_id_exactly(
    service: Service, tmp_path: Path
) -> None:
    client = proxied(service)
    lifecycle(client, {HEADER: "dana", "X-Request-Id": "req-dana"})
    lifecycle(client, {})
    lines = list(export_lines(service.store))
    exported = [orjson.loads(line) for line in lines]
    assert who(exported)[:4] == [("dana", "req-dana")] * 4
    assert {event["actor"] for event in exported[4:]} == {None}
    restored = open_service(Settings(database_url=f"sqlite:///{tmp_path}/restored.db"))
    try:
        assert import_lines(restored, lines) == len(lines)
        assert [orjson.loads(line) for line in export_lines(restored.store)] == exported
        feed = proxied(restored).request("GET", "/api/events?actor=dana")[2]["data"]
        assert who(feed) == [("dana", "req-dana")] * 4
    finally:
        restored.close()


def test_an_export_from_before_actors_imports_with_null(service: Service, tmp_path: Path) -> None:
    lifecycle(proxied(service), {HEADER: "erin"})
    old_lines = []
    for line in export_lines(service.store):
        event = orjson.loads(line)
        del event["actor"], event["requestId"]
        old_lines.append(orjson.dumps(event))
    restored = open_service(Settings(database_url=f"sqlite:///{tmp_path}/restored.db"))
    try:
        assert import_lines(restored, old_lines) == 4
        exported = [orjson.loads(line) for line in export_lines(restored.store)]
        assert who(exported) == [(None, None)] * 4
    finally:
        restored.close()


# --- records written before actors existed ---------------------------------------------------

TOPIC = "domain.milestone:Milestone."
# What each event class stored before it carried who made it.
OLD_RECORDS = [
    (
        "Created",
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-01T12:00:00.123000+00:00"},
            "originator_topic": "domain.milestone:Milestone",
            "project_id": "proj_old",
            "title": "Old",
            "description": "",
            "status": "pending",
            "due_date": None,
            "reached_at": None,
            "class_version": 2,
        },
    ),
    (
        "Updated",
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-01T12:00:01+00:00"},
            "changes": {"title": "Older"},
        },
    ),
    (
        "StatusChanged",
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-01T12:00:02.500000+00:00"},
            "from_status": "pending",
            "to_status": "reached",
            "reached_at": {"_type_": "datetime_iso", "_data_": "2025-06-01T12:00:02.500000+00:00"},
        },
    ),
]
DELETED = (
    "Deleted",
    {"timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-02T00:00:00+00:00"}},
)


def write_old_records(database_url: str, milestone_id: str, records: list[Any]) -> None:
    """The records, inserted with the backend's plain driver, as the old code left them."""
    uuid = from_public_id(milestone_id)
    rows = [
        (version, TOPIC + kind, orjson.dumps(state))
        for version, (kind, state) in enumerate(records, start=1)
    ]
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            lite.executemany(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                [(uuid.hex, *row) for row in rows],
            )
    else:
        with (
            psycopg.connect(database_url, connect_timeout=5) as connection,
            connection.cursor() as c,
        ):
            c.executemany(
                f"INSERT INTO {EVENTS_TABLE} "  # noqa: S608 - a constant
                "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
                [(uuid, *row) for row in rows],
            )


OLD_ID = "ms_01JWRJ7E5V0000000000000000"
DELETED_ID = "ms_01JWRJ7E5V0000000000000001"


def test_old_records_read_with_null_actor_through_every_path(
    open_services: Callable[[], Service], database_url: str
) -> None:
    first = open_services()
    write_old_records(database_url, OLD_ID, OLD_RECORDS)
    write_old_records(database_url, DELETED_ID, [*OLD_RECORDS, DELETED])
    service = open_services()  # catches its view up with the old records
    client = proxied(service)
    # The domain.
    milestone = service.milestones.get(from_public_id(OLD_ID))
    assert (milestone.version, milestone.title, milestone.status) == (3, "Older", "reached")
    assert service.milestones.get(from_public_id(DELETED_ID)).deleted
    # The view, after the catch-up and after a rebuild.
    expected = document_of(milestone)
    assert client.get(OLD_ID)[0] == expected
    assert runner.rebuild(service.store, lambda done, total: None) == 7
    assert client.get(OLD_ID)[0] == expected
    assert runner.verify(service.store) == []
    # The history, the feed (also filtered) and the export.
    history = client.history(OLD_ID)
    assert [e["type"] for e in history] == ["Created", "Updated", "StatusChanged"]
    assert who(history) == [(None, None)] * 3
    assert who(client.history(DELETED_ID)) == [(None, None)] * 4
    assert who(client.feed()) == [(None, None)] * 7
    assert client.request("GET", "/api/events?type=Deleted")[2]["count"] == 1
    assert client.request("GET", "/api/events?actor=anyone")[2]["data"] == []
    assert who([orjson.loads(line) for line in export_lines(service.store)]) == [(None, None)] * 7
    # Time travel rebuilds the old aggregate.
    assert client.request("GET", f"/api/milestones/{OLD_ID}?version=2")[2]["data"]["title"] == (
        "Older"
    )
    # New events on an old stream record who made them.
    status, _, body = client.request(
        "PATCH", f"/api/milestones/{OLD_ID}", {"title": "New"}, {HEADER: "frank"}
    )
    assert status == 200, body
    assert who(client.history(OLD_ID))[-1][0] == "frank"
    assert [e["version"] for e in client.request("GET", "/api/events?actor=frank")[2]["data"]] == [
        4
    ]
    assert first.milestones.get(from_public_id(OLD_ID)).title == "New"


# --- an event index from before the actor column ----------------------------------------------


def drop_actor_column(database_url: str) -> None:
    """Make the event index as the schema before actors made it: no actor column."""
    statements = ["DROP INDEX event_index_by_actor", "ALTER TABLE event_index DROP COLUMN actor"]
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            for statement in statements:
                lite.execute(statement)
            columns = [row[1] for row in lite.execute("PRAGMA table_info(event_index)")]
    else:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            for statement in statements:
                connection.execute(statement)
            columns = [
                row[0]
                for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'event_index'"
                )
            ]
    assert "actor" not in columns


def test_an_event_index_without_the_actor_column_gets_it_at_start(
    open_services: Callable[[], Service], database_url: str
) -> None:
    before = open_services()
    old = before.milestones.create(project_id="proj_index", title="Before")
    drop_actor_column(database_url)
    service = open_services()
    client = proxied(service)
    new = lifecycle(client, {HEADER: "grace"})
    events = client.request("GET", "/api/events?actor=grace")[2]["data"]
    assert [e["milestoneId"] for e in events] == [new] * 4
    # The entries from before keep answering the other filters.
    by_project = client.request("GET", "/api/events?projectId=proj_index")[2]["data"]
    assert [e["milestoneId"] for e in by_project] == [to_public_id(old.id)]
    assert runner.verify(service.store) == []
