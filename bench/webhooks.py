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
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import postgres
from bench.deliveries import Receiver
from bench.services import HOST, milestones_command, project_spec, running

if TYPE_CHECKING:
    from collections.abc import Iterator


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


# Receivers on 127.0.0.1 allowed, and no access log to write beside the measurements.
_SETTINGS = {"MILESTONES_WEBHOOK_ALLOW_PRIVATE": "1", "MILESTONES_ACCESS_LOG": "0"}


def _env(database_url: str) -> dict[str, str]:
    """The environment of the commands run beside the service (the deliverer, its status)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env | {"DATABASE_URL": database_url, **_SETTINGS}


@contextmanager
def serving(database_url: str, workdir: Path, *, deliver: bool) -> Iterator[Api]:
    """``milestones serve`` on the database, ready; with its deliverer or without."""
    spec = project_spec("webhooks", database_url, 2, _SETTINGS)
    if not deliver:
        spec = replace(spec, argv=(*spec.argv, "--no-deliver"))
    with running(spec, workdir) as service:
        yield Api(service.port)


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
        # Timed by the receiver, from the first delivery to the last: the deliverer's
        # start-up is not delivering, and the backlog may be gone before its lease is seen.
        with delivering(database_url):
            receiver.wait(events * subscriptions)
    seconds = receiver.last_at - receiver.first_at
    return round((receiver.count - 1) / seconds) if seconds > 0 else 0


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


@contextmanager
def _fresh(kind: str, workdir: Path, name: str) -> Iterator[str]:
    """A new database of this kind, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / name}.db"
        return
    with postgres.throwaway_databases(postgres.server_url(), name) as urls:
        yield urls[name]


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
