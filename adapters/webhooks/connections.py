"""The webhook tables' connections: SQLite or PostgreSQL, one per thread."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from adapters.settings import sqlite_path
from adapters.sqlite.writer_lock import writer_lock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from contextlib import AbstractContextManager


class Connections:
    """One database of either kind, a connection per thread; on SQLite, writes take the
    writer lock of the event writers."""

    def __init__(
        self, database_url: str, *, lock_timeout: float = 15, connect_timeout: int = 5
    ) -> None:
        self._url = database_url
        self.postgres = not database_url.startswith("sqlite:")
        self._lock_timeout = lock_timeout
        self._connect_timeout = connect_timeout
        self._local = threading.local()
        # On SQLite, writes queue with the event writers (adapters.sqlite.WriterLock), so
        # that neither meets the other in SQLite's busy handler, which sleeps in steps.
        self._writer_turn: Callable[[], AbstractContextManager[None]] = (
            nullcontext if self.postgres else writer_lock(self._sqlite_path()).held
        )
        self._all: list[Any] = []
        self._guard = threading.Lock()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = self._connect()
            self._local.connection, self._local.pid = connection, os.getpid()
            with self._guard:
                self._all.append(connection)
        return connection

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg  # noqa: PLC0415 - SQLite users need not install it

            postgres = psycopg.connect(
                self._url, autocommit=True, connect_timeout=self._connect_timeout
            )
            # As on SQLite (see below): a lost commit of progress only repeats a delivery.
            postgres.execute("SET synchronous_commit = off")
            return postgres
        connection = sqlite3.connect(
            self._sqlite_path(),
            isolation_level=None,
            check_same_thread=False,
            timeout=self._lock_timeout,
        )
        connection.execute("PRAGMA journal_mode = WAL")
        # Progress is committed without waiting for the disk: a crash of the process loses
        # nothing (the WAL is written), and a power cut can only lose the last commits of
        # progress, which repeats deliveries, never skips one.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def _sqlite_path(self) -> str:
        return sqlite_path(self._url)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in a write transaction: committed at the end, rolled back on an error."""
        connection = self._connection()
        if self.postgres:
            with connection.transaction():
                yield connection.cursor()
            return
        with self._writer_turn():
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")  # the write lock up front: no upgrade deadlocks
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    def execute(self, c: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run a statement written with ``?`` placeholders on a transaction's cursor."""
        c.execute(self._sql(statement), params)
        return c

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of a query written with ``?`` placeholders, outside a transaction."""
        c = self._connection().cursor()
        c.execute(self._sql(statement), params)
        return list(c.fetchall())

    def close(self) -> None:
        with self._guard:
            for connection in self._all:
                connection.close()
            self._all.clear()
        self._local = threading.local()
