"""A real HTTP server on 127.0.0.1 that receives webhooks and answers as a test tells it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Records every request; ``answer(received)`` picks the status (default 204)."""

    answer: Callable[[Received], int] = lambda received: 204
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                received = Received(self.path, headers, body, time.monotonic())
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = received.status = receiver.answer(received)
                with receiver.changed:
                    receiver.requests.append(received)
                    receiver.changed.notify_all()
                self.send_response(status)
                if status == 204:
                    self.end_headers()
                    return
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, check: Callable[[list[Received]], bool], timeout: float = 10.0) -> None:
        """Until ``check(requests)`` holds; an assertion error after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check(self.requests):
                left = deadline - time.monotonic()
                assert left > 0, f"the receiver saw {len(self.requests)} requests: {self.ids()}"
                self.changed.wait(left)

    def ids(self) -> list[str]:
        return [received.id for received in self.requests]

    def delivered(self) -> list[dict[str, Any]]:
        """The events answered with a 2xx, in the order they came."""
        return [r.event for r in self.requests if 200 <= r.status < 300]


def verify(secret: str, received: Received) -> dict[str, Any]:
    """The payload, verified as a receiver verifies it with the standardwebhooks library."""
    return Webhook(secret).verify(received.body, received.headers)  # type: ignore[no-any-return]
