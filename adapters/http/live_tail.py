"""The live tail: the event feed as Server-Sent Events, and long polls of the feed.

A stream or a long poll holds one of the worker's threads for as long as it lasts, so a
worker serves at most ``slots`` of them at once and answers more with a 503 and
``Retry-After``: the other threads stay for ordinary requests. Every stream and long poll
of the worker waits on the one ``LogWaiter``; when the log grows, the waiter's thread reads
the new events once (``SharedFeed``) and each stream takes those that match its filters.

While the storage cannot be read, streams pause: they keep their place and their
keep-alives, and go on from there once it answers again (a stream still ends on time).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import falcon
import orjson

from adapters.contract.fields import MAX_WAIT
from adapters.contract.live_tail import (
    EVENT_STREAM,
    LAST_EVENT_ID,
    STREAMS_BUSY_RETRY_SECONDS,
    StreamQuery,
    last_event_id,
)
from adapters.contract.validation import parse_query
from adapters.http.problems import PROBLEM_JSON, problem_body
from adapters.http.tail_feed import PAGE, Cursor, SharedFeed
from projections.events import feed_document
from projections.ports import EventFilter

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from adapters.http.metrics import Metrics
    from adapters.storage.log_watch import LogWaiter
    from projections.ports import Reads
    from projections.records import Record

log = logging.getLogger(__name__)
# Milliseconds a browser waits before it reconnects a stream that ended.
RECONNECT_MS = 1000
# Seconds between two looks at whether a silent stream's client is still there, and at
# most this late a stream learns that the process is going down.
CHECK_SECONDS = 1.0
# Seconds between two tries of a stream to read its backlog while the storage fails.
RETRY_SECONDS = 1.0
KEEP_ALIVE = b": keep-alive\n\n"
# Messages kept once made: the worker's streams send the same events, each made once.
RENDERED = 4096
BUSY = "this worker serves as many live streams as it may; try again shortly"


class StreamsBusy(Exception):
    """Every stream slot of this worker is taken."""


class LiveTail:
    """A worker's streams and long polls: how many at once, how long, and their waiter."""

    def __init__(
        self,
        reads: Reads,
        waiter: LogWaiter,
        *,
        slots: int = 4,
        stream_seconds: float = 300.0,
        keepalive_seconds: float = 15.0,
        longest_wait: float = MAX_WAIT,
        metrics: Metrics | None = None,
    ) -> None:
        self.reads = reads
        self.waiter = waiter
        self.feed = SharedFeed(reads)
        waiter.on_change(self.feed.catch_up)
        self._free = threading.Semaphore(slots)
        self.stream_seconds = stream_seconds
        self.keepalive_seconds = keepalive_seconds
        self.longest_wait = longest_wait
        self.metrics = metrics
        self._rendered: OrderedDict[tuple[int, str, int], bytes] = OrderedDict()
        self._rendering = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of the worker's stream slots while inside; StreamsBusy if none is free."""
        release = self.take_slot()
        try:
            yield
        finally:
            release()

    def take_slot(self) -> Callable[[], None]:
        """A slot, and the function that gives it back (once, however often it is called)."""
        if not self._free.acquire(blocking=False):
            raise StreamsBusy
        if self.metrics is not None:
            self.metrics.streams_open.inc()
        given_back = threading.Event()

        def release() -> None:
            if not given_back.is_set():
                given_back.set()
                if self.metrics is not None:
                    self.metrics.streams_open.dec()
                self._free.release()

        return release

    def head(self) -> int:
        return self.reads.lag()[1]

    def cursor(self, after: int, only: EventFilter) -> Cursor:
        return Cursor(self.reads, self.feed, after, only)

    def long_poll(self, after: int, limit: int, only: EventFilter, seconds: float) -> list[Record]:
        """The first matching events after ``after`` once the log gains some, or none when
        the time is up; each wake takes them from the shared read, as a stream does."""
        deadline = time.monotonic() + min(seconds, self.longest_wait)
        with self.slot(), self.waiter.watching():
            generation = self.waiter.generation()
            cursor = self.cursor(after, only)
            found = cursor.read(limit)
            while not found and not self.waiter.closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                latest = self.waiter.wait(generation, remaining)
                if latest != generation:
                    generation = latest
                    found = cursor.read(limit)
        return found

    def message(self, record: Record) -> bytes:
        """The SSE message of an event, made once for all the worker's streams (decoding
        and encoding it is most of what sending it to one more stream costs)."""
        key = (record[0], record[1], record[2])
        with self._rendering:
            made = self._rendered.get(key)
        if made is None:
            made = _message(record)
            with self._rendering:
                self._rendered[key] = made
                if len(self._rendered) > RENDERED:
                    self._rendered.popitem(last=False)
        return made

    def count_sent(self, events: int) -> None:
        if self.metrics is not None:
            self.metrics.stream_events.inc(events)


def polling_tail(reads: Reads, **options: Any) -> LiveTail:
    """A live tail that looks at the log's head through the reads, for an app that was given
    no watch of its backend (the server gives one: LISTEN, or SQLite's own head)."""
    from adapters.storage.log_watch import LogWaiter, PollingWatch  # noqa: PLC0415

    return LiveTail(
        reads, LogWaiter(lambda: PollingWatch(lambda: reads.lag()[1], lambda: None)), **options
    )


class StreamResource:
    """``GET /api/events/stream``: matching events as they are committed, as SSE."""

    def __init__(self, tail: LiveTail) -> None:
        self._tail = tail

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = parse_query(StreamQuery, req.params)
        resumed = last_event_id(req.get_header(LAST_EVENT_ID))
        _stream_headers(resp)
        if req.method != "HEAD":  # a HEAD takes no slot: it gets the headers alone
            resp.stream = Stream(
                self._tail, _start(self._tail, query, resumed), _filter(query), req.env
            )


def _stream_headers(resp: falcon.Response) -> None:
    resp.content_type = EVENT_STREAM
    resp.set_header("Cache-Control", "no-store")
    # nginx (and proxies that follow it) pass each message on at once instead of buffering.
    resp.set_header("X-Accel-Buffering", "no")


def _start(tail: LiveTail, query: StreamQuery, resumed: int | None) -> int:
    if resumed is not None:
        return resumed
    return query.after if query.after is not None else tail.head()


def _filter(query: StreamQuery) -> EventFilter:
    return EventFilter(
        project_id=query.project_id,
        milestone_id=query.milestone_id,
        type=query.type,
        actor=query.actor,
    )


class Stream:
    """The WSGI body of one stream: its messages, and its slot given back when it ends.

    The slot is taken here, before the status is sent, so that a full worker answers 503;
    the server calls ``close`` when the stream ends, whether the client went away, the
    stream's time was up or the process is going down.
    """

    def __init__(self, tail: LiveTail, after: int, only: EventFilter, env: dict[str, Any]) -> None:
        self._release = tail.take_slot()
        self._tail = tail
        self._client = env.get("gunicorn.socket")
        self._failing = False
        self._messages = self._run(after, only)

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> bytes:
        return next(self._messages)

    def close(self) -> None:
        try:
            self._messages.close()
        finally:
            self._release()

    def _run(self, position: int, only: EventFilter) -> Generator[bytes, None, None]:
        tail, waiter = self._tail, self._tail.waiter
        ends = time.monotonic() + tail.stream_seconds
        # The id alone sets where a reconnecting client resumes, even if no event comes.
        yield b"retry: %d\nid: %d\n\n" % (RECONNECT_MS, position)
        with waiter.watching():
            generation = waiter.generation()
            quiet_since = time.monotonic()
            cursor = tail.cursor(position, only)
            while True:
                records = self._read(cursor)
                retry_at = None if records is not None else time.monotonic() + RETRY_SECONDS
                if records:
                    tail.count_sent(len(records))
                    yield b"".join(tail.message(record) for record in records)
                    quiet_since = time.monotonic()
                    more = len(records) == PAGE
                    if more and not waiter.closing and time.monotonic() < ends:
                        continue  # more are waiting (a catch-up too ends on time, and on a stop)
                latest, keep_alive = self._wait(generation, quiet_since, ends, retry_at)
                if latest is None:
                    return
                generation = latest
                if keep_alive:
                    yield KEEP_ALIVE
                    quiet_since = time.monotonic()

    def _read(self, cursor: Cursor) -> list[Record] | None:
        """The next matching events; None if the storage failed: the stream pauses (its
        keep-alives go on) and tries again shortly, from the same place."""
        try:
            records = cursor.read()
        except Exception as error:  # noqa: BLE001 - any failure of the storage: retried
            if not self._failing:
                log.warning("a live stream waits: reading the feed failed: %s", error)
            self._failing = True
            return None
        self._failing = False
        return records

    def _wait(
        self, generation: int, quiet_since: float, ends: float, retry_at: float | None
    ) -> tuple[int | None, bool]:
        """Until the log changed, a keep-alive is due or (after a failed read) ``retry_at``:
        the generation then (None: the stream is over), and whether to send a keep-alive."""
        waiter, keepalive = self._tail.waiter, self._tail.keepalive_seconds
        while True:
            now = time.monotonic()
            if waiter.closing or now >= ends:
                return None, False
            if now - quiet_since >= keepalive:
                return generation, True  # and a read after it: a safety net for a missed wake
            if retry_at is not None and now >= retry_at:
                return generation, False
            timeout = min(CHECK_SECONDS, ends - now, quiet_since + keepalive - now)
            if retry_at is not None:
                timeout = min(timeout, retry_at - now)
            latest = waiter.wait(generation, timeout)
            if latest != generation:
                return latest, False
            if self._client_left():
                return None, False

    def _client_left(self) -> bool:
        """Whether the client closed its end: a silent stream would learn it only when its
        next keep-alive fails, holding its slot meanwhile."""
        if self._client is None:
            return False
        try:
            return bool(self._client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"")
        except BlockingIOError:
            return False
        except OSError:
            return True


def _message(record: Record) -> bytes:
    document = feed_document(record)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (
        record[0],
        document["type"].encode(),
        orjson.dumps(document),
    )


def _busy(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any) -> None:
    resp.status = falcon.HTTP_503
    resp.content_type = PROBLEM_JSON
    resp.data = problem_body(503, BUSY)
    resp.set_header("Retry-After", str(STREAMS_BUSY_RETRY_SECONDS))


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """The answer of a worker whose stream slots are all taken."""
    app.add_error_handler(StreamsBusy, _busy)
