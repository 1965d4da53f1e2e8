"""Backup and migration: ``milestones export`` and ``milestones import``, run as commands.

The stores are real SQLite files and real PostgreSQL databases; the commands run with
DATABASE_URL set, as an operator runs them, in this process (tests/cli_in_process.py: the
command's own main, exit status, stdout and stderr). What the stores hold is
written and read through the HTTP application (Falcon's test client over the real
service), so "the same store" means the same answers to GET, the same histories and the
same event feed: ids, versions, timestamps and all.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from falcon import testing

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.settings import Settings
from projections.chain import chain_of
from tests.cli_in_process import run_milestones_in_process

if TYPE_CHECKING:
    from collections.abc import Iterator

LONG_STREAM = 130  # PATCHes of one milestone: past the snapshot interval of 100
FEED_PAGE = 1000
MAX_FEED_PAGES = 100
MAX_WRITES = 5000  # a bound on the writer that runs beside the exports


# The commands.


def milestones(
    database_url: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """``milestones ARGS...`` with this DATABASE_URL and the service's defaults otherwise."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MILESTONES_") and name != "DATABASE_URL"
    }
    env["DATABASE_URL"] = database_url
    return run_milestones_in_process(args, env, stdin=stdin)


def export(database_url: str) -> bytes:
    result = milestones(database_url, "export")
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def import_(database_url: str, log: bytes) -> None:
    result = milestones(database_url, "import", stdin=log)
    assert result.returncode == 0, result.stderr.decode()
    count = len(log.splitlines())
    assert f"imported {count:,} events" in result.stderr.decode(), result.stderr


def assert_verifies(database_url: str) -> None:
    result = milestones(database_url, "projection", "verify")
    assert result.returncode == 0, (result.stdout.decode(), result.stderr.decode())
    assert b"the view equals a replay of the log" in result.stdout


def lines_of(log: bytes) -> list[dict[str, Any]]:
    assert log.endswith(b"\n")
    return [json.loads(line) for line in log.splitlines()]


# The API over a store.


@contextmanager
def api(database_url: str) -> Iterator[testing.TestClient]:
    service = open_service(Settings(database_url=database_url))
    try:
        yield testing.TestClient(create_app(service.milestones, service.reads))
    finally:
        service.close()


def ok(result: testing.Result, status: int = 200) -> Any:
    assert result.status_code == status, result.text
    return result.json


def populate(client: testing.TestClient) -> None:
    """Every kind of event and field: unicode, offsets, reached on create, explicit
    reachedAt, a deletion, and a stream long enough to have snapshots."""

    def create(**fields: Any) -> str:
        milestone_id: str = ok(client.simulate_post("/api/milestones", json=fields), 201)["data"][
            "id"
        ]
        return milestone_id

    def patch(milestone_id: str, **fields: Any) -> None:
        ok(client.simulate_patch(f"/api/milestones/{milestone_id}", json=fields))

    design = create(
        projectId="proj_a",
        title="Design ✓",
        description='wireframes — ünïcødé, "quotes", \\ and\nnew lines',
        dueDate="2026-03-01T09:00:00+02:00",
    )
    beta = create(projectId="proj_a", title="Beta", status="reached")
    launch = create(projectId="proj_b", title="Launch", dueDate="2026-03-01", status="in_progress")
    gone = create(projectId="proj_b", title="Scrapped")
    patch(design, title="Design done", status="in_progress")
    patch(design, status="reached", dueDate=None)
    patch(beta, status="pending", description="reopened")
    patch(beta, status="reached")
    patch(launch, reachedAt="2026-02-19T10:30:00.123+01:00")
    patch(launch, reachedAt=None, description="")
    ok(client.simulate_delete(f"/api/milestones/{gone}"))
    long = create(projectId="proj_c", title="t0")
    statuses = ("pending", "in_progress", "reached")
    for number in range(1, LONG_STREAM + 1):
        patch(long, title=f"t{number}", status=statuses[number % 3])


def feed(client: testing.TestClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    for _ in range(MAX_FEED_PAGES):
        page = ok(client.simulate_get("/api/events", params={"after": after, "limit": FEED_PAGE}))
        events.extend(page["data"])
        if page["next"] is None:
            return events
        after = page["next"]
    pytest.fail("the feed did not end")


def snapshot(database_url: str) -> dict[str, Any]:
    """Everything a client can read of the store, but the feed's positions.

    The list, and for every milestone that ever existed: GET (status, ETag, body), its
    history, and the state at each of its versions.
    """
    with api(database_url) as client:
        events = feed(client)
        milestones: dict[str, Any] = {}
        for milestone_id in dict.fromkeys(event["milestoneId"] for event in events):
            path = f"/api/milestones/{milestone_id}"
            current = client.simulate_get(path)
            history = ok(client.simulate_get(f"{path}/history"))["data"]
            versions = []
            for event in history:
                at = client.simulate_get(path, params={"version": event["version"]})
                versions.append((at.status_code, at.headers.get("ETag"), at.json))
            milestones[milestone_id] = {
                "get": (current.status_code, current.headers.get("ETag"), current.json),
                "history": history,
                "versions": versions,
            }
        listed = ok(client.simulate_get("/api/milestones"))
        ready = ok(client.simulate_get("/ready"))["data"]
        assert ready["lag"] == 0, ready
    return {
        "events": [{k: v for k, v in event.items() if k != "position"} for event in events],
        "milestones": milestones,
        "list": listed,
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SQLite store with a busy history, written through the API.

    One for the module: every test only reads it (exports it, snapshots it, verifies it),
    so each meets the same store a fresh fixture would give it.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('backup-source')}/source.db"
    with api(url) as client:
        populate(client)
    return url


@pytest.fixture(scope="module")
def source_log(source: str) -> bytes:
    """``milestones export`` of ``source``: the store does not change, nor does its export."""
    return export(source)


@pytest.fixture(scope="module")
def source_snapshot(source: str) -> dict[str, Any]:
    """``snapshot(source)``, taken once, as the store does not change."""
    return snapshot(source)


def check_log(log: bytes) -> list[dict[str, Any]]:
    """An export: one event a line, the contract's event shape plus a position, and the
    event's hash in the log's chain."""
    events = lines_of(log)
    assert events
    for event in events:
        assert list(event) == [
            "position",
            "milestoneId",
            "version",
            "type",
            "occurredAt",
            "actor",
            "requestId",
            "payload",
            "hash",
        ]
    assert [event["hash"] for event in events] == chain_of(events)
    positions = [event["position"] for event in events]
    assert positions == sorted(set(positions))
    return events


# The tests.


@pytest.mark.postgres
def test_round_trip_sqlite_postgres_sqlite_is_byte_for_byte(
    source: str,
    source_log: bytes,
    source_snapshot: dict[str, Any],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    first = source_log
    events = check_log(first)
    assert [event["position"] for event in events] == list(range(1, len(events) + 1))
    assert {event["type"] for event in events} == {"Created", "Updated", "StatusChanged", "Deleted"}

    import_(postgres_url, first)
    second = export(postgres_url)
    assert second == first

    back = f"sqlite:///{tmp_path}/back.db"
    import_(back, second)
    third = export(back)
    assert third == first

    expected = source_snapshot
    assert snapshot(postgres_url) == expected
    assert snapshot(back) == expected
    for url in (source, postgres_url, back):
        assert_verifies(url)


def test_import_restores_ids_versions_timestamps_and_the_view(
    source_log: bytes, source_snapshot: dict[str, Any], database_url: str
) -> None:
    """Into an empty store of either backend: the same answers to every read."""
    log = source_log
    import_(database_url, log)
    expected = source_snapshot
    assert snapshot(database_url) == expected
    assert export(database_url) == log
    assert_verifies(database_url)

    # The imported streams go on where they stopped, snapshots or not.
    with api(database_url) as client:
        listed = ok(client.simulate_get("/api/milestones", params={"projectId": "proj_c"}))["data"]
        (long,) = listed
        path = f"/api/milestones/{long['id']}"
        version = len(expected["milestones"][long["id"]]["history"])
        assert version == 1 + 2 * LONG_STREAM  # each PATCH: an Updated and a StatusChanged
        result = client.simulate_patch(path, json={"title": "after import"})
        assert result.headers["ETag"] == f'"{version + 1}"', result.text
        stale = client.simulate_patch(
            path, json={"title": "x"}, headers={"If-Match": f'"{version}"'}
        )
        assert stale.status_code == 412, stale.text
        fresh = ok(
            client.simulate_post("/api/milestones", json={"projectId": "p", "title": "t"}), 201
        )
        assert fresh["data"]["id"] not in expected["milestones"]
        assert fresh["data"]["id"] > max(expected["milestones"])  # ids go on sorting by creation
    assert_verifies(database_url)


def test_import_into_a_store_that_holds_events_is_refused_and_changes_nothing(
    source_log: bytes, database_url: str
) -> None:
    with api(database_url) as client:
        ok(client.simulate_post("/api/milestones", json={"projectId": "p", "title": "there"}), 201)
    before_log, before = export(database_url), snapshot(database_url)

    result = milestones(database_url, "import", stdin=source_log)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert b"already holds events" in result.stderr

    assert export(database_url) == before_log
    assert snapshot(database_url) == before
    assert_verifies(database_url)


def test_a_second_import_of_the_same_log_is_refused(source_log: bytes, database_url: str) -> None:
    log = source_log
    import_(database_url, log)
    result = milestones(database_url, "import", stdin=log)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert export(database_url) == log


def test_importing_an_empty_log_leaves_an_empty_store(database_url: str, tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path}/empty.db"
    open_service(Settings(database_url=empty)).close()  # export never creates a store
    assert export(empty) == b""
    result = milestones(database_url, "import", stdin=b"")
    assert result.returncode == 0, result.stderr
    assert export(database_url) == b""


@pytest.mark.postgres
def test_a_postgres_log_with_gaps_in_its_positions_moves_to_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    """Racing writers on PostgreSQL leave holes in the positions (a lost race still takes
    a sequence number). The log moves all the same: the same events in the same order,
    with the same ids, versions and timestamps, renumbered 1, 2, 3..."""
    service = open_service(Settings(database_url=postgres_url))
    try:
        shared = service.milestones.create(project_id="proj_race", title="raced")
        errors: list[BaseException] = []

        def race(number: int) -> None:
            try:
                for step in range(10):
                    service.milestones.update(shared.id, {"title": f"{number} {step}"})
            except BaseException as error:  # noqa: BLE001 - a lost race is allowed here
                errors.append(error)

        for _ in range(5):  # until the race has left a hole; nearly always at once
            threads = [threading.Thread(target=race, args=(n,), daemon=True) for n in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(thread.is_alive() for thread in threads)
            log = export(postgres_url)
            positions = [event["position"] for event in check_log(log)]
            if positions != list(range(1, len(positions) + 1)):
                break
        else:
            pytest.skip("inconclusive: the racing writers left no hole in the positions")
        assert not [e for e in errors if type(e).__name__ != "ConcurrentUpdate"], errors
        service.milestones.create(project_id="proj_race", title="after the race")
    finally:
        service.close()

    log = export(postgres_url)
    target = f"sqlite:///{tmp_path}/moved.db"
    import_(target, log)
    moved = export(target)
    before, after = lines_of(log), lines_of(moved)
    assert [event["position"] for event in after] == list(range(1, len(before) + 1))
    assert [{**event, "position": 0} for event in after] == [
        {**event, "position": 0} for event in before
    ]
    assert snapshot(target) == snapshot(postgres_url)
    assert_verifies(target)


def _wait_for_more(steps: list[int], writer: threading.Thread, timeout: float = 30.0) -> None:
    """Until the writer has made another step (an export takes milliseconds: without this
    wait, all three could run before the writer's first write)."""
    seen, deadline = steps[0], time.monotonic() + timeout
    while steps[0] == seen:
        assert writer.is_alive(), "the writer stopped"
        assert time.monotonic() < deadline, "the writer made no step"
        time.sleep(0.002)


def test_an_export_taken_while_writes_go_on_is_a_consistent_prefix(
    database_url: str, tmp_path: Path
) -> None:
    """``export`` reads one snapshot: taken during writes, it is the log up to some event,
    each milestone's versions counting from 1 with no hole, and imports into a store that
    verifies."""
    stop = threading.Event()
    errors: list[BaseException] = []
    steps = [0]  # how many create-and-update steps the writer has made

    def write() -> None:
        service = open_service(Settings(database_url=database_url))
        try:
            for step in range(MAX_WRITES):
                if stop.is_set():
                    return
                milestone = service.milestones.create(project_id="proj_live", title=f"{step}")
                service.milestones.update(milestone.id, {"title": f"{step}!", "status": "reached"})
                steps[0] = step + 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            service.close()

    open_service(Settings(database_url=database_url)).close()  # the tables, before the race
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    exports = []
    try:
        for _ in range(3):  # each export after more writes, while the writer goes on
            _wait_for_more(steps, writer)
            exports.append(export(database_url))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not writer.is_alive()
    assert not errors, errors
    final = export(database_url)
    assert len({len(log) for log in exports}) > 1 or len(exports[0]) < len(final), "no writes?"
    for log in exports:
        events = check_log(log) if log else []
        versions: dict[str, int] = {}
        for event in events:
            assert event["version"] == versions.get(event["milestoneId"], 0) + 1, event
            versions[event["milestoneId"]] = event["version"]
        assert final.startswith(log)
    copy = f"sqlite:///{tmp_path}/copy.db"
    import_(copy, exports[-1])
    assert export(copy) == exports[-1]
    assert_verifies(copy)


def test_idempotency_keys_survive_an_export_and_import(tmp_path: Path, database_url: str) -> None:
    origin = f"sqlite:///{tmp_path}/origin.db"
    key = f"key-{uuid.uuid4()}"
    body = {"projectId": "proj_keys", "title": "made once"}
    with api(origin) as client:
        first = ok(
            client.simulate_post("/api/milestones", json=body, headers={"Idempotency-Key": key}),
            201,
        )["data"]
    import_(database_url, export(origin))
    with api(database_url) as client:
        again = client.simulate_post("/api/milestones", json=body, headers={"Idempotency-Key": key})
        listed = ok(client.simulate_get("/api/milestones", params={"projectId": "proj_keys"}))
    assert (again.status_code, again.json["data"]["id"]) == (201, first["id"])
    assert listed["data"] == [first]
