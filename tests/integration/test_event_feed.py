"""Contract section 6 over the Falcon app: the event feed, history and time travel edges.

Every test runs on SQLite and on PostgreSQL, against the real application and read models.
The tests only read, so each backend gets one database and one data set for the module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from falcon import testing

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.settings import Settings
from tests.conftest import throwaway_postgres_database

if TYPE_CHECKING:
    from collections.abc import Iterator

    from adapters.bootstrap import Service

PROBLEM = "application/problem+json"
EVENT_KEYS = [
    "position", "milestoneId", "version", "type", "occurredAt", "actor", "requestId", "payload"
]  # fmt: skip
UNKNOWN_ID = "ms_" + "0" * 26
Event = dict[str, Any]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of each backend, shared by this module's (read-only) tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('feed')}/milestones.db"
    else:
        with throwaway_postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def service(module_database_url: str) -> Iterator[Service]:
    opened = open_service(Settings(database_url=module_database_url))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(service: Service) -> testing.TestClient:
    return testing.TestClient(create_app(service.milestones, service.reads))


@dataclass
class Dataset:
    """Five milestones in two projects, their events interleaved in the log."""

    ids: dict[str, str]  # name -> public id
    projects: dict[str, str]  # public id -> project
    events: list[Event]  # the whole feed, read in one page

    def project_of(self, event: Event) -> str:
        return self.projects[event["milestoneId"]]


def _ok(result: testing.Result, status: int = 200) -> Any:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/json"
    return result.json


def assert_problem(result: testing.Result, status: int, field: str | None = None) -> None:
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    body = orjson.loads(result.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body


@pytest.fixture(scope="module")
def dataset(client: testing.TestClient) -> Dataset:
    ids: dict[str, str] = {}
    projects: dict[str, str] = {}

    def create(name: str, project: str, **fields: Any) -> None:
        body = {"projectId": project, "title": name, **fields}
        data = _ok(client.simulate_post("/api/milestones", json=body), 201)["data"]
        ids[name] = data["id"]
        projects[data["id"]] = project

    def patch(name: str, **fields: Any) -> None:
        _ok(client.simulate_patch(f"/api/milestones/{ids[name]}", json=fields))

    def delete(name: str) -> None:
        _ok(client.simulate_delete(f"/api/milestones/{ids[name]}"))

    steps: list[Callable[[], None]] = [
        lambda: create("m1", "proj_a"),
        lambda: create("m4", "proj_b", dueDate="2026-05-01"),
        lambda: patch("m1", title="m1 renamed"),
        lambda: create("m2", "proj_a", status="reached"),
        lambda: patch("m4", dueDate="2026-06-01", status="in_progress"),
        lambda: patch("m1", status="in_progress"),
        lambda: create("m5", "proj_b"),
        lambda: patch("m2", description="shipped"),
        lambda: patch("m1", status="reached"),
        lambda: create("m3", "proj_a"),
        lambda: delete("m5"),
        lambda: delete("m1"),
    ]
    for step in steps:
        step()
        time.sleep(0.003)  # distinct milliseconds, so since/until can split the log
    events = _ok(client.simulate_get("/api/events", params={"limit": "1000"}))["data"]
    assert len(events) == 13
    return Dataset(ids, projects, events)


def feed(client: testing.TestClient, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = _ok(client.simulate_get("/api/events", params=params))
    assert list(body) == ["data", "count", "next"]
    assert body["count"] == len(body["data"])
    return body


def follow(client: testing.TestClient, limit: int, **filters: str) -> list[Event]:
    """Every event the filters select, following ``next`` from after=0 page by page."""
    events: list[Event] = []
    after = 0
    for _ in range(1000):
        page = feed(client, after=str(after), limit=str(limit), **filters)
        data = page["data"]
        assert len(data) <= limit
        assert all(event["position"] > after for event in data)
        events.extend(data)
        if page["next"] is None:
            # Only a page that is not full ends the feed.
            assert len(data) < limit
            return events
        assert len(data) == limit
        assert page["next"] == data[-1]["position"]
        after = page["next"]
    pytest.fail("the feed did not end")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def in_offset(text: str, minutes: int) -> str:
    """The same instant written in another UTC offset."""
    zone = timezone(timedelta(minutes=minutes))
    return instant(text).astimezone(zone).isoformat(timespec="milliseconds")


def text_of(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the unfiltered feed ------------------------------------------------------------------


def test_feed_is_the_log_in_commit_order(
    client: testing.TestClient, service: Service, dataset: Dataset
) -> None:
    events = dataset.events
    positions = [event["position"] for event in events]
    assert positions == sorted(set(positions))
    with service.store.read_transaction() as c:
        records = service.store.select_records(c, 0, 1000)
    assert [(p, pid, v) for p, pid, v, _, _ in records] == [
        (e["position"], e["milestoneId"], e["version"]) for e in events
    ]
    for event in events:
        assert list(event) == EVENT_KEYS
    # Each event is the one its milestone's history shows.
    for public_id in dataset.projects:
        history = _ok(client.simulate_get(f"/api/milestones/{public_id}/history"))["data"]
        mine = [e for e in events if e["milestoneId"] == public_id]
        assert [{k: v for k, v in e.items() if k != "position"} for e in mine] == history
    ids = dataset.ids
    assert [(e["milestoneId"], e["type"]) for e in events] == [
        (ids["m1"], "Created"),
        (ids["m4"], "Created"),
        (ids["m1"], "Updated"),
        (ids["m2"], "Created"),
        (ids["m4"], "Updated"),
        (ids["m4"], "StatusChanged"),
        (ids["m1"], "StatusChanged"),
        (ids["m5"], "Created"),
        (ids["m2"], "Updated"),
        (ids["m1"], "StatusChanged"),
        (ids["m3"], "Created"),
        (ids["m5"], "Deleted"),
        (ids["m1"], "Deleted"),
    ]


@pytest.mark.parametrize("limit", [1, 2, 5, 12, 13, 14, 1000])
def test_following_next_yields_every_event_once(
    client: testing.TestClient, dataset: Dataset, limit: int
) -> None:
    assert follow(client, limit) == dataset.events


def test_next_is_the_last_position_of_a_full_page_and_null_at_the_end(
    client: testing.TestClient, dataset: Dataset
) -> None:
    events = dataset.events
    full = feed(client, after="0", limit=str(len(events)))
    assert full["data"] == events
    assert full["next"] == events[-1]["position"]
    end = feed(client, after=str(full["next"]), limit=str(len(events)))
    assert end == {"data": [], "count": 0, "next": None}
    partial = feed(client, after="0", limit=str(len(events) + 1))
    assert partial["data"] == events
    assert partial["next"] is None
    middle = feed(client, after=str(events[3]["position"]), limit="4")
    assert middle["data"] == events[4:8]
    assert middle["next"] == events[7]["position"]
    # The default page is 100 events, here all of them, so next is null.
    default = feed(client)
    assert default["data"] == events
    assert default["next"] is None
    beyond = feed(client, after=str(events[-1]["position"] + 1000))
    assert beyond == {"data": [], "count": 0, "next": None}
    assert feed(client, after=str(2**62)) == {"data": [], "count": 0, "next": None}


def test_limit_bounds(client: testing.TestClient, dataset: Dataset) -> None:
    one = feed(client, limit="1")
    assert one["data"] == dataset.events[:1]
    assert one["next"] == dataset.events[0]["position"]
    most = feed(client, limit="1000")
    assert most["data"] == dataset.events
    assert most["next"] is None
    assert_problem(client.simulate_get("/api/events", params={"limit": "0"}), 400, "limit")
    assert_problem(client.simulate_get("/api/events", params={"limit": "1001"}), 400, "limit")


# --- filters ------------------------------------------------------------------------------

Filters = Callable[[Dataset], dict[str, str]]
FILTERS: dict[str, Filters] = {
    "project a": lambda d: {"projectId": "proj_a"},
    "project b": lambda d: {"projectId": "proj_b"},
    "unknown project": lambda d: {"projectId": "proj_zzz"},
    "milestone m1": lambda d: {"milestoneId": d.ids["m1"]},
    "milestone m4": lambda d: {"milestoneId": d.ids["m4"]},
    "unknown milestone": lambda d: {"milestoneId": UNKNOWN_ID},
    "type Created": lambda d: {"type": "Created"},
    "type Updated": lambda d: {"type": "Updated"},
    "type StatusChanged": lambda d: {"type": "StatusChanged"},
    "type Deleted": lambda d: {"type": "Deleted"},
    "since": lambda d: {"since": d.events[5]["occurredAt"]},
    "until": lambda d: {"until": d.events[5]["occurredAt"]},
    "since and until": lambda d: {
        "since": d.events[3]["occurredAt"],
        "until": d.events[9]["occurredAt"],
    },
    "since after the last": lambda d: {
        "since": text_of(instant(d.events[-1]["occurredAt"]) + timedelta(milliseconds=1))
    },
    "until before the first": lambda d: {
        "until": text_of(instant(d.events[0]["occurredAt"]) - timedelta(milliseconds=1))
    },
    "since in +02:00": lambda d: {"since": in_offset(d.events[6]["occurredAt"], 120)},
    "until in -05:30": lambda d: {"until": in_offset(d.events[6]["occurredAt"], -330)},
    "project and type": lambda d: {"projectId": "proj_a", "type": "StatusChanged"},
    "milestone and type": lambda d: {"milestoneId": d.ids["m1"], "type": "StatusChanged"},
    "project and window": lambda d: {
        "projectId": "proj_b",
        "since": d.events[1]["occurredAt"],
        "until": d.events[11]["occurredAt"],
    },
    "milestone of another project": lambda d: {"projectId": "proj_b", "milestoneId": d.ids["m1"]},
    "all five": lambda d: {
        "projectId": "proj_a",
        "milestoneId": d.ids["m1"],
        "type": "StatusChanged",
        "since": d.events[0]["occurredAt"],
        "until": d.events[9]["occurredAt"],
    },
}


def matches(dataset: Dataset, event: Event, filters: dict[str, str]) -> bool:
    occurred = instant(event["occurredAt"])
    checks: dict[str, Callable[[str], bool]] = {
        "projectId": lambda value: dataset.project_of(event) == value,
        "milestoneId": lambda value: event["milestoneId"] == value,
        "type": lambda value: event["type"] == value,
        "since": lambda value: occurred >= instant(value),
        "until": lambda value: occurred <= instant(value),
    }
    return all(checks[name](value) for name, value in filters.items())


@pytest.mark.parametrize("name", list(FILTERS))
def test_filters(client: testing.TestClient, dataset: Dataset, name: str) -> None:
    filters = FILTERS[name](dataset)
    expected = [event for event in dataset.events if matches(dataset, event, filters)]
    assert follow(client, 1000, **filters) == expected
    assert follow(client, 2, **filters) == expected
    assert follow(client, 1, **filters) == expected


def test_filters_select_something(dataset: Dataset) -> None:
    # The filter cases above are only worth something if most of them select a proper
    # part of the log.
    sizes = {
        name: sum(matches(dataset, e, make(dataset)) for e in dataset.events)
        for name, make in FILTERS.items()
    }
    proper = [name for name, size in sizes.items() if 0 < size < len(dataset.events)]
    assert len(proper) >= 15, sizes


def test_filtered_page_next_is_its_last_position(
    client: testing.TestClient, dataset: Dataset
) -> None:
    created = [e for e in dataset.events if e["type"] == "Created"]
    page = feed(client, type="Created", limit="2")
    assert page["data"] == created[:2]
    assert page["next"] == created[1]["position"]
    rest = feed(client, type="Created", limit="1000", after=str(page["next"]))
    assert rest["data"] == created[2:]
    assert rest["next"] is None


def test_since_between_milliseconds_excludes_the_earlier_millisecond(
    client: testing.TestClient, dataset: Dataset
) -> None:
    event = dataset.events[4]
    # Half a millisecond after the event: it occurred before this instant.
    since = event["occurredAt"].replace("Z", "5Z")
    expected = [e for e in dataset.events if e["occurredAt"] > event["occurredAt"]]
    assert follow(client, 1000, since=since) == expected


# --- bad query values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"after": ""}, "after"),
        ({"after": str(2**62 + 1)}, "after"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"type": "Bogus"}, "type"),
        ({"type": "created"}, "type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-19"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"until": "2026-02-19T10:30:00"}, "until"),
        ({"milestoneId": "not-an-id"}, "milestoneId"),
        ({"milestoneId": "ms_" + "0" * 25}, "milestoneId"),
        ({"projectId": ""}, "projectId"),
    ],
)
def test_bad_feed_values_are_400(
    client: testing.TestClient, params: dict[str, str], field: str
) -> None:
    assert_problem(client.simulate_get("/api/events", params=params), 400, field)


def test_a_repeated_feed_parameter_is_400(client: testing.TestClient) -> None:
    assert_problem(client.simulate_get("/api/events", query_string="after=1&after=2"), 400, "after")


# --- history ------------------------------------------------------------------------------


def test_history_of_a_deleted_milestone_stays_readable(
    client: testing.TestClient, dataset: Dataset
) -> None:
    m1 = dataset.ids["m1"]
    assert_problem(client.simulate_get(f"/api/milestones/{m1}"), 404)
    body = _ok(client.simulate_get(f"/api/milestones/{m1}/history"))
    assert body["count"] == len(body["data"]) == 5
    assert [e["type"] for e in body["data"]] == [
        "Created",
        "Updated",
        "StatusChanged",
        "StatusChanged",
        "Deleted",
    ]
    assert [e["version"] for e in body["data"]] == [1, 2, 3, 4, 5]
    assert body["data"][-1]["payload"] == {}
    assert body["data"][1]["payload"] == {"title": "m1 renamed"}
    assert body["data"][2]["payload"] == {"from": "pending", "to": "in_progress", "reachedAt": None}
    reached = body["data"][3]
    assert reached["payload"] == {
        "from": "in_progress",
        "to": "reached",
        "reachedAt": reached["occurredAt"],
    }


@pytest.mark.parametrize("milestone_id", [UNKNOWN_ID, "ms_7ZZZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_history_of_a_never_existing_id_is_404(
    client: testing.TestClient, dataset: Dataset, milestone_id: str
) -> None:
    assert_problem(client.simulate_get(f"/api/milestones/{milestone_id}/history"), 404)


# --- time travel edges --------------------------------------------------------------------


def history_of(client: testing.TestClient, public_id: str) -> list[Event]:
    data: list[Event] = _ok(client.simulate_get(f"/api/milestones/{public_id}/history"))["data"]
    return data


def at(client: testing.TestClient, public_id: str, **params: str) -> testing.Result:
    return client.simulate_get(f"/api/milestones/{public_id}", params=params)


@pytest.mark.parametrize(
    "version", ["0", "abc", "-1", "", "1.0", " 1", str(2**62 + 1), "99999999999999999999999"]
)
def test_a_bad_version_is_400(client: testing.TestClient, dataset: Dataset, version: str) -> None:
    assert_problem(at(client, dataset.ids["m4"], version=version), 400, "version")


def test_a_version_beyond_the_stream_is_400(client: testing.TestClient, dataset: Dataset) -> None:
    m4, m1 = dataset.ids["m4"], dataset.ids["m1"]
    assert_problem(at(client, m4, version="4"), 400, "version")
    assert_problem(at(client, m4, version="1000"), 400, "version")
    # Also for a deleted milestone: version 6 does not exist either.
    assert_problem(at(client, m1, version="6"), 400, "version")


def test_version_within_the_stream(client: testing.TestClient, dataset: Dataset) -> None:
    m4 = dataset.ids["m4"]
    first = at(client, m4, version="1")
    assert first.headers["etag"] == '"1"'
    assert _ok(first)["data"]["dueDate"] == "2026-05-01"
    assert _ok(first)["data"]["status"] == "pending"
    third = at(client, m4, version="3")
    assert third.headers["etag"] == '"3"'
    assert _ok(third)["data"] == _ok(client.simulate_get(f"/api/milestones/{m4}"))["data"]
    # A deleted milestone: readable before its Deleted event, 404 at it.
    m1 = dataset.ids["m1"]
    assert _ok(at(client, m1, version="4"))["data"]["status"] == "reached"
    assert_problem(at(client, m1, version="5"), 404)


def test_version_of_a_never_existing_id_is_404(client: testing.TestClient) -> None:
    assert_problem(at(client, UNKNOWN_ID, version="1"), 404)
    assert_problem(at(client, UNKNOWN_ID, asOf="2026-01-01T00:00:00Z"), 404)


def test_as_of_before_creation_is_404(client: testing.TestClient, dataset: Dataset) -> None:
    for public_id in dataset.projects:
        created = history_of(client, public_id)[0]["occurredAt"]
        before = text_of(instant(created) - timedelta(milliseconds=1))
        assert_problem(at(client, public_id, asOf=before), 404)
        assert_problem(at(client, public_id, asOf="2000-01-01T00:00:00Z"), 404)
        assert _ok(at(client, public_id, asOf=created))["data"]["id"] == public_id


def test_as_of_after_deletion_is_404(client: testing.TestClient, dataset: Dataset) -> None:
    m5 = dataset.ids["m5"]
    history = history_of(client, m5)
    deleted = history[-1]["occurredAt"]
    assert history[-1]["type"] == "Deleted"
    assert_problem(at(client, m5, asOf=deleted), 404)
    later = text_of(instant(deleted) + timedelta(days=1))
    assert_problem(at(client, m5, asOf=later), 404)
    just_before = text_of(instant(deleted) - timedelta(milliseconds=1))
    assert _ok(at(client, m5, asOf=just_before))["data"]["id"] == m5


def test_as_of_in_another_offset_is_the_same_instant(
    client: testing.TestClient, dataset: Dataset
) -> None:
    m4 = dataset.ids["m4"]
    history = history_of(client, m4)
    # m4 was created a few milliseconds before its next event.
    assert history[0]["occurredAt"] < history[1]["occurredAt"]
    result = at(client, m4, asOf=in_offset(history[0]["occurredAt"], -180))
    assert result.headers["etag"] == '"1"'
    assert _ok(result)["data"] == _ok(at(client, m4, version="1"))["data"]


@pytest.mark.parametrize("as_of", ["yesterday", "2026-02-19", "", "2026-02-30T00:00:00Z"])
def test_a_bad_as_of_is_400(client: testing.TestClient, dataset: Dataset, as_of: str) -> None:
    assert_problem(at(client, dataset.ids["m4"], asOf=as_of), 400, "asOf")


def test_version_with_as_of_is_that_version_if_it_had_occurred_by_then(
    client: testing.TestClient, dataset: Dataset
) -> None:
    m4 = dataset.ids["m4"]
    history = history_of(client, m4)
    first, second = history[0]["occurredAt"], history[1]["occurredAt"]
    assert first < second
    for version, as_of in (("1", first), ("1", second), ("2", second)):
        result = at(client, m4, version=version, asOf=as_of)
        assert result.headers["etag"] == f'"{version}"'
        assert _ok(result)["data"] == _ok(at(client, m4, version=version))["data"]
    # Event 2 had not occurred by the first event's time; nothing had before it.
    assert_problem(at(client, m4, version="2", asOf=first), 404)
    before = text_of(instant(first) - timedelta(milliseconds=1))
    assert_problem(at(client, m4, version="1", asOf=before), 404)
    # No instant is late enough for a version beyond the stream.
    assert_problem(at(client, m4, version="4", asOf=history[-1]["occurredAt"]), 404)
    # Both malformed: both named.
    problem = at(client, m4, version="0", asOf="soon")
    assert_problem(problem, 400)
    assert {error["field"] for error in problem.json["errors"]} == {"version", "asOf"}
