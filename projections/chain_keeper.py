"""Keeping the hash chain (``projections.chain``) beside the log, and checking the log against it.

The chain is a trailing projection: its rows (position, hash, occurredAt) are computed from
the log outside the events' transactions, so writes do not wait for hashing, and written
in short transactions of their own. One process chains at a time (``ChainTable.claim``);
should two ever compute the same batch, each writes it only if the head it started from is
still the head, under the backend's serialisation (``ChainTable.serialise``). The chain's
last row is its tracking position.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from projections.chain import GENESIS, Link, links, record_bytes

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from projections.ports import ViewStore
    from projections.records import Record

BATCH = 5_000  # events hashed per transaction: a few milliseconds of work
VERIFY_BATCH = 50_000  # events read per query in a verification
# Seconds between a keeper's catch-ups: the chain trails the log by this and a catch-up's
# time, well under a second; each catch-up that writes costs a commit, so not more often.
KEEP_INTERVAL = 0.5

log = logging.getLogger(__name__)


class ChainTable(Protocol):
    """The chain's rows in one backend; ``c`` is that backend's cursor (``ViewStore``'s)."""

    def create(self, c: Any) -> None:
        """Create the table if it is not there."""

    def exists(self, c: Any) -> bool: ...
    def serialise(self, c: Any) -> None:
        """Make this write transaction the only one writing the chain until it ends."""

    def last(self, c: Any) -> Link:
        """The chain's head: its last row, or ``GENESIS`` when it is empty."""

    def at_or_before(self, c: Any, position: int) -> Link:
        """The last row at or before ``position``, or ``GENESIS``."""

    def write(self, c: Any, chained: list[Link]) -> None: ...
    def claim(self, *, wait: bool) -> AbstractContextManager[bool]:
        """Be the one process that chains while the context lasts, across the processes
        that share the store; without ``wait``, yield False at once if another one is."""

    def hashes(self, c: Any, after: int, through: int) -> list[tuple[int, str]]:
        """(position, hash) of the rows after ``after`` up to ``through``, in order."""


def catch_up(store: ViewStore, table: ChainTable, batch: int = BATCH, *, wait: bool = True) -> int:
    """Chain what the log holds beyond the chain's head; how many events that was.

    One process at a time (``ChainTable.claim``): the processes of a server that starts
    on a long unchained log would otherwise all hash all of it, and all keepers every new
    event, for one of them to write it. Without ``wait``, a process that finds another one
    chaining leaves the work to it (0) and reads the rows it writes.
    """
    with table.claim(wait=wait) as claimed:
        return _catch_up(store, table, batch) if claimed else 0


def _catch_up(store: ViewStore, table: ChainTable, batch: int) -> int:
    chained = 0
    while True:
        with store.read_transaction() as c:
            head = table.last(c)
            records = store.select_records(c, head.position, batch)
        if not records:
            return chained
        new = links(head.hash, records)  # outside any write: event writers do not wait
        # A commit that need not reach the disk by itself (nor wait for it, holding the
        # writer lock on SQLite): the rows derive from events already on disk, and any lost
        # to a power cut are chained again from the log.
        with store.copy_transaction() as c:
            table.serialise(c)
            if table.last(c) != head:
                continue  # another process chained these meanwhile: start from its head
            table.write(c, new)
        chained += len(new)


def create(store: ViewStore, table: ChainTable) -> None:
    with store.write_transaction(exclusive=False) as c:
        table.serialise(c)
        table.create(c)


def head(store: ViewStore, table: ChainTable) -> Link:
    with store.read_transaction() as c:
        return table.last(c)


def checkpoint(store: ViewStore, table: ChainTable, position: int) -> Link | None:
    """The hash after the last event at or before ``position`` (at ``position`` itself for
    an event's position); None past the chain's head, which no hash covers yet."""
    with store.read_transaction() as c:
        if position > table.last(c).position:
            return None
        return table.at_or_before(c, position)


class ChainKeeper:
    """A daemon thread that catches the chain up every ``interval`` seconds until stopped."""

    def __init__(
        self, store: ViewStore, table: ChainTable, interval: float = KEEP_INTERVAL
    ) -> None:
        self._store, self._table, self._interval = store, table, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-keeper", daemon=True)
        self.cpu_seconds = 0.0  # the thread's own CPU time: what keeping the chain costs

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stopped.wait(self._interval):
            started = time.thread_time()
            try:  # a turn that finds another process chaining leaves the work to it
                catch_up(self._store, self._table, wait=False)
            except Exception as error:  # noqa: BLE001 - storage down: the next turn retries
                if not failing:  # once per outage, not every turn
                    log.warning("the hash chain cannot be caught up yet: %s", error)
                failing = True
            else:
                failing = False
            self.cpu_seconds += time.thread_time() - started

    def stop(self) -> None:
        """Stop the thread, and chain what was written since its last turn, so that a
        process that writes and exits leaves its events chained. Storage that fails now
        leaves them to the next process that starts."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            catch_up(self._store, self._table)
        except Exception as error:  # noqa: BLE001 - closing must not fail on it
            log.warning("the hash chain was not caught up at close: %s", error)


@dataclass(frozen=True)
class Verified:
    """What ``verify`` found: how many events agreed, how many are not chained yet, and the
    first disagreement (None when there is none)."""

    agreed: int
    unchained: int
    problem: str | None


def verify(store: ViewStore, table: ChainTable) -> Verified:
    """Recompute the chain from the log and compare it with every stored hash, in one
    snapshot. Events beyond the chain's head are not chained yet, which is no problem."""
    with store.read_transaction() as c:
        head = table.last(c).position
        found = _verify_span(store, table, c, Span(0, head, GENESIS.hash))
        if found.problem is not None:
            return found
        return Verified(found.agreed, _count_from(store, c, head), None)


@dataclass(frozen=True)
class Span:
    """A stretch of the chain, checked on its own: the positions after ``after`` up to
    ``through``, starting from the stored hash at ``after``.

    Spans that agree one by one make a chain that agrees as a whole: each starts from the
    stored hash that the span before it found equal to the recomputed one.
    """

    after: int
    through: int
    previous: str


def spans(store: ViewStore, table: ChainTable, parts: int) -> tuple[list[Span], int]:
    """The chain cut into about ``parts`` spans of positions, and the chain's head."""
    with store.read_transaction() as c:
        head = table.last(c).position
        bounds = sorted({head * part // parts for part in range(parts + 1)})
        return [
            Span(after, through, table.at_or_before(c, after).hash)
            for after, through in itertools.pairwise(bounds)
        ], head


def verify_span(store: ViewStore, table: ChainTable, span: Span) -> Verified:
    with store.read_transaction() as c:
        return _verify_span(store, table, c, span)


def unchained(store: ViewStore, head: int) -> int:
    """How many events of the log come after the chain's head."""
    with store.read_transaction() as c:
        return _count_from(store, c, head)


def _verify_span(store: ViewStore, table: ChainTable, c: Any, span: Span) -> Verified:
    expected, agreed, after = span.previous, 0, span.after
    # No more than the span's positions are read: its last batch stops at its end.
    while records := _through(
        store.select_records(c, after, max(1, min(VERIFY_BATCH, span.through - after))),
        span.through,
    ):
        rows = table.hashes(c, after, records[-1][0])
        positions = [row[0] for row in rows]
        if positions != [record[0] for record in records]:
            return Verified(agreed, 0, _misplaced(records, positions))
        hashes = _hashes(expected, records)
        for position, kept, recomputed in zip(
            positions, (row[1] for row in rows), hashes, strict=True
        ):
            if kept != recomputed:
                return Verified(agreed, 0, f"position {position}: {_CHANGED}")
            agreed += 1
        expected, after = hashes[-1], records[-1][0]
    extra = table.hashes(c, after, span.through)
    if extra:
        return Verified(agreed, 0, f"position {extra[0][0]}: {_REMOVED}")
    return Verified(agreed, 0, None)


def _through(records: list[Record], through: int) -> list[Record]:
    if records and records[-1][0] > through:
        return [record for record in records if record[0] <= through]
    return records


MAX_POSITION = 2**63 - 1
_CHANGED = "the event no longer hashes as recorded (it, or its recorded hash, was changed)"
_REMOVED = "the chain holds an event there that the log no longer has (removed)"
_INSERTED = "the log holds an event there that the chain never had (inserted)"


def _hashes(previous: str, records: list[Record]) -> list[str]:
    """The chain's hashes of records: the hot loop of a verification, kept tight."""
    sha256, hashes, current = hashlib.sha256, [], previous
    for _, public_id, version, topic, state in records:
        event = record_bytes(public_id, version, topic, state)
        current = sha256(current.encode("ascii") + event).hexdigest()
        hashes.append(current)
    return hashes


def _misplaced(records: list[Record], positions: list[int]) -> str:
    """The first position held by the chain or the log but not both (of a batch's worth of
    the log and the chain's rows over the same range)."""
    for record, position in zip(records, positions, strict=False):
        if record[0] < position:
            return f"position {record[0]}: {_INSERTED}"
        if position < record[0]:
            return f"position {position}: {_REMOVED}"
    if len(positions) > len(records):
        return f"position {positions[len(records)]}: {_REMOVED}"
    return f"position {records[len(positions)][0]}: {_INSERTED}"


def _count_from(store: ViewStore, c: Any, after: int) -> int:
    """How many events the log holds after ``after``."""
    counted = 0
    while batch := store.select_records(c, after, VERIFY_BATCH):
        counted, after = counted + len(batch), batch[-1][0]
    return counted


def hash_at(store: ViewStore, position: int) -> tuple[int, str]:
    """Recomputed from the log alone: the last event's position at or before ``position``
    (0 if none) and the hash after it."""
    with store.read_transaction() as c:
        last, current = 0, GENESIS.hash
        while batch := store.select_records(c, last, VERIFY_BATCH):
            within = [record for record in batch if record[0] <= position]
            if within:
                current = links(current, within)[-1].hash
                last = within[-1][0]
            if len(within) < len(batch):
                break
            last = batch[-1][0]
        return last, current
