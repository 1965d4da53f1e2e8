"""PostgreSQL persistence: the events, the read models and their tracking in one transaction.

The same procedures as SQLite (``projections.runner``), with PostgreSQL's SQL. Event writers
serialise on an EXCLUSIVE lock of the events table (the library's way to keep the
notification order equal to the commit order), so a view writer that takes that lock
excludes them too.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresProcessRecorder,
)
from psycopg.sql import SQL, Identifier

from adapters.postgres.due_dates import SCHEDULE_DDL, PostgresDueDates
from adapters.postgres.pool import LIBRARY_ATTEMPTS, LIBRARY_RETRY_WAIT
from adapters.postgres.rebuild import PostgresRebuild
from adapters.postgres.schema import (
    ENTRY_COLUMNS,
    EVENT_INDEX,
    IDEMPOTENCY_KEYS,
    TRANSITION_INDEXES,
    VIEW_INDEXES,
    transitions_table_ddl,
    view_table_ddl,
    words_table_ddl,
)
from adapters.storage.faults import CommitOutcomeUnknown
from adapters.storage.sql import (
    FIND_COLUMNS,
    VIEW_COLUMNS,
    row_changes,
    words_table,
)
from domain.ids import to_public_id
from projections.fold import Folded
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE, VIEW_TRACKING, apply_records

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresDatastore
    from psycopg import Cursor
    from psycopg.rows import DictRow

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.finding import Keys
    from projections.progress import Standing, Transition
    from projections.records import Record

EVENTS_TABLE = "milestones_events"


UPSERT = (
    f"INSERT INTO {{table}} ({VIEW_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version, "
    "body = EXCLUDED.body, title = EXCLUDED.title, due_at = EXCLUDED.due_at, "
    "late_at = EXCLUDED.late_at"
)

# A row whose keys stay as they were: its indexes are left alone.
UPDATE = "UPDATE {table} SET status = %s, version = %s, body = %s WHERE id = %s"


class PostgresMilestonesRecorder(PostgresRebuild, PostgresProcessRecorder):
    """Records events and, in the same transaction, applies them to the read models."""

    due_dates = PostgresDueDates()

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = EVENTS_TABLE,
        tracking_table_name: str = "milestones_tracking",
    ) -> None:
        super().__init__(
            datastore, events_table_name=events_table_name, tracking_table_name=tracking_table_name
        )
        self.sql_create_statements.extend(
            [
                view_table_ddl(VIEW_TABLE),
                words_table_ddl(VIEW_TABLE),
                *EVENT_INDEX,
                IDEMPOTENCY_KEYS,
            ]
        )
        self.sql_create_statements.extend(
            [transitions_table_ddl(TRANSITIONS_TABLE), *TRANSITION_INDEXES]
        )
        self.sql_create_statements.extend(SCHEDULE_DDL)
        # Per thread: whether the transaction being written has reached its commit.
        self._committing = threading.local()

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        super()._create_table(curs)
        curs.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND column_name = 'due_at'",
            (VIEW_TABLE,),
        )
        if curs.fetchone() is None:
            self._add_find_keys(curs)
        for statement in VIEW_INDEXES:  # after the columns they index exist
            curs.execute(statement)

    def _add_find_keys(self, c: Cursor[DictRow]) -> None:
        """Give a view written before finding existed its keys and words, from its documents."""
        for column in FIND_COLUMNS:
            c.execute(
                SQL('ALTER TABLE {table} ADD COLUMN {column} text COLLATE "C"').format(
                    table=Identifier(VIEW_TABLE), column=Identifier(column)
                )
            )
        c.execute(SQL("SELECT id, version, body FROM {table}").format(table=Identifier(VIEW_TABLE)))
        rows = {row["id"]: (row["version"], orjson.loads(row["body"])) for row in c.fetchall()}
        self.write_rows(c, VIEW_TABLE, Folded(rows=rows))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, retried as it does, except after the commit was sent.

        A retry then could record the events twice, or answer a conflict for a write
        that did commit: the caller is told that the outcome is unknown instead.
        """
        insert = PostgresApplicationRecorder.insert_events.__wrapped__  # without its retries
        for attempt in range(1, LIBRARY_ATTEMPTS + 1):
            self._committing.active = False
            try:
                return cast("Sequence[int] | None", insert(self, stored_events, **kwargs))
            except (InterfaceError, OperationalError) as error:
                if self._committing.active:
                    raise CommitOutcomeUnknown(str(error)) from error
                if attempt == LIBRARY_ATTEMPTS:
                    raise
                time.sleep(LIBRARY_RETRY_WAIT)
        return None  # not reached: the last attempt returns or raises

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        idempotency_keys: Sequence[IdempotencyKey] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        # Called inside the events transaction, after the table lock and the inserts.
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions:
            records = [
                (
                    position,
                    to_public_id(cast("UUID", e.originator_id)),
                    e.originator_version,
                    e.topic,
                    e.state,
                )
                for position, e in zip(positions, stored_events, strict=True)
            ]
            apply_records(self, curs, records, idempotency_keys)
        # All that is left of the transaction is its commit.
        self._committing.active = True
        return positions

    @contextmanager
    def write_transaction(self, *, exclusive: bool = True) -> Iterator[Cursor[DictRow]]:
        with self.datastore.transaction(commit=True) as curs:
            if exclusive:
                self._lock_table(curs)
            yield curs

    @contextmanager
    def read_transaction(self) -> Iterator[Cursor[DictRow]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield curs

    def select_records(self, c: Cursor[DictRow], after: int, limit: int) -> list[Record]:
        c.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {events} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(events=Identifier(self.events_table_name)),
            (after, limit),
            prepare=True,
        )
        return [
            (
                row["notification_id"],
                to_public_id(row["originator_id"]),
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
            )
            for row in c.fetchall()
        ]

    def head(self, c: Cursor[DictRow]) -> int:
        c.execute(
            SQL("SELECT COALESCE(MAX(notification_id), 0) AS head FROM {events}").format(
                events=Identifier(self.events_table_name)
            )
        )
        row = c.fetchone()
        return int(row["head"]) if row else 0

    def view_position(self, c: Cursor[DictRow]) -> int:
        return self.position_of(c, VIEW_TRACKING)

    def track(self, c: Cursor[DictRow], position: int) -> None:
        self.track_as(c, VIEW_TRACKING, position)

    def position_of(self, c: Cursor[DictRow], tracking: str) -> int:
        return self._max_tracking_id(tracking, c) or 0

    def track_as(self, c: Cursor[DictRow], tracking: str, position: int) -> None:
        self._insert_tracking(c, Tracking(tracking, position))

    def standings(
        self, c: Cursor[DictRow], table: str, public_ids: list[str]
    ) -> dict[str, Standing]:
        if not public_ids:
            return {}
        c.execute(
            SQL(
                "SELECT DISTINCT ON (milestone_id) milestone_id, project_id, to_status "
                "FROM {table} WHERE milestone_id = ANY(%s) ORDER BY milestone_id, position DESC"
            ).format(table=Identifier(table)),
            (public_ids,),
            prepare=True,
        )
        return {row["milestone_id"]: (row["project_id"], row["to_status"]) for row in c.fetchall()}

    def write_transitions(
        self, c: Cursor[DictRow], table: str, transitions: list[Transition]
    ) -> None:
        c.executemany(
            SQL(
                "INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (position) DO NOTHING"
            ).format(table=Identifier(table)),
            transitions,
        )
        _settle(c)

    def stored_transitions(self, c: Cursor[DictRow]) -> list[Transition]:
        c.execute(
            SQL(
                "SELECT position, project_id, occurred_at, milestone_id, from_status, to_status "
                "FROM {table} ORDER BY position"
            ).format(table=Identifier(TRANSITIONS_TABLE))
        )
        return [
            (
                row["position"],
                row["project_id"],
                row["occurred_at"],
                row["milestone_id"],
                row["from_status"],
                row["to_status"],
            )
            for row in c.fetchall()
        ]

    def load_documents(
        self, c: Cursor[DictRow], table: str, public_ids: list[str]
    ) -> dict[str, Document]:
        if not public_ids:
            return {}
        c.execute(
            SQL("SELECT id, body FROM {table} WHERE id = ANY(%s)").format(table=Identifier(table)),
            (public_ids,),
            prepare=True,
        )
        return {row["id"]: orjson.loads(row["body"]) for row in c.fetchall()}

    def live_documents(self, c: Cursor[DictRow]) -> dict[str, Document]:
        c.execute(SQL("SELECT id, body FROM {table}").format(table=Identifier(VIEW_TABLE)))
        return {row["id"]: orjson.loads(row["body"]) for row in c.fetchall()}

    def live_keys(self, c: Cursor[DictRow]) -> dict[str, tuple[Keys, list[str]]]:
        words: dict[str, list[str]] = {}
        c.execute(
            SQL("SELECT id, word FROM {words} ORDER BY id, word").format(
                words=Identifier(words_table(VIEW_TABLE))
            )
        )
        for row in c.fetchall():
            words.setdefault(row["id"], []).append(row["word"])
        c.execute(
            SQL("SELECT id, title, due_at, late_at FROM {table}").format(
                table=Identifier(VIEW_TABLE)
            )
        )
        return {
            row["id"]: ((row["title"], row["due_at"], row["late_at"]), words.get(row["id"], []))
            for row in c.fetchall()
        }

    def write_rows(self, c: Cursor[DictRow], table: str, folded: Folded) -> None:
        changes = row_changes(folded)
        words, view = Identifier(words_table(table)), Identifier(table)
        if changes.rewrite_words:
            c.execute(
                SQL("DELETE FROM {words} WHERE id = ANY(%s)").format(words=words),
                ([pid for (pid,) in changes.rewrite_words],),
            )
        statements = [
            ("DELETE FROM {words} WHERE id = %s AND word = %s", changes.stale_words),
            (UPSERT, changes.upserts),
            (UPDATE, changes.updates),
            ("INSERT INTO {words} VALUES (%s, %s)", changes.fresh_words),
            ("DELETE FROM {table} WHERE id = %s", changes.deletes),
        ]
        for statement, rows in statements:
            if rows:
                c.executemany(SQL(statement).format(table=view, words=words), rows)
        _settle(c)

    def write_entries(self, c: Cursor[DictRow], folded: Folded) -> None:
        # A catch-up may meet entries already there: each depends on its record alone.
        c.executemany(
            f"INSERT INTO event_index ({ENTRY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (position) DO NOTHING",
            folded.entries,
        )
        _settle(c)

    def remember_request(
        self, c: Cursor[DictRow], key: str, fingerprint: str, public_id: str
    ) -> None:
        c.execute("INSERT INTO idempotency_keys VALUES (%s, %s, %s)", (key, fingerprint, public_id))

    def recorded_requests(self, c: Cursor[DictRow]) -> dict[str, tuple[str, str]]:
        c.execute("SELECT key, fingerprint, milestone_id FROM idempotency_keys")
        return {row["milestone_id"]: (row["key"], row["fingerprint"]) for row in c.fetchall()}


def _settle(c: Cursor[DictRow]) -> None:
    """Wait for the results of what was sent, when in the library's pipeline.

    There, the results of executemany arrive later, and a later fetch on the same cursor
    would read one of them instead of its own.
    """
    if c.connection.pgconn.pipeline_status:
        with c.connection.pipeline() as pipeline:
            pipeline.sync()
