"""The connections behind the hottest reads (a milestone, a list page): one per thread.

A read through the application's pool pays for the check-out and check-in of a pooled
connection and for a dict per row: about 60 µs of CPU a request, more than the query. A
request thread instead keeps a connection of its own, in autocommit mode, with prepared
statements and rows as tuples, in binary (a bytea travels as its bytes, not as hex text:
half the CPU of a list page's fetch). A connection that fails is dropped, so the next read
connects afresh; a read on a connection that had worked before is tried once more on a
new one, since the server may have closed it while it sat idle. Errors reach callers as
the library's, as those of the pool do.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eventsourcing.postgres import PostgresDatastore


Connection = psycopg.Connection[tuple[Any, ...]]


class ReadConnections:
    """A connection per thread to the datastore's database, made as its pool makes them."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._pool = datastore.pool
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Connection] = []

    def rows(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                return _fetch(connection, query, params)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._drop(connection)  # and once more on a new one
        connection = self._connect()
        try:
            return _fetch(connection, query, params)
        except psycopg.OperationalError as error:
            self._drop(connection)
            raise OperationalError(str(error)) from error
        except psycopg.InterfaceError as error:
            self._drop(connection)
            raise InterfaceError(str(error)) from error

    def _connect(self) -> Connection:
        pool = self._pool
        # The pool's arguments (host, credentials, connect timeout) without its dict rows.
        kwargs = dict(pool.kwargs) if isinstance(pool.kwargs, dict) else {}
        kwargs.pop("row_factory", None)
        if pool.get_password_func is not None:
            kwargs["password"] = pool.get_password_func()
        conninfo = pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()
        try:
            connection = psycopg.connect(conninfo, autocommit=True, **kwargs)
        except psycopg.OperationalError as error:
            raise OperationalError(str(error)) from error
        self._local.connection = connection
        with self._lock:
            self._open.append(connection)
        return connection

    def _drop(self, connection: Connection) -> None:
        self._local.connection = None
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        connection.close()

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def _fetch(connection: Connection, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    # Rows in binary: a document's bytes as they are, not as hex text to decode.
    return connection.execute(query, params, prepare=True, binary=True).fetchall()
