"""One SQLite writer at a time, across the threads and processes that share a database."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


class WriterLock:
    """One SQLite writer at a time: a thread lock within the process, and an ``fcntl`` lock
    on a file beside the database across processes, both taken before ``BEGIN IMMEDIATE``.

    Writers then queue in the kernel and start the moment the lock is free, instead of
    polling SQLite's busy handler, whose sleeps grow to 100 ms and made a threaded
    server's write latency ten times worse under contention. A writer holds it while it
    records (a batch decides before, so the others wait for no deciding), and a command
    decided again after losing a race holds it while it decides too, so it cannot lose
    twice; the kernel releases the lock of a process that dies. Where the lock file cannot
    be opened (a read-only directory) SQLite's lock alone keeps writes correct.
    """

    def __init__(self, database: str) -> None:
        memory = ":memory:" in database or "mode=memory" in database
        self.path = None if memory else f"{database}-writer.lock"
        self._threads = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            # Opened per write (microseconds against a commit's fsync): closing a descriptor
            # drops the process's locks on the file, and only this thread holds one now.
            fd = self._open()
            try:
                if fd is not None:
                    fcntl.lockf(fd, fcntl.LOCK_EX)
                yield
            finally:
                if fd is not None:
                    os.close(fd)  # and with it the lock

    def _open(self) -> int | None:
        if self.path is None:
            return None
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(database: str) -> WriterLock:
    """The process's one writer lock of a database. One, because an ``fcntl`` lock belongs
    to the process: a second WriterLock of the same file would not wait for the first,
    and closing its descriptor would drop the first one's lock."""
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(database, WriterLock(database))
