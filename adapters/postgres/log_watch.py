"""PostgreSQL's notice of each commit to the log, for the live tail's watcher.

The event recorder NOTIFYs its channel in every transaction that inserts events, and
PostgreSQL delivers a notification to every session that LISTENs once the transaction
commits: so one connection per process hears every commit of every instance that shares
the database, without a query.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from adapters.postgres.recorder import EVENTS_TABLE

# The library names the channel after the events table.
CHANNEL = EVENTS_TABLE.replace(".", "_")


class ListenWatch:
    def __init__(self, database_url: str, connect_timeout: int) -> None:
        self._url = database_url
        self._connect_timeout = connect_timeout
        self._connection: psycopg.Connection[Any] | None = None

    def arm(self) -> None:
        self._connection = psycopg.connect(
            self._url, autocommit=True, connect_timeout=self._connect_timeout
        )
        self._connection.execute(SQL("LISTEN {channel}").format(channel=Identifier(CHANNEL)))

    def changed(self, timeout: float) -> bool:
        if self._connection is None:
            raise psycopg.OperationalError("not listening")
        return any(True for _ in self._connection.notifies(timeout=timeout, stop_after=1))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
