"""Finding milestones over real HTTP, on a real server with two workers: the README's examples
(overdue across all projects, due in March, search, page through a project) and the Link
header followed as a client would follow it, on each backend.

The oracle and every combination of parameters are tested in-process, in
tests/integration/test_finding.py and test_finding_pages.py.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from tests.api_client import assert_problem

if TYPE_CHECKING:
    from tests.e2e.client import Client


def _ids(client: Client, path: str) -> tuple[list[str], Any, Any]:
    status, headers, body = client.request("GET", path)
    assert status == 200, body
    assert body["count"] == len(body["data"])
    return [m["id"] for m in body["data"]], headers, body


def test_the_readme_examples_over_http(client: Client) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    word = f"w{uuid.uuid4().hex[:10]}"  # a word no other test's milestones hold
    overdue = client.create(projectId=project, title=f"Beta Launch {word}", dueDate="2020-03-31")
    march = client.create(projectId=project, title="Docs", dueDate="2026-03-10T09:00:00+01:00")
    client.create(
        projectId=project, title=f"Reached {word}", dueDate="2020-01-01", status="reached"
    )
    client.create(projectId=project, title="Someday", description=f"{word} later")

    ids, _, _ = _ids(client, f"/api/milestones?overdue=true&q={word}")
    assert ids == [overdue[0]["id"]]
    ids, _, _ = _ids(
        client, f"/api/milestones?projectId={project}&dueAfter=2026-03-01&dueBefore=2026-04-01"
    )
    assert ids == [march[0]["id"]]
    ids, _, _ = _ids(client, f"/api/milestones?q={quote('beta lau')}+{word}")
    assert ids == [overdue[0]["id"]]
    ids, _, body = _ids(client, f"/api/milestones?projectId={project}&sort=-dueDate")
    assert ids[-1] not in {overdue[0]["id"], march[0]["id"]}  # no dueDate: last
    assert "next" not in body


def test_following_the_link_header_pages_through_a_project(client: Client) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    created = [client.create(projectId=project, title=f"M{n:02d}")[0]["id"] for n in range(11)]
    path: str | None = f"/api/milestones?projectId={project}&sort=-title&limit=4"
    seen: list[str] = []
    while path is not None:
        ids, headers, body = _ids(client, path)
        seen += ids
        link = headers.get("Link")
        assert (link is None) == (body["next"] is None)
        if link is None:
            break
        url = urlsplit(link.removeprefix("<").partition(">")[0])
        assert url.path == "/api/milestones"
        path = f"{url.path}?{url.query}"
    assert seen == created[::-1]


def test_a_cursor_for_another_list_is_a_400(client: Client) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    for title in ("A", "B"):
        client.create(projectId=project, title=title)
    _, _, body = _ids(client, f"/api/milestones?projectId={project}&limit=1")
    response = client.request(
        "GET", f"/api/milestones?projectId={project}&limit=1&sort=title&cursor={body['next']}"
    )
    assert_problem(response, 400, {"cursor"})
