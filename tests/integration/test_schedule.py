"""The schedule and the changes between two instants over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from falcon import testing

from adapters.http.app import create_app
from projections import runner
from projections.schedule_view import DUE_DATES_VIEW
from tests.api_client import assert_problem, rejected
from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from adapters.bootstrap import Service

DAY = 86_400
ACTOR_HEADER = "X-Forwarded-User"
NEVER = "ms_01KGC6WBM0EQ3TMJVCHM71YEJV"  # well formed, never created


class ActorClient(AppClient):
    """The API with the actor taken from a proxy's header, so events name who made them."""

    def __init__(self, service: Service) -> None:
        app = create_app(service.milestones, service.reads, actor_header=ACTOR_HEADER)
        self.test_client = testing.TestClient(app)


@pytest.fixture(scope="module")
def client(shared_service: Service) -> ActorClient:
    return ActorClient(shared_service)


def ok(client: AppClient, path: str) -> Any:
    status, _, body = client.request("GET", path)
    assert status == 200, body
    return body


def patch(client: AppClient, milestone_id: str, actor: str = "alice", **fields: Any) -> None:
    path = f"/api/milestones/{milestone_id}"
    status, _, body = client.request("PATCH", path, fields, {ACTOR_HEADER: actor})
    assert status == 200, body


def schedule(client: AppClient, milestone_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(client, f"/api/milestones/{milestone_id}/schedule")["data"]
    return data


def project_schedule(client: AppClient, project: str, query: str = "") -> list[dict[str, Any]]:
    body = ok(client, f"/api/projects/{quote(project, safe='')}/schedule{query}")
    assert body["count"] == len(body["data"])
    rows: list[dict[str, Any]] = body["data"]
    return rows


# --- one milestone --------------------------------------------------------------------------


def test_a_milestone_schedule_lists_every_move_also_after_a_delete(client: ActorClient) -> None:
    made, _ = client.create(projectId="schedule: one", dueDate="2026-03-01")
    pid = made["id"]
    patch(client, pid, dueDate="2026-03-01T00:00:00Z")  # the same instant, another form
    patch(client, pid, actor="bob", title="Renamed")  # no move
    patch(client, pid, dueDate="2026-03-08T12:00:00.5+00:00")
    patch(client, pid, dueDate=None)
    patch(client, pid, actor="bob", dueDate="2026-02-28")
    assert client.request("DELETE", f"/api/milestones/{pid}")[0] == 200
    history = client.history(pid)
    result = schedule(client, pid)
    moved = [history[i] for i in (1, 3, 4, 5)]
    assert result == {
        "milestoneId": pid,
        "originalDueDate": "2026-03-01",
        "dueDate": "2026-02-28",
        "changes": 4,
        "totalSlipSeconds": -DAY,
        "moves": [
            {
                "version": event["version"],
                "occurredAt": event["occurredAt"],
                "actor": event["actor"],
                "requestId": event["requestId"],
                "from": before,
                "to": after,
                "slipSeconds": slip,
            }
            for event, (before, after, slip) in zip(
                moved,
                [
                    ("2026-03-01", "2026-03-01T00:00:00Z", 0),
                    ("2026-03-01T00:00:00Z", "2026-03-08T12:00:00.5+00:00", 7.5 * DAY + 0.5),
                    ("2026-03-08T12:00:00.5+00:00", None, None),
                    (None, "2026-02-28", None),
                ],
                strict=True,
            )
        ],
    }
    assert [move["actor"] for move in result["moves"]] == ["alice", "alice", "alice", "bob"]


def test_a_milestone_that_never_had_a_due_date_has_an_empty_schedule(client: ActorClient) -> None:
    made, _ = client.create(projectId="schedule: one")
    assert schedule(client, made["id"]) == {
        "milestoneId": made["id"],
        "originalDueDate": None,
        "dueDate": None,
        "changes": 0,
        "totalSlipSeconds": None,
        "moves": [],
    }


def test_a_milestone_schedule_rejects_what_it_cannot_answer(client: ActorClient) -> None:
    made, _ = client.create(projectId="schedule: one", dueDate="2026-03-01")
    path = f"/api/milestones/{made['id']}/schedule"
    rejected(client, "GET", f"{path}?asOf=2026-03-01T00:00:00Z", status=400, fields={"asOf"})
    rejected(client, "GET", f"/api/milestones/{NEVER}/schedule", status=404)
    rejected(client, "GET", "/api/milestones/not-an-id/schedule", status=404)
    rejected(client, "POST", path, {}, status=405)


# --- a project ------------------------------------------------------------------------------


def test_a_project_schedule_puts_the_most_slipped_first(client: ActorClient) -> None:
    project = "schedule: project, é"  # percent-encoded in the path
    assert project_schedule(client, project) == []
    late, _ = client.create(projectId=project, title="late", dueDate="2026-03-01")
    patch(client, late["id"], dueDate="2026-03-03")
    tie, _ = client.create(projectId=project, title="tie", dueDate="2026-03-01T00:00:00Z")
    patch(client, tie["id"], dueDate="2026-03-03T00:00:00+00:00")
    early, _ = client.create(projectId=project, title="early", dueDate="2026-03-05")
    patch(client, early["id"], dueDate="2026-03-04")
    same, _ = client.create(projectId=project, title="same", dueDate="2026-03-01")
    cleared, _ = client.create(projectId=project, title="cleared", dueDate="2026-03-01")
    patch(client, cleared["id"], dueDate=None)
    client.create(projectId=project, title="never due")
    gone, _ = client.create(projectId=project, title="gone", dueDate="2026-03-01")
    patch(client, gone["id"], dueDate="2026-09-01")
    assert client.request("DELETE", f"/api/milestones/{gone['id']}")[0] == 200
    patch(client, late["id"], status="reached")

    rows = project_schedule(client, project)
    tied = sorted([late["id"], tie["id"]])
    assert [row["milestoneId"] for row in rows] == [*tied, same["id"], early["id"], cleared["id"]]
    assert rows[tied.index(late["id"])] == {
        "milestoneId": late["id"],
        "title": "late",
        "status": "reached",
        "originalDueDate": "2026-03-01",
        "dueDate": "2026-03-03",
        "changes": 1,
        "totalSlipSeconds": 2 * DAY,
    }
    assert [row["totalSlipSeconds"] for row in rows] == [2 * DAY, 2 * DAY, 0, -DAY, None]
    slipped = project_schedule(client, project, "?slipped=true")
    assert [row["milestoneId"] for row in slipped] == tied
    others = project_schedule(client, project, "?slipped=false")
    assert [row["milestoneId"] for row in others] == [same["id"], early["id"], cleared["id"]]
    summary = ok(client, f"/api/projects/{quote(project, safe='')}/summary")["data"]
    assert list(summary)[-2:] == ["nextDue", "slipped"]
    assert summary["slipped"] == 2


def test_a_project_schedule_rejects_bad_parameters_naming_them(client: ActorClient) -> None:
    path = "/api/projects/schedule-rejections/schedule"
    for query in ("slipped=yes", "slipped=", "slipped=true&slipped=false", "slipped=1"):
        rejected(client, "GET", f"{path}?{query}", status=400, fields={"slipped"})
    rejected(client, "GET", f"{path}?sort=slip", status=400, fields={"sort"})


# --- changes between two instants -----------------------------------------------------------


def changes(client: AppClient, project: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(client, f"/api/projects/{quote(project, safe='')}/changes?{query}")
    assert body["count"] == len(body["data"])
    return body


def q(instant: str) -> str:
    return quote(instant, safe="")


def test_changes_tell_each_kind_with_the_states_that_time_travel_shows(client: ActorClient) -> None:
    project = "schedule: changes kinds"
    kept, _ = client.create(projectId=project, title="kept", dueDate="2026-03-01")
    reverted, _ = client.create(projectId=project, title="reverted")
    removed, _ = client.create(projectId=project, title="removed")
    quiet, _ = client.create(projectId=project, title="quiet")
    since = client.history(quiet["id"])[0]["occurredAt"]
    patch(client, kept["id"], actor="carol", dueDate="2026-03-02", status="in_progress")
    patch(client, kept["id"], actor="alice", title="kept, renamed")
    patch(client, kept["id"], actor="carol", description="more")
    patch(client, reverted["id"], title="for a moment")
    patch(client, reverted["id"], title="reverted")
    assert client.request("DELETE", f"/api/milestones/{removed['id']}")[0] == 200
    added, _ = client.create(projectId=project, title="added")
    transient, _ = client.create(projectId=project, title="transient")
    assert client.request("DELETE", f"/api/milestones/{transient['id']}")[0] == 200
    until = client.history(transient["id"])[-1]["occurredAt"]
    body = changes(client, project, f"since={q(since)}&until={q(until)}")
    by_id = {change["milestoneId"]: change for change in body["data"]}
    assert [change["milestoneId"] for change in body["data"]] == sorted(by_id)
    assert body["next"] is None
    kinds = {pid: change["kind"] for pid, change in by_id.items()}
    # A milestone created at `since` exactly is in `before`, not in the window.
    expected = {
        kept["id"]: "changed",
        reverted["id"]: "unchanged",
        removed["id"]: "removed",
        added["id"]: "added",
        transient["id"]: "transient",
    }
    if client.history(added["id"])[0]["occurredAt"] == since:  # within one millisecond
        expected[added["id"]] = "unchanged"
    assert {pid: kinds[pid] for pid in expected} == expected
    kept_change = by_id[kept["id"]]
    assert kept_change["fields"] == ["title", "description", "status", "dueDate"]
    assert kept_change["events"] == 4  # the first PATCH recorded Updated and StatusChanged
    assert kept_change["actors"] == ["carol", "alice"]  # distinct, in the order they acted
    assert list(kept_change) == [
        "milestoneId",
        "kind",
        "fields",
        "before",
        "after",
        "events",
        "actors",
    ]
    for pid, change in by_id.items():
        for end, key in ((since, "before"), (until, "after")):
            status, _, as_of = client.request("GET", f"/api/milestones/{pid}?asOf={q(end)}")
            assert change[key] == (as_of["data"] if status == 200 else None), (pid, key)
    assert by_id[transient["id"]]["fields"] == []
    assert by_id[removed["id"]]["after"] is None


def test_changes_pages_follow_next_and_link_and_keep_the_first_pages_until(
    client: ActorClient,
) -> None:
    project = "schedule: changes pages"
    made = [client.create(projectId=project, title=f"m{i}")[0]["id"] for i in range(5)]
    since = "2000-01-01T00:00:00Z"
    first = changes(client, project, f"since={since}&limit=2")
    status, headers, _ = client.request(
        "GET", f"/api/projects/{quote(project, safe='')}/changes?since={since}&limit=2"
    )
    assert status == 200
    assert headers["Link"].endswith('>; rel="next"')
    link = urlsplit(headers["Link"][1:].split(">")[0])
    assert link.path == f"/api/projects/{quote(project, safe='')}/changes"
    assert "until" not in parse_qs(link.query)
    seen = [change["milestoneId"] for change in first["data"]]
    later, _ = client.create(projectId=project, title="after the first page")  # after until
    cursor = first["next"]
    while cursor is not None:
        page = changes(client, project, f"since={since}&limit=2&cursor={cursor}")
        seen += [change["milestoneId"] for change in page["data"]]
        cursor = page["next"]
    assert seen == sorted(made)
    assert later["id"] not in seen
    last_status, last_headers, _ = client.request(
        "GET", f"/api/projects/{quote(project, safe='')}/changes?since={since}&limit=1000"
    )
    assert last_status == 200
    assert "Link" not in last_headers


def test_an_empty_window_and_a_project_without_events_have_no_changes(client: ActorClient) -> None:
    project = "schedule: changes empty"
    made, _ = client.create(projectId=project)
    at = q(client.history(made["id"])[0]["occurredAt"])
    assert changes(client, project, f"since={at}&until={at}") == {
        "data": [],
        "count": 0,
        "next": None,
    }
    assert changes(client, "schedule: never", "since=2000-01-01T00:00:00Z")["data"] == []


def test_changes_reject_bad_parameters_naming_them(client: ActorClient) -> None:
    project = "schedule-changes-rejections"
    for i in range(3):
        client.create(projectId=project, title=f"m{i}")
    path = f"/api/projects/{project}/changes"
    since, until = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    cursor = changes(client, project, f"since={since}&limit=1")["next"]
    assert cursor is not None
    with_until = changes(client, project, f"since={since}&until={until}&limit=1")["next"]
    for query, field in [
        ("", "since"),
        ("until=2026-01-01T00:00:00Z", "since"),
        ("since=2026-01-01", "since"),
        ("since=yesterday", "since"),
        ("since=2026-01-01T00:00:00", "since"),  # no offset
        ("since=2026-01-01T00:00:00 01:00", "since"),  # an unencoded +
        ("since=2999-01-01T00:00:00Z", "since"),  # after now, the default until
        (f"since={since}&since={since}", "since"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-31T23:59:59.999Z", "until"),
        (f"since={since}&until=soon", "until"),
        (f"since={since}&limit=0", "limit"),
        (f"since={since}&limit=1001", "limit"),
        (f"since={since}&limit=ten", "limit"),
        (f"since={since}&cursor=garbage", "cursor"),
        (f"since={since}&cursor=", "cursor"),
        (f"since=2001-01-01T00:00:00Z&cursor={cursor}", "cursor"),  # another window
        (f"since={since}&until={until}&cursor={cursor}", "cursor"),  # another until
        (f"since={since}&cursor={with_until}&until=2099-01-01T00:00:00Z", "cursor"),
        (f"since={since}&projectId={project}", "projectId"),
    ]:
        rejected(client, "GET", f"{path}?{query}", status=400, fields={field})
    # A cursor of another project is refused, on its own route too.
    other = "/api/projects/schedule-changes-other/changes"
    rejected(client, "GET", f"{other}?since={since}&cursor={cursor}", status=400, fields={"cursor"})
    # The cursor carries until: the next page with or without it is the same page.
    without = changes(client, project, f"since={since}&cursor={with_until}")
    assert without == changes(client, project, f"since={since}&until={until}&cursor={with_until}")
    problem = assert_problem(
        client.request("GET", f"{path}?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"),
        400,
        {"until"},
    )
    assert "since" in problem["detail"]


# --- the due-date projection ----------------------------------------------------------------


def test_the_due_date_rows_are_a_replay_even_when_events_are_applied_twice(
    service: Service,
) -> None:
    client = ActorClient(service)
    made, _ = client.create(projectId="schedule: projection", dueDate="2026-03-01")
    patch(client, made["id"], dueDate="2026-03-02")
    patch(client, made["id"], title="renamed")
    patch(client, made["id"], dueDate="2026-03-05")
    assert runner.verify(service.store, DUE_DATES_VIEW) == []
    store = service.store
    with store.write_transaction() as c:  # the whole log once more, as an overlap would
        DUE_DATES_VIEW.apply(store, c, store.select_records(c, 0, 1_000))
    assert runner.verify(service.store, DUE_DATES_VIEW) == []
    runner.rebuild(store, lambda done, total: None, DUE_DATES_VIEW)
    assert runner.verify(service.store, DUE_DATES_VIEW) == []
    patch(client, made["id"], dueDate="2026-03-04")  # the live apply on the rebuilt rows
    assert runner.verify(service.store, DUE_DATES_VIEW) == []
    rows = project_schedule(client, "schedule: projection")
    assert [(row["changes"], row["totalSlipSeconds"]) for row in rows] == [(3, 3 * DAY)]
