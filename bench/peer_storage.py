"""The CRUD peer's one table, on SQLite (``sqlite3``) or PostgreSQL (``psycopg`` 3).

Both the way a user would write it: a connection per thread in autocommit mode, so each
statement is its own durable transaction, and one explicit transaction for the
read-modify-write of a PATCH. SQLite runs in WAL with ``synchronous=FULL`` (the project's
durability); PostgreSQL keeps its defaults (``synchronous_commit=on``: a commit waits for
the WAL flush).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

SCHEMA = (
    (
        "CREATE TABLE IF NOT EXISTS milestones ("
        "id TEXT PRIMARY KEY, project_id TEXT NOT NULL, title TEXT NOT NULL, "
        "description TEXT NOT NULL, status TEXT NOT NULL, due_date TEXT, reached_at TEXT, "
        "created_at TEXT NOT NULL)"
    ),
    "CREATE INDEX IF NOT EXISTS milestones_by_project ON milestones (project_id, created_at, id)",
    "CREATE INDEX IF NOT EXISTS milestones_by_time ON milestones (created_at, id)",
)
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Cursor(Protocol):
    """What the peer reads from a cursor of either driver."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the peer asks of a connection of either driver."""

    def execute(self, statement: str, parameters: Sequence[Any], /) -> Cursor: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """What differs between the two databases in the peer's SQL (written with ``?``)."""

    placeholder: str
    # Starts the PATCH transaction; on SQLite IMMEDIATE takes the write lock at once, so
    # two PATCHes never both read and then fail to upgrade their lock.
    begin: str
    # Appended to the PATCH's SELECT: on PostgreSQL a concurrent PATCH of the same row
    # waits for this one instead of reading the status it is about to change.
    lock_row: str

    def sql(self, statement: str) -> str:
        return _with_placeholder(statement, self.placeholder)


SQLITE = Dialect(placeholder="?", begin="BEGIN IMMEDIATE", lock_row="")
POSTGRES = Dialect(placeholder="%s", begin="BEGIN", lock_row=" FOR UPDATE")


@functools.cache
def _with_placeholder(statement: str, placeholder: str) -> str:
    # The statements are a handful of constants: each is rewritten once per process.
    return statement.replace("?", placeholder)


def is_postgres(database: str) -> bool:
    return database.startswith(_POSTGRES_SCHEMES)


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode: each statement, or each BEGIN..COMMIT, is durable."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 15000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def connect_postgres(url: str) -> Connection:
    """A connection in autocommit mode, with PostgreSQL's default durability."""
    # Imported here: a SQLite-only install (no [postgres] extra) still runs the SQLite peer.
    import psycopg  # noqa: PLC0415

    connection: Connection = psycopg.connect(url, autocommit=True)
    return connection


def connect(database: str) -> Connection:
    """A SQLite file's path or a postgresql:// URL."""
    return connect_postgres(database) if is_postgres(database) else connect_sqlite(database)


def prepare(database: str) -> None:
    """Create the table once, in the arbiter before the fork, so workers never race on it."""
    connection = connect(database)
    try:
        for statement in SCHEMA:
            connection.execute(statement, ())
    finally:
        connection.close()


class Store:
    """One connection per thread (a sync worker has one thread; gthread has several)."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._local = threading.local()
        self.dialect = POSTGRES if is_postgres(database) else SQLITE

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self._database)
        return connection

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> Cursor:
        """One statement, ``?`` for its parameters, committed on its own."""
        return self._connection().execute(self.dialect.sql(statement), parameters)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """BEGIN .. COMMIT: one durable commit, rolled back on any error."""
        connection = self._connection()
        connection.execute(self.dialect.begin, ())
        try:
            yield self
        except BaseException:
            connection.execute("ROLLBACK", ())
            raise
        connection.execute("COMMIT", ())
