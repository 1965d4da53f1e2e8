"""The Falcon app over the real application and read models on a real SQLite file."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from falcon import testing

from adapters.http import create_app
from adapters.http.validation import MAX_BODY_BYTES
from domain.ids import from_public_id
from projections.milestones import document_of

if TYPE_CHECKING:
    from adapters.bootstrap import Service

KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
PUBLIC_ID = re.compile(r"ms_[0-7][0-9A-HJKMNP-TV-Z]{25}")
PROBLEM = "application/problem+json"
NEW = {"projectId": "proj_01", "title": "Beta Launch"}
UNKNOWN_ID = "ms_" + "0" * 26


@pytest.fixture
def client(service: Service) -> testing.TestClient:
    return testing.TestClient(create_app(service.milestones, service.reads))


class RecordsNothing:
    """A context manager: the log head and the view are the same before and after."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._before: tuple[Any, ...] = ()

    def _state(self) -> tuple[Any, ...]:
        return self._service.reads.lag(), self._service.reads.documents()

    def __enter__(self) -> None:
        self._before = self._state()

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert self._state() == self._before, "a rejected request recorded something"


@pytest.fixture
def records_nothing(service: Service) -> RecordsNothing:
    return RecordsNothing(service)


def create(client: testing.TestClient, **fields: Any) -> dict[str, Any]:
    result = client.simulate_post("/api/milestones", json={**NEW, **fields})
    assert result.status_code == 201, result.text
    data: dict[str, Any] = result.json["data"]
    return data


def path_of(milestone: dict[str, Any]) -> str:
    return f"/api/milestones/{milestone['id']}"


def assert_json(result: testing.Result, status: int) -> Any:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/json"
    return result.json


def assert_problem(result: testing.Result, status: int) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    body: dict[str, Any] = orjson.loads(result.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


# --- happy paths ----------------------------------------------------------------------


def test_create(client: testing.TestClient, service: Service) -> None:
    body = {
        **NEW,
        "description": "Internal beta deployed to staging environment for QA.",
        "status": "pending",
        "dueDate": "2026-03-01T00:00:00Z",
    }
    result = client.simulate_post("/api/milestones", json=body)
    data = assert_json(result, 201)["data"]
    assert list(data) == KEYS
    assert PUBLIC_ID.fullmatch(data["id"])
    assert result.headers["location"] == f"/api/milestones/{data['id']}"
    assert result.headers["etag"] == '"1"'
    assert {k: data[k] for k in body} == body
    assert data["reachedAt"] is None
    assert INSTANT.fullmatch(data["createdAt"])
    assert service.reads.lag() == (1, 1)


def test_create_defaults(client: testing.TestClient) -> None:
    data = create(client)
    assert data["description"] == ""
    assert data["status"] == "pending"
    assert data["dueDate"] is None
    assert data["reachedAt"] is None


def test_create_as_reached_sets_reached_at_to_created_at(client: testing.TestClient) -> None:
    data = create(client, status="reached", reachedAt="2020-01-01T00:00:00Z")
    assert data["reachedAt"] == data["createdAt"]


def test_create_ignores_id_created_at_and_reached_at(client: testing.TestClient) -> None:
    data = create(
        client, id="ms_01", createdAt="2020-01-01T00:00:00.000Z", reachedAt="2020-01-01T00:00Z"
    )
    assert data["id"] != "ms_01"
    assert data["createdAt"] != "2020-01-01T00:00:00.000Z"
    assert data["reachedAt"] is None


@pytest.mark.parametrize(
    "content_type", [None, "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_create_reads_a_body_without_or_with_a_json_content_type(
    client: testing.TestClient, content_type: str | None
) -> None:
    result = client.simulate_post(
        "/api/milestones", body=orjson.dumps(NEW), content_type=content_type
    )
    assert assert_json(result, 201)["data"]["title"] == NEW["title"]


def test_a_body_of_exactly_64_kib_is_read(client: testing.TestClient) -> None:
    raw = orjson.dumps(NEW)
    raw += b" " * (MAX_BODY_BYTES - len(raw))
    assert len(raw) == 64 * 1024
    result = client.simulate_post("/api/milestones", body=raw, content_type="application/json")
    assert_json(result, 201)


def test_get_one(client: testing.TestClient) -> None:
    created = create(client, dueDate="2026-03-01")
    result = client.simulate_get(path_of(created))
    assert assert_json(result, 200) == {"data": created}
    assert result.headers["etag"] == '"1"'
    assert list(result.json["data"]) == KEYS


def test_list_filters_and_order(client: testing.TestClient) -> None:
    first = create(client)
    second = create(client, projectId="proj_02", status="reached")
    third = create(client, status="in_progress")
    everything = assert_json(client.simulate_get("/api/milestones"), 200)
    assert everything == {"data": [first, second, third], "count": 3}
    by_project = client.simulate_get("/api/milestones", params={"projectId": "proj_01"}).json
    assert by_project == {"data": [first, third], "count": 2}
    reached = client.simulate_get("/api/milestones", params={"status": "reached"}).json
    assert reached == {"data": [second], "count": 1}
    both = client.simulate_get(
        "/api/milestones", params={"projectId": "proj_01", "status": "pending"}
    ).json
    assert both == {"data": [first], "count": 1}
    none = client.simulate_get("/api/milestones", params={"projectId": "nobody"}).json
    assert none == {"data": [], "count": 0}
    # A parameter the route does not define is named, never ignored: a misspelt filter
    # must not widen the result.
    misspelt = client.simulate_get("/api/milestones", params={"projectid": "proj_01", "page": "2"})
    assert error_fields(assert_problem(misspelt, 400)) == {"projectid", "page"}


def test_list_when_empty(client: testing.TestClient) -> None:
    assert assert_json(client.simulate_get("/api/milestones"), 200) == {"data": [], "count": 0}


def test_patch(client: testing.TestClient) -> None:
    created = create(client)
    result = client.simulate_patch(
        path_of(created), json={"title": "Beta", "description": "QA", "dueDate": "2026-04-01"}
    )
    data = assert_json(result, 200)["data"]
    assert result.headers["etag"] == '"2"'
    assert data == created | {"title": "Beta", "description": "QA", "dueDate": "2026-04-01"}
    assert client.simulate_get(path_of(created)).json == {"data": data}
    assert client.simulate_get(path_of(created)).headers["etag"] == '"2"'


def test_patch_to_reached_sets_reached_at_once(client: testing.TestClient) -> None:
    created = create(client)
    reached = client.simulate_patch(path_of(created), json={"status": "reached"}).json["data"]
    assert INSTANT.fullmatch(reached["reachedAt"])
    assert reached["reachedAt"] >= created["createdAt"]
    left = client.simulate_patch(path_of(created), json={"status": "pending"}).json["data"]
    assert left["reachedAt"] == reached["reachedAt"]
    again = client.simulate_patch(path_of(created), json={"status": "reached"}).json["data"]
    assert again["reachedAt"] == reached["reachedAt"]


def test_patch_reached_at_is_normalised(client: testing.TestClient) -> None:
    created = create(client)
    result = client.simulate_patch(
        path_of(created), json={"reachedAt": "2026-02-19T12:30:00.123456+02:00"}
    )
    assert result.json["data"]["reachedAt"] == "2026-02-19T10:30:00.123Z"


def test_patch_ignores_id_project_id_and_created_at(
    client: testing.TestClient, service: Service
) -> None:
    created = create(client)
    whole = created | {"projectId": "proj_99", "id": UNKNOWN_ID, "createdAt": "x", "title": "New"}
    result = client.simulate_patch(path_of(created), json=whole)
    assert assert_json(result, 200)["data"] == created | {"title": "New"}
    assert service.reads.lag() == (2, 2)


def test_patch_that_changes_nothing_records_nothing(
    client: testing.TestClient, records_nothing: RecordsNothing
) -> None:
    created = create(client)
    with records_nothing:
        result = client.simulate_patch(path_of(created), json=created)
        assert assert_json(result, 200) == {"data": created}
        assert result.headers["etag"] == '"1"'
        empty = client.simulate_patch(path_of(created), json={})
        assert assert_json(empty, 200) == {"data": created}


@pytest.mark.parametrize("tag", ['"1"', '"7", "1"', "*", ' "1" '])
def test_patch_and_delete_with_a_matching_if_match(client: testing.TestClient, tag: str) -> None:
    created = create(client)
    result = client.simulate_patch(path_of(created), json={"title": "x"}, headers={"If-Match": tag})
    assert assert_json(result, 200)["data"]["title"] == "x"
    current = '"2"' if tag != "*" else "*"
    deleted = client.simulate_delete(path_of(created), headers={"If-Match": current})
    assert assert_json(deleted, 200) == {"data": {"id": created["id"], "deleted": True}}


def test_delete(client: testing.TestClient, service: Service) -> None:
    kept = create(client)
    gone = create(client)
    result = client.simulate_delete(path_of(gone))
    assert assert_json(result, 200) == {"data": {"id": gone["id"], "deleted": True}}
    assert client.simulate_get("/api/milestones").json == {"data": [kept], "count": 1}
    assert service.reads.lag() == (3, 3)
    # Its history stays readable.
    history = assert_json(client.simulate_get(f"{path_of(gone)}/history"), 200)
    assert [event["type"] for event in history["data"]] == ["Created", "Deleted"]


def test_after_delete_get_patch_and_delete_answer_404(
    client: testing.TestClient, records_nothing: RecordsNothing
) -> None:
    gone = create(client)
    client.simulate_delete(path_of(gone))
    with records_nothing:
        assert_problem(client.simulate_get(path_of(gone)), 404)
        assert_problem(client.simulate_patch(path_of(gone), json={"title": "x"}), 404)
        assert_problem(client.simulate_delete(path_of(gone)), 404)
        assert_problem(client.simulate_delete(path_of(gone), headers={"If-Match": '"2"'}), 404)


def test_history(client: testing.TestClient) -> None:
    created = create(client, status="in_progress")
    client.simulate_patch(path_of(created), json={"title": "x", "status": "reached"})
    result = client.simulate_get(f"{path_of(created)}/history")
    body = assert_json(result, 200)
    assert body["count"] == len(body["data"]) == 3
    assert [e["type"] for e in body["data"]] == ["Created", "Updated", "StatusChanged"]
    assert [e["version"] for e in body["data"]] == [1, 2, 3]
    assert body["data"][0]["occurredAt"] == created["createdAt"]
    assert body["data"][1]["payload"] == {"title": "x"}
    assert body["data"][2]["payload"]["from"] == "in_progress"
    assert body["data"][2]["payload"]["to"] == "reached"


def test_event_feed_pages(client: testing.TestClient) -> None:
    first = create(client)
    create(client, projectId="proj_02")
    client.simulate_patch(path_of(first), json={"title": "x"})
    page = assert_json(client.simulate_get("/api/events", params={"limit": "2"}), 200)
    assert [e["position"] for e in page["data"]] == [1, 2]
    assert page["count"] == 2
    assert page["next"] == 2
    rest = client.simulate_get("/api/events", params={"after": "2", "limit": "2"}).json
    assert [e["position"] for e in rest["data"]] == [3]
    assert rest["next"] is None
    only = client.simulate_get("/api/events", params={"milestoneId": first["id"]}).json
    assert [(e["version"], e["type"]) for e in only["data"]] == [(1, "Created"), (2, "Updated")]


def test_time_travel(client: testing.TestClient) -> None:
    created = create(client)
    client.simulate_patch(path_of(created), json={"title": "x"})
    at_one = client.simulate_get(path_of(created), params={"version": "1"})
    assert assert_json(at_one, 200) == {"data": created}
    assert at_one.headers["etag"] == '"1"'
    as_of = client.simulate_get(path_of(created), params={"asOf": created["createdAt"]})
    assert assert_json(as_of, 200)["data"]["id"] == created["id"]
    assert_problem(client.simulate_get(path_of(created), params={"version": "3"}), 400)
    assert_problem(
        client.simulate_get(path_of(created), params={"asOf": "2000-01-01T00:00:00Z"}), 404
    )


def test_health_and_ready(client: testing.TestClient) -> None:
    assert assert_json(client.simulate_get("/health"), 200) == {"data": {"status": "ok"}}
    create(client)
    ready = assert_json(client.simulate_get("/ready"), 200)["data"]
    assert ready["status"] == "ready"
    assert ready["position"] == ready["head"] == 1


def test_idempotency_key(client: testing.TestClient, records_nothing: RecordsNothing) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = client.simulate_post("/api/milestones", json=NEW, headers=headers)
    data = assert_json(first, 201)["data"]
    with records_nothing:
        repeat = client.simulate_post("/api/milestones", json=NEW, headers=headers)
        assert assert_json(repeat, 201)["data"] == data
        assert repeat.headers["location"] == first.headers["location"]
        other = client.simulate_post(
            "/api/milestones", json={**NEW, "title": "Other"}, headers=headers
        )
        assert_problem(other, 409)


# --- rejections: each one records nothing ---------------------------------------------

MALFORMED = [b"{", b"{'projectId': 'p'}", b'{"projectId": "p",}', b"", b"\xff\xfe", b"nul"]


@pytest.mark.parametrize("raw", MALFORMED)
def test_400_malformed_json(
    client: testing.TestClient, records_nothing: RecordsNothing, raw: bytes
) -> None:
    created = create(client)
    with records_nothing:
        for method, path in (("POST", "/api/milestones"), ("PATCH", path_of(created))):
            result = client.simulate_request(
                method, path, body=raw, content_type="application/json"
            )
            assert_problem(result, 400)


@pytest.mark.parametrize("body", [[], [NEW], "text", 5, 1.5, True, None])
def test_400_body_not_an_object(
    client: testing.TestClient, records_nothing: RecordsNothing, body: Any
) -> None:
    created = create(client)
    with records_nothing:
        for method, path in (("POST", "/api/milestones"), ("PATCH", path_of(created))):
            result = client.simulate_request(method, path, body=orjson.dumps(body))
            assert_problem(result, 400)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"projectId": 1, "title": True}, {"projectId", "title"}),
        ({**NEW, "description": ["a"]}, {"description"}),
        ({**NEW, "status": 1}, {"status"}),
        ({**NEW, "dueDate": 20260301}, {"dueDate"}),
        ({"title": "t"}, {"projectId"}),
        ({}, {"projectId", "title"}),
        ({"projectId": " ", "title": ""}, {"projectId", "title"}),
        ({**NEW, "title": "t" * 201}, {"title"}),
        ({**NEW, "priority": "high", "owner": "me"}, {"priority", "owner"}),
        ({**NEW, "status": "done"}, {"status"}),
        ({**NEW, "dueDate": "2026-02-30"}, {"dueDate"}),
        ({**NEW, "dueDate": "2026-03-01T00:00:00"}, {"dueDate"}),
        ({**NEW, "dueDate": "yesterday"}, {"dueDate"}),
        (
            {"title": 5, "status": "x", "dueDate": "x", "extra": 1},
            {"projectId", "title", "status", "dueDate", "extra"},
        ),
    ],
)
def test_400_create_names_every_bad_field(
    client: testing.TestClient,
    records_nothing: RecordsNothing,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    with records_nothing:
        problem = assert_problem(client.simulate_post("/api/milestones", json=body), 400)
    assert error_fields(problem) == fields
    assert all(isinstance(error["message"], str) for error in problem["errors"])


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": None}, {"title"}),
        ({"title": " "}, {"title"}),
        ({"description": 5}, {"description"}),
        ({"status": "bogus"}, {"status"}),
        ({"status": None}, {"status"}),
        ({"dueDate": "2026-02-30"}, {"dueDate"}),
        ({"dueDate": 1}, {"dueDate"}),
        ({"reachedAt": "2026-02-19"}, {"reachedAt"}),
        ({"reachedAt": "now"}, {"reachedAt"}),
        ({"deleted": True}, {"deleted"}),
        ({"title": "ok", "status": "reached", "nope": 1}, {"nope"}),
    ],
)
def test_400_patch_names_every_bad_field(
    client: testing.TestClient,
    records_nothing: RecordsNothing,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    created = create(client)
    with records_nothing:
        problem = assert_problem(client.simulate_patch(path_of(created), json=body), 400)
    assert error_fields(problem) == fields
    assert client.simulate_get(path_of(created)).json == {"data": created}


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "status=",
        "status=Reached",
        "projectId=",
        "status=pending&status=reached",
    ],
)
def test_400_bad_query(
    client: testing.TestClient, records_nothing: RecordsNothing, query: str
) -> None:
    create(client)
    with records_nothing:
        problem = assert_problem(client.simulate_get("/api/milestones", query_string=query), 400)
    assert error_fields(problem) == {query.partition("=")[0]}


@pytest.mark.parametrize(
    "query", ["version=0", "version=x", "version=", "asOf=soon", "asOf=", "version=1&asOf=x"]
)
def test_400_bad_time_travel_query(
    client: testing.TestClient, records_nothing: RecordsNothing, query: str
) -> None:
    created = create(client)
    with records_nothing:
        assert_problem(client.simulate_get(path_of(created), query_string=query), 400)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=x",
        "after=-1",
        "after=",
        "type=Bogus",
        "milestoneId=nope",
        "since=yesterday",
        "until=2026-02-19",
    ],
)
def test_400_bad_event_feed_query(
    client: testing.TestClient, records_nothing: RecordsNothing, query: str
) -> None:
    create(client)
    with records_nothing:
        problem = assert_problem(client.simulate_get("/api/events", query_string=query), 400)
    assert error_fields(problem) == {query.partition("=")[0]}


@pytest.mark.parametrize("milestone_id", [UNKNOWN_ID, "ms_01", "nope", "ms_" + "8" * 26])
def test_404_unknown_id(
    client: testing.TestClient, records_nothing: RecordsNothing, milestone_id: str
) -> None:
    create(client)
    path = f"/api/milestones/{milestone_id}"
    with records_nothing:
        assert_problem(client.simulate_get(path), 404)
        assert_problem(client.simulate_patch(path, json={"title": "x"}), 404)
        assert_problem(client.simulate_delete(path), 404)
        assert_problem(client.simulate_get(f"{path}/history"), 404)
        assert_problem(client.simulate_get(path, params={"version": "1"}), 404)


def test_404_lowercase_spelling_of_an_existing_id(
    client: testing.TestClient, records_nothing: RecordsNothing
) -> None:
    created = create(client)
    path = f"/api/milestones/{created['id'].lower()}"
    with records_nothing:
        assert_problem(client.simulate_get(path), 404)
        assert_problem(client.simulate_patch(path, json={"title": "x"}), 404)
        assert_problem(client.simulate_delete(path), 404)


@pytest.mark.parametrize("path", ["/", "/api", "/api/milestone", "/api/milestones/x/y", "/nope"])
def test_404_unknown_route(
    client: testing.TestClient, records_nothing: RecordsNothing, path: str
) -> None:
    with records_nothing:
        assert_problem(client.simulate_get(path), 404)
        assert_problem(client.simulate_post(path, json=NEW), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/milestones", {"GET", "POST"}),
        ("PATCH", "/api/milestones", {"GET", "POST"}),
        ("DELETE", "/api/milestones", {"GET", "POST"}),
        ("PUT", "{item}", {"GET", "PATCH", "DELETE"}),
        ("POST", "{item}", {"GET", "PATCH", "DELETE"}),
        ("POST", "{item}/history", {"GET"}),
        ("DELETE", "/api/events", {"GET"}),
        ("POST", "/health", {"GET"}),
    ],
)
def test_405_wrong_method(
    client: testing.TestClient,
    records_nothing: RecordsNothing,
    method: str,
    path: str,
    allowed: set[str],
) -> None:
    item = path_of(create(client))
    with records_nothing:
        result = client.simulate_request(method, path.format(item=item), json=NEW)
        assert_problem(result, 405)
    allow = {name.strip() for name in result.headers["allow"].split(",")}
    assert allowed <= allow
    assert method not in allow


@pytest.mark.parametrize("tag", ['"2"', '"0"', 'W/"1"', '"abc"', "1", '""', '"1" x'])
def test_412_stale_or_unknown_if_match(
    client: testing.TestClient, records_nothing: RecordsNothing, tag: str
) -> None:
    created = create(client)
    with records_nothing:
        patch = client.simulate_patch(
            path_of(created), json={"title": "x"}, headers={"If-Match": tag}
        )
        assert_problem(patch, 412)
        delete = client.simulate_delete(path_of(created), headers={"If-Match": tag})
        assert_problem(delete, 412)
    assert client.simulate_get(path_of(created)).json == {"data": created}


def test_412_after_another_write(
    client: testing.TestClient, records_nothing: RecordsNothing
) -> None:
    created = create(client)
    etag = client.simulate_get(path_of(created)).headers["etag"]
    client.simulate_patch(path_of(created), json={"title": "someone else"})
    with records_nothing:
        result = client.simulate_patch(
            path_of(created), json={"title": "mine"}, headers={"If-Match": etag}
        )
        assert_problem(result, 412)


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES])
def test_413_body_over_64_kib(
    client: testing.TestClient, records_nothing: RecordsNothing, size: int
) -> None:
    created = create(client)
    raw = orjson.dumps(NEW)
    raw += b" " * (size - len(raw))  # valid JSON, only too big
    with records_nothing:
        for method, path in (("POST", "/api/milestones"), ("PATCH", path_of(created))):
            result = client.simulate_request(
                method, path, body=raw, content_type="application/json"
            )
            assert_problem(result, 413)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "text/json"],
)
def test_415_other_content_types(
    client: testing.TestClient, records_nothing: RecordsNothing, content_type: str
) -> None:
    created = create(client)
    with records_nothing:
        for method, path in (("POST", "/api/milestones"), ("PATCH", path_of(created))):
            result = client.simulate_request(
                method, path, body=orjson.dumps(NEW), content_type=content_type
            )
            assert_problem(result, 415)


def test_400_idempotency_key_that_is_not_printable_ascii(
    client: testing.TestClient, records_nothing: RecordsNothing
) -> None:
    with records_nothing:
        result = client.simulate_post(
            "/api/milestones", json=NEW, headers={"Idempotency-Key": "k" * 256}
        )
        assert_problem(result, 400)


def test_every_write_is_in_the_view_as_the_aggregate_shows_it(
    client: testing.TestClient, service: Service
) -> None:
    created = create(client)
    patched = client.simulate_patch(path_of(created), json={"status": "reached"}).json["data"]
    milestone = service.milestones.get(from_public_id(created["id"]))
    expected = orjson.loads(orjson.dumps(document_of(milestone)))
    assert patched == expected
    assert [orjson.loads(body) for body in service.reads.documents()] == [expected]
    assert client.simulate_get(path_of(created)).json == {"data": expected}
