"""Faults degrade the service for a moment and never take it down: a PostgreSQL outage,
a full disk. Each test asserts what clients get during the fault, that no acknowledged
write is lost, and that the service recovers without a restart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tests.e2e.faults import Cluster, Writers, fill, make_cluster, mount_tmpfs, unavailable
from tests.e2e.harness import (
    WORKERS,
    assert_projection_verifies,
    free_port,
    run_milestones,
    servers_in,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.api_client import Response
    from tests.e2e.client import Client
    from tests.e2e.harness import Server, Servers

pytestmark = pytest.mark.serial  # bounds on how long answers take during a fault

# Seconds a request waits for an unreachable PostgreSQL server (5 shipped): shorter here,
# so that an outage that outlasts it several times over takes seconds, not tens of them.
STORAGE_TIMEOUT = 3.0
OUTAGES = {"MILESTONES_STORAGE_TIMEOUT": str(STORAGE_TIMEOUT)}
SLACK = 1.5  # seconds of HTTP, scheduling and a shared CPU on top of it
OUTAGE = 5.0  # seconds the database is down under load
UNAVAILABLE = "urn:milestones:problem:storage-unavailable"
UNKNOWN = "urn:milestones:problem:commit-outcome-unknown"
FULL = "urn:milestones:problem:storage-full"
UNWRITABLE = "urn:milestones:problem:storage-unwritable"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with make_cluster(free_port()) as made:
        yield made


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    yield from servers_in(tmp_path)


def assert_problem(response: Response, status: int, kind: str) -> None:
    got, headers, body = response
    assert got == status, response
    assert headers["Content-Type"] == "application/problem+json", response
    assert body["type"] == kind, body
    assert headers["X-Request-Id"], response


def timed(call: Callable[[], Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def create(client: Client, title: str, key: str | None = None, description: str = "") -> Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"projectId": "proj_faults", "title": title}
    if description:
        body["description"] = description
    return client.request("POST", "/api/milestones", body, headers)


def booted_workers(server: Server, timeout: float = 15.0) -> set[int]:
    """Every worker of the server, once each has booted: one may boot a moment after the
    first has already answered, and counted early it would look like a replacement later."""
    deadline = time.monotonic() + timeout
    while len(workers := server.worker_pids()) < WORKERS:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    return workers


def wait_for_write(client: Client, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = create(client, "after the outage")
        if status == 201:
            return str(body["data"]["id"])
        assert time.monotonic() < deadline, (status, body)
        time.sleep(0.2)


# --- PostgreSQL outages ----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_server_started_while_postgres_is_down_serves_once_it_returns(
    cluster: Cluster, servers: Servers
) -> None:
    url = cluster.create_database()
    cluster.stop()
    try:
        server = servers.start(url, env=OUTAGES)  # the workers boot without the database
        client = server.client
        status, _, body = client.request("GET", "/health")
        assert (status, body) == (200, {"data": {"status": "ok"}})
        ready, seconds = timed(lambda: client.request("GET", "/ready"))
        assert ready[0] == 503, ready
        assert ready[1]["Content-Type"] == "application/problem+json"
        assert seconds < 1.0
        write, seconds = timed(lambda: create(client, "during the outage"))
        assert_problem(write, 503, UNAVAILABLE)
        assert write[1]["Retry-After"] == "1"
        assert seconds < STORAGE_TIMEOUT + SLACK
        assert_problem(client.request("GET", "/api/milestones"), 503, UNAVAILABLE)
        workers = booted_workers(server)
    finally:
        cluster.start()
    made = wait_for_write(client)
    assert client.request("GET", f"/api/milestones/{made}")[0] == 200
    assert client.request("GET", "/ready")[0] == 200
    assert server.worker_pids() == workers  # no worker was replaced
    assert "Traceback" not in server.stderr()


@pytest.mark.postgres
def test_an_outage_under_write_load_degrades_then_heals(cluster: Cluster, servers: Servers) -> None:
    url = cluster.create_database()
    server = servers.start(url, env=OUTAGES)
    client = server.client
    workers = server.worker_pids()
    ready_seconds: list[float] = []
    # One writer: the other sync worker stays free to answer /ready meanwhile.
    with Writers(client, threads=1) as writers:
        time.sleep(1.0)
        cluster.stop()
        try:
            outage_ends = time.monotonic() + OUTAGE
            while time.monotonic() < outage_ends:
                ready, seconds = timed(lambda: client.request("GET", "/ready"))
                assert ready[0] == 503, ready
                ready_seconds.append(seconds)
                time.sleep(0.5)
        finally:
            cluster.start()
        wait_for_write(client)
        time.sleep(0.5)
    answers = writers.answers
    during = [a for a in answers if a.status != 201]
    assert during, "no write met the outage"
    for answer in during:
        assert answer.status == 503, answer
        assert answer.body["type"] in {UNAVAILABLE, UNKNOWN}, answer
    assert max(a.seconds for a in answers) < STORAGE_TIMEOUT + SLACK
    assert max(ready_seconds) < 1.0, ready_seconds
    # Nothing acknowledged is lost; a POST of unknown outcome is safe to retry by its key.
    for made in writers.acknowledged():
        assert client.request("GET", f"/api/milestones/{made}")[0] == 200, made
    for answer in during:
        retried = create(client, answer.body_title, key=answer.key)
        assert retried[0] in {200, 201}, retried
    assert server.worker_pids() == workers
    assert_projection_verifies(url)


SHORT_TIMEOUT = 2.0  # MILESTONES_STORAGE_TIMEOUT of the next test's server, to keep it short
LOG_LINE = r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[ERROR\] "


@pytest.mark.postgres
def test_every_write_meets_an_outage_within_the_timeout_of_its_arrival(
    cluster: Cluster, servers: Servers
) -> None:
    """Many writers at once: a write queued behind a batch that spends its time on the
    outage is still answered within the timeout of its own arrival, never after theirs."""
    url = cluster.create_database()
    server = servers.start(url, env={"MILESTONES_STORAGE_TIMEOUT": str(SHORT_TIMEOUT)})
    client = server.client
    with Writers(client, threads=8, pause=0.0) as writers:
        time.sleep(0.5)
        cluster.stop()
        try:
            time.sleep(2 * SHORT_TIMEOUT)
        finally:
            cluster.start()
        wait_for_write(client)
    answers = writers.answers
    during = [a for a in answers if a.status != 201]
    assert len(during) >= 8, "the writers did not meet the outage"
    for answer in during:
        assert answer.status == 503, answer
        assert answer.body["type"] in {UNAVAILABLE, UNKNOWN}, answer
    assert max(a.seconds for a in answers) < SHORT_TIMEOUT + SLACK, sorted(
        round(a.seconds, 2) for a in answers
    )[-10:]
    for made in writers.acknowledged():
        assert client.request("GET", f"/api/milestones/{made}")[0] == 200, made
    # One line as the outage begins and one as it ends, in each worker that met it.
    log = server.stderr()
    began = re.findall(
        LOG_LINE + "writes fail: the storage is busy or unreachable$", log, re.MULTILINE
    )
    ended = re.findall(LOG_LINE + "the storage answers again", log, re.MULTILINE)
    assert 1 <= len(began) <= 2, log[-3000:]
    assert len(ended) == len(began), log[-3000:]
    assert "Traceback" not in log
    assert_projection_verifies(url)


# --- a full disk -----------------------------------------------------------------------------


def test_a_full_disk_is_507_until_space_returns(tmp_path: Path, servers: Servers) -> None:
    """On SQLite: the disk of a PostgreSQL server is the server's to watch."""
    with mount_tmpfs(tmp_path / "disk", "6m") as disk:
        server = servers.start(disk / "m.db")
        client = server.client
        kept = [wait_for_write(client)]
        filler = fill(disk)
        full = None
        for number in range(500):
            response = create(client, f"filling {number}", description="x" * 8000)
            if response[0] == 201:
                kept.append(response[2]["data"]["id"])
                continue
            full = response
            break
        assert full is not None, "the disk never filled"
        assert_problem(full, 507, FULL)
        assert full[1]["Retry-After"] == "60"  # a fault an operator must fix
        assert "full" in full[2]["detail"]
        assert_problem(create(client, "still full"), 507, FULL)
        ready = client.request("GET", "/ready")
        assert_problem(ready, 503, FULL)
        # Reads go on.
        assert client.request("GET", f"/api/milestones/{kept[0]}")[0] == 200
        episodes = server.stderr().count("writes fail: the storage is full")
        assert 1 <= episodes <= 2, server.stderr()  # once per worker that met it

        filler.unlink()
        kept.append(wait_for_write(client))
        assert client.request("GET", "/ready")[0] == 200
        assert server.stderr().count("writes fail: the storage is full") == episodes
        assert "writes work again after: the storage is full" in server.stderr()
        for made in kept:
            assert client.request("GET", f"/api/milestones/{made}")[0] == 200, made
        server.stop()
        integrity = run_milestones(disk / "m.db", "projection", "verify")
        assert integrity.returncode == 0, integrity


# --- workers killed under load ---------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_workers_killed_under_load_lose_no_acknowledged_write(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, servers: Servers
) -> None:
    if backend == "postgres":
        database: Path | str = request.getfixturevalue("cluster").create_database()
    else:
        database = tmp_path / "killed.db"
    server = servers.start(database)
    client = server.client
    kills = 3
    with Writers(client, threads=2) as writers:
        for _ in range(kills):
            time.sleep(1.0)
            victim = min(server.worker_pids())
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while victim in server.worker_pids() or len(server.worker_pids()) < 2:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.05)
        time.sleep(1.0)
    answers = writers.answers
    failed = [a for a in answers if a.status != 201]
    # Only the requests the killed worker held meet the kill: their connections break. Each
    # writer has one request at a time, and both may be held by the worker killed.
    assert all(a.status == 0 for a in failed), failed
    assert len(failed) <= kills * writers.threads, failed
    acknowledged = writers.acknowledged()
    assert len(acknowledged) > 10 * kills, len(acknowledged)
    for made in acknowledged:
        assert client.request("GET", f"/api/milestones/{made}")[0] == 200, made
    # A write cut off by the kill is safe to retry by its key.
    for answer in failed:
        assert create(client, answer.body_title, key=answer.key)[0] in {200, 201}
    assert server.process.poll() is None  # the server kept running
    assert client.request("GET", "/ready")[0] == 200
    assert_projection_verifies(database)


# --- a database that becomes unwritable ------------------------------------------------------


def test_an_unwritable_database_is_one_answer_while_reads_go_on(
    tmp_path: Path, servers: Servers
) -> None:
    """The file and its log made immutable under a load of writers (root may write any
    file, but no one an immutable one), then the workers replaced while they are: reads
    go on, every write in every worker is the same 503, ``/ready`` says so too, and what
    was acknowledged is all there once the file can be written again."""
    with mount_tmpfs(tmp_path / "disk", "16m") as disk:
        server = servers.start(disk / "m.db")
        client = server.client
        kept = [wait_for_write(client)]
        database = disk / "m.db"
        frozen = [database, disk / "m.db-wal"]
        with Writers(client, threads=2) as writers:
            time.sleep(0.5)
            made = subprocess.run(
                ["chattr", "+i", *map(str, frozen)], capture_output=True, check=False
            )
            if made.returncode != 0:
                unavailable(f"chattr +i needs root and a file system with it: {made.stderr!r}")
            try:
                assert_problem(client.request("GET", "/ready"), 503, UNWRITABLE)
                _every_write_refused_and_reads_answered(client, kept[0])
                killed = server.worker_pids()
                for victim in killed:
                    os.kill(victim, signal.SIGKILL)
                deadline = time.monotonic() + 20
                while len(server.worker_pids() - killed) < 2:
                    assert time.monotonic() < deadline, server.output()
                    time.sleep(0.05)
                _every_write_refused_and_reads_answered(client, kept[0])
                assert_problem(client.request("GET", "/ready"), 503, UNWRITABLE)
                assert server.process.poll() is None
                assert "Worker failed to boot" not in server.stderr()
            finally:
                subprocess.run(["chattr", "-i", *map(str, frozen)], check=True)
            deadline = time.monotonic() + 15
            while client.request("GET", "/ready")[0] != 200:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)
            time.sleep(0.5)
        # The writers met the frozen file only as its 503 (or, killed, a broken connection).
        refused = [a for a in writers.answers if a.status not in {0, 201}]
        assert refused, "no write met the frozen file"
        assert all(a.body["type"] == UNWRITABLE for a in refused), [
            a.body for a in refused if a.body["type"] != UNWRITABLE
        ]
        after = [create(client, f"thawed {number}") for number in range(6)]
        assert [answer[0] for answer in after] == [201] * 6, after
        kept.extend(answer[2]["data"]["id"] for answer in after)
        for made_id in [*kept, *writers.acknowledged()]:
            assert client.request("GET", f"/api/milestones/{made_id}")[0] == 200, made_id
        assert re.search(
            LOG_LINE + "writes fail: the storage is read-only", server.stderr(), re.MULTILINE
        )
        server.stop()
        assert_projection_verifies(database)


def _every_write_refused_and_reads_answered(client: Client, kept: str) -> None:
    """Six fresh connections reach both workers: each refuses a write the same way (the
    fault an operator must fix: come back in a minute) and still answers a read."""
    for _ in range(6):
        answer = create(client, "while frozen")
        assert_problem(answer, 503, UNWRITABLE)
        assert answer[1]["Retry-After"] == "60"
        assert client.request("GET", f"/api/milestones/{kept}")[0] == 200
        assert client.request("GET", "/api/milestones")[0] == 200
