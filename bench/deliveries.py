"""The webhooks rounds' side: a receiver, subscriptions to it, and waiting for deliveries.

The receiver answers 204 at once on 127.0.0.1 (``python -m bench.webhooks`` uses it too).
How many deliveries a service still owes is read from its ``/metrics``
(``milestones_webhook_lag_events``, by subscription, read from the database at scrape
time), so the bench needs no knowledge of the log's positions.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import orjson

from bench.dataset import POST_PROJECT_ID
from bench.results import Drain
from bench.services import HOST, call

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUBSCRIPTIONS = 10
_LAG_METRIC = b"milestones_webhook_lag_events"
_POLL_SECONDS = 0.2
# Deliveries that make no progress for this long have stalled (a refused URL, a dead
# deliverer): a failed phase, not a long wait.
STALL_SECONDS = 60.0


class Receiver:
    """Counts events as they arrive, remembers when each position first came, and when the
    first and the last delivery of all came."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.count = 0
        self.first_at = self.last_at = 0.0
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                position = orjson.loads(body)["position"]
                self.send_response(204)
                self.end_headers()
                now = time.monotonic()
                with receiver.changed:
                    receiver.arrived.setdefault(position, now)
                    receiver.first_at = receiver.first_at or now
                    receiver.last_at = now
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


class DeliveriesStalled(RuntimeError):
    """The service owes deliveries and has stopped making them."""


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 answering 204, stopped on the way out."""
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def subscribe(port: int, url: str, count: int = SUBSCRIPTIONS) -> None:
    """``count`` subscriptions to every event, made through the API.

    A subscription starts at the log's head: made after the seed, it owes only what the
    rounds write.
    """
    for _ in range(count):
        status, answer = call(port, "POST", "/api/webhooks", {"url": url})
        if status != http.client.CREATED:
            msg = f"POST /api/webhooks answered {status}: {answer[:300]!r}"
            raise RuntimeError(msg)


def deliveries_owed(port: int) -> int:
    """Events after each subscription's position, added up over the subscriptions."""
    status, text = call(port, "GET", "/metrics")
    if status != http.client.OK:
        raise RuntimeError(f"GET /metrics answered {status}")
    owed = 0.0
    for line in text.splitlines():
        if line.startswith(_LAG_METRIC + b"{"):
            owed += float(line.rsplit(maxsplit=1)[1])
    return round(owed)


def drainer(port: int) -> Callable[[], Drain]:
    """Waits until the service owes no delivery; says how many it owed and for how long."""

    def drain() -> Drain:
        started = time.monotonic()
        backlog = least = deliveries_owed(port)
        progressed = started
        owed = backlog
        while owed > 0:
            time.sleep(_POLL_SECONDS)
            owed = deliveries_owed(port)
            now = time.monotonic()
            if owed < least:
                least, progressed = owed, now
            elif now - progressed > STALL_SECONDS:
                msg = f"{owed:,} deliveries owed, none made for {STALL_SECONDS:.0f} s"
                raise DeliveriesStalled(msg)
        return Drain(backlog, time.monotonic() - started)

    return drain


def first_deliveries(port: int, receiver: Receiver, drain: Callable[[], Drain]) -> None:
    """One write, delivered to every subscription, before anything is measured.

    So the rounds start with the deliverer leading and its subscriptions' threads running.
    """
    before = receiver.count
    body = {"projectId": POST_PROJECT_ID, "title": "Before the webhooks rounds"}
    status, answer = call(port, "POST", "/api/milestones", body)
    if status != http.client.CREATED:
        raise RuntimeError(f"POST /api/milestones answered {status}: {answer[:300]!r}")
    drain()
    # The receiver counts a delivery just after answering it: allow it a moment.
    receiver.wait(before + SUBSCRIPTIONS, timeout=10)
