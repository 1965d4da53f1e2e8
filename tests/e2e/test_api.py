"""The Milestones API over real HTTP: every endpoint of the seed and contract sections 1-5."""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import assert_problem

if TYPE_CHECKING:
    from tests.e2e.conftest import Client

ID = re.compile(r"^ms_[0-9A-HJKMNP-TV-Z]{26}$", re.ASCII)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", re.ASCII)
KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]
STATUSES = ("pending", "in_progress", "reached")
CLOCK_SLACK = timedelta(seconds=2)


def instant(text: str) -> datetime:
    assert TIMESTAMP.fullmatch(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def check_document(document: Any) -> dict[str, Any]:
    """A milestone as the contract shapes it: eight keys in order, typed, formatted."""
    assert isinstance(document, dict), document
    assert list(document) == KEYS
    assert ID.fullmatch(document["id"]), document["id"]
    assert isinstance(document["projectId"], str)
    assert isinstance(document["title"], str)
    assert isinstance(document["description"], str)
    assert document["status"] in STATUSES
    assert document["dueDate"] is None or isinstance(document["dueDate"], str)
    instant(document["createdAt"])
    if document["reachedAt"] is not None:
        instant(document["reachedAt"])
    return document


def check_recent(text: str, before: datetime, after: datetime) -> None:
    """A timestamp the server wrote between two readings of this host's clock."""
    assert before - CLOCK_SLACK <= instant(text) <= after + CLOCK_SLACK, (text, before, after)


def path_of(milestone_id: str) -> str:
    return f"/api/milestones/{milestone_id}"


@pytest.fixture
def project() -> str:
    """A project id no other test uses, so list filters see only this test's milestones."""
    return f"proj_{uuid.uuid4().hex[:12]}"


# Operations


def test_health_and_ready(client: Client) -> None:
    status, headers, body = client.request("GET", "/health")
    assert status == 200
    assert headers.get_content_type() == "application/json"
    assert body == {"data": {"status": "ok"}}

    status, headers, body = client.request("GET", "/ready")
    assert status == 200
    assert headers.get_content_type() == "application/json"
    data = body["data"]
    for key in ("position", "head", "lag"):
        assert isinstance(data[key], int), data
    assert data["lag"] == data["head"] - data["position"] == 0


# Create


def test_create_with_defaults(client: Client, project: str) -> None:
    head = client.head()
    before = datetime.now(UTC)
    status, headers, body = client.request(
        "POST", "/api/milestones", {"projectId": project, "title": "Beta Launch"}
    )
    after = datetime.now(UTC)

    assert status == 201
    assert headers.get_content_type() == "application/json"
    assert list(body) == ["data"]
    document = check_document(body["data"])
    assert document["projectId"] == project
    assert document["title"] == "Beta Launch"
    assert document["description"] == ""
    assert document["status"] == "pending"
    assert document["dueDate"] is None
    assert document["reachedAt"] is None
    check_recent(document["createdAt"], before, after)
    assert headers["Location"] == f"/api/milestones/{document['id']}"
    assert headers["ETag"] == '"1"'
    assert client.head() == head + 1

    status, headers, body = client.request("GET", headers["Location"])
    assert status == 200
    assert headers.get_content_type() == "application/json"
    assert body == {"data": document}
    assert headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    "due_date",
    [
        "2026-03-01",
        "2026-03-01T00:00:00Z",
        "2026-03-01T09:30:00+05:30",
        "2026-03-01T09:30:00.5-04:00",
        "2026-03-01T09:30Z",
        None,
    ],
)
def test_create_with_every_field_echoes_due_date_exactly(
    client: Client, project: str, due_date: str | None
) -> None:
    sent = {
        "projectId": project,
        "title": "Design Phase Complete",
        "description": "All wireframes and design specs approved by stakeholders.",
        "status": "in_progress",
        "dueDate": due_date,
    }
    status, _, body = client.request("POST", "/api/milestones", sent)
    assert status == 201, body
    document = check_document(body["data"])
    for key, value in sent.items():
        assert document[key] == value
    assert document["reachedAt"] is None
    assert client.get(document["id"])[0] == document


def test_create_accepts_the_longest_values(client: Client) -> None:
    sent = {"projectId": "p" * 100, "title": "t" * 200, "description": "d" * 10_000}
    status, _, body = client.request("POST", "/api/milestones", sent)
    assert status == 201, body
    document = check_document(body["data"])
    assert {key: document[key] for key in sent} == sent


def test_created_as_reached_was_reached_by_its_created_event(client: Client, project: str) -> None:
    head = client.head()
    before = datetime.now(UTC)
    document, etag = client.create(projectId=project, status="reached")
    after = datetime.now(UTC)
    check_document(document)
    assert document["status"] == "reached"
    assert document["reachedAt"] == document["createdAt"]
    check_recent(document["reachedAt"], before, after)
    assert etag == '"1"'
    assert client.head() == head + 1  # one Created event, nothing else
    assert client.get(document["id"]) == (document, '"1"')


@pytest.mark.parametrize("status", ["pending", "in_progress", "reached"])
def test_create_ignores_id_created_at_and_reached_at(
    client: Client, project: str, status: str
) -> None:
    other, _ = client.create(projectId=project)
    before = datetime.now(UTC)
    document, _ = client.create(
        projectId=project,
        status=status,
        id=other["id"],
        createdAt="2001-01-01T00:00:00.000Z",
        reachedAt="2001-01-01T00:00:00.000Z",
    )
    after = datetime.now(UTC)
    check_document(document)
    assert document["id"] != other["id"]
    check_recent(document["createdAt"], before, after)
    expected_reached_at = document["createdAt"] if status == "reached" else None
    assert document["reachedAt"] == expected_reached_at
    assert client.get(other["id"])[0] == other  # the id sent did not touch the other one


def test_create_accepts_a_whole_object_sent_back(client: Client, project: str) -> None:
    original, _ = client.create(projectId=project, description="copy me", dueDate="2026-05-01")
    status, _, body = client.request("POST", "/api/milestones", original)
    assert status == 201, body
    copy = check_document(body["data"])
    assert copy["id"] != original["id"]
    for key in ("projectId", "title", "description", "status", "dueDate"):
        assert copy[key] == original[key]


def test_create_with_a_chunked_body(client: Client, project: str) -> None:
    head = client.head()
    payload = json.dumps({"projectId": project, "title": "Sent in chunks"}).encode()
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/milestones",
            body=iter([payload[:10], payload[10:]]),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()
    assert status == 201, raw
    assert json.loads(raw)["data"]["title"] == "Sent in chunks"
    assert client.head() == head + 1


# Ids


def test_ids_sort_in_creation_order(client: Client, project: str) -> None:
    ids = []
    for index in range(6):
        document, _ = client.create(projectId=project, title=f"#{index}")
        ids.append(document["id"])
        time.sleep(0.003)  # a few milliseconds apart
    assert all(ID.fullmatch(milestone_id) for milestone_id in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_sort_in_creation_order_back_to_back(client: Client, project: str) -> None:
    """Each POST is sent only after the previous one was answered, so creation order is clear.

    The next connection is opened before the current request goes out, so the other
    (idle) worker has already accepted it: consecutive creates alternate between the two
    workers and follow each other as closely as HTTP allows. Only a pair created within one
    millisecond can come out of order (the id's time part orders the rest), so this goes
    on until it has seen SAME_MILLISECOND such pairs, or skips as inconclusive if the host
    is too slow to produce them within the time budget.
    """
    same_millisecond = 24  # all in order by chance: 2**-24 if the order were random
    body = json.dumps({"projectId": project, "title": "back to back"}).encode()
    headers = {"Content-Type": "application/json"}

    def connect() -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
        connection.connect()
        return connection

    previous = {"id": "", "createdAt": ""}
    pairs = creates = 0
    deadline = time.monotonic() + 15
    following = connect()
    try:
        while pairs < same_millisecond and time.monotonic() < deadline:
            current, following = following, connect()
            try:
                current.request("POST", "/api/milestones", body=body, headers=headers)
                response = current.getresponse()
                status, raw = response.status, response.read()
            finally:
                current.close()
            assert status == 201, raw
            document = json.loads(raw)["data"]
            creates += 1
            assert document["id"] > previous["id"], (
                f"create #{creates} at {document['createdAt']}: {document['id']} sorts before "
                f"{previous['id']}, created before it at {previous['createdAt']}"
            )
            pairs += document["createdAt"] == previous["createdAt"]
            previous = document
    finally:
        following.close()
    if pairs < same_millisecond:
        pytest.skip(f"inconclusive: {pairs} of {creates} back-to-back creates shared a millisecond")


# List


def test_list_filters_and_order(client: Client, project: str) -> None:
    other_project = f"{project}_other"
    created = [
        client.create(projectId=project, title="one")[0],
        client.create(projectId=project, title="two", status="in_progress")[0],
        client.create(projectId=other_project, title="elsewhere")[0],
        client.create(projectId=project, title="three", status="reached")[0],
        client.create(projectId=project, title="four")[0],
    ]
    mine = [document for document in created if document["projectId"] == project]

    def listed(query: str) -> list[dict[str, Any]]:
        status, headers, body = client.request("GET", f"/api/milestones{query}")
        assert status == 200, body
        assert headers.get_content_type() == "application/json"
        assert list(body) == ["data", "count"]
        assert body["count"] == len(body["data"])
        return [check_document(document) for document in body["data"]]

    assert listed(f"?projectId={project}") == mine
    assert listed(f"?projectId={other_project}") == [created[2]]
    assert listed(f"?projectId={project}&status=pending") == [mine[0], mine[3]]
    assert listed(f"?status=in_progress&projectId={project}") == [mine[1]]
    assert listed(f"?projectId={project}&status=reached") == [mine[2]]
    assert listed(f"?projectId={project}_nobody") == []
    # A parameter the route does not define is a 400 naming it, never ignored.
    query = f"?projectId={project}&status=pending&limit=1&sort=-createdAt&foo="
    unknown = client.request("GET", f"/api/milestones{query}")
    assert_problem(unknown, 400, {"limit", "sort", "foo"})

    everything = listed("")
    assert [(d["createdAt"], d["id"]) for d in everything] == sorted(
        (d["createdAt"], d["id"]) for d in everything
    )
    ids = [document["id"] for document in everything]
    assert len(set(ids)) == len(ids)
    assert {document["id"] for document in created} <= set(ids)
    for status in STATUSES:
        subset = listed(f"?status={status}")
        assert subset == [document for document in everything if document["status"] == status]


def test_list_reflects_updates(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    status, _, body = client.request("PATCH", path_of(document["id"]), {"status": "reached"})
    assert status == 200, body
    status, _, body = client.request("GET", f"/api/milestones?projectId={project}&status=pending")
    assert body == {"data": [], "count": 0}
    status, _, body = client.request("GET", f"/api/milestones?projectId={project}&status=reached")
    assert body["count"] == 1
    assert body["data"][0]["id"] == document["id"]
    assert body["data"][0]["reachedAt"] is not None


# Update


def test_patch_is_a_partial_update(client: Client, project: str) -> None:
    document, _ = client.create(
        projectId=project, title="Old", description="kept", dueDate="2026-03-01"
    )
    path = path_of(document["id"])
    # Each change and the events it records (section 6: field changes are one Updated event,
    # a status change is its own StatusChanged event).
    steps: list[tuple[dict[str, Any], int]] = [
        ({"title": "New"}, 1),
        ({"description": "changed"}, 1),
        ({"dueDate": "2026-04-01T12:00:00+02:00"}, 1),
        ({"dueDate": None}, 1),
        ({"status": "in_progress"}, 1),
        ({"title": "Both", "description": "at once"}, 1),
        ({"status": "pending", "title": "And the status"}, 2),
    ]
    expected = dict(document)
    version = 1
    for sent, events in steps:
        head = client.head()
        status, headers, body = client.request("PATCH", path, sent)
        assert status == 200, body
        assert headers.get_content_type() == "application/json"
        expected |= sent
        assert check_document(body["data"]) == expected
        # The ETag is the aggregate's version: one more per event the PATCH recorded.
        assert client.head() == head + events
        version += events
        assert headers["ETag"] == f'"{version}"'
        assert client.get(document["id"]) == (expected, f'"{version}"')


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"title": "Same"}, id="same-title"),
        pytest.param({"status": "in_progress"}, id="same-status"),
        pytest.param({"description": "same", "dueDate": "2026-03-01T00:00:00Z"}, id="same-rest"),
        pytest.param({"reachedAt": None}, id="same-reachedAt"),
        pytest.param(
            {"id": "ms_00000000000000000000000000", "projectId": "x", "createdAt": "2001-01-01"},
            id="ignored-only",
        ),
        pytest.param(None, id="whole-object"),
    ],
)
def test_noop_patch_records_nothing(client: Client, project: str, body: Any) -> None:
    document, etag = client.create(
        projectId=project,
        title="Same",
        description="same",
        status="in_progress",
        dueDate="2026-03-01T00:00:00Z",
    )
    head = client.head()
    status, headers, response = client.request(
        "PATCH", path_of(document["id"]), document if body is None else body
    )
    assert status == 200, response
    assert response == {"data": document}
    assert headers["ETag"] == etag == '"1"'
    assert client.head() == head
    assert client.get(document["id"]) == (document, etag)


def test_reached_at_is_set_on_reaching_and_kept_afterwards(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    path = path_of(document["id"])

    def patch(status: str) -> tuple[dict[str, Any], str]:
        head = client.head()
        code, headers, body = client.request("PATCH", path, {"status": status})
        assert code == 200, body
        assert client.head() == head + 1
        assert client.get(document["id"]) == (body["data"], headers["ETag"])
        return check_document(body["data"]), headers["ETag"]

    before = datetime.now(UTC)
    reached, etag = patch("reached")
    after = datetime.now(UTC)
    assert etag == '"2"'
    assert reached["status"] == "reached"
    check_recent(reached["reachedAt"], before, after)
    assert instant(reached["reachedAt"]) >= instant(reached["createdAt"])
    first_reached_at = reached["reachedAt"]

    time.sleep(0.01)  # a later reach would get a later timestamp
    left, etag = patch("in_progress")
    assert (left["status"], left["reachedAt"], etag) == ("in_progress", first_reached_at, '"3"')
    left, etag = patch("pending")
    assert (left["status"], left["reachedAt"], etag) == ("pending", first_reached_at, '"4"')
    again, etag = patch("reached")
    assert (again["status"], again["reachedAt"], etag) == ("reached", first_reached_at, '"5"')


def test_leaving_reached_keeps_the_created_reached_at(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project, status="reached")
    status, _, body = client.request("PATCH", path_of(document["id"]), {"status": "pending"})
    assert status == 200, body
    assert body["data"]["status"] == "pending"
    assert body["data"]["reachedAt"] == document["createdAt"]


def test_patch_reached_at_explicitly(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    path = path_of(document["id"])
    steps: list[tuple[dict[str, Any], str | None, int]] = [
        # Whole seconds in another offset: stored in UTC, shown at millisecond precision.
        ({"reachedAt": "2026-01-01T12:00:00+02:00"}, "2026-01-01T10:00:00.000Z", 2),
        # Sending back the value as shown is no change.
        ({"reachedAt": "2026-01-01T10:00:00.000Z"}, "2026-01-01T10:00:00.000Z", 2),
        ({"reachedAt": "2026-01-02T03:04:05.678901Z"}, "2026-01-02T03:04:05.678Z", 3),
        ({"reachedAt": "2026-01-02T03:04:05.6-01:30"}, "2026-01-02T04:34:05.600Z", 4),
        # An explicit reachedAt is not replaced when the milestone is then reached.
        ({"status": "reached"}, "2026-01-02T04:34:05.600Z", 5),
        ({"reachedAt": None}, None, 6),
    ]
    version = 1
    for change, reached_at, new_version in steps:
        head = client.head()
        status, headers, body = client.request("PATCH", path, change)
        assert status == 200, body
        assert check_document(body["data"])["reachedAt"] == reached_at, change
        assert headers["ETag"] == f'"{new_version}"'
        assert client.head() == head + new_version - version
        version = new_version
        # The view that GET reads shows exactly what the write answered.
        assert client.get(document["id"]) == (body["data"], f'"{version}"')


def test_create_accepts_escaped_surrogate_pairs(client: Client, project: str) -> None:
    raw = f'{{"projectId": "{project}", "title": "Launch \\ud83d\\ude80 day"}}'
    status, _, body = client.request(
        "POST", "/api/milestones", raw, {"Content-Type": "application/json"}
    )
    assert status == 201, body
    assert body["data"]["title"] == "Launch \U0001f680 day"
    assert client.get(body["data"]["id"])[0] == body["data"]


def test_patch_ignores_id_created_at_and_project_id(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    other, _ = client.create(projectId=project)
    status, headers, body = client.request(
        "PATCH",
        path_of(document["id"]),
        {
            "id": other["id"],
            "projectId": f"{project}_moved",
            "createdAt": "2001-01-01T00:00:00.000Z",
            "title": "Renamed",
        },
    )
    assert status == 200, body
    assert body["data"] == document | {"title": "Renamed"}
    assert headers["ETag"] == '"2"'
    assert client.get(document["id"])[0] == document | {"title": "Renamed"}
    assert client.get(other["id"])[0] == other


def test_patch_accepts_a_whole_object_sent_back(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project, title="Before")
    head = client.head()
    sent = document | {"title": "After", "projectId": "ignored", "createdAt": "2001-01-01"}
    status, headers, body = client.request("PATCH", path_of(document["id"]), sent)
    assert status == 200, body
    assert body["data"] == document | {"title": "After"}
    assert headers["ETag"] == '"2"'
    assert client.head() == head + 1


def test_patch_accepts_json_with_a_charset_and_merge_patch(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    for version, content_type in enumerate(
        ["application/json; charset=utf-8", "application/merge-patch+json"], start=2
    ):
        status, headers, body = client.request(
            "PATCH",
            path_of(document["id"]),
            json.dumps({"title": content_type}),
            {"Content-Type": content_type},
        )
        assert status == 200, body
        assert body["data"]["title"] == content_type
        assert headers["ETag"] == f'"{version}"'


# Delete


def test_delete(client: Client, project: str) -> None:
    document, _ = client.create(projectId=project)
    kept, _ = client.create(projectId=project)
    path = path_of(document["id"])

    head = client.head()
    status, headers, body = client.request("DELETE", path)
    assert status == 200, body
    assert headers.get_content_type() == "application/json"
    assert body == {"data": {"id": document["id"], "deleted": True}}
    assert client.head() == head + 1

    head = client.head()
    for method, sent in (("GET", None), ("PATCH", {"title": "ghost"}), ("DELETE", None)):
        status, headers, body = client.request(method, path, sent)
        assert status == 404, (method, body)
        assert headers.get_content_type() == "application/problem+json"
        assert body["status"] == 404
    assert client.head() == head

    status, _, body = client.request("GET", f"/api/milestones?projectId={project}")
    assert body == {"data": [kept], "count": 1}
    status, _, body = client.request("GET", "/api/milestones")
    assert document["id"] not in {listed["id"] for listed in body["data"]}

    # Ids are never reused.
    fresh, _ = client.create(projectId=project)
    assert fresh["id"] not in {document["id"], kept["id"]}


# If-Match


def _version_two(client: Client, project: str) -> tuple[dict[str, Any], str]:
    document, _ = client.create(projectId=project, title="v1")
    status, headers, body = client.request("PATCH", path_of(document["id"]), {"title": "v2"})
    assert (status, headers["ETag"]) == (200, '"2"'), body
    return body["data"], headers["ETag"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ['"2"', "*", '"1", "2"', '"7" , "2" , "9"'])
def test_if_match_that_matches(client: Client, project: str, method: str, if_match: str) -> None:
    document, _ = _version_two(client, project)
    head = client.head()
    body = {"title": "v3"} if method == "PATCH" else None
    status, headers, response = client.request(
        method, path_of(document["id"]), body, {"If-Match": if_match}
    )
    assert status == 200, response
    assert client.head() == head + 1
    if method == "PATCH":
        assert headers["ETag"] == '"3"'
        assert response["data"] == document | {"title": "v3"}
    else:
        assert response == {"data": {"id": document["id"], "deleted": True}}
        assert client.request("GET", path_of(document["id"]))[0] == 404


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    "if_match",
    [
        pytest.param('"1"', id="stale"),
        pytest.param('"3"', id="future"),
        pytest.param('W/"2"', id="weak-current"),
        pytest.param("2", id="unquoted"),
        pytest.param('"abc"', id="garbage"),
        pytest.param("banana", id="bare-garbage"),
        pytest.param('"2', id="unterminated"),
        pytest.param('"1", W/"2"', id="stale-and-weak"),
    ],
)
def test_if_match_that_does_not_match(
    client: Client, project: str, method: str, if_match: str
) -> None:
    document, etag = _version_two(client, project)
    head = client.head()
    body = {"title": "v3"} if method == "PATCH" else None
    status, headers, response = client.request(
        method, path_of(document["id"]), body, {"If-Match": if_match}
    )
    assert status == 412, response
    assert headers.get_content_type() == "application/problem+json"
    assert response["status"] == 412
    assert client.head() == head
    assert client.get(document["id"]) == (document, etag)


def test_if_match_on_a_noop_patch(client: Client, project: str) -> None:
    document, etag = _version_two(client, project)
    head = client.head()
    status, headers, body = client.request(
        "PATCH", path_of(document["id"]), {"title": "v2"}, {"If-Match": etag}
    )
    assert (status, headers["ETag"], body) == (200, etag, {"data": document})
    status, _, body = client.request(
        "PATCH", path_of(document["id"]), {"title": "v2"}, {"If-Match": '"1"'}
    )
    assert status == 412, body
    assert client.head() == head
