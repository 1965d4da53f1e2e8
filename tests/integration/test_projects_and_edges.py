"""The list of projects and the friendlier edges of the API, in-process on both backends:
a PATCH that would change an unchangeable field, a list of statuses, the feed's Link
header, why a time-travel read found nothing, and the hint for an unencoded `+`.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest

from tests.api_client import assert_problem, rejected
from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from adapters.bootstrap import Service

LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')
HINT = "(a `+` in a query string must be encoded as %2B)"


@pytest.fixture
def project() -> str:
    return f"proj_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fresh(service: Service) -> AppClient:
    """The API over a database of the test's own: lists see only what the test made."""
    return AppClient(service)


def path_of(document: dict[str, Any]) -> str:
    return f"/api/milestones/{document['id']}"


def path_of_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def counts(**given: int) -> dict[str, int]:
    return {"pending": 0, "in_progress": 0, "reached": 0} | given


def later_than(instant: str) -> None:
    """Wait until the clock has passed ``instant``'s millisecond."""
    while time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) <= instant[:19]:
        time.sleep(0.01)


# --- PATCH: id, projectId and createdAt ------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        pytest.param({"projectId": "elsewhere"}, {"projectId"}, id="projectId"),
        pytest.param({"id": "ms_00000000000000000000000000"}, {"id"}, id="id"),
        pytest.param({"createdAt": "2001-01-01T00:00:00Z"}, {"createdAt"}, id="createdAt"),
        pytest.param({"createdAt": "yesterday"}, {"createdAt"}, id="createdAt-not-a-date"),
        pytest.param({"projectId": None}, {"projectId"}, id="projectId-null"),
        pytest.param(
            {"title": "Would change", "projectId": "elsewhere", "createdAt": "2001-01-01"},
            {"projectId", "createdAt"},
            id="with-a-change",
        ),
    ],
)
def test_patch_with_another_value_of_an_unchangeable_field_is_a_400_naming_each(
    api: AppClient, project: str, sent: dict[str, Any], fields: set[str]
) -> None:
    document, _ = api.create(projectId=project, title="Stays")
    problem = rejected(api, "PATCH", path_of(document), sent, status=400, fields=fields)
    assert all("cannot be changed" in error["message"] for error in problem["errors"])
    assert api.get(document["id"]) == (document, '"1"')


def test_patch_with_the_stored_values_of_unchangeable_fields_ignores_them(
    api: AppClient, project: str
) -> None:
    document, _ = api.create(projectId=project, title="Before")
    # The same instant in another offset is the same createdAt.
    created = document["createdAt"]
    shifted = f"{int(created[11:13]) ^ 0:02d}"  # same hour, written with an explicit +00:00
    same_instant = f"{created[:11]}{shifted}{created[13:-1]}+00:00"
    sent = document | {"title": "After", "createdAt": same_instant}
    status, headers, body = api.request("PATCH", path_of(document), sent)
    assert status == 200, body
    assert body["data"] == document | {"title": "After"}
    assert headers["ETag"] == '"2"'


def test_patch_of_an_unknown_milestone_with_unchangeable_fields_is_404(api: AppClient) -> None:
    missing = "/api/milestones/ms_00000000000000000000000000"
    rejected(api, "PATCH", missing, {"projectId": "elsewhere"}, status=404)


def test_patch_of_a_deleted_milestone_with_unchangeable_fields_is_404(
    api: AppClient, project: str
) -> None:
    document, _ = api.create(projectId=project)
    assert api.request("DELETE", path_of(document))[0] == 200
    rejected(api, "PATCH", path_of(document), {"projectId": "elsewhere"}, status=404)


# --- status=a,b ------------------------------------------------------------------------


def test_status_takes_a_comma_separated_list(api: AppClient, project: str) -> None:
    made = {
        status: api.create(projectId=project, status=status)[0]
        for status in ("pending", "in_progress", "reached")
    }
    for query, expected in [
        ("pending,in_progress", ["pending", "in_progress"]),
        ("in_progress,pending", ["pending", "in_progress"]),
        ("reached", ["reached"]),
        ("reached,pending,reached", ["pending", "reached"]),
    ]:
        status, _, body = api.request("GET", f"/api/milestones?projectId={project}&status={query}")
        assert status == 200, body
        assert body["data"] == [made[name] for name in expected], query


def test_status_list_pages_with_a_cursor_bound_to_the_same_set(
    api: AppClient, project: str
) -> None:
    for status in ("pending", "in_progress", "reached", "pending"):
        api.create(projectId=project, status=status)
    base = f"/api/milestones?projectId={project}&limit=2"
    _, _, first = api.request("GET", f"{base}&status=pending,in_progress")
    assert first["count"] == 2
    assert first["next"] is not None
    # The same set, named in another order, is the same list.
    _, _, second = api.request("GET", f"{base}&status=in_progress,pending&cursor={first['next']}")
    assert [m["status"] for m in first["data"] + second["data"]] == [
        "pending", "in_progress", "pending"
    ]  # fmt: skip
    rejected(
        api, "GET", f"{base}&status=pending&cursor={first['next']}", status=400, fields={"cursor"}
    )


@pytest.mark.parametrize("value", ["pending,bogus", "pending,", ",reached", "pending%2C%20reached"])
def test_status_list_with_an_unknown_member_is_a_400(api: AppClient, value: str) -> None:
    problem = rejected(api, "GET", f"/api/milestones?status={value}", status=400, fields={"status"})
    assert "is not" in problem["errors"][0]["message"]


# --- GET /api/projects -----------------------------------------------------------------


def test_projects_lists_every_project_with_live_milestones_counted_by_status(
    fresh: AppClient,
) -> None:
    for project, made in [("b", "reached"), ("a", "pending"), ("b", "in_progress"),
                          ("b", "reached"), ("Z", "pending")]:  # fmt: skip
        fresh.create(projectId=project, status=made)
    gone, _ = fresh.create(projectId="deleted-only")
    assert fresh.request("DELETE", path_of(gone))[0] == 200
    status, headers, body = fresh.request("GET", "/api/projects")
    assert status == 200, body
    assert "Link" not in headers
    assert body["count"] == 3
    assert body["data"] == [
        {"projectId": "Z", "total": 1, "byStatus": counts(pending=1)},
        {"projectId": "a", "total": 1, "byStatus": counts(pending=1)},
        {"projectId": "b", "total": 3, "byStatus": counts(in_progress=1, reached=2)},
    ]


def test_projects_of_an_empty_store_is_an_empty_list(fresh: AppClient) -> None:
    assert fresh.request("GET", "/api/projects")[2] == {"data": [], "count": 0}
    assert fresh.request("GET", "/api/projects?limit=5")[2] == {
        "data": [],
        "count": 0,
        "next": None,
    }


def test_projects_pages_follow_link_to_every_project_once(fresh: AppClient) -> None:
    names = ["p-é", "p-a", "p-b", "p-c", "p-d", "p-Ω", "p-e"]
    for name in names:
        fresh.create(projectId=name)
    seen: list[str] = []
    path = "/api/projects?limit=2"
    while True:
        status, headers, body = fresh.request("GET", path)
        assert status == 200, body
        assert body["count"] == len(body["data"]) <= 2
        seen += [project["projectId"] for project in body["data"]]
        if body["next"] is None:
            assert "Link" not in headers
            break
        # A project created meanwhile before the cursor does not repeat what was seen.
        fresh.create(projectId="p-0")
        match = LINK.match(headers["Link"])
        assert match is not None, headers["Link"]
        assert f"cursor={quote(body['next'])}" in match["url"] or body["next"] in match["url"]
        path = path_of_url(match["url"])
    assert seen == sorted(names)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=nonsense", "cursor"),
        ("status=pending", "status"),
        ("projectId=a", "projectId"),
    ],
)
def test_projects_rejects_bad_parameters(api: AppClient, query: str, field: str) -> None:
    rejected(api, "GET", f"/api/projects?{query}", status=400, fields={field})


def test_projects_refuses_a_cursor_of_the_milestone_list(api: AppClient, project: str) -> None:
    api.create(projectId=project)
    api.create(projectId=project)
    _, _, page = api.request("GET", f"/api/milestones?projectId={project}&limit=1")
    rejected(api, "GET", f"/api/projects?cursor={page['next']}", status=400, fields={"cursor"})


# --- Link on the feed ------------------------------------------------------------------


def test_the_feed_sends_link_whenever_next_is_not_null(api: AppClient, project: str) -> None:
    for _ in range(3):
        api.create(projectId=project)
    path = f"/api/events?projectId={project}&limit=2"
    pages = 0
    while True:
        status, headers, body = api.request("GET", path)
        assert status == 200, body
        pages += 1
        if body["next"] is None:
            assert "Link" not in headers
            break
        match = LINK.match(headers["Link"])
        assert match is not None, headers["Link"]
        assert f"after={body['next']}" in match["url"]
        assert f"projectId={project}" in match["url"]
        path = path_of_url(match["url"])
    assert pages == 2


# --- Time travel: not yet, no longer ---------------------------------------------------


def test_time_travel_before_creation_says_it_did_not_exist_yet(
    api: AppClient, project: str
) -> None:
    document, _ = api.create(projectId=project)
    path = f"{path_of(document)}?asOf=2000-01-01T00:00:00Z"
    problem = assert_problem(api.request("GET", path), 404)
    assert "did not exist yet at 2000-01-01T00:00:00.000Z" in problem["detail"], problem
    assert document["createdAt"] in problem["detail"]


def test_time_travel_to_a_version_not_yet_recorded_then_says_so(
    api: AppClient, project: str
) -> None:
    document, _ = api.create(projectId=project)
    later_than(document["createdAt"])
    api.request("PATCH", path_of(document), {"title": "Second"})
    path = f"{path_of(document)}?version=2&asOf={quote(document['createdAt'])}"
    problem = assert_problem(api.request("GET", path), 404)
    assert "version 2" in problem["detail"], problem
    assert "did not exist yet" in problem["detail"], problem


def test_time_travel_after_deletion_says_it_was_deleted(api: AppClient, project: str) -> None:
    document, _ = api.create(projectId=project)
    assert api.request("DELETE", path_of(document))[0] == 200
    problem = assert_problem(api.request("GET", f"{path_of(document)}?version=2"), 404)
    assert "already deleted at version 2" in problem["detail"], problem
    problem = assert_problem(api.request("GET", f"{path_of(document)}?asOf=9999-01-01T00:00Z"), 404)
    assert "already deleted at 9999-01-01T00:00:00.000Z" in problem["detail"], problem


def test_time_travel_of_a_milestone_that_never_existed_says_no_milestone(api: AppClient) -> None:
    path = "/api/milestones/ms_00000000000000000000000000?asOf=2026-01-01T00:00:00Z"
    problem = assert_problem(api.request("GET", path), 404)
    assert problem["detail"] == "no milestone has this id"


# --- An unencoded `+` in a date-time ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/milestones/ms_00000000000000000000000000?asOf=2026-03-01T10:00:00+01:00",
        "/api/events?since=2026-03-01T10:00:00+01:00",
        "/api/events?until=2026-03-01T10:00+05:30",
        "/api/milestones?dueAfter=2026-03-01T10:00:00+01:00",
    ],
)
def test_a_plus_that_arrived_as_a_space_gets_a_hint(api: AppClient, path: str) -> None:
    problem = rejected(api, "GET", path, status=400)
    assert HINT in problem["errors"][0]["message"], problem


def test_an_encoded_plus_is_read_as_an_offset(api: AppClient) -> None:
    status, _, body = api.request("GET", "/api/events?since=2026-03-01T10:00:00%2B01:00&limit=1")
    assert status == 200, body


# --- If-None-Match on one milestone ----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_naming_the_current_version_or_star_is_a_304(
    api: AppClient, project: str, method: str
) -> None:
    document, etag = api.create(projectId=project)
    for tags in [etag, "*", f'"7", {etag}', f"W/{etag}"]:
        status, headers, body = api.request(
            method, path_of(document), None, {"If-None-Match": tags}
        )
        assert status == 304, tags
        assert headers["ETag"] == etag
        assert not body
    status, headers, _ = api.request(method, path_of(document), None, {"If-None-Match": '"2"'})
    assert status == 200
    assert headers["ETag"] == etag
