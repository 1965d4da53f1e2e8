"""What went wrong with the storage, told apart so that clients and operators see it.

A full disk, a database that cannot be written and an unreachable server each get their
own answer; each episode is logged once when it begins and once when it ends, and
``/ready`` reports it while it lasts.
"""

from __future__ import annotations

import enum
import logging
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from eventsourcing.persistence import OperationalError

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

log = logging.getLogger(__name__)

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 3, 8, 10, 13, 14
UNWRITABLE_CODES = frozenset({SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_IOERR})
# PostgreSQL's SQLSTATEs for a full disk and a read-only server.
PG_DISK_FULL, PG_READ_ONLY = "53100", "25006"
# Free bytes on the database's file system at which a full disk counts as over.
RECOVERED_FREE_BYTES = 1 << 20
# Free bytes below which the disk counts as full before any write failed: about what
# one write adds to the write-ahead log.
FULL_FREE_BYTES = 64 << 10


class CommitOutcomeUnknown(OperationalError):
    """The connection broke while the transaction committed: it may or may not have."""


class StorageUnavailable(Exception):
    """The storage could not be opened (yet)."""


class StorageUnwritable(Exception):
    """The SQLite file or its directory cannot be written: one line naming the path."""


class StorageFull(Exception):
    """The storage's file system has no room for a write: it was not attempted."""


class Fault(enum.Enum):
    FULL = "the storage is full"
    UNWRITABLE = "the storage is read-only or cannot be opened for writing"
    UNREACHABLE = "the storage is busy or unreachable"
    OUTCOME_UNKNOWN = "the connection to the database broke while this write committed"


def classify(error: BaseException) -> Fault:
    """The fault behind a storage error, looking through the errors it wraps."""
    seen: BaseException | None = error
    while seen is not None:
        fault = _fault_of(seen)
        if fault is not None:
            return fault
        seen = seen.__cause__ or seen.__context__
    return Fault.UNREACHABLE


def _fault_of(error: BaseException) -> Fault | None:
    if isinstance(error, CommitOutcomeUnknown):
        return Fault.OUTCOME_UNKNOWN
    if isinstance(error, StorageUnwritable):
        return Fault.UNWRITABLE
    if isinstance(error, StorageFull):
        return Fault.FULL
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    sqlstate = getattr(error, "sqlstate", None)
    # The library keeps only the text of some errors it wraps.
    if (
        primary == SQLITE_FULL
        or sqlstate == PG_DISK_FULL
        or "database or disk is full" in str(error)
    ):
        return Fault.FULL
    if primary in UNWRITABLE_CODES or sqlstate == PG_READ_ONLY:
        return Fault.UNWRITABLE
    return None


class FaultEpisodes:
    """The write fault under way in this process, if any, logged once as it begins and
    once as it ends.

    ``probe`` looks at the storage without writing and says what would stop a write now
    (None: nothing it can see); with it, ``/ready`` notices a disk that has space again,
    or a file that became read-only before any write failed.
    """

    def __init__(self, probe: Callable[[Fault | None], Fault | None] | None = None) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self.current: Fault | None = None
        # time.perf_counter() as the storage went away and as it answered again.
        self._outage_since: float | None = None
        self._outage_ended = float("-inf")
        # Called as the database becomes unwritable, to close the connections opened for
        # writing: they are opened again only once the file can be written (and reads go
        # on meanwhile from a read-only store), so nothing opened read-only is left to
        # reopen as the episode ends; closing then would cut off the writes it let through.
        self.on_unwritable: Callable[[], None] = lambda: None

    def failed(self, fault: Fault, arrived: float | None = None) -> None:
        """A storage error met a request that arrived at ``arrived`` (``perf_counter()``)."""
        if fault is Fault.UNREACHABLE:
            self._outage_began(arrived)
        if fault not in {Fault.FULL, Fault.UNWRITABLE}:
            return
        with self._lock:
            began = self.current != fault
            if began:
                log.error("writes fail: %s", fault.value)
            self.current = fault
        if began and fault is Fault.UNWRITABLE:
            self.on_unwritable()

    def succeeded(self, *_: object) -> None:
        """A write committed: any episode is over."""
        self._end()
        if self._outage_since is not None:
            with self._lock:
                began, self._outage_since = self._outage_since, None
                self._outage_ended = time.perf_counter()
            if began is not None:
                log.error(
                    "the storage answers again: writes work after %.1f s",
                    self._outage_ended - began,
                )

    def _outage_began(self, arrived: float | None) -> None:
        """Unreachable storage is no state ``/ready`` keeps (it asks the storage itself);
        the outage is only logged, once as it begins and once as the next write commits.
        A request that arrived before that commit and fails after it was part of the
        outage that ended: it begins no new one."""
        with self._lock:
            late = arrived is not None and arrived < self._outage_ended
            began = self._outage_since is None and not late
            if began:
                self._outage_since = time.perf_counter()
        if began:
            log.error("writes fail: %s", Fault.UNREACHABLE.value)

    def check(self) -> Fault | None:
        """The fault that stops writes now, as far as it can be seen."""
        if self._probe is None:
            return self.current
        seen = self._probe(self.current)
        if seen is None:
            self._end()
        else:
            self.failed(seen)
        return seen

    def before_write(self) -> Fault | None:
        """The fault that stops a write now, as far as it can be seen. Unlike ``check``,
        seeing none ends no episode: only a commit does (``succeeded``), after which the
        connections opened during it are reopened; ending it here would close the service
        under the write about to use it."""
        if self._probe is None:
            return self.current
        seen = self._probe(self.current)
        if seen is not None:
            self.failed(seen)
        return seen

    def _end(self) -> None:
        if self.current is None:
            return
        with self._lock:
            ended, self.current = self.current, None
        if ended is not None:
            log.error("writes work again after: %s", ended.value)


def checked_turn(
    faults: FaultEpisodes, turn: Callable[[], AbstractContextManager[None]]
) -> Callable[[], AbstractContextManager[None]]:
    """The writer's turn, refused while ``faults`` sees the storage full or unwritable.

    Every worker looks at the same file before each batch, and ``/ready`` looks at it the
    same way, so they all give one answer: without this, a worker whose connection was
    opened before the file became read-only could go on writing through it while the
    others refuse (and what it wrote may not be where the next reader finds it).
    """

    def checked() -> AbstractContextManager[None]:
        fault = faults.before_write()
        if fault is Fault.FULL:
            raise StorageFull(fault.value)
        if fault is Fault.UNWRITABLE:
            raise StorageUnwritable(fault.value)
        return turn()

    return checked


def sqlite_probe(path: str) -> Callable[[Fault | None], Fault | None]:
    """Whether the file and its directory can be written, and, during a full disk,
    whether its file system has space again."""
    file = Path(path)

    def probe(current: Fault | None) -> Fault | None:
        if not all(os.access(p, os.W_OK) for p in (file, file.parent) if p.exists()):
            return Fault.UNWRITABLE
        # Seen by every worker, also one whose own writes have not failed yet.
        stats = os.statvfs(file.parent)
        needed = RECOVERED_FREE_BYTES if current is Fault.FULL else FULL_FREE_BYTES
        if stats.f_bavail * stats.f_frsize < needed:
            return Fault.FULL
        if current is Fault.UNWRITABLE:
            return _unwritable_now(file)
        return None

    return probe


def _unwritable_now(file: Path) -> Fault | None:
    """After a write failed as unwritable: whether a write transaction can begin now."""
    try:
        # mode=rw: opens the file for writing, never creates it.
        uri = f"file:{quote(str(file))}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=0.1)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
    except sqlite3.OperationalError as error:
        if classify(error) is Fault.UNWRITABLE:
            return Fault.UNWRITABLE
    return None
