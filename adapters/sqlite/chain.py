"""The hash chain's rows in SQLite (``projections.chain_keeper.ChainTable``)."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import unquote

from projections.chain import GENESIS, Link

if TYPE_CHECKING:
    from collections.abc import Iterator

    from eventsourcing.sqlite import SQLiteCursor

CHAIN_TABLE = "audit_chain"


class SQLiteChainTable:
    def __init__(self, database: str) -> None:
        memory = ":memory:" in database or "mode=memory" in database
        # A file beside the database, as the writer lock's: only one process can use a
        # database in memory, and the kernel drops the lock of a process that dies.
        path = (
            unquote(database[len("file:") :].split("?", maxsplit=1)[0])
            if database.startswith("file:")
            else database
        )
        self._claim_path = None if memory else f"{path}-chain.lock"

    @contextmanager
    def claim(self, *, wait: bool) -> Iterator[bool]:
        """An ``flock`` on the claim file: it belongs to the descriptor opened here, so the
        threads of one process exclude each other as processes do."""
        if self._claim_path is None:
            yield True
            return
        try:
            fd = os.open(self._claim_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only directory: nothing can be written there anyway
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # which releases the lock

    def create(self, c: SQLiteCursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, "
            "hash TEXT NOT NULL, occurred_at TEXT NOT NULL)"
        )

    def exists(self, c: SQLiteCursor) -> bool:
        c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (CHAIN_TABLE,))
        return c.fetchone() is not None

    def serialise(self, c: SQLiteCursor) -> None:
        """Nothing to add: an SQLite write transaction holds the writer lock and SQLite's own."""

    def last(self, c: SQLiteCursor) -> Link:
        c.execute(
            f"SELECT position, hash, occurred_at FROM {CHAIN_TABLE} "  # noqa: S608
            "ORDER BY position DESC LIMIT 1"
        )
        return _link(c.fetchone())

    def at_or_before(self, c: SQLiteCursor, position: int) -> Link:
        c.execute(
            f"SELECT position, hash, occurred_at FROM {CHAIN_TABLE} WHERE position <= ? "  # noqa: S608
            "ORDER BY position DESC LIMIT 1",
            (position,),
        )
        return _link(c.fetchone())

    def write(self, c: SQLiteCursor, chained: list[Link]) -> None:
        c.executemany(
            f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?)",  # noqa: S608
            [(link.position, link.hash, link.occurred_at) for link in chained],
        )

    def hashes(self, c: SQLiteCursor, after: int, through: int) -> list[tuple[int, str]]:
        c.sqlite_cursor.row_factory = None  # plain tuples: verification reads every row
        c.execute(
            f"SELECT position, hash FROM {CHAIN_TABLE} WHERE position > ? AND position <= ? "  # noqa: S608
            "ORDER BY position",
            (after, through),
        )
        return list(c.sqlite_cursor)


def _link(row: tuple[int, str, str] | None) -> Link:
    return GENESIS if row is None else Link(row[0], row[1], row[2])
