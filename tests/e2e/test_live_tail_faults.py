"""Live streams while the storage fails, against a real server on each backend.

The SQLite file is moved away (the service reads it no longer: it was removed, as far as
the service can tell) and put back; on PostgreSQL the database stops taking connections
and every session on it is terminated, then it takes connections again. Meanwhile the
streams pause: they stay open, send nothing twice and skip nothing, still end on time,
and go on from where they were once the storage answers.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from tests.api_client import assert_problem
from tests.conftest import POSTGRES_SERVER, throwaway_postgres_database
from tests.e2e.harness import Servers
from tests.e2e.sse import Tail

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.harness import Server

STREAM_SECONDS = 8
ENV = {
    "MILESTONES_STREAM_SECONDS": str(STREAM_SECONDS),
    "MILESTONES_STREAMS_PER_WORKER": "3",
    "MILESTONES_STREAM_KEEPALIVE_SECONDS": "1",
}
OUTAGE = 3.0  # seconds the storage stays away
BACK_WITHIN = 10.0  # seconds for a write to succeed once the storage is back


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[Server]:
    with Servers(tmp_path) as servers:
        if backend == "sqlite":
            yield servers.start(tmp_path / "milestones.db", env=ENV, workers=1)
            return
        with throwaway_postgres_database() as url:
            yield servers.start(url, env=ENV, workers=1)
            servers.stop_all()  # before the database goes


@contextmanager
def storage_away(server: Server, backend: str) -> Iterator[None]:
    """The storage unreadable for the service while inside, and back after."""
    if backend == "sqlite":
        path = server.sqlite_file
        away = path.replace(path.with_name(f"{path.name}.away"))
        try:
            yield
        finally:
            away.replace(path)
        return
    name = str(server.database).rsplit("/", 1)[1]
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def write_once(server: Server, title: str) -> dict[str, Any]:
    """A milestone created once, retried under one idempotency key until the storage answers."""
    key, deadline = uuid.uuid4().hex, time.monotonic() + BACK_WITHIN
    body = {"projectId": "proj_faults", "title": title}
    while True:
        status, _, document = server.client.request(
            "POST", "/api/milestones", body, {"Idempotency-Key": key}
        )
        if status == 201:
            return dict(document["data"])
        assert status in {500, 503}, (status, document)
        assert time.monotonic() < deadline, f"the storage did not come back: {document}"
        time.sleep(0.2)


def open_tail(tails: list[Tail], server: Server, **headers: str) -> Tail:
    tail = Tail(server.port, "", {k.replace("_", "-"): v for k, v in headers.items()})
    tails.append(tail)
    assert tail.status == 200, (tail.status, tail.body)
    return tail


def test_streams_pause_while_the_storage_fails_and_go_on_exactly_once_it_is_back(
    server: Server, backend: str
) -> None:
    tails: list[Tail] = []
    try:
        first_id = write_once(server, "before any stream")["id"]
        live = open_tail(tails, server)
        opened = time.monotonic()
        start = live.start()
        assert start == 1
        write_once(server, "before the outage")
        assert live.next_event().position == start + 1
        with storage_away(server, backend):
            # A stream that resumes from the start must read its backlog: it cannot now.
            resumed = open_tail(tails, server, last_event_id="0")
            assert resumed.start() == 0
            # Without Last-Event-ID the stream starts at the log's head, unknown for now.
            status, headers, body = server.client.request("GET", "/api/events/stream")
            assert_problem((status, headers, body), 503)
            assert headers["Retry-After"]
            assert live.no_event_within(OUTAGE)  # keep-alives only, and still open
            assert resumed.no_event_within(0.1)
            assert live.ended_at is None
            assert resumed.ended_at is None
        written = write_once(server, "after the outage")
        arrived = live.next_event(timeout=BACK_WITHIN)
        assert (arrived.position, arrived.message.json()["milestoneId"]) == (
            start + 2,
            written["id"],
        )
        backlog = [resumed.next_event(timeout=BACK_WITHIN) for _ in range(3)]
        assert [m.position for m in backlog] == [1, 2, 3]
        assert backlog[0].message.json()["milestoneId"] == first_id
        assert backlog[2].message.json() == arrived.message.json()
        # No thread hangs on the outage: the stream still ends on time, and resumes exactly.
        assert [m for m in live.rest(STREAM_SECONDS + 5) if m.message.data] == []
        assert live.ended_at is not None
        assert live.ended_at - opened < STREAM_SECONDS + 3
        again = open_tail(tails, server, last_event_id=str(arrived.position))
        assert again.start() == arrived.position
        write_once(server, "after the resume")
        assert again.next_event().position == arrived.position + 1
        assert again.no_event_within(0.5)
    finally:
        for tail in tails:
            tail.close()
