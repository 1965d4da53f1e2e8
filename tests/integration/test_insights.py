"""Project insights over the real service on SQLite and PostgreSQL.

The progress series is checked against its oracle, time travel: each point equals what
``?asOf=`` one millisecond before it gives for every milestone of the project. The log it
is checked on was made through the API, exported, re-timed so that its events spread over
weeks (some exactly at midnights and Mondays), and imported.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
import psycopg
import pytest

from adapters.backup import export_lines, import_lines
from adapters.bootstrap import open_service
from adapters.settings import Settings, sqlite_path
from domain.milestone import format_instant
from projections import runner
from projections.progress import PROGRESS_TRACKING, TRANSITIONS_TABLE
from tests.api_client import assert_problem, rejected
from tests.integration.app_client import AppClient
from tests.integration.conftest import backend_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from adapters.bootstrap import Service

MS = timedelta(milliseconds=1)
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, at midnight: the first event is at an end
# Steps between events: some land exactly on a midnight, one is a millisecond.
STEPS = [
    timedelta(hours=13),
    timedelta(hours=11),
    timedelta(days=2, hours=5),
    MS,
    timedelta(hours=18, minutes=59, seconds=59, milliseconds=999),
]


def summary(api: AppClient, project: str) -> dict[str, Any]:
    status, _, body = api.request("GET", f"/api/projects/{quote(project, safe='')}/summary")
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


def progress(api: AppClient, project: str, query: str = "") -> list[dict[str, Any]]:
    status, _, body = api.request("GET", f"/api/projects/{project}/progress{query}")
    assert status == 200, body
    assert body["count"] == len(body["data"])
    points: list[dict[str, Any]] = body["data"]
    return points


# --- summary ------------------------------------------------------------------------------


def test_summary_now_reads_every_answered_write(api: AppClient) -> None:
    project = "insights: summary, é"  # percent-encoded in the path
    assert summary(api, project)["total"] == 0
    late, _ = api.create(projectId=project, title="late", dueDate="2020-01-01")
    soon, _ = api.create(projectId=project, title="soon", dueDate="2099-01-01T00:00:00Z")
    tie, _ = api.create(projectId=project, title="tie", dueDate="2099-01-01")
    done, _ = api.create(projectId=project, title="on time", status="reached", dueDate="2099-01-01")
    api.create(projectId=project, title="no due date", status="in_progress")
    result = summary(api, project)
    first = min(soon, tie, key=lambda m: m["id"])  # the same due instant: the lower id
    assert result == {
        "projectId": project,
        "total": 5,
        "byStatus": {"pending": 3, "in_progress": 1, "reached": 1},
        "overdue": 1,
        "reachedOnTime": 1,
        "reachedLate": 0,
        "nextDue": first,
        "slipped": 0,
    }
    assert api.request("PATCH", f"/api/milestones/{late['id']}", {"status": "reached"})[0] == 200
    assert api.request("DELETE", f"/api/milestones/{first['id']}")[0] == 200
    patch = {"reachedAt": "2020-01-01T23:59:59.999Z"}
    assert api.request("PATCH", f"/api/milestones/{done['id']}", patch)[0] == 200
    result = summary(api, project)
    assert result["byStatus"] == {"pending": 1, "in_progress": 1, "reached": 2}
    assert (result["overdue"], result["reachedOnTime"], result["reachedLate"]) == (0, 1, 1)
    assert result["nextDue"]["id"] == ({soon["id"], tie["id"]} - {first["id"]}).pop()


def test_insights_reject_bad_parameters_naming_them(api: AppClient) -> None:
    api.create(projectId="insights-rejections", title="one")
    base = "/api/projects/insights-rejections/progress"
    cases = {
        "?interval=month": {"interval"},
        "?interval=": {"interval"},
        "?since=yesterday": {"since"},
        "?until=2026-03-01": {"until"},
        "?since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z": {"since"},
        "?asOf=2026-01-01T00:00:00Z": {"asOf"},
        "?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z": {"until"},
        "?since=2999-01-01T00:00:00Z": {"since"},  # after now, the default until
        "?since=2020-01-01T00:00:00Z&until=2023-01-01T00:00:00Z": {"since", "until"},
        "?since=2000-01-01T00:00:00Z&interval=week": {"since"},
        "?until=9999-12-31T12:00:00Z&since=9999-12-30T00:00:00Z": {"until"},
    }
    for query, fields in cases.items():
        rejected(api, "GET", base + query, status=400, fields=fields)
    rejected(api, "GET", "/api/projects/p/summary?since=x", status=400, fields={"since"})
    # A project without events is checked as strictly: the range is the request's.
    rejected(api, "GET", "/api/projects/nobody/progress?since=2000-01-01T00:00:00Z",
             status=400, fields={"since"})  # fmt: skip


def test_exactly_the_maximum_of_points_is_served(api: AppClient) -> None:
    api.create(projectId="insights-thousand", title="one")
    since = datetime(2024, 1, 1, 12, tzinfo=UTC)
    last = datetime(2024, 1, 2, tzinfo=UTC) + timedelta(days=999)
    query = f"?since={format_instant(since)}&until={format_instant(last)}"
    points = progress(api, "insights-thousand", query)
    assert len(points) == 1000
    assert points[-1]["at"] == format_instant(last)
    over = f"?since={format_instant(since)}&until={format_instant(last + MS)}"
    assert_problem(api.request("GET", f"/api/projects/insights-thousand/progress{over}"), 400,
                   {"since", "until"})  # fmt: skip


def test_a_project_that_never_had_a_milestone_has_no_points(api: AppClient) -> None:
    assert progress(api, "insights-never") == []
    assert progress(api, "insights-never", "?interval=week&until=2026-01-01T00:00:00Z") == []
    assert summary(api, "insights-never")["nextDue"] is None


# --- progress, against time travel, on a log spread over weeks ----------------------------


def make_history(api: AppClient) -> None:
    """Two projects whose milestones move back and forth, some created reached, some deleted."""

    def patch(milestone: dict[str, Any], **fields: Any) -> None:
        status, _, body = api.request("PATCH", f"/api/milestones/{milestone['id']}", fields)
        assert status == 200, body

    def delete(milestone: dict[str, Any]) -> None:
        assert api.request("DELETE", f"/api/milestones/{milestone['id']}")[0] == 200

    one, _ = api.create(projectId="alpha", title="one")
    two, _ = api.create(projectId="alpha", title="two", status="reached")
    other, _ = api.create(projectId="beta", title="other", status="in_progress")
    patch(one, status="in_progress")
    three, _ = api.create(projectId="alpha", title="three")
    patch(two, title="renamed")  # no count changes
    patch(one, status="reached")
    patch(three, status="reached")
    delete(two)
    four, _ = api.create(projectId="alpha", title="four", status="in_progress")
    patch(other, status="pending")
    patch(one, status="in_progress")  # moved back
    delete(three)
    patch(four, status="pending")
    five, _ = api.create(projectId="alpha", title="five")
    patch(four, status="reached")
    delete(other)
    patch(five, description="more")
    patch(five, status="reached")
    patch(one, status="pending")


def retimed(lines: list[bytes]) -> list[bytes]:
    """The lines with their events spread over weeks, in the same order; a reachedAt that
    was its event's time moves with it."""
    steps = cycle(STEPS)
    moved: dict[str, str] = {}
    instant = START
    out = []
    for line in lines:
        event = orjson.loads(line)
        new = format_instant(instant)
        moved[event["occurredAt"]] = new
        event["occurredAt"] = new
        payload = event["payload"]
        if payload.get("reachedAt") is not None:
            payload["reachedAt"] = moved.get(payload["reachedAt"], payload["reachedAt"])
        out.append(orjson.dumps(event) + b"\n")
        instant += next(steps)
    return out


@pytest.fixture
def spread(open_services: Callable[[], Service], tmp_path: Path) -> Service:
    """A service on the test's database, holding the re-timed log."""
    source = open_service(Settings(database_url=f"sqlite:///{tmp_path}/source.db"))
    try:
        make_history(AppClient(source))
        lines = list(export_lines(source.store))
    finally:
        source.close()
    target = open_services()
    assert import_lines(target, retimed(lines)) == len(lines)
    return target


def project_milestones(api: AppClient, project: str) -> list[str]:
    ids = {event["milestoneId"] for event in api.feed() if event["type"] == "Created"}
    return sorted(i for i in ids if api.history(i)[0]["payload"]["projectId"] == project)


def as_time_travel_shows(api: AppClient, ids: list[str], point: dict[str, Any]) -> dict[str, Any]:
    """The point as ``?asOf=`` one millisecond before it shows each milestone."""
    before = format_instant(datetime.fromisoformat(point["at"]) - MS)
    counts = {"at": point["at"], "total": 0, "pending": 0, "in_progress": 0, "reached": 0}
    for milestone_id in ids:
        status, _, body = api.request("GET", f"/api/milestones/{milestone_id}?asOf={before}")
        assert status in {200, 404}, body
        if status == 200:
            counts["total"] += 1
            counts[body["data"]["status"]] += 1
    return counts


def test_every_point_equals_time_travel_daily_and_weekly(spread: Service) -> None:
    api = AppClient(spread)
    until = "?until=2026-02-10T00:00:00Z"
    # beta's first event is the third, exactly at 2026-01-06T00:00:00Z: it counts from the
    # next midnight on.
    for project, first_end in (("alpha", "2026-01-06"), ("beta", "2026-01-07")):
        ids = project_milestones(api, project)
        daily = progress(api, project, until)
        assert daily[0]["at"] == f"{first_end}T00:00:00.000Z"  # the first end after its first event
        assert daily[-1]["at"] == "2026-02-10T00:00:00.000Z"
        assert len({p["total"] for p in daily}) > 1, "the series should move"
        weekly = progress(api, project, until + "&interval=week")
        assert [p["at"] for p in weekly] == [
            f"2026-{day}T00:00:00.000Z" for day in ("01-12", "01-19", "01-26", "02-02", "02-09",
                                                    "02-16")
        ]  # fmt: skip
        for point in daily + weekly:
            assert point == as_time_travel_shows(api, ids, point)
        # Every weekly point is the daily point at the same Monday.
        by_day = {p["at"]: p for p in daily}
        assert all(by_day[p["at"]] == p for p in weekly if p["at"] in by_day)


def test_the_defaults_run_from_the_first_event_to_now(spread: Service) -> None:
    api = AppClient(spread)
    points = progress(api, "alpha", "?interval=week")
    assert points[0]["at"] == "2026-01-12T00:00:00.000Z"
    last = datetime.fromisoformat(points[-1]["at"])
    now = datetime.now(UTC)
    assert last.weekday() == 0
    assert now <= last < now + timedelta(weeks=1)
    assert points[-1] == {"at": points[-1]["at"], "total": 3, "pending": 1, "in_progress": 0,
                          "reached": 2}  # fmt: skip
    since = progress(api, "alpha", "?since=2026-01-19T00:00:00Z&until=2026-01-26T00:00:00Z")
    assert [p["at"][:10] for p in since] == [f"2026-01-{d}" for d in range(20, 27)]


def test_progress_is_verified_rebuilt_and_served_the_same(spread: Service) -> None:
    api = AppClient(spread)
    before = progress(api, "alpha", "?until=2026-02-10T00:00:00Z")
    assert runner.verify(spread.store, runner.PROGRESS_VIEW) == []
    events = runner.rebuild(spread.store, lambda done, total: None, runner.PROGRESS_VIEW)
    assert events == api.head()
    assert runner.verify(spread.store, runner.PROGRESS_VIEW) == []
    assert progress(api, "alpha", "?until=2026-02-10T00:00:00Z") == before
    api.create(projectId="alpha", title="after the rebuild")  # the live apply goes on
    assert runner.verify(spread.store, runner.PROGRESS_VIEW) == []
    tracked, head = runner.positions(spread.store)
    assert tracked == {"milestones": head, "progress": head, "schedule": head}


# --- a database written before the progress projection existed ----------------------------


def drop_progress(database_url: str) -> None:
    """Make the store as the previous version left it: no transitions, no such position."""
    drop = f"DROP TABLE {TRANSITIONS_TABLE}"
    if backend_of(database_url) == "sqlite":
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            lite.execute(drop)
            lite.execute("DELETE FROM tracking WHERE application_name = ?", (PROGRESS_TRACKING,))
        return
    with psycopg.connect(database_url) as postgres:
        postgres.execute(drop)
        postgres.execute(
            "DELETE FROM milestones_tracking WHERE application_name = %s", (PROGRESS_TRACKING,)
        )


def test_a_store_without_the_projection_gets_it_from_the_whole_log_at_start(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    first = open_service(Settings(database_url=database_url))
    try:
        api = AppClient(first)
        make_history(api)
        expected = progress(api, "alpha"), progress(api, "beta")
    finally:
        first.close()
    drop_progress(database_url)

    again = open_services()
    tracked, head = runner.positions(again.store)
    assert tracked["progress"] == head
    assert runner.verify(again.store, runner.PROGRESS_VIEW) == []
    api = AppClient(again)
    assert (progress(api, "alpha"), progress(api, "beta")) == expected
    assert expected[0][-1]["total"] == 3
