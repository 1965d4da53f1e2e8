"""One watcher of the event log per process, for every live stream and long poll in it.

A stream must learn within a second that the log grew, whichever process or instance
wrote it. Polling the database once per stream would multiply the cost by the streams;
here one thread per process watches the log (``LogWatch``: PostgreSQL's LISTEN, or a
cheap look at SQLite's head). When the log grew, the thread runs the reader it was given
(``on_change``: the read of the new events that every stream of the process shares) and
then bumps a generation number under a condition variable; each waiting stream wakes,
takes what it needs of that read, and waits again.

The thread starts with the first waiter and stops once none has been left for a while,
so an idle service that nobody tails runs no watcher at all.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

# Seconds between two looks at the head of a log that gives no notice of its commits.
POLL_INTERVAL = 0.1
# Seconds after a wake-up of the streams before the next: the first commit after a quiet
# spell wakes them at once, and the commits of a busy spell cost each stream one read per
# this, not one per commit (on PostgreSQL, a wake-up per commit cost 40 % more CPU per
# write with four streams per worker).
COALESCE = 0.25
# Seconds the watcher outlives its last waiter: a client that reconnects at once finds it.
IDLE_SECONDS = 5.0
# Seconds to wait before watching again after the storage failed.
RETRY_SECONDS = 1.0
ARM_TIMEOUT = 5.0

_waiters: weakref.WeakSet[LogWaiter] = weakref.WeakSet()


class LogWatch(Protocol):
    """How one backend tells that its log may have grown."""

    def arm(self) -> None:
        """Start watching: every commit after this returns is seen by ``changed``."""

    def changed(self, timeout: float) -> bool:
        """Whether the log grew (or may have) since the last call; waits up to ``timeout``."""

    def close(self) -> None: ...


class PollingWatch:
    """A log's head, looked at every ``interval`` seconds: for storage without notices."""

    def __init__(
        self, head: Callable[[], int], close: Callable[[], None], interval: float = POLL_INTERVAL
    ) -> None:
        self._head = head
        self._close = close
        self._interval = interval
        self._seen = 0

    def arm(self) -> None:
        self._seen = self._head()

    def changed(self, timeout: float) -> bool:
        time.sleep(min(timeout, self._interval))
        head = self._head()
        grew, self._seen = head != self._seen, head
        return grew

    def close(self) -> None:
        self._close()


class LogWaiter:
    """The process's streams, waiting for the log to grow, and the one thread that tells them."""

    def __init__(
        self, open_watch: Callable[[], LogWatch], idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self._open_watch = open_watch
        self._idle_seconds = idle_seconds
        self._changed = threading.Condition()
        self._generation = 0
        self._waiting = 0
        self._armed = False
        self._thread: threading.Thread | None = None
        self._idle_since: float | None = None
        self._reader: Callable[[bool], bool] | None = None
        self._failing = False
        self.closing = False
        _waiters.add(self)

    def on_change(self, reader: Callable[[bool], bool]) -> None:
        """Have the watcher run ``reader(anew)`` each time the log grew, before it wakes the
        waiters: ``anew`` on its first run since the watcher started (what it read before
        may be long out of date); it answers whether it read all there was (else it runs
        again at once, and after a failure a moment later)."""
        self._reader = reader

    @contextmanager
    def watching(self) -> Iterator[None]:
        """While inside, ``wait`` learns of every commit made after entering."""
        with self._changed:
            self._waiting += 1
            if self._thread is None:
                self._armed = False
                self._thread = threading.Thread(target=self._watch, name="log-watch", daemon=True)
                self._thread.start()
            # A stream reads the feed right after this: commits from then on must wake it.
            self._changed.wait_for(lambda: self._armed or self.closing, ARM_TIMEOUT)
        try:
            yield
        finally:
            with self._changed:
                self._waiting -= 1

    @property
    def running(self) -> bool:
        """Whether the watcher thread runs (it does only while streams wait, and a while after)."""
        with self._changed:
            return self._thread is not None

    def generation(self) -> int:
        """The count of changes seen so far: a waiter reads the feed after taking it."""
        with self._changed:
            return self._generation

    def wait(self, generation: int, timeout: float) -> int:
        """Wait until the log changed after ``generation`` was taken, the timeout passed, or
        the process is going down; the generation then."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._generation != generation or self.closing, max(timeout, 0.0)
            )
            return self._generation

    def close(self) -> None:
        """End every wait now and for good: the process is going down."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()

    def _watch(self) -> None:
        watch: LogWatch | None = None
        # ``anew``: the shared read has yet to start from the head; ``pending``: it has yet
        # to read all that the log gained (it was cut short, or failed).
        anew, pending = True, False
        try:
            while not self.closing:
                if watch is None:
                    watch = self._arm()
                    if watch is None:
                        if not self._publish(changed=False):
                            return
                        time.sleep(RETRY_SECONDS)
                        continue
                    changed = True  # what was committed before it was armed went unseen
                else:
                    seen = self._look(watch, 0.0 if pending else 0.5)
                    changed = seen is not False or pending
                    if seen is None:
                        watch = None  # failed, and what was committed meanwhile went unseen
                read = self._read(anew=anew) if changed else True
                pending, anew = read is not True, anew and read is None
                if not self._publish(changed=changed and read is not None):
                    return
                if changed:
                    time.sleep(COALESCE if read is not None else RETRY_SECONDS)
        finally:
            if watch is not None:
                watch.close()
            with self._changed:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _publish(self, *, changed: bool) -> bool:
        """Wake the waiters if the log changed; whether to go on watching."""
        with self._changed:
            if changed:
                self._generation += 1
                self._changed.notify_all()
            if self._waiting:
                self._idle_since = None
            elif self._idle_since is None:
                self._idle_since = time.monotonic()
            elif time.monotonic() - self._idle_since > self._idle_seconds:
                self._thread, self._idle_since = None, None
                return False
            return True

    def _read(self, *, anew: bool) -> bool | None:
        """The shared read of what the log gained: whether it read all there was, None if
        the storage failed (the streams wait meanwhile, and it is read again in a second)."""
        if self._reader is None:
            return True
        try:
            done = self._reader(anew)
        except Exception as error:  # noqa: BLE001 - any failure of the storage: retried
            if not self._failing:  # once per outage, not once a second
                log.warning("reading the event log for the live streams failed: %s", error)
            self._failing = True
            return None
        if self._failing:
            log.info("reading the event log for the live streams works again")
        self._failing = False
        return done

    @staticmethod
    def _look(watch: LogWatch, timeout: float) -> bool | None:
        """Whether the log changed; None if the watch failed (it is closed then)."""
        try:
            return watch.changed(timeout=timeout)
        except Exception:  # the storage went away: watch anew
            log.warning("watching the event log failed; watching again", exc_info=True)
            watch.close()
            return None

    def _arm(self) -> LogWatch | None:
        try:
            watch = self._open_watch()
            watch.arm()
        except Exception:  # streams keep their keep-alive reads meanwhile
            log.warning("cannot watch the event log yet", exc_info=True)
            with self._changed:
                self._armed = True  # do not hold new streams back: they read on keep-alive
                self._changed.notify_all()
            return None
        with self._changed:
            self._armed = True
            self._changed.notify_all()
        return watch


def close_all() -> None:
    """End the waits of every live stream of this process: a graceful stop has begun."""
    for waiter in list(_waiters):
        waiter.close()
