"""SQLite persistence: the events, the milestone view and its tracking in one transaction."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder

from projections.milestones import Document, Record, Row, fold

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from eventsourcing.persistence import StoredEvent

VIEW_TABLE = "milestones"
VIEW_TRACKING = "milestones_view"
CATCH_UP_BATCH = 10_000


def view_table_statements(table: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "id TEXT PRIMARY KEY, project_id TEXT NOT NULL, status TEXT NOT NULL, "
        "created_at TEXT NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL"
        ") WITHOUT ROWID",
        f"CREATE INDEX IF NOT EXISTS {table}_by_time ON {table} (created_at, id)",
        f"CREATE INDEX IF NOT EXISTS {table}_by_project ON {table} (project_id, created_at, id)",
    ]


class MilestonesRecorder(SQLiteProcessRecorder):
    """Records events and, in the same transaction, applies them to the milestone view.

    So a write that has committed is already in the view (read-your-writes across
    processes), and the view never lags or leads the log.
    """

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *view_table_statements(VIEW_TABLE)]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            records = [
                (UUID(str(e.originator_id)), e.originator_version, e.topic, e.state)
                for e in stored_events
            ]
            self.project(c, records, positions[-1])
        return positions

    def project(
        self, c: SQLiteCursor, records: Iterable[Record], position: int, table: str = VIEW_TABLE
    ) -> None:
        """Apply records to a view table and track the position of the last one."""
        rows = fold(records, lambda ids: _load_documents(c, table, ids))
        _write_rows(c, table, rows)
        self._insert_tracking(c, Tracking(VIEW_TRACKING, position))

    def catch_up(self) -> int:
        """Apply whatever the log holds beyond the view's position; how many events that was.

        It holds the write lock throughout, so no live write interleaves.
        """
        applied = 0
        with self._write_transaction() as c:
            position = self._max_tracking_id(VIEW_TRACKING, c) or 0
            while batch := _select_records(c, position, CATCH_UP_BATCH):
                position = batch[-1][0]
                self.project(c, (record for _, *record in batch), position)  # type: ignore[misc]
                applied += len(batch)
        return applied

    @contextmanager
    def _write_transaction(self) -> Iterator[SQLiteCursor]:
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            connection.commit()


def _select_records(
    c: SQLiteCursor, after: int, limit: int
) -> list[tuple[int, UUID, int, str, bytes]]:
    c.execute(
        "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
        "WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (after, limit),
    )
    return [(row[0], UUID(row[1]), row[2], row[3], row[4]) for row in c.fetchall()]


def _load_documents(c: SQLiteCursor, table: str, public_ids: list[str]) -> dict[str, Document]:
    documents = {}
    for public_id in public_ids:
        c.execute(f"SELECT body FROM {table} WHERE id = ?", (public_id,))  # noqa: S608
        row = c.fetchone()
        if row is not None:
            documents[public_id] = orjson.loads(row[0])
    return documents


def _write_rows(c: SQLiteCursor, table: str, rows: dict[str, Row]) -> None:
    upserts = [
        (
            public_id,
            document["projectId"],
            document["status"],
            document["createdAt"],
            version,
            orjson.dumps(document),
        )
        for public_id, (version, document) in rows.items()
        if document is not None
    ]
    deletes = [(public_id,) for public_id, (_, document) in rows.items() if document is None]
    if upserts:
        c.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?, ?)", upserts)  # noqa: S608
    if deletes:
        c.executemany(f"DELETE FROM {table} WHERE id = ?", deletes)  # noqa: S608


class SQLiteMilestoneView:
    """Reads of the milestone view, one connection per thread, no transaction around them."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only = 1")
            self._local.connection = connection
        return connection

    def get(self, public_id: str) -> tuple[int, bytes] | None:
        row = self._connection().execute(
            f"SELECT version, body FROM {VIEW_TABLE} WHERE id = ?", (public_id,)  # noqa: S608
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def list(self, project_id: str | None = None, status: str | None = None) -> list[bytes]:
        where, params = [], []
        if project_id is not None:
            where.append("project_id = ?")
            params.append(project_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = f"SELECT body FROM {VIEW_TABLE}"  # noqa: S608
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, id"
        return [row[0] for row in self._connection().execute(sql, params)]

    def lag(self) -> tuple[int, int]:
        """The view's position and the head of the log."""
        connection = self._connection()
        (head,) = connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()
        row = connection.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", (VIEW_TRACKING,)
        ).fetchone()
        return (row[0] if row else 0), head

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
