"""Webhooks from real ``milestones serve`` and ``milestones deliver`` processes, over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import throwaway_postgres_database
from tests.e2e.harness import backend_of, run_milestones, service_env
from tests.webhook_receiver import Receiver, verify

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.e2e.harness import Database, Server, Servers

HOOKS_ENV = {
    "MILESTONES_WEBHOOK_ALLOW_PRIVATE": "1",
    "MILESTONES_WEBHOOK_RETRY_SECONDS": "0.05",
    "MILESTONES_ACCESS_LOG": "0",
}


@pytest.fixture
def database(session_database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of the test's backend (taken before ``servers``, so dropped after)."""
    if backend_of(session_database_url) == "postgres":
        with throwaway_postgres_database() as url:
            yield url
    else:
        yield tmp_path / "hooks.db"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def _subscribe(server: Server, url: str) -> dict[str, Any]:
    status, _, body = server.client.request("POST", "/api/webhooks", {"url": url})
    assert status == 201, body
    return body["data"]  # type: ignore[no-any-return]


def _create(server: Server, title: str) -> tuple[str, float]:
    """A milestone's id, and the moment its create answered."""
    status, _, body = server.client.request(
        "POST", "/api/milestones", {"projectId": "proj_hooks", "title": title}
    )
    assert status == 201, body
    return body["data"]["id"], time.monotonic()


def _wait_for_a_deliverer(database: Database, timeout: float = 15) -> str:
    """The holder of the lease, once a deliverer has taken it."""
    deadline = time.monotonic() + timeout
    while True:
        first = run_milestones(database, "webhooks").stdout.decode().splitlines()[0]
        if "none running" not in first:
            return first.split()[1]
        assert time.monotonic() < deadline, "no deliverer took the lease"
        time.sleep(0.2)


def test_serve_delivers_within_a_second_of_the_write(
    database: Database, servers: Servers, receiver: Receiver
) -> None:
    server = servers.start(database, env=HOOKS_ENV, deliver=True)
    (deliverer,) = server.deliverer_pids()
    assert f":{deliverer}:" in _wait_for_a_deliverer(database)
    webhook = _subscribe(server, receiver.url)
    answered = {}
    for n in range(5):
        milestone, at = _create(server, f"M{n}")
        answered[milestone] = at
        receiver.wait_for(lambda got, count=n + 1: len(got) >= count, timeout=5)  # type: ignore[misc]
    for received in receiver.requests:
        event = verify(webhook["secret"], received)
        assert received.at - answered[event["milestoneId"]] < 1.0
    delivered = 'milestones_webhook_deliveries_total{outcome="delivered"} 5.0'
    deadline = time.monotonic() + 5  # counted once the attempt is recorded, after the answer
    while delivered not in (text := server.client.request("GET", "/metrics")[2].decode()):
        assert time.monotonic() < deadline, text
        time.sleep(0.05)
    assert f'milestones_webhook_lag_events{{enabled="true",webhook="{webhook["id"]}"}} 0.0' in text
    report = run_milestones(database, "webhooks")
    assert report.returncode == 0, report.stderr
    row = next(line for line in report.stdout.decode().splitlines() if webhook["id"] in line)
    assert row.split()[1:4] == ["enabled", str(received.event["position"]), "0"]


def test_no_deliver_runs_no_deliverer(
    database: Database, servers: Servers, receiver: Receiver
) -> None:
    server = servers.start(database, env=HOOKS_ENV, serve_args=["--no-deliver"])
    assert server.deliverer_pids() == set()
    _subscribe(server, receiver.url)
    _create(server, "Unsent")
    time.sleep(1.5)
    assert receiver.requests == []
    report = run_milestones(database, "webhooks").stdout.decode()
    assert "deliverer: none running" in report


def _deliver(database: Database, directory: Path) -> subprocess.Popen[bytes]:
    env = service_env(database, HOOKS_ENV)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "milestones"), "deliver"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(directory / f"deliver-{time.monotonic_ns()}.err").open("wb"),
    )


def test_kill_9_of_the_deliverer_loses_nothing(
    database: Database, servers: Servers, receiver: Receiver, tmp_path: Path
) -> None:
    server = servers.start(database, env=HOOKS_ENV, serve_args=["--no-deliver"])
    receiver.delay = 0.02
    _subscribe(server, receiver.url)
    created = [_create(server, f"M{n}")[0] for n in range(40)]
    first = _deliver(database, tmp_path)
    try:
        receiver.wait_for(lambda got: len(got) >= 10, timeout=10)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        seen = len(receiver.requests)
        second = _deliver(database, tmp_path)
        try:
            receiver.wait_for(lambda got: {r.event["milestoneId"] for r in got} >= set(created),
                              timeout=20)  # fmt: skip
        finally:
            second.terminate()
            second.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.kill()
    ids = receiver.ids()
    assert list(dict.fromkeys(ids)) == sorted(set(ids), key=lambda i: int(i.rpartition("_")[2]))
    assert len(ids) - len(set(ids)) <= 1, ids  # at most the attempt in flight, again
    assert [event["milestoneId"] for event in _first_of_each(receiver)] == created
    assert seen < len(ids)


def _first_of_each(receiver: Receiver) -> list[dict[str, Any]]:
    firsts: dict[str, dict[str, Any]] = {}
    for received in receiver.requests:
        firsts.setdefault(received.id, received.event)
    return list(firsts.values())


def test_a_killed_deliverer_beside_serve_is_replaced(
    database: Database, servers: Servers, receiver: Receiver
) -> None:
    server = servers.start(database, env=HOOKS_ENV, deliver=True)
    _subscribe(server, receiver.url)
    (old,) = server.deliverer_pids()
    assert f":{old}:" in _wait_for_a_deliverer(database)
    os.kill(old, signal.SIGKILL)
    milestone, _ = _create(server, "After the crash")
    # The lease runs out within 3 s; the replacement starts 1 s after the crash.
    receiver.wait_for(lambda got: len(got) >= 1, timeout=15)
    assert receiver.requests[0].event["milestoneId"] == milestone
    assert server.deliverer_pids() - {old}
    # The supervisor says so in gunicorn's error log (how it ended, unless the arbiter
    # reaped it first: see adapters/server/deliverer_process.py).
    assert f"webhook deliverer (pid: {old}) " in server.stderr()
