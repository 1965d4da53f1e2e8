"""The Falcon app over the real application and read models, each test on a fresh database.

What needs a database of its own: the whole list and its order, the feed's positions from
1, the history, time travel, readiness, idempotent replays, and the view against the
aggregate. The rest of the API is tested on a shared service: each valid request in
test_http_api.py, each rejection in test_http_rejections.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest
from falcon import testing

from domain.ids import from_public_id
from projections.document import document_of
from tests.integration.app_client import app_of

if TYPE_CHECKING:
    from adapters.bootstrap import Service

PROBLEM = "application/problem+json"
NEW = {"projectId": "proj_01", "title": "Beta Launch"}


@pytest.fixture
def client(service: Service) -> testing.TestClient:
    return testing.TestClient(app_of(service))


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


def test_list_filters_and_order(client: testing.TestClient) -> None:
    first = create(client)
    second = create(client, projectId="proj_02", status="reached")
    third = create(client, status="in_progress")
    fourth = create(client)
    everything = assert_json(client.simulate_get("/api/milestones"), 200)
    assert list(everything) == ["data", "count"]
    assert everything == {"data": [first, second, third, fourth], "count": 4}
    # Ordered by createdAt, then id.
    order = [(item["createdAt"], item["id"]) for item in everything["data"]]
    assert order == sorted(order)

    def listed(query: str) -> list[dict[str, Any]]:
        body = assert_json(client.simulate_get("/api/milestones", query_string=query), 200)
        assert list(body) == ["data", "count"]
        assert body["count"] == len(body["data"])
        data: list[dict[str, Any]] = body["data"]
        return data

    assert listed("projectId=proj_01") == [first, third, fourth]
    assert listed("projectId=proj_02") == [second]
    assert listed("status=reached") == [second]
    assert listed("projectId=proj_01&status=pending") == [first, fourth]
    assert listed("status=in_progress&projectId=proj_01") == [third]
    assert listed("projectId=proj_01&status=reached") == []
    assert listed("projectId=nobody") == []
    for status in ("pending", "in_progress", "reached"):
        expected = [item for item in everything["data"] if item["status"] == status]
        assert listed(f"status={status}") == expected
    # A parameter the route does not define is named, never ignored: a misspelt filter
    # must not widen the result.
    misspelt = client.simulate_get("/api/milestones", params={"projectid": "proj_01", "page": "2"})
    assert error_fields(assert_problem(misspelt, 400)) == {"projectid", "page"}
    query = "projectId=proj_01&status=pending&offset=1&order=-createdAt&foo="
    unknown = client.simulate_get("/api/milestones", query_string=query)
    assert error_fields(assert_problem(unknown, 400)) == {"offset", "order", "foo"}


def test_list_when_empty(client: testing.TestClient) -> None:
    assert assert_json(client.simulate_get("/api/milestones"), 200) == {"data": [], "count": 0}


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
    for key in ("position", "head", "lag"):
        assert isinstance(ready[key], int), ready
    assert ready["position"] == ready["head"] == 1
    assert ready["lag"] == ready["head"] - ready["position"] == 0


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
