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
    PostgresProcessRecorder,
)
from psycopg.sql import SQL, Identifier

from adapters.postgres.due_dates import SCHEDULE_DDL, PostgresDueDates
from adapters.postgres.pipelined import ReadAhead, changed_ids, insert_in_two_round_trips
from adapters.postgres.pool import LIBRARY_ATTEMPTS, LIBRARY_RETRY_WAIT
from adapters.postgres.rebuild import PostgresRebuild
from adapters.postgres.schema import (
    EVENT_INDEX,
    IDEMPOTENCY_KEYS,
    TRANSITION_INDEXES,
    VIEW_INDEXES,
    record_of,
    transitions_table_ddl,
    view_table_ddl,
    words_table_ddl,
)
from adapters.postgres.set_writes import insert_entries, insert_transitions, write_view_rows
from adapters.storage.faults import CommitOutcomeUnknown
from adapters.storage.sql import (
    FIND_COLUMNS,
    words_table,
)
from domain.ids import to_public_id
from projections.fold import Folded
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE, apply_records

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
        # Per thread: the reads sent with the insert, and whether writes are only sent.
        self._ahead = ReadAhead()

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
        """The library's insert in two round trips (``adapters.postgres.pipelined``),
        retried as the library does, except after the commit was sent.

        A retry then could record the events twice, or answer a conflict for a write
        that did commit: the caller is told that the outcome is unknown instead.
        """
        for attempt in range(1, LIBRARY_ATTEMPTS + 1):
            self._committing.active = False
            try:
                return insert_in_two_round_trips(self, stored_events, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if self._committing.active:
                    raise CommitOutcomeUnknown(str(error)) from error
                if attempt == LIBRARY_ATTEMPTS:
                    raise
                time.sleep(LIBRARY_RETRY_WAIT)
        return None  # not reached: the last attempt returns or raises

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library's lock, NOTIFY and insert; then, in the same round trip and under
        # the same lock, what the projections will read of the rows before the batch.
        super()._insert_stored_events(curs, stored_events, **kwargs)
        self._ahead.send(curs, changed_ids(stored_events))

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
            with self._ahead.batch():
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
        return [record_of(row) for row in c.fetchall()]

    def head(self, c: Cursor[DictRow]) -> int:
        c.execute(
            SQL("SELECT COALESCE(MAX(notification_id), 0) AS head FROM {events}").format(
                events=Identifier(self.events_table_name)
            )
        )
        row = c.fetchone()
        return int(row["head"]) if row else 0

    def position_of(self, c: Cursor[DictRow], tracking: str) -> int:
        return self._max_tracking_id(tracking, c) or 0

    def track_as(self, c: Cursor[DictRow], trackings: Sequence[str], position: int) -> None:
        for tracking in trackings:
            if self._ahead.deferred:
                # Sent, not waited for: the table lock keeps a batch's position ahead of any
                # tracked before it, so the library's check of the returned row is moot.
                params = {"application_name": tracking, "notification_id": position}
                c.execute(self.insert_tracking_statement, params, prepare=True)
            else:
                self._insert_tracking(c, Tracking(tracking, position))

    def standings(
        self, c: Cursor[DictRow], table: str, public_ids: list[str]
    ) -> dict[str, Standing]:
        ahead = self._ahead.standings_of(table, public_ids)
        if ahead is not None:
            return ahead
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
        insert_transitions(c, table, transitions)
        self._settle(c)

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
        ahead = self._ahead.documents_of(table, public_ids)
        if ahead is not None:
            return ahead
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
        write_view_rows(c, table, folded)
        self._settle(c)

    def write_entries(self, c: Cursor[DictRow], folded: Folded) -> None:
        insert_entries(c, folded.entries)
        self._settle(c)

    def remember_request(
        self, c: Cursor[DictRow], key: str, fingerprint: str, public_id: str
    ) -> None:
        c.execute("INSERT INTO idempotency_keys VALUES (%s, %s, %s)", (key, fingerprint, public_id))

    def recorded_requests(self, c: Cursor[DictRow]) -> dict[str, tuple[str, str]]:
        c.execute("SELECT key, fingerprint, milestone_id FROM idempotency_keys")
        return {row["milestone_id"]: (row["key"], row["fingerprint"]) for row in c.fetchall()}

    def _settle(self, c: Cursor[DictRow]) -> None:
        """Wait for the results of what was sent, when in a pipeline whose writes are not
        deferred to the commit.

        There, the results of executemany arrive later, and a later fetch on the same
        cursor would read one of them instead of its own.
        """
        if c.connection.pgconn.pipeline_status and not self._ahead.deferred:
            with c.connection.pipeline() as pipeline:
                pipeline.sync()
