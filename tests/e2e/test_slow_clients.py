"""Slow and idle clients cost only themselves, and a SIGTERM under load loses nothing.

The servers here run the shipped threaded workers and graceful timeout. The slow clients
meet a server on SQLite (what is shown is the HTTP front, not the storage) whose head and
body deadlines are cut from the shipped 10 s to ``DEADLINE`` (both are settings), so that
in a few seconds each client that trickles its head or stalls its body is cut off and
comes back at least once: the same contest as with the shipped deadlines, at a fraction
of the wait. (An idle connection is closed after gunicorn's wait for a first byte and the
keep-alive, 10 s in all: the idle clients show that holding connections costs others
nothing, not the cut.) The SIGTERM under load runs
on each backend. ``MILESTONES_SLOW_CLIENT_SECONDS`` makes the slow clients hold on longer
(60 for the README's figures).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import os
import select
import signal
import socket
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.api_client import assert_problem
from tests.e2e.client import HOST, read_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.conftest import ServerFactory
    from tests.e2e.harness import Server, Servers

pytestmark = pytest.mark.serial  # latency and deadline bounds

SLOW_CLIENTS = 12
DEADLINE = 1  # seconds a request head and a pause in a body may last
DEADLINES = {
    "MILESTONES_HEADER_TIMEOUT": str(DEADLINE),
    "MILESTONES_BODY_TIMEOUT": str(DEADLINE),
}
HOLD = float(os.environ.get("MILESTONES_SLOW_CLIENT_SECONDS") or 3 * DEADLINE)
P99_LIMIT = 0.100  # seconds
GRACEFUL_TIMEOUT = 20.0  # adapters/server/gunicorn_conf.py graceful_timeout
HEADER_TIMEOUT = 1.0  # MILESTONES_HEADER_TIMEOUT of the deadline test's server


def _until_cut_off(sock: socket.socket, stop: threading.Event) -> None:
    """Send nothing more until ``stop``; raise once the server answers or closes (a cut)."""
    sock.settimeout(0.5)  # a look twice a second: hundreds of these share the GIL (nginx)
    while not stop.is_set():
        try:
            sock.recv(1, socket.MSG_PEEK)  # an answer (a 408) or the end of the stream
        except TimeoutError:
            continue
        raise ConnectionAbortedError("the server answered or closed: cut off")


def _idle(sock: socket.socket, stop: threading.Event) -> None:
    _until_cut_off(sock, stop)


def _trickle_head(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
    sock.setblocking(False)  # a look for the server's answer between bytes
    while not stop.wait(0.5):
        with contextlib.suppress(BlockingIOError):
            sock.recv(1, socket.MSG_PEEK)  # the 408, or the end of the stream: cut off
            raise ConnectionAbortedError("the server answered or closed: cut off")
        sock.sendall(b"a")


def _stall_body(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(
        b"POST /api/milestones HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"pro'
    )
    _until_cut_off(sock, stop)


SLOW_KINDS: dict[str, Callable[[socket.socket, threading.Event], None]] = {
    "idle": _idle,
    "trickle-head": _trickle_head,
    "stall-body": _stall_body,
}
CUT_OFF_BY_A_DEADLINE = {"trickle-head", "stall-body"}


def _slow_client(port: int, kind: str, stop: threading.Event) -> int:
    """Hold a connection the slow way until ``stop``; when the server cuts it, come back.
    How many connections it made."""
    connections = 0
    while not stop.is_set():
        with socket.create_connection((HOST, port), timeout=5) as sock:
            connections += 1
            try:
                SLOW_KINDS[kind](sock, stop)
            except OSError:  # cut off by the server's deadline: come back
                time.sleep(0.05)
    return connections


def _polite(server: Server, milestone_id: str, until: float) -> list[float]:
    """Reads and writes one after another until ``until``; each one's latency."""
    latencies = []
    number = 0
    while time.monotonic() < until:
        number += 1
        started = time.monotonic()
        if number % 5:
            status, _, body = server.client.request("GET", f"/api/milestones/{milestone_id}")
        else:
            status, _, body = server.client.request(
                "PATCH", f"/api/milestones/{milestone_id}", {"title": f"polite {number}"}
            )
        latencies.append(time.monotonic() - started)
        assert status == 200, body
        time.sleep(0.01)
    return latencies


@pytest.mark.parametrize("kind", list(SLOW_KINDS))
def test_slow_clients_cost_only_themselves(servers: Servers, kind: str) -> None:
    server = servers.start(env=DEADLINES)
    milestone, _ = server.client.create(title="polite")
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=SLOW_CLIENTS) as pool:
        slow = [pool.submit(_slow_client, server.port, kind, stop) for _ in range(SLOW_CLIENTS)]
        try:
            time.sleep(0.5)  # every slow connection is open first
            latencies = _polite(server, milestone["id"], time.monotonic() + HOLD)
        finally:
            stop.set()
        connections = sum(future.result(timeout=30) for future in slow)
    assert connections >= SLOW_CLIENTS
    if kind in CUT_OFF_BY_A_DEADLINE:
        assert connections >= 2 * SLOW_CLIENTS  # each was cut off and came back
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < P99_LIMIT, (len(latencies), p99, max(latencies))
    assert server.process.poll() is None
    assert "WORKER TIMEOUT" not in server.stderr()


def test_a_request_head_that_trickles_past_its_deadline_is_408(servers: Servers) -> None:
    """A byte every 0.2 s keeps any idle timeout at bay; the head's deadline still holds."""
    server = servers.start(env={"MILESTONES_HEADER_TIMEOUT": str(HEADER_TIMEOUT)})
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        while not select.select([sock], [], [], 0.2)[0]:  # until the server answers
            assert time.monotonic() - started < HEADER_TIMEOUT + 5, "never cut off"
            sock.sendall(b"a")
        response = read_response(sock)
    assert_problem(response, 408)
    assert response[1]["X-Request-Id"]
    assert response[1]["Connection"] == "close"
    assert HEADER_TIMEOUT <= time.monotonic() - started < HEADER_TIMEOUT + 2
    assert server.client.request("GET", "/health")[0] == 200


# --- SIGTERM under load -------------------------------------------------------------


class Outcomes:
    """What each writer got: acknowledged ids, clean refusals, and anything else."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.refused = 0
        self.broken: list[str] = []


def _writer(port: int, outcomes: Outcomes, stop: threading.Event) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            connection.request(
                "POST",
                "/api/milestones",
                b'{"projectId": "proj_term", "title": "w%d"}' % number,
                {"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            body = response.read()
        except ConnectionRefusedError:
            with outcomes.lock:
                outcomes.refused += 1
            return  # the server is gone: nothing more to send
        except (OSError, http.client.HTTPException) as error:
            with outcomes.lock:
                outcomes.broken.append(repr(error))
            return
        finally:
            connection.close()
        with outcomes.lock:
            if response.status == 201:
                outcomes.acknowledged.append(response.getheader("Location") or "")
            else:
                outcomes.broken.append(f"{response.status} {body!r}")


def _slow_upload(port: int, seconds: float) -> tuple[int, Any]:
    """A create whose body takes ``seconds`` to arrive: in flight across the SIGTERM."""
    body = b'{"projectId": "proj_term", "title": "slow upload"}'
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/milestones HTTP/1.1\r\nHost: term\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for byte in range(len(body)):
            sock.sendall(body[byte : byte + 1])
            time.sleep(seconds / len(body))
        status, headers, parsed = read_response(sock)
    return status, (headers, parsed)


def test_sigterm_under_load_serves_what_was_accepted_and_exits_0(
    server_factory: ServerFactory,
) -> None:
    """On each backend: a fresh server under write load, then SIGTERM."""
    server = server_factory()
    outcomes = Outcomes()
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=9) as pool:
        writers = [pool.submit(_writer, server.port, outcomes, stop) for _ in range(8)]
        time.sleep(0.5)
        upload = pool.submit(_slow_upload, server.port, 2.0)  # still arriving at the SIGTERM
        time.sleep(0.5)
        during = len(outcomes.acknowledged)
        terminated = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        try:
            code = server.process.wait(timeout=GRACEFUL_TIMEOUT + 5)
        finally:
            stop.set()
        stopped = time.monotonic() - terminated
        for future in writers:
            future.result(timeout=30)
        upload_status, (upload_headers, upload_body) = upload.result(timeout=30)
    assert code == 0, server.output()
    assert stopped < GRACEFUL_TIMEOUT, stopped
    assert outcomes.broken == [], outcomes.broken
    assert during > 0
    assert outcomes.refused > 0  # after the listeners closed: refused at once, never reset
    assert upload_status == 201, upload_body
    # Nothing acknowledged is lost: a server started on the same file has every one.
    after = server_factory(server.database)
    for location in [*outcomes.acknowledged, upload_headers["Location"]]:
        assert after.client.request("GET", location)[0] == 200, location
    ready = after.client.ready()
    assert ready["head"] == len(outcomes.acknowledged) + 1
