"""The SQLite queries behind every read: the view, the event index, the log and the projections."""

from __future__ import annotations

import os
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from eventsourcing.persistence import StoredEvent

from adapters.sqlite.search import match_expression, search_filter
from adapters.storage.projects import projects_query
from adapters.storage.schedule_sql import scheduled_sql, slipped_sql
from adapters.storage.sql import (
    find_queries,
    sql_conditions,
    words_table,
)
from domain.ids import public_id_of_hex
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE, VIEW_TRACKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from projections.finding import Find
    from projections.ports import EventFilter, IndexKeys, StreamRow
    from projections.records import Record
    from projections.schedule import ScheduledRow

FEW_IN_TIME = 50_000  # events within a feed's time bounds that are cheap to sort (top-N)
READ_CACHE_KIB = 64 * 1024  # each reading connection's page cache, at most
FEW_WORDS = 2_000  # milestones matching a search term that are cheaper to look up than to walk


class SQLiteReads:
    """The queries behind every read: one connection per thread, no transaction around them."""

    def __init__(self, path: str, *, uri: str | None = None) -> None:
        self._path = path
        # A tool's reads open a read-only URI, which never creates or writes the file.
        self._uri = uri or path
        self._inode = Path(path).stat().st_ino
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        # An open connection keeps reading a file that was deleted or replaced meanwhile:
        # that database is gone for the service (one stat, a microsecond or two a read).
        try:
            replaced = os.stat(self._path).st_ino != self._inode  # noqa: PTH116 - the hot path
        except FileNotFoundError:
            replaced = True
        if replaced:
            msg = f"the database file {self._path} was replaced or removed"
            raise sqlite3.OperationalError(msg)
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._uri,
                isolation_level=None,
                check_same_thread=False,
                uri=self._uri != self._path,
            )
            connection.execute("PRAGMA query_only = 1")
            # A list page looks up hundreds of rows and words scattered over a large file:
            # with SQLite's default 2 MiB cache each lookup rereads pages through the OS.
            connection.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
            self._local.connection = connection
            self._connections.append(connection)
        return connection

    def document(self, public_id: str) -> tuple[int, bytes] | None:
        row = (
            self._connection()
            .execute(
                f"SELECT version, body FROM {VIEW_TABLE} WHERE id = ?",  # noqa: S608
                (public_id,),
            )
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def documents(self, project_id: str | None = None, status: str | None = None) -> list[bytes]:
        where, params = sql_conditions(("project_id = ?", project_id), ("status = ?", status))
        sql = f"SELECT body FROM {VIEW_TABLE} WHERE {where} ORDER BY created_at, id"  # noqa: S608
        return [row[0] for row in self._connection().execute(sql, params)]

    def projects(self, after: str | None, limit: int | None) -> list[tuple[str, str, int]]:
        sql, params = projects_query(VIEW_TABLE, "?", after, limit)
        return self._connection().execute(sql, params).fetchall()

    def find(self, find: Find) -> list[tuple[str | None, str, bytes]]:
        """(sort key, id, body) of the matches in order; with a limit, up to one more."""
        connection = self._connection()
        lead = bool(find.terms) and self._few_words(find.terms[0])
        rows: list[tuple[str | None, str, bytes]] = []
        words = partial(search_filter, lead=lead)
        for query, params in find_queries(find, VIEW_TABLE, "?", words_filter=words):
            # Few matches: sort them rather than walk the sort's index (the unary + says so).
            sql = query.replace(" ORDER BY ", " ORDER BY +", 1) if lead else query
            rows += connection.execute(sql, params).fetchall()
            if find.limit is not None and len(rows) > find.limit:
                return rows[: find.limit + 1]
        return rows

    def _few_words(self, term: str) -> bool:
        """Whether few milestones have a word that begins with ``term``: counted up to
        FEW_WORDS, so cheap either way."""
        index = words_table(VIEW_TABLE)
        (count,) = (
            self._connection()
            .execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {index} WHERE {index} MATCH ? LIMIT ?)",  # noqa: S608
                (match_expression([term]), FEW_WORDS),
            )
            .fetchone()
        )
        return bool(count < FEW_WORDS)

    def lag(self) -> tuple[int, int]:
        """The view's position and the head of the log."""
        connection = self._connection()
        (head,) = connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()
        row = connection.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", (VIEW_TRACKING,)
        ).fetchone()
        return (row[0] if row else 0), head

    def request(self, key: str) -> tuple[str, str] | None:
        """The fingerprint and milestone of a create made under an idempotency key."""
        row = (
            self._connection()
            .execute("SELECT fingerprint, milestone_id FROM idempotency_keys WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        connection = self._connection()
        return [
            StoredEvent(milestone_id, version, topic, state)
            for milestone_id, after in versions.items()
            for version, topic, state in connection.execute(
                "SELECT originator_version, topic, state FROM stored_events "
                "WHERE originator_id = ? AND originator_version > ? ORDER BY originator_version",
                (milestone_id.hex, after),
            )
        ]

    def history(self, milestone_id: UUID) -> list[tuple[int, str, bytes]]:
        """(version, topic, state) of each event of one milestone, oldest first."""
        return (
            self._connection()
            .execute(
                "SELECT originator_version, topic, state FROM stored_events "
                "WHERE originator_id = ? ORDER BY originator_version",
                (milestone_id.hex,),
            )
            .fetchall()
        )

    def version_at(self, public_id: str, instant: str) -> int | None:
        """The milestone's version as of an instant (inclusive), if it existed then."""
        sql = "SELECT MAX(version) FROM event_index WHERE milestone_id = ? AND occurred_at <= ?"
        (version,) = self._connection().execute(sql, (public_id, instant)).fetchone()
        return int(version) if version is not None else None

    def events(self, after: int, limit: int, only: EventFilter) -> list[Record]:
        """A page of the log in commit order; a filtered page goes through the event index."""
        where, params = sql_conditions(
            ("i.project_id = ?", only.project_id),
            ("i.milestone_id = ?", only.milestone_id),
            ("i.type = ?", only.type),
            ("i.occurred_at >= ?", only.since),
            ("i.occurred_at <= ?", only.until),
            ("i.actor = ?", only.actor),
        )
        if params:
            index = " INDEXED BY event_index_by_time" if self._few_in_time(only) else ""
            sql = (
                "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
                f"FROM event_index i{index} JOIN stored_events e ON e.rowid = i.position "
                f"WHERE {where} AND i.position > ? ORDER BY i.position LIMIT ?"
            )
        else:
            sql = (
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
                "WHERE rowid > ? ORDER BY rowid LIMIT ?"
            )
        rows = self._connection().execute(sql, [*params, after, limit]).fetchall()
        return [(row[0], public_id_of_hex(row[1]), *row[2:]) for row in rows]

    def events_indexed(self, after: int, limit: int) -> list[tuple[Record, IndexKeys | None]]:
        rows = (
            self._connection()
            .execute(
                "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
                "i.milestone_id, i.project_id, i.type, i.occurred_at, i.actor "
                "FROM stored_events e LEFT JOIN event_index i ON i.position = e.rowid "
                "WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?",
                (after, limit),
            )
            .fetchall()
        )
        return [
            ((row[0], public_id_of_hex(row[1]), *row[2:5]), None if row[5] is None else row[5:])
            for row in rows
        ]

    def daily_transitions(self, project_id: str) -> list[tuple[str, str | None, str | None, int]]:
        sql = (
            "SELECT substr(occurred_at, 1, 10) AS day, from_status, to_status, COUNT(*) "  # noqa: S608
            f"FROM {TRANSITIONS_TABLE} WHERE project_id = ? "
            "GROUP BY day, from_status, to_status ORDER BY day"
        )
        return self._connection().execute(sql, (project_id,)).fetchall()

    def scheduled(self, project_id: str, slipped: bool | None = None) -> list[ScheduledRow]:
        return self._connection().execute(scheduled_sql("?", slipped), (project_id,)).fetchall()

    def slipped(self, project_id: str) -> int:
        (count,) = self._connection().execute(slipped_sql("?"), (project_id,)).fetchone()
        return int(count)

    def window_milestones(
        self, project_id: str, since: str, until: str, after: str, limit: int
    ) -> list[str]:
        sql = (
            "SELECT DISTINCT milestone_id FROM event_index WHERE project_id = ? "
            "AND occurred_at > ? AND occurred_at <= ? AND milestone_id > ? "
            "ORDER BY milestone_id LIMIT ?"
        )
        rows = self._connection().execute(sql, (project_id, since, until, after, limit))
        return [row[0] for row in rows]

    def streams(self, public_ids: list[str]) -> list[StreamRow]:
        marks = ", ".join("?" * len(public_ids))
        sql = (
            "SELECT i.milestone_id, i.version, i.occurred_at, i.actor, e.topic, e.state "  # noqa: S608
            "FROM event_index i JOIN stored_events e ON e.rowid = i.position "
            f"WHERE i.milestone_id IN ({marks}) ORDER BY i.milestone_id, i.position"
        )
        return self._connection().execute(sql, public_ids).fetchall()

    def _few_in_time(self, only: EventFilter) -> bool:
        """Whether the time bounds hold few events, so that the time index should lead.

        SQLite otherwise walks positions in order and filters by time, which for a
        ``since`` near the head of a long log reads most of the index. Counting stops at
        FEW_IN_TIME entries, so the check is cheap either way.
        """
        if only.since is None and only.until is None:
            return False
        (count,) = (
            self._connection()
            .execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM event_index "
                "WHERE occurred_at >= ? AND occurred_at <= ? LIMIT ?)",
                (only.since or "", only.until or "~", FEW_IN_TIME),
            )
            .fetchone()
        )
        return bool(count < FEW_IN_TIME)

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        self._local = threading.local()
