"""A live stream of a running server, read by a real SSE client on a thread of its own.

``Tail`` opens ``GET /api/events/stream`` with httpx-sse and puts each message in a queue
with the moment it arrived; a test takes them with a timeout, so it waits for events
rather than for fixed times. The end of the stream (the server closed it) is ``ENDED``.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from tests.e2e.client import HOST

OPEN_TIMEOUT = 10.0  # seconds for the stream's status and headers
READ_TIMEOUT = 60.0  # seconds between two messages, past any keep-alive


@dataclass(frozen=True)
class Arrived:
    message: ServerSentEvent
    at: float  # time.monotonic() when it was read

    @property
    def position(self) -> int:
        return int(self.message.id)


ENDED = object()


class Tail:
    """One stream; ``status`` and ``headers`` once ``opened`` is set."""

    def __init__(self, port: int, query: str = "", headers: dict[str, str] | None = None) -> None:
        self._url = f"http://{HOST}:{port}/api/events/stream{'?' + query if query else ''}"
        self._headers = headers or {}
        self._client = httpx.Client(timeout=httpx.Timeout(OPEN_TIMEOUT, read=READ_TIMEOUT))
        self._arrivals: queue.Queue[Any] = queue.Queue()
        self.opened = threading.Event()
        self.status = 0
        self.headers: httpx.Headers = httpx.Headers()
        self.body = b""
        self.ended_at: float | None = None
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(OPEN_TIMEOUT), "the stream did not open"

    def _read(self) -> None:
        try:
            with connect_sse(self._client, "GET", self._url, headers=self._headers) as source:
                self.status, self.headers = source.response.status_code, source.response.headers
                stream = source.response.extensions["network_stream"]
                self._socket = stream.get_extra_info("socket")
                if self.status != httpx.codes.OK:
                    self.body = source.response.read()
                    self.opened.set()
                    return
                self.opened.set()
                for message in source.iter_sse():
                    self._arrivals.put(Arrived(message, time.monotonic()))
        except (httpx.HTTPError, OSError, RuntimeError):
            pass  # closed by the test, or cut off
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()
            self._arrivals.put(ENDED)

    def next(self, timeout: float = 5.0) -> Arrived:
        """The next message; fails if none comes in time or the stream ended."""
        try:
            arrived = self._arrivals.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s") from None
        assert arrived is not ENDED, "the stream ended"
        assert isinstance(arrived, Arrived)
        return arrived

    def start(self) -> int:
        """The position the stream starts after: its first message, an ``id`` alone."""
        first = self.next()
        assert first.message.data == "", first.message
        assert first.message.retry == 1000, first.message
        return first.position

    def events(self, count: int, timeout: float = 5.0) -> list[Arrived]:
        return [self.next(timeout) for _ in range(count)]

    def rest(self, timeout: float) -> list[Arrived]:
        """Every message until the server ends the stream; fails if it does not in time."""
        deadline = time.monotonic() + timeout
        messages: list[Arrived] = []
        while True:
            try:
                arrived = self._arrivals.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise AssertionError(f"the stream did not end within {timeout} s") from None
            if arrived is ENDED:
                return messages
            messages.append(arrived)

    def next_event(self, timeout: float = 5.0) -> Arrived:
        """The next message that carries an event: keep-alives (which an SSE client sees as
        messages without data once an id was sent) are skipped."""
        deadline = time.monotonic() + timeout
        while not (arrived := self.next(max(deadline - time.monotonic(), 0.0))).message.data:
            pass
        return arrived

    def events_until(self, last: int) -> list[Arrived]:
        """The stream's events up to the one at position ``last``."""
        received: list[Arrived] = []
        while not received or received[-1].position < last:
            received.append(self.next_event())
        return received

    def no_event_within(self, seconds: float) -> bool:
        """Whether the stream stays open for ``seconds`` with no event on it (keep-alives
        may come)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                arrived = self._arrivals.get(timeout=left)
            except queue.Empty:
                return True
            if arrived is ENDED or arrived.message.data:
                self._arrivals.put(arrived)
                return False
        return True

    def nothing_within(self, seconds: float) -> bool:
        try:
            arrived = self._arrivals.get(timeout=seconds)
        except queue.Empty:
            return True
        self._arrivals.put(arrived)
        return False

    def close(self) -> None:
        """Hang up: the server sees the connection end (a shutdown wakes the blocked read)."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._client.close()
        self._thread.join(timeout=OPEN_TIMEOUT)
