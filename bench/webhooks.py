"""``python -m bench.webhooks``: how fast webhooks reach a local receiver, and what they cost.

Three measurements against real ``milestones serve`` and ``milestones deliver`` processes
and a receiver on 127.0.0.1 that answers 204 at once:

- latency: from the moment a create answered to the moment its event reached the
  receiver, one write at a time (p50, p99, max);
- throughput: a backlog of events after the subscriptions, delivered by a deliverer
  started afterwards (deliveries per second, for 1 and for 10 subscriptions);
- writes: creates per second from 4 concurrent clients with no subscription and with 10
  (their deliveries running meanwhile).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.services import milestones_command

if TYPE_CHECKING:
    from collections.abc import Iterator

HOST = "127.0.0.1"


class Receiver:
    """Counts events as they arrive and remembers when each position first came."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.count = 0
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                position = json.loads(body)["position"]
                self.send_response(204)
                self.end_headers()
                with receiver.changed:
                    receiver.arrived.setdefault(position, time.monotonic())
                    receiver.count += 1
                    receiver.changed.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hooks"

    def wait(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.count} of {count} deliveries arrived")
                self.changed.wait(left)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Api:
    """One keep-alive connection to the service."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload else {}
        self._connection.request(method, path, payload, headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.status >= 300:  # noqa: PLR2004
            raise RuntimeError(f"{method} {path}: {response.status} {data!r}")
        return json.loads(data) if data else None

    def create(self) -> None:
        self.call("POST", "/api/milestones", {"projectId": "p", "title": "t"})

    def create_many(self, count: int) -> None:
        for _ in range(count):
            self.create()


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env | {
        "DATABASE_URL": database_url,
        "MILESTONES_WEBHOOK_ALLOW_PRIVATE": "1",
        "MILESTONES_ACCESS_LOG": "0",
    }


@contextmanager
def serving(database_url: str, workdir: Path, *, deliver: bool) -> Iterator[Api]:
    port = _free_port()
    argv = [milestones_command(), "serve", "--bind", f"{HOST}:{port}", "--workers", "2"]
    with (workdir / f"serve-{port}.err").open("wb") as err:
        process = subprocess.Popen(
            [*argv, *([] if deliver else ["--no-deliver"])],
            env=_env(database_url), stdout=subprocess.DEVNULL, stderr=err, cwd=workdir,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the service did not start") from None
                time.sleep(0.05)
        time.sleep(0.5)  # both workers up
        yield Api(port)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def delivering(database_url: str) -> Iterator[None]:
    process = subprocess.Popen(
        [milestones_command(), "deliver"], env=_env(database_url), stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(15)


def _wait_for_lease(database_url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = subprocess.run(
            [milestones_command(), "webhooks"], env=_env(database_url), capture_output=True,
            check=True,
        )  # fmt: skip
        if b"none running" not in result.stdout:
            return
        time.sleep(0.2)
    raise RuntimeError("no deliverer took the lease")


def latency(database_url: str, workdir: Path, writes: int) -> dict[str, float]:
    receiver = Receiver()
    with serving(database_url, workdir, deliver=True) as api:
        api.call("POST", "/api/webhooks", {"url": receiver.url})
        _wait_for_lease(database_url)
        for _ in range(20):  # warm up the deliverer's connection and the workers
            api.create()
        receiver.wait(20)
        waits = []
        for n in range(writes):
            api.create()
            answered = time.monotonic()
            receiver.wait(21 + n)
            waits.append((max(receiver.arrived.values()) - answered) * 1000)
    waits.sort()
    return {
        "p50_ms": round(statistics.median(waits), 1),
        "p99_ms": round(waits[int(len(waits) * 0.99) - 1], 1),
        "max_ms": round(waits[-1], 1),
    }


def throughput(database_url: str, workdir: Path, events: int, subscriptions: int) -> float:
    receiver = Receiver()
    with serving(database_url, workdir, deliver=False) as api:
        for _ in range(subscriptions):
            api.call("POST", "/api/webhooks", {"url": receiver.url})
        _concurrent_creates(api, database_url, workdir, events)
        with delivering(database_url):
            _wait_for_lease(database_url)
            started, before = time.monotonic(), receiver.count
            receiver.wait(events * subscriptions)
            seconds = time.monotonic() - started
    return round((receiver.count - before) / seconds)


def _concurrent_creates(api: Api, database_url: str, workdir: Path, count: int) -> float:
    """Creates per second from 4 clients, each on its own connection."""
    port = api._connection.port  # noqa: SLF001 - the same service
    clients = [Api(port) for _ in range(4)]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        shares = [count // 4 + (n < count % 4) for n in range(4)]
        list(pool.map(lambda n: clients[n].create_many(shares[n]), range(4)))
    return count / (time.monotonic() - started)


def writes(database_url: str, workdir: Path, count: int, subscriptions: int) -> float:
    receiver = Receiver()
    with serving(database_url, workdir, deliver=True) as api:
        for _ in range(subscriptions):
            api.call("POST", "/api/webhooks", {"url": receiver.url})
        if subscriptions:
            _wait_for_lease(database_url)
        _concurrent_creates(api, database_url, workdir, 50)  # warm-up
        rate = _concurrent_creates(api, database_url, workdir, count)
        if subscriptions:
            receiver.wait((count + 50) * subscriptions)
    return round(rate)


POSTGRES = os.environ.get("MILESTONES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _admin(statement: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(statement)


@contextmanager
def _fresh(kind: str, workdir: Path, name: str) -> Iterator[str]:
    """A new database of this kind, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / name}.db"
        return
    database = f"milestones_bench_{name}_{os.getpid()}"
    _admin(f'CREATE DATABASE "{database}"')
    try:
        yield f"{POSTGRES}/{database}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--latency-writes", type=int, default=300)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"backend": args.backend}
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    runs: list[tuple[str, Any]] = [
        ("latency", lambda url: latency(url, workdir, args.latency_writes)),
        ("deliveries_per_s_1_subscription", lambda url: throughput(url, workdir, args.events, 1)),
        (
            "deliveries_per_s_10_subscriptions",
            lambda url: throughput(url, workdir, args.events // 5, 10),
        ),
        ("creates_per_s_0_subscriptions", lambda url: writes(url, workdir, args.writes, 0)),
        ("creates_per_s_10_subscriptions", lambda url: writes(url, workdir, args.writes, 10)),
    ]
    try:
        for number, (name, run) in enumerate(runs):
            with _fresh(args.backend, workdir, f"db{number}") as url:
                results[name] = run(url)
            print(json.dumps(results), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
