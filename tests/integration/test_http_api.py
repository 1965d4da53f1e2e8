"""What the API does with each valid request, in-process: create, list, update, delete and
If-Match (the seed and contract sections 1-5), through ``api``.

All tests of this module share one service per backend (``shared_service``), as the
end-to-end tests share a server: each works in a project of its own and checks the log's
head around what it does.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.integration.app_client import AppClient

# The first digit carries 3 bits of the 128: 0 to 7.
ID = re.compile(r"^ms_[0-7][0-9A-HJKMNP-TV-Z]{25}$", re.ASCII)
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


# Create


def test_create_with_defaults(api: AppClient, project: str) -> None:
    head = api.head()
    before = datetime.now(UTC)
    status, headers, body = api.request(
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
    assert api.head() == head + 1

    status, headers, body = api.request("GET", headers["Location"])
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
    api: AppClient, project: str, due_date: str | None
) -> None:
    sent = {
        "projectId": project,
        "title": "Design Phase Complete",
        "description": "All wireframes and design specs approved by stakeholders.",
        "status": "in_progress",
        "dueDate": due_date,
    }
    status, _, body = api.request("POST", "/api/milestones", sent)
    assert status == 201, body
    document = check_document(body["data"])
    for key, value in sent.items():
        assert document[key] == value
    assert document["reachedAt"] is None
    assert api.get(document["id"])[0] == document


def test_create_accepts_the_longest_values(api: AppClient) -> None:
    sent = {"projectId": "p" * 100, "title": "t" * 200, "description": "d" * 10_000}
    status, _, body = api.request("POST", "/api/milestones", sent)
    assert status == 201, body
    document = check_document(body["data"])
    assert {key: document[key] for key in sent} == sent


def test_created_as_reached_was_reached_by_its_created_event(api: AppClient, project: str) -> None:
    head = api.head()
    before = datetime.now(UTC)
    document, etag = api.create(projectId=project, status="reached")
    after = datetime.now(UTC)
    check_document(document)
    assert document["status"] == "reached"
    assert document["reachedAt"] == document["createdAt"]
    check_recent(document["reachedAt"], before, after)
    assert etag == '"1"'
    assert api.head() == head + 1  # one Created event, nothing else
    assert api.get(document["id"]) == (document, '"1"')


@pytest.mark.parametrize("status", ["pending", "in_progress", "reached"])
def test_create_ignores_id_created_at_and_reached_at(
    api: AppClient, project: str, status: str
) -> None:
    other, _ = api.create(projectId=project)
    before = datetime.now(UTC)
    document, _ = api.create(
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
    assert api.get(other["id"])[0] == other  # the id sent did not touch the other one


def test_create_accepts_a_whole_object_sent_back(api: AppClient, project: str) -> None:
    original, _ = api.create(projectId=project, description="copy me", dueDate="2026-05-01")
    status, _, body = api.request("POST", "/api/milestones", original)
    assert status == 201, body
    copy = check_document(body["data"])
    assert copy["id"] != original["id"]
    for key in ("projectId", "title", "description", "status", "dueDate"):
        assert copy[key] == original[key]


# List


def test_list_reflects_updates(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    status, _, body = api.request("PATCH", path_of(document["id"]), {"status": "reached"})
    assert status == 200, body
    status, _, body = api.request("GET", f"/api/milestones?projectId={project}&status=pending")
    assert body == {"data": [], "count": 0}
    status, _, body = api.request("GET", f"/api/milestones?projectId={project}&status=reached")
    assert body["count"] == 1
    assert body["data"][0]["id"] == document["id"]
    assert body["data"][0]["reachedAt"] is not None


# Update


def test_patch_is_a_partial_update(api: AppClient, project: str) -> None:
    document, _ = api.create(
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
        head = api.head()
        status, headers, body = api.request("PATCH", path, sent)
        assert status == 200, body
        assert headers.get_content_type() == "application/json"
        expected |= sent
        assert check_document(body["data"]) == expected
        # The ETag is the aggregate's version: one more per event the PATCH recorded.
        assert api.head() == head + events
        version += events
        assert headers["ETag"] == f'"{version}"'
        assert api.get(document["id"]) == (expected, f'"{version}"')


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"title": "Same"}, id="same-title"),
        pytest.param({"status": "in_progress"}, id="same-status"),
        pytest.param({"description": "same", "dueDate": "2026-03-01T00:00:00Z"}, id="same-rest"),
        pytest.param({"reachedAt": None}, id="same-reachedAt"),
        pytest.param("unchangeable", id="unchangeable-with-their-values"),
        pytest.param(None, id="whole-object"),
    ],
)
def test_noop_patch_records_nothing(api: AppClient, project: str, body: Any) -> None:
    document, etag = api.create(
        projectId=project,
        title="Same",
        description="same",
        status="in_progress",
        dueDate="2026-03-01T00:00:00Z",
    )
    head = api.head()
    if body == "unchangeable":
        body = {key: document[key] for key in ("id", "projectId", "createdAt")}
    status, headers, response = api.request(
        "PATCH", path_of(document["id"]), document if body is None else body
    )
    assert status == 200, response
    assert response == {"data": document}
    assert headers["ETag"] == etag == '"1"'
    assert api.head() == head
    assert api.get(document["id"]) == (document, etag)


def test_reached_at_is_set_on_reaching_and_kept_afterwards(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    path = path_of(document["id"])

    def patch(status: str) -> tuple[dict[str, Any], str]:
        head = api.head()
        code, headers, body = api.request("PATCH", path, {"status": status})
        assert code == 200, body
        assert api.head() == head + 1
        assert api.get(document["id"]) == (body["data"], headers["ETag"])
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


def test_leaving_reached_keeps_the_created_reached_at(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project, status="reached")
    status, _, body = api.request("PATCH", path_of(document["id"]), {"status": "pending"})
    assert status == 200, body
    assert body["data"]["status"] == "pending"
    assert body["data"]["reachedAt"] == document["createdAt"]


def test_patch_reached_at_explicitly(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
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
        # Cleared on the way out of reached (Updated, then StatusChanged); a reached
        # milestone may not lose it (tests/integration/test_http_rejections.py).
        ({"status": "in_progress", "reachedAt": None}, None, 7),
    ]
    version = 1
    for change, reached_at, new_version in steps:
        head = api.head()
        status, headers, body = api.request("PATCH", path, change)
        assert status == 200, body
        assert check_document(body["data"])["reachedAt"] == reached_at, change
        assert headers["ETag"] == f'"{new_version}"'
        assert api.head() == head + new_version - version
        version = new_version
        # The view that GET reads shows exactly what the write answered.
        assert api.get(document["id"]) == (body["data"], f'"{version}"')


def test_create_accepts_escaped_surrogate_pairs(api: AppClient, project: str) -> None:
    raw = f'{{"projectId": "{project}", "title": "Launch \\ud83d\\ude80 day"}}'
    status, _, body = api.request(
        "POST", "/api/milestones", raw, {"Content-Type": "application/json"}
    )
    assert status == 201, body
    assert body["data"]["title"] == "Launch \U0001f680 day"
    assert api.get(body["data"]["id"])[0] == body["data"]


def test_patch_refuses_another_id_created_at_and_project_id(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    other, _ = api.create(projectId=project)
    head = api.head()
    status, _, body = api.request(
        "PATCH",
        path_of(document["id"]),
        {
            "id": other["id"],
            "projectId": f"{project}_moved",
            "createdAt": "2001-01-01T00:00:00.000Z",
            "title": "Renamed",
        },
    )
    assert status == 400, body
    assert [error["field"] for error in body["errors"]] == ["id", "projectId", "createdAt"]
    assert api.head() == head
    assert api.get(document["id"])[0] == document
    assert api.get(other["id"])[0] == other


def test_patch_accepts_a_whole_object_sent_back(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project, title="Before")
    head = api.head()
    sent = document | {"title": "After"}
    status, headers, body = api.request("PATCH", path_of(document["id"]), sent)
    assert status == 200, body
    assert body["data"] == document | {"title": "After"}
    assert headers["ETag"] == '"2"'
    assert api.head() == head + 1


def test_patch_accepts_json_with_a_charset_and_merge_patch(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    for version, content_type in enumerate(
        ["application/json; charset=utf-8", "application/merge-patch+json"], start=2
    ):
        status, headers, body = api.request(
            "PATCH",
            path_of(document["id"]),
            json.dumps({"title": content_type}),
            {"Content-Type": content_type},
        )
        assert status == 200, body
        assert body["data"]["title"] == content_type
        assert headers["ETag"] == f'"{version}"'


# Delete


def test_delete(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    kept, _ = api.create(projectId=project)
    path = path_of(document["id"])

    head = api.head()
    status, headers, body = api.request("DELETE", path)
    assert status == 200, body
    assert headers.get_content_type() == "application/json"
    assert body == {"data": {"id": document["id"], "deleted": True}}
    assert api.head() == head + 1

    head = api.head()
    for method, sent in (("GET", None), ("PATCH", {"title": "ghost"}), ("DELETE", None)):
        status, headers, body = api.request(method, path, sent)
        assert status == 404, (method, body)
        assert headers.get_content_type() == "application/problem+json"
        assert body["status"] == 404
    assert api.head() == head

    status, _, body = api.request("GET", f"/api/milestones?projectId={project}")
    assert body == {"data": [kept], "count": 1}
    status, _, body = api.request("GET", "/api/milestones")
    assert document["id"] not in {listed["id"] for listed in body["data"]}

    # Its history stays readable.
    assert [event["type"] for event in api.history(document["id"])] == ["Created", "Deleted"]

    # Ids are never reused.
    fresh, _ = api.create(projectId=project)
    assert fresh["id"] not in {document["id"], kept["id"]}


# If-Match


def _version_two(api: AppClient, project: str) -> tuple[dict[str, Any], str]:
    document, _ = api.create(projectId=project, title="v1")
    status, headers, body = api.request("PATCH", path_of(document["id"]), {"title": "v2"})
    assert (status, headers["ETag"]) == (200, '"2"'), body
    return body["data"], headers["ETag"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ['"2"', "*", '"1", "2"', '"7" , "2" , "9"', ' "2" '])
def test_if_match_that_matches(api: AppClient, project: str, method: str, if_match: str) -> None:
    document, _ = _version_two(api, project)
    head = api.head()
    body = {"title": "v3"} if method == "PATCH" else None
    status, headers, response = api.request(
        method, path_of(document["id"]), body, {"If-Match": if_match}
    )
    assert status == 200, response
    assert api.head() == head + 1
    if method == "PATCH":
        assert headers["ETag"] == '"3"'
        assert response["data"] == document | {"title": "v3"}
    else:
        assert response == {"data": {"id": document["id"], "deleted": True}}
        assert api.request("GET", path_of(document["id"]))[0] == 404


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
    api: AppClient, project: str, method: str, if_match: str
) -> None:
    document, etag = _version_two(api, project)
    head = api.head()
    body = {"title": "v3"} if method == "PATCH" else None
    status, headers, response = api.request(
        method, path_of(document["id"]), body, {"If-Match": if_match}
    )
    assert status == 412, response
    assert headers.get_content_type() == "application/problem+json"
    assert response["status"] == 412
    assert api.head() == head
    assert api.get(document["id"]) == (document, etag)


def test_if_match_on_a_noop_patch(api: AppClient, project: str) -> None:
    document, etag = _version_two(api, project)
    head = api.head()
    status, headers, body = api.request(
        "PATCH", path_of(document["id"]), {"title": "v2"}, {"If-Match": etag}
    )
    assert (status, headers["ETag"], body) == (200, etag, {"data": document})
    status, _, body = api.request(
        "PATCH", path_of(document["id"]), {"title": "v2"}, {"If-Match": '"1"'}
    )
    assert status == 412, body
    assert api.head() == head
