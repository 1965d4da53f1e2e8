"""The shipped reverse-proxy configuration, deploy/nginx.conf, in front of a real server.

Debian's ``nginx`` runs it on a free 127.0.0.1 port with its pid, logs and temporary
files in the test's directory (never the system service); only the addresses and paths
are changed, every limit and timeout is the shipped one.
"""

from __future__ import annotations

import concurrent.futures
import getpass
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.api_client import assert_problem
from tests.e2e.client import HOST, Client, health_ok, raw_request
from tests.e2e.harness import free_port
from tests.e2e.sse import Tail
from tests.e2e.test_slow_clients import P99_LIMIT, SLOW_KINDS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.e2e.harness import Server, Servers

CONFIG = Path(__file__).parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_CONNECTIONS = 200
HOLD = 12.0  # seconds, past nginx's 10 s head and body timeouts
MAX_BODY = 64 * 1024

pytestmark = [
    pytest.mark.skipif(
        not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install -y nginx)"
    ),
    pytest.mark.serial,  # a latency bound under load
]


def render(directory: Path, port: int, upstream: int) -> Path:
    """deploy/nginx.conf with this test's addresses and paths; nothing else changed."""
    text = CONFIG.read_text()
    changes = {
        "user www-data;": f"user {getpass.getuser()};",
        "pid /run/milestones-nginx.pid;": f"pid {directory}/nginx.pid;",
        "error_log /var/log/nginx/milestones-error.log warn;": f"error_log {directory}/error.log;",
        "access_log /var/log/nginx/milestones-access.log;": (
            f"access_log {directory}/access.log;\n"
            + "".join(
                f"    {kind}_temp_path {directory}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
        ),
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "listen 80;": f"listen {HOST}:{port};",
    }
    for shipped, here in changes.items():
        assert text.count(shipped) == 1, shipped
        text = text.replace(shipped, here)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


class Nginx:
    def __init__(self, directory: Path, upstream: int) -> None:
        self.port = free_port()
        self.directory = directory
        config = render(directory, self.port, upstream)
        self.process = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(directory), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(directory / "nginx.stderr").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not health_ok(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start:\n{(directory / 'nginx.stderr').read_text()}")
            time.sleep(0.05)
        self.client = Client(HOST, self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish, then exit
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture(scope="module")
def backend(module_servers: Servers) -> Server:
    return module_servers.start()


@pytest.fixture(scope="module")
def nginx(backend: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    proxy = Nginx(tmp_path_factory.mktemp("nginx"), backend.port)
    yield proxy
    proxy.stop()


def test_the_api_through_nginx(nginx: Nginx) -> None:
    client = nginx.client
    document, etag = client.create(title="through nginx")
    assert etag == '"1"'
    status, headers, body = client.request(
        "PATCH", f"/api/milestones/{document['id']}", {"status": "reached"}, {"X-Request-Id": "n1"}
    )
    assert status == 200, body
    assert headers["X-Request-Id"] == "n1"
    assert headers["ETag"] == '"2"'
    assert body["data"]["reachedAt"] is not None
    assert client.get(document["id"]) == (body["data"], '"2"')
    status, headers, body = client.request("HEAD", f"/api/milestones/{document['id']}")
    assert (status, body, headers["ETag"]) == (200, b"", '"2"')


def test_a_stream_passes_each_event_through_nginx_within_a_second(nginx: Nginx) -> None:
    tail = Tail(nginx.port)
    try:
        assert tail.status == 200, tail.body
        assert tail.start() == nginx.client.head()
        sent = time.monotonic()  # the commit comes after this: the delay is at most the gap
        document, _ = nginx.client.create(title="streamed through nginx")
        arrived = tail.next()
        assert arrived.at - sent < 1.0
        assert arrived.message.json()["milestoneId"] == document["id"]
    finally:
        tail.close()


def test_a_long_poll_outlasts_an_ordinary_request_through_nginx(nginx: Nginx) -> None:
    head = nginx.client.head()
    started = time.monotonic()
    status, _, body = nginx.client.request("GET", f"/api/events?after={head}&wait=2")
    assert (status, body["data"]) == (200, [])
    assert time.monotonic() - started >= 2.0


def test_a_body_of_64_kib_passes_and_a_longer_one_is_413_problem_json(nginx: Nginx) -> None:
    head = nginx.client.head()
    prefix = b'{"projectId": "proj_big", "title": "big", "description": "'
    filler = MAX_BODY - len(prefix) - 2
    exact = prefix + b"d" * filler + b'"}'
    assert len(exact) == MAX_BODY
    status, _, body = nginx.client.request(
        "POST", "/api/milestones", exact, {"Content-Type": "application/json"}
    )
    assert status == 400, body  # the service's answer: a description over 10,000 characters
    response = nginx.client.request(
        "POST", "/api/milestones", exact + b" ", {"Content-Type": "application/json"}
    )
    assert_problem(response, 413)
    assert response[1]["X-Request-Id"]
    assert nginx.client.head() == head


def _slow(port: int, kind: str, stop: threading.Event) -> int:
    connections = 0
    while not stop.is_set():
        try:
            with socket.create_connection((HOST, port), timeout=5) as sock:
                connections += 1
                SLOW_KINDS[kind](sock, stop)
        except OSError:  # cut off by nginx's timeouts: come back
            time.sleep(0.05)
    return connections


def test_200_slow_connections_cost_a_polite_client_nothing(nginx: Nginx, backend: Server) -> None:
    document, _ = nginx.client.create(title="polite behind nginx")
    path = f"/api/milestones/{document['id']}"
    stop = threading.Event()
    kinds = list(SLOW_KINDS)
    latencies: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=SLOW_CONNECTIONS) as pool:
        slow = [
            pool.submit(_slow, nginx.port, kinds[n % len(kinds)], stop)
            for n in range(SLOW_CONNECTIONS)
        ]
        try:
            time.sleep(1.0)
            until = time.monotonic() + HOLD
            number = 0
            while time.monotonic() < until:
                number += 1
                started = time.monotonic()
                if number % 5:
                    status, _, body = nginx.client.request("GET", path)
                else:
                    status, _, body = nginx.client.request("PATCH", path, {"title": f"p{number}"})
                latencies.append(time.monotonic() - started)
                assert status == 200, body
                time.sleep(0.01)
        finally:
            stop.set()
        assert sum(future.result(timeout=30) for future in slow) >= SLOW_CONNECTIONS
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < P99_LIMIT, (len(latencies), p99, max(latencies))
    assert backend.process.poll() is None


def test_a_stopped_service_is_a_503_problem_from_nginx(servers: Servers, tmp_path: Path) -> None:
    server = servers.start()
    proxy = Nginx(tmp_path, server.port)
    try:
        server.stop()
        response = raw_request(
            proxy.port, b"GET /health HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n"
        )
        assert_problem(response, 503)
        assert response[1]["Retry-After"] == "1"
    finally:
        proxy.stop()
