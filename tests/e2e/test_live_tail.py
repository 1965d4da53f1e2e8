"""The live tail against real servers on each backend: Server-Sent Events and long polls.

Each backend gets one server of one worker, so that a stream cap of two is the whole
server's; streams end after a few seconds and keep-alives come every second, so that the
tests see both without waiting long. Every wait is for a message or an answer, bounded.
"""

from __future__ import annotations

import signal
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.api_client import assert_problem
from tests.conftest import throwaway_postgres_database
from tests.e2e.harness import Servers, backend_of, failed_start
from tests.e2e.sse import Tail
from tests.e2e.test_slow_clients import P99_LIMIT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.harness import Database, Server

DELIVERY_LIMIT = 1.0  # seconds from a write's answer to its event on a stream
STREAM_SECONDS = 3
SLOTS = 2
TAIL_ENV = {
    "MILESTONES_STREAM_SECONDS": str(STREAM_SECONDS),
    "MILESTONES_STREAMS_PER_WORKER": str(SLOTS),
    "MILESTONES_STREAM_KEEPALIVE_SECONDS": "1",
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        yield tmp_path_factory.mktemp("tail-db") / "milestones.db"
        return
    with throwaway_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def tail_servers(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Servers of one backend's tests, stopped before its database goes."""
    with Servers(tmp_path_factory.mktemp(f"tail-{backend_of(database)}")) as servers:
        yield servers


@pytest.fixture(scope="module")
def server(database: Database, tail_servers: Servers) -> Server:
    return tail_servers.start(database, env=TAIL_ENV, workers=1)


@pytest.fixture
def tails(server: Server) -> Iterator[list[Tail]]:
    """Streams a test opens (append them): hung up after it, whatever it did, and the
    server's slots free again before the next test."""
    opened: list[Tail] = []
    yield opened
    for tail in opened:
        tail.close()
    deadline = time.monotonic() + 10
    while (open_now := streams_open(server)) != 0:
        assert time.monotonic() < deadline, f"{open_now} streams still open on the server"
        time.sleep(0.05)


def streams_open(server: Server) -> float:
    """The server's gauge of open streams (and long polls)."""
    return metric(server, "milestones_streams_open")


def metric(server: Server, name: str) -> float:
    """A metric without labels, from the server's /metrics."""
    status, _, body = server.client.request("GET", "/metrics")
    assert status == 200, body
    text = body.decode() if isinstance(body, bytes) else str(body)
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def open_tail(tails: list[Tail], server: Server, query: str = "", **headers: str) -> Tail:
    tail = Tail(server.port, query, {k.replace("_", "-"): v for k, v in headers.items()})
    tails.append(tail)
    assert tail.status == 200, (tail.status, tail.body)
    return tail


def write(server: Server, **fields: Any) -> tuple[dict[str, Any], float]:
    """Create a milestone; its document and the moment its request was sent: the commit
    came later, so a delay measured from then is at most the delay from the commit."""
    sent = time.monotonic()
    document, _ = server.client.create(**fields)
    return document, sent


def feed_event(server: Server, position: int) -> dict[str, Any]:
    (event,) = server.client.feed(after=position - 1, limit=1)[:1]
    assert event["position"] == position
    return event


def test_a_new_event_arrives_within_a_second_as_the_feed_shows_it(
    server: Server, tails: list[Tail]
) -> None:
    sent_before = metric(server, "milestones_stream_events_sent_total")
    tail = open_tail(tails, server)
    assert streams_open(server) == 1
    assert tail.headers["content-type"].startswith("text/event-stream")
    assert tail.headers["x-accel-buffering"] == "no"
    assert tail.headers["cache-control"] == "no-store"
    start = tail.start()
    assert start == server.client.head()  # by default, only what comes next
    document, sent = write(server, projectId="proj_live", title="live")
    arrived = tail.next()
    assert arrived.at - sent < DELIVERY_LIMIT
    assert arrived.position == start + 1
    assert arrived.message.event == "Created"
    assert arrived.message.json() == feed_event(server, arrived.position)
    assert arrived.message.json()["milestoneId"] == document["id"]
    assert metric(server, "milestones_stream_events_sent_total") == sent_before + 1


def test_filters_pass_only_matching_events_in_log_order(server: Server, tails: list[Tail]) -> None:
    mine, _ = write(server, projectId="proj_filter_a", title="mine")
    by_project = open_tail(tails, server, "projectId=proj_filter_a&type=StatusChanged")
    by_milestone = open_tail(tails, server, f"milestoneId={mine['id']}")
    by_project.start(), by_milestone.start()
    write(server, projectId="proj_filter_b", title="another project")
    path = f"/api/milestones/{mine['id']}"
    for status in ("in_progress", "reached"):
        assert server.client.request("PATCH", path, {"status": status})[0] == 200
    assert server.client.request("PATCH", path, {"title": "renamed"})[0] == 200
    changes = by_project.events(2)
    assert [m.message.json()["payload"]["to"] for m in changes] == ["in_progress", "reached"]
    assert [m.message.event for m in by_milestone.events(3)] == [
        "StatusChanged", "StatusChanged", "Updated"
    ]  # fmt: skip
    assert changes[0].position < changes[1].position
    assert by_project.nothing_within(0.5)  # the Updated and the other project's Created


def test_head_answers_the_stream_headers_without_holding_a_slot(server: Server) -> None:
    for _ in range(SLOTS + 1):
        status, headers, body = server.client.request("HEAD", "/api/events/stream")
        assert (status, body) == (200, b"")
        assert headers["Content-Type"] == "text/event-stream"
    assert streams_open(server) == 0


def test_a_keep_alive_comes_while_nothing_matches(server: Server) -> None:
    import httpx  # noqa: PLC0415 - the raw lines, which an SSE client does not show

    url = f"http://127.0.0.1:{server.port}/api/events/stream?projectId=proj_silent"
    with httpx.stream("GET", url, timeout=10) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        seen = [next(lines) for _ in range(4)]
    assert ": keep-alive" in seen, seen


def test_the_server_ends_a_stream_and_a_resumed_one_misses_nothing_and_repeats_nothing(
    server: Server, tails: list[Tail]
) -> None:
    first = open_tail(tails, server)
    start = first.start()
    opened = time.monotonic()
    stop = threading.Event()
    written: list[str] = []

    def keep_writing() -> None:
        while not stop.is_set():
            written.append(write(server, projectId="proj_resume", title="w")[0]["id"])

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        received = [m for m in first.rest(STREAM_SECONDS + 5) if m.message.data]
        assert first.ended_at is not None
        assert STREAM_SECONDS - 0.5 < first.ended_at - opened < STREAM_SECONDS + 3
        resumed = open_tail(tails, server, last_event_id=str(received[-1].position))
        assert resumed.start() == received[-1].position
        received += resumed.events(3)  # written after the first stream ended
    finally:
        stop.set()
        writer.join()
    positions = [m.position for m in received]
    assert positions == list(range(start + 1, start + 1 + len(positions)))
    ids = [m.message.json()["milestoneId"] for m in received]
    assert ids == written[: len(ids)]


def test_streams_resumed_from_long_ago_while_events_flow_get_each_once_in_order(
    server: Server, tail_servers: Servers, tails: list[Tail]
) -> None:
    # Streams that outlast the test, and a third slot.
    env = {**TAIL_ENV, "MILESTONES_STREAM_SECONDS": "60", "MILESTONES_STREAMS_PER_WORKER": "3"}
    server = tail_servers.start(server.database, env=env, workers=1)
    watching = open_tail(tails, server)  # keeps the worker's shared read going meanwhile
    watching.start()
    stop = threading.Event()

    def keep_writing() -> None:
        number = 0
        while not stop.is_set():
            write(server, projectId=f"proj_flow_{number % 2}", title="flowing")
            number += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(5):  # the shared read is past where the two below resume by now
            watching.next_event()
        # Both read their backlog from the feed, then join the shared read as it moves on.
        everything = open_tail(tails, server, last_event_id="0")
        of_project = open_tail(tails, server, "projectId=proj_flow_1", last_event_id="0")
        assert everything.start() == of_project.start() == 0
        received = [everything.next_event() for _ in range(20)]
        received_of_project = [of_project.next_event() for _ in range(3)]
        for _ in range(10):  # still flowing after they joined
            watching.next_event()
    finally:
        stop.set()
        writer.join()
    feed = server.client.feed(after=0)
    received += everything.events_until(feed[-1]["position"])
    matching = [e for e in feed if e["payload"].get("projectId") == "proj_flow_1"]
    received_of_project += of_project.events_until(matching[-1]["position"])
    assert [m.message.json() for m in received] == feed
    assert [m.message.json() for m in received_of_project] == matching
    assert everything.no_event_within(0.5)
    assert of_project.no_event_within(0.1)


def test_last_event_id_wins_over_after(server: Server, tails: list[Tail]) -> None:
    write(server, title="one"), write(server, title="two")
    head = server.client.head()
    tail = open_tail(tails, server, "after=0", last_event_id=str(head - 1))
    assert tail.start() == head - 1
    assert tail.next().position == head


def test_a_worker_beyond_its_streams_answers_503_and_ordinary_requests_go_on(
    server: Server, tails: list[Tail]
) -> None:
    held = [open_tail(tails, server) for _ in range(SLOTS)]
    refused = Tail(server.port)
    tails.append(refused)
    assert refused.status == 503
    assert refused.headers["retry-after"] == "2"
    assert refused.headers["content-type"] == "application/problem+json"
    document, _ = write(server, title="while streams are held")
    latencies = []
    for _ in range(100):
        started = time.monotonic()
        server.client.get(document["id"])
        latencies.append(time.monotonic() - started)
    assert statistics.quantiles(latencies, n=100)[98] < P99_LIMIT, max(latencies)
    busy = server.client.request("GET", f"/api/events?after={server.client.head()}&wait=1")
    assert_problem(busy, 503)  # a long poll takes a slot too
    assert busy[1]["Retry-After"] == "2"
    held[0].close()
    deadline = time.monotonic() + 5
    while (again := Tail(server.port)).status != 200:  # the slot comes back once it is seen gone
        tails.append(again)
        assert time.monotonic() < deadline, "the slot of a closed stream never came back"
        time.sleep(0.1)
    tails.append(again)


def test_a_long_poll_answers_at_the_first_event_or_empty_when_the_wait_is_over(
    server: Server,
) -> None:
    head = server.client.head()
    answers: list[tuple[float, Any]] = []
    poll = threading.Thread(
        target=lambda: answers.append(
            (time.monotonic(), server.client.request("GET", f"/api/events?after={head}&wait=10"))
        )
    )
    poll.start()
    deadline = time.monotonic() + 5
    while streams_open(server) < 1:  # the poll waits, holding a slot
        assert time.monotonic() < deadline, "the long poll never waited"
        time.sleep(0.02)
    _, sent = write(server, projectId="proj_poll", title="polled")
    poll.join(timeout=10)
    answered, (status, _, body) = answers[0]
    assert status == 200, body
    assert [e["position"] for e in body["data"]] == [head + 1]
    assert answered - sent < DELIVERY_LIMIT
    started = time.monotonic()
    status, _, body = server.client.request("GET", f"/api/events?after={head + 1}&wait=1")
    assert (status, body["data"]) == (200, [])
    assert 1.0 <= time.monotonic() - started < 3.0


@pytest.mark.parametrize(
    ("query", "headers", "field"),
    [
        ("after=-1", {}, "after"),
        ("after=x", {}, "after"),
        ("after=1&after=2", {}, "after"),
        ("type=Renamed", {}, "type"),
        ("projectId=", {}, "projectId"),
        ("milestoneId=ms_nope", {}, "milestoneId"),
        ("actor=", {}, "actor"),
        ("since=2026-01-01T00:00:00Z", {}, "since"),
        ("limit=5", {}, "limit"),
        ("", {"Last-Event-ID": "abc"}, "Last-Event-ID"),
        ("", {"Last-Event-ID": "-3"}, "Last-Event-ID"),
        ("", {"Last-Event-ID": "9" * 30}, "Last-Event-ID"),
    ],
)
def test_a_bad_stream_request_is_a_400_naming_it(
    server: Server, query: str, headers: dict[str, str], field: str
) -> None:
    response = server.client.request("GET", f"/api/events/stream?{query}", headers=headers)
    assert_problem(response, 400)
    assert [e["field"] for e in response[2]["errors"]] == [field]


@pytest.mark.parametrize("wait", ["0", "31", "x", "1.5", ""])
def test_a_bad_wait_is_a_400(server: Server, wait: str) -> None:
    response = server.client.request("GET", f"/api/events?wait={wait}")
    assert_problem(response, 400)
    assert [e["field"] for e in response[2]["errors"]] == ["wait"]


def test_an_event_written_by_another_instance_arrives_within_a_second(
    server: Server, tail_servers: Servers, tails: list[Tail]
) -> None:
    other = tail_servers.start(server.database, env=TAIL_ENV, workers=1)
    tail = open_tail(tails, server)
    tail.start()
    document, sent = write(other, projectId="proj_other", title="from the other")
    arrived = tail.next()
    assert arrived.at - sent < DELIVERY_LIMIT
    assert arrived.message.json()["milestoneId"] == document["id"]


def test_a_graceful_restart_ends_streams_at_once_and_a_resumed_one_loses_nothing(
    server: Server, tails: list[Tail]
) -> None:
    tail = open_tail(tails, server)
    start = tail.start()
    write(server, title="before the restart")
    server.process.send_signal(signal.SIGHUP)  # new workers; the old ones stop gracefully
    signalled = time.monotonic()
    messages = tail.rest(10)
    assert tail.ended_at is not None
    assert tail.ended_at - signalled < 3.0  # the graceful timeout is 20 s
    write(server, title="after the restart")
    seen = messages[-1].position if messages else start  # an id alone counts: it was seen
    resumed = open_tail(tails, server, last_event_id=str(seen))
    assert resumed.start() == seen
    received = [m for m in messages if m.message.data]
    received += resumed.events(2 - len(received))
    assert [m.position for m in received] == [start + 1, start + 2]


def test_a_stop_ends_open_streams_at_once(
    server: Server, tail_servers: Servers, tails: list[Tail]
) -> None:
    stopping = tail_servers.start(server.database, env=TAIL_ENV, workers=1)
    tail = Tail(stopping.port)
    tails.append(tail)
    assert tail.status == 200
    tail.start()
    stopping.terminate()  # SIGTERM: a graceful stop, whose timeout is 20 s
    signalled = time.monotonic()
    assert tail.rest(10) == []
    assert tail.ended_at is not None
    assert tail.ended_at - signalled < 3.0
    stopping.process.wait(timeout=20)  # without waiting for the stream's graceful timeout
    assert time.monotonic() - signalled < 15.0


@pytest.mark.parametrize(
    "env",
    [
        {"MILESTONES_STREAMS_PER_WORKER": "9"},  # more than half of the 16 threads
        {"MILESTONES_STREAMS_PER_WORKER": "5", "MILESTONES_THREADS": "8"},
        {"MILESTONES_STREAMS_PER_WORKER": "-1"},
    ],
)
def test_a_stream_cap_that_would_starve_other_requests_stops_the_server(
    tmp_path: Path, env: dict[str, str]
) -> None:
    code, output, answered = failed_start(tmp_path, env)
    assert code not in {0, None}, output
    assert not answered
    assert "MILESTONES_STREAMS_PER_WORKER must be from 0 to" in output, output
