"""The SQLite log's head, for the live tail's watcher: one connection of its own.

SQLite tells no other process of a commit, so the watcher looks at the head itself, a
lookup of the table's last rowid (microseconds) a few times a second: commits of every
process and thread that shares the file are seen alike.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from adapters.storage.log_watch import PollingWatch


def sqlite_log_watch(path: str) -> PollingWatch:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def head() -> int:
        with closing(connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events")) as c:
            (position,) = c.fetchone()
        return int(position)

    return PollingWatch(head, connection.close)
