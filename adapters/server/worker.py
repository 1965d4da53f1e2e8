"""The gunicorn worker: requests read whole by a poller before they take a thread, with one
deadline for the head and one for the body, and problem+json for the errors that gunicorn
itself answers.

Gunicorn's ``gthread`` worker hands each new connection to a thread of its pool, which
waits for the first bytes and then reads the request, bounded per read: idle connections
and slow or stalled uploads each hold a thread, and enough of them take the service from
everyone else. Here the worker's poller reads each request (``request_reader``) and a
thread gets it once it is in; a worker whose threads are all busy leaves new connections
to the others. It also stops at once when the arbiter is killed, and closes a finished
connection without blocking its main loop (``lingering``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

import orjson
from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from adapters.http.problems import PROBLEM_JSON, problem_body
from adapters.server.lingering import Lingering
from adapters.server.parent import stop_with_parent
from adapters.server.request_reader import MAX_BODY_BYTES, Needs, needs
from adapters.settings import Settings

# Seconds a client has to send the request line and headers, from the first byte awaited.
HEADER_TIMEOUT = float(os.environ.get("MILESTONES_HEADER_TIMEOUT") or 10.0)
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_SERVER_ERROR = 500
_READ_SIZE = 65536
_NOT_WAITING = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED})


class HeaderTimeout(Exception):
    """The request head did not arrive in time."""


class _HeadDeadline:
    """The client socket, whose reads fail once the request head is overdue.

    Gunicorn's parser and the WSGI response use it as the socket itself; only ``recv``
    and ``recv_into`` are bounded, and only while ``deadline`` is set.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:  # selectors look this up on the class
        return self._sock.fileno()

    def recv(self, size: int, *flags: int) -> bytes:
        return self._bounded(self._sock.recv, size, *flags)  # type: ignore[no-any-return]

    def recv_into(self, buffer: Any, *args: int) -> int:
        return self._bounded(self._sock.recv_into, buffer, *args)  # type: ignore[no-any-return]

    def _bounded(self, read: Any, *args: Any) -> Any:
        if self.deadline is None:
            return read(*args)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise HeaderTimeout
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return read(*args)
        except TimeoutError:
            raise HeaderTimeout from None
        finally:
            self._sock.settimeout(previous)


class _Captured:
    """Stands in for the client socket while gunicorn writes its own error page."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


def problem_response(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    body = problem_body(status, detail)
    head = (
        f"HTTP/1.1 {status} {orjson.loads(body)['title']}\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-Id: {os.urandom(16).hex()}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Conn(TConn):  # type: ignore[misc]
    """A connection whose closing after ``Connection: close`` never blocks the main loop,
    and which holds the bytes of its next request until they are whole."""

    def __init__(self, lingering: Lingering, *args: Any) -> None:
        super().__init__(*args)
        self._lingering = lingering
        self.buffer = bytearray()
        self.deadline = 0.0  # time.monotonic() by which the request must be in
        self.head_in = False
        self.whole = False  # its request is buffered in its parser: straight to a thread

    @property
    def raw(self) -> socket.socket:
        """The socket itself, never bounded by the head deadline of a thread's read."""
        sock = self.sock
        return sock._sock if isinstance(sock, _HeadDeadline) else sock  # noqa: SLF001

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self._lingering.close(self.raw)
        else:
            super().close()


class Worker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` that reads each request whole in its poller before a thread serves it,
    accepts only while a thread is free, answers its own errors as problem+json, closes
    without blocking its main loop, and, stopped or orphaned, closes its listeners at once
    and serves every connection the kernel already accepted for it."""

    def run(self) -> None:
        self.lingering = Lingering(self.poller)
        self.reading: dict[_Conn, None] = {}  # connections whose request is on its way
        self.busy = 0  # requests handed to threads and not finished
        self.body_timeout = Settings.from_environ().body_timeout
        stop_with_parent()
        if not self.is_parent_alive():  # it died before the request to be told was made
            self.alive = False
        try:
            super().run()
        finally:
            self.lingering.close_all()

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno in _NOT_WAITING:  # another worker took it, or the client gave up
                return
            raise
        self._take(client, address, listener)

    def _take(self, client: socket.socket, address: Any, listener: socket.socket) -> None:
        self.nr_conns += 1
        self._await_request(
            _Conn(self.lingering, self.cfg, client, address, listener.getsockname()), b""
        )

    def enqueue_req(self, conn: _Conn) -> None:
        """A thread for a request that is in; the others are read whole first."""
        if conn.whole:
            conn.whole = False
            self.busy += 1
            super().enqueue_req(conn)
            return
        # Bytes a thread read beyond the last request: the start of the next one.
        pipelined = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self._await_request(conn, pipelined)

    def finish_request(self, conn: _Conn, future: Any) -> None:
        self.busy -= 1
        super().finish_request(conn, future)
        if self.alive:
            self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def _await_request(self, conn: _Conn, start: bytes) -> None:
        conn.buffer = bytearray(start)
        conn.head_in = False
        conn.deadline = time.monotonic() + HEADER_TIMEOUT
        if self._read_enough(conn):
            return
        conn.raw.setblocking(False)
        self.reading[conn] = None
        self.poller.register(conn.raw, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: _Conn, _: Any) -> None:
        try:
            data = conn.raw.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client's side ended before its request was in
            if conn.buffer:  # a truncated request: answered 400 as it is
                self._hand_over(conn)
            else:
                self._stop_reading(conn)
                self.nr_conns -= 1
                conn.close()
            return
        conn.buffer += data
        self._read_enough(conn)

    def _read_enough(self, conn: _Conn) -> bool:
        """Hand the request to a thread if it is in (or must be answered as it is)."""
        state = needs(conn.buffer)
        if state == Needs.BODY and not conn.head_in:
            # One deadline for the whole body, from the end of the head: not one per read.
            conn.head_in = True
            conn.deadline = time.monotonic() + self.body_timeout
        if state == Needs.TOO_LARGE:
            self._stop_reading(conn)
            self.nr_conns -= 1
            self._refuse(conn, 413, f"the body must be at most {MAX_BODY_BYTES // 1024} KiB")
            return True
        if state != Needs.NOTHING:
            return False
        self._hand_over(conn)
        return True

    def _refuse(self, conn: _Conn, status: int, detail: str) -> None:
        """Answer without a thread, and close: what the client sends next is not read."""
        with contextlib.suppress(OSError):
            conn.raw.send(problem_response(status, detail))
        self.lingering.close(conn.raw)

    def _hand_over(self, conn: _Conn) -> None:
        """To a thread, with what arrived buffered in the connection's parser."""
        self._stop_reading(conn)
        conn.init()  # the parser, which reads what is buffered first
        conn.parser.unreader.unread(bytes(conn.buffer))
        conn.buffer = bytearray()
        conn.data_ready = conn.whole = True
        self.enqueue_req(conn)

    def _stop_reading(self, conn: _Conn) -> None:
        self.reading.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.raw)

    def _expire_reading(self) -> None:
        """A request not in by its deadline: 408, or a silent close if nothing came."""
        now = time.monotonic()
        for conn in [conn for conn in self.reading if conn.deadline <= now]:
            self._stop_reading(conn)
            self.nr_conns -= 1
            if not conn.buffer:
                conn.close()
                continue
            part = "body" if conn.head_in else "head"
            self.log.info("request %s not sent in time from %s", part, conn.client)
            late = self.body_timeout if conn.head_in else HEADER_TIMEOUT
            self._refuse(conn, 408, f"the request {part} did not arrive within {late:g} s")

    def is_parent_alive(self) -> bool:
        """An orphan stops as on SIGTERM: it closes its listeners at once, so that a server
        started again can bind, and finishes what it holds. (Gunicorn's own check only
        leaves the loop, keeping the listeners open for the whole grace period.)"""
        if super().is_parent_alive():
            return True
        self.alive = False
        return False

    def murder_pending(self) -> None:
        """Run on every turn of the main loop: also close what lingered long enough."""
        super().murder_pending()
        self._expire_reading()
        self.lingering.expire()

    def set_accept_enabled(self, enabled: bool) -> None:
        # A worker whose threads are all busy leaves new connections to another worker
        # (or to the listen queue) rather than queueing them behind its own requests.
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)
        if not enabled and not self.alive and not getattr(self, "_backlog_served", False):
            self._backlog_served = True
            self._serve_backlog()

    def _serve_backlog(self) -> None:
        """On the way out: take the connections waiting in the listen queue (they are
        answered with ``Connection: close``), then close the listeners, so that a later
        connection is refused at once instead of waiting to be reset."""
        for listener in self.sockets:
            while True:
                try:
                    client, address = listener.accept()
                except OSError:  # nothing waiting (EAGAIN), or the listener is gone
                    break
                self._take(client, address, listener)
            listener.close()

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, _HeadDeadline):
            conn.sock = _HeadDeadline(conn.sock)
        conn.sock.deadline = time.monotonic() + HEADER_TIMEOUT
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.deadline = None  # the head is in; the body has the application's bound
        return super().handle_request(req, conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Gunicorn's status and log line for the error, answered as problem+json."""
        if isinstance(exc, HeaderTimeout):
            self.log.info("request head not sent within %g s from %s", HEADER_TIMEOUT, addr)
            status, detail = 408, f"the request head did not arrive within {HEADER_TIMEOUT:g} s"
        else:
            captured = _Captured()
            super().handle_error(req, captured, addr, exc)
            found = _STATUS_LINE.match(captured.data)
            status = int(found.group(1)) if found else _SERVER_ERROR
            detail = (
                "the server failed to handle this request"
                if status >= _SERVER_ERROR
                else f"the request could not be read: {exc}"
            )
        try:
            util.write_nonblock(client, problem_response(status, detail))
        except OSError:
            self.log.debug("could not send the error response")
