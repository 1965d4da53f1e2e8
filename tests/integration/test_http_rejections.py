"""Every rejection of contract section 4, in-process: RFC 9457 problems that record nothing.

All tests of this module share one service per backend (``shared_service``). Each rejected
request is checked to leave the log's head, the view's position and the list of milestones
as they were, and the milestone it aimed at exactly as it was (version 1). What only a
real server can show (bodies read off a socket, chunked bodies over the limit, stalled and
truncated bodies, raw request lines) is in tests/e2e/test_rejections.py and
test_hardening.py.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests import api_client
from tests.api_client import assert_problem

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tests.integration.app_client import AppClient

MAX_BODY = 64 * 1024
NEVER_EXISTED = "ms_00000000000000000000000000"


def rejected(
    api: AppClient,
    method: str,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    status: int,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """A request that must be rejected: no event recorded, and the view as it was."""
    before = api.ready(), api.request("GET", "/api/milestones")[2]
    problem = api_client.rejected(api, method, path, body, headers, status=status, fields=fields)
    assert (api.ready(), api.request("GET", "/api/milestones")[2]) == before
    return problem


@pytest.fixture
def milestone(api: AppClient) -> Iterator[dict[str, Any]]:
    """A live milestone; after the test it must be exactly as it was (version 1)."""
    document, etag = api.create(
        projectId=f"proj_{uuid.uuid4().hex[:12]}",
        title="Target",
        description="untouched",
        dueDate="2026-03-01",
    )
    assert etag == '"1"'
    yield document
    assert api.get(document["id"]) == (document, '"1"'), "a rejected request changed it"


def path_of(milestone: dict[str, Any]) -> str:
    return f"/api/milestones/{milestone['id']}"


JSON = {"Content-Type": "application/json"}

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"projectId": "p", "title": ', id="truncated"),
    pytest.param(b"{projectId: 'p', title: 't'}", id="unquoted"),
    pytest.param(b'{"projectId": "p", "title": "t",}', id="trailing-comma"),
    pytest.param(b'{"projectId": "p", "title": "t"} {}', id="two-documents"),
    pytest.param(b'{"projectId": "p", "title": "t\xff"}', id="not-utf8"),
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"{", id="open-brace"),
    pytest.param(b"{'projectId': 'p'}", id="single-quotes"),
    pytest.param(b"\xff\xfe", id="byte-order-mark"),
    pytest.param(b"nul", id="bare-word"),
]

NOT_AN_OBJECT = [
    pytest.param(b"[]", id="empty-array"),
    pytest.param(b'[{"projectId": "p", "title": "t"}]', id="array-of-object"),
    pytest.param(b'"projectId"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"1.5", id="fraction"),
    pytest.param(b"true", id="boolean"),
    pytest.param(b"null", id="null"),
]


# 400: the body


@pytest.mark.parametrize("body", MALFORMED)
def test_post_malformed_json(api: AppClient, body: bytes) -> None:
    rejected(api, "POST", "/api/milestones", body, JSON, status=400)


@pytest.mark.parametrize("body", MALFORMED)
def test_patch_malformed_json(api: AppClient, milestone: dict[str, Any], body: bytes) -> None:
    rejected(api, "PATCH", path_of(milestone), body, JSON, status=400)


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_post_body_not_an_object(api: AppClient, body: bytes) -> None:
    rejected(api, "POST", "/api/milestones", body, JSON, status=400)


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_patch_body_not_an_object(api: AppClient, milestone: dict[str, Any], body: bytes) -> None:
    rejected(api, "PATCH", path_of(milestone), body, JSON, status=400)


VALID = {"projectId": "proj_rejected", "title": "Would be valid"}

POST_INVALID = [
    # wrong types
    pytest.param({"projectId": 1}, {"projectId"}, id="projectId-number"),
    pytest.param({"projectId": None}, {"projectId"}, id="projectId-null"),
    pytest.param({"title": ["t"]}, {"title"}, id="title-array"),
    pytest.param({"title": True}, {"title"}, id="title-boolean"),
    pytest.param({"description": None}, {"description"}, id="description-null"),
    pytest.param({"description": 5}, {"description"}, id="description-number"),
    pytest.param({"description": ["a"]}, {"description"}, id="description-array"),
    pytest.param({"status": 1}, {"status"}, id="status-number"),
    pytest.param({"status": None}, {"status"}, id="status-null"),
    pytest.param({"dueDate": 20260301}, {"dueDate"}, id="dueDate-number"),
    pytest.param({"dueDate": {"date": "2026-03-01"}}, {"dueDate"}, id="dueDate-object"),
    # empty or too long
    pytest.param({"projectId": ""}, {"projectId"}, id="projectId-empty"),
    pytest.param({"projectId": "   "}, {"projectId"}, id="projectId-blank"),
    pytest.param({"title": ""}, {"title"}, id="title-empty"),
    pytest.param({"title": " \t\n"}, {"title"}, id="title-blank"),
    pytest.param({"projectId": "p" * 101}, {"projectId"}, id="projectId-101"),
    pytest.param({"title": "t" * 201}, {"title"}, id="title-201"),
    pytest.param({"description": "d" * 10_001}, {"description"}, id="description-10001"),
    # unknown fields
    pytest.param({"priority": "high"}, {"priority"}, id="unknown-field"),
    pytest.param({"Title": "t", "project_id": "p"}, {"Title", "project_id"}, id="unknown-two"),
    pytest.param({"version": 1}, {"version"}, id="unknown-version"),
    pytest.param({"priority": "high", "owner": "me"}, {"priority", "owner"}, id="unknown-pair"),
    # bad enum
    pytest.param({"status": "done"}, {"status"}, id="status-done"),
    pytest.param({"status": "Reached"}, {"status"}, id="status-case"),
    pytest.param({"status": "in-progress"}, {"status"}, id="status-dash"),
    pytest.param({"status": ""}, {"status"}, id="status-empty"),
    # bad dates
    pytest.param({"dueDate": "2026-02-30"}, {"dueDate"}, id="dueDate-feb-30"),
    pytest.param({"dueDate": "2026-13-01"}, {"dueDate"}, id="dueDate-month-13"),
    pytest.param({"dueDate": "2026-03-01T25:00:00Z"}, {"dueDate"}, id="dueDate-hour-25"),
    pytest.param({"dueDate": "2026-03-01T00:00:00"}, {"dueDate"}, id="dueDate-no-offset"),
    pytest.param({"dueDate": "01/03/2026"}, {"dueDate"}, id="dueDate-slashes"),
    pytest.param({"dueDate": "tomorrow"}, {"dueDate"}, id="dueDate-word"),
    pytest.param({"dueDate": ""}, {"dueDate"}, id="dueDate-empty"),
    pytest.param({"dueDate": "2026-03-01 00:00:00Z"}, {"dueDate"}, id="dueDate-space"),
    pytest.param({"dueDate": "\uff12\uff10\uff12\uff16-03-01"}, {"dueDate"}, id="dueDate-wide"),
]


@pytest.mark.parametrize(("change", "fields"), POST_INVALID)
def test_post_invalid_field(api: AppClient, change: dict[str, Any], fields: set[str]) -> None:
    rejected(api, "POST", "/api/milestones", VALID | change, status=400, fields=fields)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({}, {"projectId", "title"}, id="nothing"),
        pytest.param({"title": "t"}, {"projectId"}, id="no-projectId"),
        pytest.param({"projectId": "p"}, {"title"}, id="no-title"),
        pytest.param(
            {"description": "d", "status": "reached", "dueDate": "2026-03-01"},
            {"projectId", "title"},
            id="only-optional",
        ),
        pytest.param({"projectId": 1, "title": True}, {"projectId", "title"}, id="both-typed"),
        pytest.param({"projectId": " ", "title": ""}, {"projectId", "title"}, id="both-blank"),
        pytest.param(
            {"title": 5, "status": "x", "dueDate": "x", "extra": 1},
            {"projectId", "title", "status", "dueDate", "extra"},
            id="every-kind",
        ),
    ],
)
def test_post_missing_required_fields(
    api: AppClient, body: dict[str, Any], fields: set[str]
) -> None:
    rejected(api, "POST", "/api/milestones", body, status=400, fields=fields)


@pytest.mark.parametrize("text", ["\\ud800", "before \\udfff after", "\\udc00\\ud800"])
def test_post_lone_surrogate_is_a_bad_request(api: AppClient, text: str) -> None:
    body = f'{{"projectId": "proj_surrogate", "title": "{text}"}}'
    rejected(api, "POST", "/api/milestones", body, JSON, status=400)


def test_patch_lone_surrogate_is_a_bad_request(api: AppClient, milestone: dict[str, Any]) -> None:
    rejected(api, "PATCH", path_of(milestone), '{"description": "\\ud800"}', JSON, status=400)


def test_post_names_every_bad_field(api: AppClient) -> None:
    body = {
        "title": "",
        "description": 5,
        "status": "done",
        "dueDate": "soon",
        "colour": "red",
    }
    rejected(
        api,
        "POST",
        "/api/milestones",
        body,
        status=400,
        fields={"projectId", "title", "description", "status", "dueDate", "colour"},
    )


PATCH_INVALID = [
    pytest.param({"projectId": "elsewhere"}, {"projectId"}, id="projectId-other"),
    pytest.param({"id": "ms_00000000000000000000000000"}, {"id"}, id="id-other"),
    pytest.param({"createdAt": "2001-01-01T00:00:00Z"}, {"createdAt"}, id="createdAt-other"),
    pytest.param({"title": 5}, {"title"}, id="title-number"),
    pytest.param({"title": None}, {"title"}, id="title-null"),
    pytest.param({"title": ""}, {"title"}, id="title-empty"),
    pytest.param({"title": "   "}, {"title"}, id="title-blank"),
    pytest.param({"title": "t" * 201}, {"title"}, id="title-201"),
    pytest.param({"description": None}, {"description"}, id="description-null"),
    pytest.param({"description": ["d"]}, {"description"}, id="description-array"),
    pytest.param({"description": 5}, {"description"}, id="description-number"),
    pytest.param({"description": "d" * 10_001}, {"description"}, id="description-10001"),
    pytest.param({"status": "bogus"}, {"status"}, id="status-bogus"),
    pytest.param({"status": None}, {"status"}, id="status-null"),
    pytest.param({"status": ["reached"]}, {"status"}, id="status-array"),
    pytest.param({"dueDate": "2026-02-30"}, {"dueDate"}, id="dueDate-feb-30"),
    pytest.param({"dueDate": 1}, {"dueDate"}, id="dueDate-number"),
    pytest.param({"reachedAt": "2026-03-01"}, {"reachedAt"}, id="reachedAt-date-only"),
    pytest.param({"reachedAt": "2026-03-01T10:00:00"}, {"reachedAt"}, id="reachedAt-no-offset"),
    pytest.param({"reachedAt": "yesterday"}, {"reachedAt"}, id="reachedAt-word"),
    pytest.param({"reachedAt": 1767225600}, {"reachedAt"}, id="reachedAt-number"),
    pytest.param({"reachedAt": "2026-02-30T10:00:00Z"}, {"reachedAt"}, id="reachedAt-feb-30"),
    pytest.param({"priority": "high"}, {"priority"}, id="unknown-field"),
    pytest.param({"deleted": True}, {"deleted"}, id="unknown-deleted"),
    pytest.param({"title": "ok", "status": "reached", "nope": 1}, {"nope"}, id="valid-and-unknown"),
    pytest.param(
        {"title": "", "status": "done", "reachedAt": "x", "owner": "me", "description": 1},
        {"title", "status", "reachedAt", "owner", "description"},
        id="every-bad-field",
    ),
    # A valid change next to a bad one is not applied either.
    pytest.param({"title": "Changed", "status": "done"}, {"status"}, id="valid-and-invalid"),
]


@pytest.mark.parametrize(("body", "fields"), PATCH_INVALID)
def test_patch_invalid_field(
    api: AppClient, milestone: dict[str, Any], body: dict[str, Any], fields: set[str]
) -> None:
    rejected(api, "PATCH", path_of(milestone), body, status=400, fields=fields)


def test_patch_reached_at_later_than_now(api: AppClient, milestone: dict[str, Any]) -> None:
    problem = rejected(
        api,
        "PATCH",
        path_of(milestone),
        {"reachedAt": "2999-01-01T00:00:00Z", "title": "Changed"},
        status=400,
        fields={"reachedAt"},
    )
    assert problem["errors"] == [{"field": "reachedAt", "message": "must not be later than now"}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"reachedAt": None}, id="null"),
        pytest.param({"reachedAt": None, "status": "reached"}, id="null-staying-reached"),
    ],
)
def test_patch_leaving_a_reached_milestone_without_reached_at(
    api: AppClient, body: dict[str, Any]
) -> None:
    document, _ = api.create(projectId="proj_reached", title="Done", status="reached")
    rejected(api, "PATCH", path_of(document), body, status=400, fields={"reachedAt"})
    assert api.get(document["id"]) == (document, '"1"')


# 400: the query


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        pytest.param("status=bogus", {"status"}, id="status-bogus"),
        pytest.param("status=", {"status"}, id="status-empty"),
        pytest.param("status", {"status"}, id="status-bare"),
        pytest.param("status=PENDING", {"status"}, id="status-case"),
        pytest.param("status=pending,bogus", {"status"}, id="status-list-unknown-member"),
        pytest.param("status=pending,", {"status"}, id="status-list-empty-member"),
        pytest.param("projectId=p&status=bogus&foo=bar", {"status", "foo"}, id="with-unknown"),
        pytest.param("projectId=", {"projectId"}, id="projectId-empty"),
        pytest.param("projectid=p", {"projectid"}, id="misspelt-filter"),
        pytest.param("status=reached&status=pending", {"status"}, id="status-twice"),
        pytest.param("status=Reached", {"status"}, id="status-capitalised"),
        pytest.param("status=pending&status=reached", {"status"}, id="status-twice"),
    ],
)
def test_list_bad_query_values(api: AppClient, query: str, fields: set[str]) -> None:
    rejected(api, "GET", f"/api/milestones?{query}", status=400, fields=fields)


@pytest.mark.parametrize(
    "query", ["version=0", "version=x", "version=", "asOf=soon", "asOf=", "version=1&asOf=x"]
)
def test_bad_time_travel_query(api: AppClient, milestone: dict[str, Any], query: str) -> None:
    rejected(api, "GET", f"{path_of(milestone)}?{query}", status=400)


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
def test_bad_event_feed_query(api: AppClient, query: str) -> None:
    rejected(api, "GET", f"/api/events?{query}", status=400, fields={query.partition("=")[0]})


# 404


@pytest.mark.parametrize(
    "milestone_id",
    [
        NEVER_EXISTED,
        "ms_7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "ms_nope",
        "42",
        "ms_01m8g4t274e9t9j85b0a5mf4r5",
        "ms_01",
        "nope",
        "ms_" + "8" * 26,
    ],
)
def test_unknown_id(api: AppClient, milestone_id: str) -> None:
    path = f"/api/milestones/{milestone_id}"
    for method, body in (("GET", None), ("PATCH", {"title": "ghost"}), ("DELETE", None)):
        rejected(api, method, path, body, status=404)
    rejected(api, "GET", f"{path}/history", status=404)
    rejected(api, "GET", f"{path}?version=1", status=404)


def test_lowercase_spelling_of_a_real_id_is_unknown(
    api: AppClient, milestone: dict[str, Any]
) -> None:
    lowercase = milestone["id"][:3] + milestone["id"][3:].lower()
    for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        rejected(api, method, f"/api/milestones/{lowercase}", body, status=404)


def test_deleted_id(api: AppClient) -> None:
    document, _ = api.create(projectId=f"proj_{uuid.uuid4().hex[:12]}")
    assert api.request("DELETE", f"/api/milestones/{document['id']}")[0] == 200
    for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        rejected(api, method, f"/api/milestones/{document['id']}", body, status=404)
    rejected(
        api,
        "PATCH",
        f"/api/milestones/{document['id']}",
        {"title": "x"},
        {"If-Match": "*"},
        status=404,
    )
    rejected(
        api, "DELETE", f"/api/milestones/{document['id']}", None, {"If-Match": '"2"'}, status=404
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/index.html"),
        ("GET", "/api"),
        ("GET", "/api/milestone"),
        ("GET", "/api/milestones/x/y"),
        ("GET", "/api/project"),
        ("GET", "/nope"),
        ("POST", "/nope/"),
        ("POST", "/api"),
        ("POST", "/api/milestone"),
        ("POST", "/api/milestones/x/y"),
        ("POST", "/nope"),
        ("PATCH", "/api/milestones/x/history/y"),
    ],
)
def test_unknown_route(api: AppClient, method: str, path: str) -> None:
    body = VALID if method in {"POST", "PATCH"} else None
    rejected(api, method, path, body, status=404)


# 405


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/milestones", {"GET", "POST"}),
        ("PATCH", "/api/milestones", {"GET", "POST"}),
        ("DELETE", "/api/milestones", {"GET", "POST"}),
        ("PUT", "/api/milestones/{id}", {"GET", "PATCH", "DELETE"}),
        ("POST", "/api/milestones/{id}", {"GET", "PATCH", "DELETE"}),
        ("POST", "/api/milestones/{id}/history", {"GET"}),
        ("DELETE", "/api/events", {"GET"}),
        ("POST", "/health", {"GET"}),
        ("DELETE", "/ready", {"GET"}),
    ],
)
def test_wrong_method(
    api: AppClient, milestone: dict[str, Any], method: str, path: str, allowed: set[str]
) -> None:
    head = api.head()
    body = None if method == "DELETE" else VALID
    response = api.request(method, path.format(id=milestone["id"]), body)
    assert_problem(response, 405)
    allow = {name.strip().upper() for name in response[1]["Allow"].split(",")}
    assert allowed <= allow, allow
    assert method not in allow
    assert api.head() == head


# 412


@pytest.mark.parametrize(
    "if_match", ['"2"', '"0"', 'W/"1"', '"abc"', "1", "garbage", '""', '"1" x']
)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_failed_if_match(
    api: AppClient, milestone: dict[str, Any], method: str, if_match: str
) -> None:
    body = {"title": "Changed"} if method == "PATCH" else None
    rejected(api, method, path_of(milestone), body, {"If-Match": if_match}, status=412)


def test_if_match_after_another_write(api: AppClient) -> None:
    document, etag = api.create(projectId=f"proj_{uuid.uuid4().hex[:12]}")
    changed = api.request("PATCH", path_of(document), {"title": "someone else"})
    assert changed[0] == 200, changed
    rejected(api, "PATCH", path_of(document), {"title": "mine"}, {"If-Match": etag}, status=412)


# 413


def _padded(body: dict[str, Any], size: int) -> bytes:
    """Valid JSON of exactly ``size`` bytes: the object, then insignificant whitespace."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_post_body_of_exactly_64_kib_is_accepted(api: AppClient) -> None:
    head = api.head()
    status, _, body = api.request("POST", "/api/milestones", _padded(VALID, MAX_BODY), JSON)
    assert status == 201, body
    assert api.head() == head + 1


@pytest.mark.parametrize("size", [MAX_BODY + 1, 2 * MAX_BODY])
def test_post_body_over_64_kib(api: AppClient, size: int) -> None:
    rejected(api, "POST", "/api/milestones", _padded(VALID, size), JSON, status=413)


@pytest.mark.parametrize("size", [MAX_BODY + 1, 2 * MAX_BODY])
def test_patch_body_over_64_kib(api: AppClient, milestone: dict[str, Any], size: int) -> None:
    body = _padded({"title": "Changed"}, size)
    rejected(api, "PATCH", path_of(milestone), body, JSON, status=413)


def test_post_body_over_64_kib_without_content_type(api: AppClient) -> None:
    rejected(api, "POST", "/api/milestones", _padded(VALID, MAX_BODY + 1), status=413)


# 415 and the missing content type


UNSUPPORTED = [
    pytest.param("text/plain", json.dumps(VALID), id="text-plain"),
    pytest.param("text/plain; charset=utf-8", json.dumps(VALID), id="text-plain-charset"),
    pytest.param(
        "application/x-www-form-urlencoded", "projectId=proj_form&title=Form", id="form-encoded"
    ),
    pytest.param("application/xml", "<milestone/>", id="xml"),
    pytest.param("multipart/form-data; boundary=x", "--x--", id="multipart"),
    pytest.param("multipart/form-data", json.dumps(VALID), id="multipart-no-boundary"),
    pytest.param("text/json", json.dumps(VALID), id="text-json"),
]


@pytest.mark.parametrize(("content_type", "body"), UNSUPPORTED)
def test_post_unsupported_media_type(api: AppClient, content_type: str, body: str) -> None:
    rejected(api, "POST", "/api/milestones", body, {"Content-Type": content_type}, status=415)


@pytest.mark.parametrize(("content_type", "body"), UNSUPPORTED)
def test_patch_unsupported_media_type(
    api: AppClient, milestone: dict[str, Any], content_type: str, body: str
) -> None:
    rejected(api, "PATCH", path_of(milestone), body, {"Content-Type": content_type}, status=415)


def test_missing_content_type_is_read_as_json(api: AppClient) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    head = api.head()
    status, headers, body = api.request(
        "POST", "/api/milestones", json.dumps({"projectId": project, "title": "Untyped"})
    )
    assert status == 201, body
    assert body["data"]["projectId"] == project
    assert body["data"]["title"] == "Untyped"
    assert api.head() == head + 1

    status, headers, body = api.request(
        "PATCH", headers["Location"], json.dumps({"title": "Still untyped"})
    )
    assert status == 200, body
    assert body["data"]["title"] == "Still untyped"
    assert headers["ETag"] == '"2"'
    assert api.head() == head + 2

    # Read as JSON means rejected as JSON too.
    rejected(api, "POST", "/api/milestones", "projectId=p&title=t", status=400)


# The Idempotency-Key header


def test_an_idempotency_key_over_255_characters(api: AppClient) -> None:
    headers = {"Idempotency-Key": "k" * 256}
    rejected(api, "POST", "/api/milestones", VALID, headers, status=400)
