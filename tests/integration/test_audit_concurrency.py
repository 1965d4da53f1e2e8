"""The audit surface while writes go on: the feed followed page by page, and a rebuild.

Both run on SQLite and on PostgreSQL (``database_url``), with real threads against the real
application, each part opened as a separate service as separate processes would be. Every
wait is bounded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from falcon import testing

from adapters.http.app import create_app
from domain.ids import to_public_id
from domain.milestone import Milestone, Status
from projections import runner

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service

KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]
FEED_PAGE = 7
WRITERS = 2
WRITES_PER_WRITER = 150  # every tenth a batch of four milestones with two events each
EVENTS_PER_WRITER = 135 * 3 + 15 * 4 * 2
# Milestones loaded before the rebuild, three events each spread over the log: the
# rebuild reads two full batches and a last one.
LOADED = 15_000
TIME_LIMIT = 90.0  # seconds any one wait in these tests may take


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def join_all(threads: list[threading.Thread]) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"


def whole_log(service: Service) -> list[tuple[int, str, int]]:
    """(position, milestone, version) of every stored event, in commit order."""
    entries: list[tuple[int, str, int]] = []
    with service.store.read_transaction() as c:
        while batch := service.store.select_records(c, entries[-1][0] if entries else 0, 5000):
            entries.extend((position, pid, version) for position, pid, version, _, _ in batch)
    return entries


def in_background(errors: list[BaseException], work: Callable[[], None]) -> threading.Thread:
    """A started daemon thread running ``work``; what it raises goes to ``errors``."""

    def run() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --- the feed while writes go on ----------------------------------------------------------


def write_for_a_while(service: Service, name: str) -> None:
    for step in range(WRITES_PER_WRITER):
        if step % 10 == 9:
            # One transaction of several events of several milestones.
            batch = [Milestone.create(project_id=name, title=f"{step}.{k}") for k in range(4)]
            for milestone in batch:
                milestone.update(status=Status.IN_PROGRESS)
            service.milestones.save(*batch)
        else:
            milestone = service.milestones.create(project_id=name, title=str(step))
            service.milestones.update(milestone.id, {"title": f"{step}!", "status": "reached"})


@dataclass
class Follower:
    """A feed consumer: follows ``next``, and on a last page keeps its last position."""

    client: testing.TestClient
    seen: list[dict[str, Any]] = field(default_factory=list)
    after: int = 0

    def read_page(self) -> bool:
        """Read one page; whether it was the last one for now."""
        result = self.client.simulate_get(
            "/api/events", params={"after": str(self.after), "limit": str(FEED_PAGE)}
        )
        assert result.status_code == 200, result.text
        page = result.json
        data = page["data"]
        assert page["count"] == len(data) <= FEED_PAGE
        assert all(event["position"] > self.after for event in data)
        expected_next = data[-1]["position"] if len(data) == FEED_PAGE else None
        assert page["next"] == expected_next
        self.seen.extend(data)
        if data:
            self.after = data[-1]["position"]
        return page["next"] is None


def test_feed_followed_during_writes_misses_nothing_and_repeats_nothing(
    open_services: Callable[[], Service],
) -> None:
    writer, reader = open_services(), open_services()
    for number in range(5):
        writer.milestones.create(project_id="seed", title=f"seed {number}")
    errors: list[BaseException] = []
    threads = [
        in_background(errors, partial(write_for_a_while, writer, f"writer {n}"))
        for n in range(WRITERS)
    ]
    follower = Follower(testing.TestClient(create_app(reader.milestones, reader.reads)))
    pages_while_writing = 0
    deadline = time.monotonic() + TIME_LIMIT
    while True:
        assert time.monotonic() < deadline, "the feed did not catch up with the writers"
        writing = any(thread.is_alive() for thread in threads)
        last = follower.read_page()
        pages_while_writing += writing
        if last and not writing:
            break  # this page was read after the last write: nothing more comes
        if last:
            time.sleep(0.001)
    join_all(threads)
    assert not errors, errors
    log = whole_log(reader)
    assert len(log) == 5 + WRITERS * EVENTS_PER_WRITER
    seen = [(event["position"], event["milestoneId"], event["version"]) for event in follower.seen]
    assert seen == log, "the feed missed, repeated or reordered events"
    assert pages_while_writing >= 20, "the feed was hardly read while the writers wrote"


# --- a rebuild while the service serves ---------------------------------------------------


def save(service: Service, events: list[Any]) -> None:
    service.milestones.save(*events)


def load(service: Service, count: int) -> dict[str, dict[str, Any]]:
    """``count`` milestones with three events each: all Created, then all Updated, then all
    StatusChanged, so a view built from a prefix of the log would show older states.
    Returns the documents the view holds then.
    """
    milestones = [
        Milestone.create(project_id=f"proj_{number % 10}", title=f"milestone {number}")
        for number in range(count)
    ]
    steps: list[Callable[[Milestone], None]] = [
        lambda milestone: None,
        lambda milestone: milestone.update(title=f"{milestone.title} (renamed)"),
        lambda milestone: milestone.update(status=Status.IN_PROGRESS),
    ]
    for step in steps:
        for start in range(0, count, 1000):
            events: list[Any] = []
            for milestone in milestones[start : start + 1000]:
                step(milestone)
                events.extend(milestone.collect_events())
            save(service, events)
    documents = {}
    for body in service.reads.documents():
        document = orjson.loads(body)
        documents[document["id"]] = document
    assert len(documents) == count
    assert service.reads.lag()[0] >= 3 * count
    return documents


@dataclass
class Traffic:
    """A reader polling the list and a writer creating milestones, on one service."""

    service: Service
    baseline: dict[str, dict[str, Any]]  # what the list holds before the traffic starts
    polls: list[tuple[float, float]] = field(default_factory=list)  # start, end
    writes: list[float] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # ids the writer created
    violations: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.client = testing.TestClient(create_app(self.service.milestones, self.service.reads))

    def poll(self, number: int) -> list[dict[str, Any]]:
        """The list, alternately from the read model and over HTTP."""
        if number % 2:
            return [orjson.loads(body) for body in self.service.reads.documents()]
        result = self.client.simulate_get("/api/milestones")
        if result.status_code != 200:
            self.violations.append(f"GET /api/milestones answered {result.status_code}")
            return []
        body = result.json
        if body["count"] != len(body["data"]):
            self.violations.append("count is not the number of milestones")
        data: list[dict[str, Any]] = body["data"]
        return data

    def read(self) -> None:
        previous: set[str] = set()
        number = 0
        while not self.stop.is_set():
            started = time.monotonic()
            documents = {document["id"]: document for document in self.poll(number)}
            self.polls.append((started, time.monotonic()))
            number += 1
            missing = self.baseline.keys() - documents.keys()
            changed = [i for i, d in self.baseline.items() if documents.get(i, d) != d]
            vanished = previous - documents.keys()
            if missing or changed or vanished:
                self.violations.append(
                    f"poll {number}: {len(documents)} milestones, {len(missing)} of the "
                    f"loaded ones missing, {len(changed)} changed, {len(vanished)} seen "
                    "before vanished"
                )
            if any(list(document) != KEYS for document in documents.values()):
                self.violations.append(f"poll {number}: a document without its eight keys")
            previous = set(documents)

    def write(self) -> None:
        number = 0
        while not self.stop.is_set():
            milestone = self.service.milestones.create(project_id="live", title=f"live {number}")
            self.service.milestones.update(milestone.id, {"title": f"live {number}, renamed"})
            self.written.append(to_public_id(milestone.id))
            self.writes.append(time.monotonic())
            number += 1
            time.sleep(0.002)

    def polls_between(self, start: float, end: float) -> int:
        return sum(began < end and ended > start for began, ended in self.polls)


def test_rebuild_under_traffic_never_hides_a_milestone(
    open_services: Callable[[], Service],
) -> None:
    server, operator = open_services(), open_services()
    traffic = Traffic(server, load(server, LOADED))
    errors: list[BaseException] = []
    threads = [in_background(errors, traffic.read), in_background(errors, traffic.write)]
    progress: list[tuple[int, int]] = []
    try:
        wait_until(lambda: len(traffic.polls) >= 2 and len(traffic.writes) >= 3, "traffic")
        started = time.monotonic()
        events = runner.rebuild_all(
            operator.store,
            lambda done, total: progress.append((done, total)),
            list(runner.PROJECTIONS.values()),
        ).events
        ended = time.monotonic()
        wait_until(lambda: traffic.polls_between(ended, float("inf")) >= 2, "polls after it")
    finally:
        traffic.stop.set()
        join_all(threads)
    assert not errors, errors
    assert not traffic.violations, traffic.violations[:10]
    # The rebuild really ran under traffic, and in several batches.
    assert traffic.polls_between(started, ended) >= 1
    assert sum(started <= moment <= ended for moment in traffic.writes) >= 1
    assert [done for done, _ in progress[:2]] == [runner.BATCH, 2 * runner.BATCH], progress
    assert events >= 3 * LOADED
    assert progress[-1] == (events, events)
    # Afterwards the view is the log's, and holds everything that was written.
    for projection in runner.PROJECTIONS.values():
        assert runner.verify(server.store, projection) == [], projection.name
        assert runner.verify(operator.store, projection) == [], projection.name
    final = {orjson.loads(body)["id"] for body in server.reads.documents()}
    assert final == traffic.baseline.keys() | set(traffic.written)
    position, head = server.reads.lag()
    assert position == head == whole_log(server)[-1][0]


# --- bulk saves ---------------------------------------------------------------------------


def test_bulk_saves_succeed(open_services: Callable[[], Service]) -> None:
    """Saving many milestones at once (as a loader or ``milestones import`` does) works."""
    service = open_services()
    milestones = [Milestone.create(project_id="bulk", title=str(n)) for n in range(200)]
    service.milestones.save(*milestones)
    # Many rounds of a middling batch: the size that met the race most often.
    for round_number in range(75):
        for milestone in milestones:
            milestone.update(title=f"{milestone.title}.{round_number}")
        service.milestones.save(*milestones)
    assert service.reads.lag() == (15_200, 15_200)
    assert runner.verify(service.store) == []
