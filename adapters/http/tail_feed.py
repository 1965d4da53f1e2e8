"""The worker's one read of new events, shared by its streams and long polls.

When the log grows, the worker's watcher reads what it gained once, with each event's
index entry (``SharedFeed.catch_up``), and keeps the last events so read. Each stream
and long poll then takes from them the events that match its own filters, in memory, up
to the position the shared read reached: so a wake costs one query, not one per stream.

A reader (``Cursor``) whose position lies before what the shared read holds (it just
started or resumed from an older ``Last-Event-ID``, or fell behind a burst of writes)
reads its own backlog with its own filters, the query of ``/api/events``, until it
reaches what the shared read holds. Either way each matching event comes once and in
log order: a reader only ever takes events after its position and moves it to the last
position it looked at.
"""

from __future__ import annotations

import bisect
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from projections.ports import EventFilter

if TYPE_CHECKING:
    from projections.ports import IndexKeys, Reads
    from projections.records import Record

# Events the shared read keeps: a stream that fell further behind reads its own backlog.
# A few seconds of a busy log, and at most a few MB.
KEPT = 4096
PAGE = 500  # events read at a time
ALL = EventFilter()


class SharedFeed:
    """The events the worker's watcher read last, and up to where it read them.

    Every event after ``base`` up to ``position`` is in ``_events``, in log order: a reader
    whose position is at least ``base`` takes its events from here.
    """

    def __init__(self, reads: Reads, kept: int = KEPT) -> None:
        self._reads = reads
        self._kept = kept
        self._lock = threading.Lock()
        self._events: list[tuple[Record, IndexKeys | None]] = []
        self._base: int | None = None  # None: nothing read yet, every reader reads its own
        self._position = 0
        # The reads run on one thread that lives as long as the process: the watcher's
        # thread comes and goes with the streams, and each new thread would open (and
        # keep) a connection of its own on backends that keep one per thread.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tail-read")

    def catch_up(self, anew: bool) -> bool:
        """Read what the log gained since the last read (from its head, ``anew``): run by
        the watcher before it wakes the readers. Whether it read all there was."""
        return self._thread.submit(self._catch_up, anew).result()

    def _catch_up(self, anew: bool) -> bool:
        if anew or self._base is None:
            head = self._reads.lag()[1]
            with self._lock:
                self._events, self._base, self._position = [], head, head
        read = 0
        while read < self._kept:
            page = self._reads.events_indexed(self._position, PAGE)
            if page:
                self._add(page)
            read += len(page)
            if len(page) < PAGE:
                return True
        return False

    def _add(self, page: list[tuple[Record, IndexKeys | None]]) -> None:
        with self._lock:
            self._events += page
            self._position = page[-1][0][0]
            if len(self._events) > 2 * self._kept:  # dropped in bulk: a slice, not a shift each
                dropped = len(self._events) - self._kept
                self._base = self._events[dropped - 1][0][0]
                del self._events[:dropped]

    def position(self) -> int | None:
        """Up to where the shared read holds every event; None if it holds none yet."""
        with self._lock:
            return None if self._base is None else self._position

    def take(self, after: int, only: EventFilter, limit: int) -> tuple[list[Record], int] | None:
        """The events after ``after`` that match ``only`` (at most ``limit``), and the last
        position looked at; None if the shared read does not hold every event after
        ``after`` (the reader reads its own)."""
        with self._lock:
            if self._base is None or after < self._base:
                return None
            events = self._events
            start = bisect.bisect_right(events, after, key=_position_of)
            found: list[Record] = []
            for record, keys in events[start:]:
                if matches(keys, only):
                    found.append(record)
                    if len(found) == limit:
                        return found, record[0]
            return found, max(after, self._position)


def _position_of(event: tuple[Record, IndexKeys | None]) -> int:
    return event[0][0]


def matches(keys: IndexKeys | None, only: EventFilter) -> bool:
    """Whether an event with these index keys is in the feed filtered by ``only``: the
    conditions of the feed's query, applied in memory."""
    if only == ALL:
        return True
    if keys is None:  # not in the index: a filtered feed, which joins it, leaves it out
        return False
    milestone_id, project_id, kind, occurred_at, actor = keys
    return (
        (only.project_id is None or project_id == only.project_id)
        and (only.milestone_id is None or milestone_id == only.milestone_id)
        and (only.type is None or kind == only.type)
        and (only.since is None or occurred_at >= only.since)
        and (only.until is None or occurred_at <= only.until)
        and (only.actor is None or actor == only.actor)
    )


class Cursor:
    """One reader's place in the log: its filters and the last position it looked at."""

    def __init__(self, reads: Reads, feed: SharedFeed, after: int, only: EventFilter) -> None:
        self._reads = reads
        self._feed = feed
        self.position = after
        self._only = only

    def read(self, limit: int = PAGE) -> list[Record]:
        """The next matching events (at most ``limit``): from the shared read if it holds
        them, else from the feed's query. Raises what the storage raises."""
        taken = self._feed.take(self.position, self._only, limit)
        if taken is not None:
            found, self.position = taken
            return found
        # Everything up to the shared position was committed before this read begins:
        # a page that is not full holds every match up to it.
        shared = self._feed.position()
        found = self._reads.events(self.position, limit, self._only)
        if found:
            self.position = found[-1][0]
        if len(found) < limit and shared is not None:
            self.position = max(self.position, shared)
        return found
