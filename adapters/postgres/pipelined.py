"""A batch's write on PostgreSQL in two round trips to the server.

The first carries the transaction's start, the library's table lock, one ``NOTIFY`` on
the recorder's channel, the insert of the events and the reads that the projections will
make of their rows before the batch (the view's documents, the milestones' standings),
under that lock; its sync brings back the positions and those rows, or the conflict of a
version recorded before. The second carries every projection's writes, both tracking rows,
the idempotency keys and the ``COMMIT``: they are only sent, never waited for, until the
commit's sync. A failure among them (a key recorded before) surfaces there, and none of
them commits.

The library's own insert nests a transaction in its pipeline, which psycopg syncs on the
way in and out: four round trips and an empty fifth, each a wait for the server while the
table lock is held.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, cast

import orjson
from psycopg import Error as PsycopgError
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

from domain.ids import to_public_id
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder
    from psycopg import Cursor
    from psycopg.rows import DictRow
    from psycopg.sql import Composed

    from projections.document import Document
    from projections.progress import Standing

DOCUMENTS = SQL("SELECT id, body FROM {table} WHERE id = ANY(%s)")
STANDINGS = SQL(
    "SELECT DISTINCT ON (milestone_id) milestone_id, project_id, to_status "
    "FROM {table} WHERE milestone_id = ANY(%s) ORDER BY milestone_id, position DESC"
)


_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def insert_in_two_round_trips(
    recorder: PostgresApplicationRecorder, stored_events: Sequence[StoredEvent], **kwargs: Any
) -> Sequence[int] | None:
    """The library's insert of events (its hooks called in its order), in one transaction
    of two round trips; the positions of the events."""
    if not stored_events:
        return []
    with recorder.datastore.get_connection() as conn:
        try:
            with conn.pipeline() as pipeline, conn.cursor() as curs:
                curs.execute("BEGIN")
                recorder._insert_events(curs, stored_events, **kwargs)  # noqa: SLF001
                recorder._insert_stored_events(curs, stored_events, **kwargs)  # noqa: SLF001
                pipeline.sync()
                positions = recorder._fetch_ids_after_insert_events(  # noqa: SLF001
                    curs, stored_events, **kwargs
                )
                curs.execute("COMMIT")
        except BaseException:
            # What was sent is in a transaction that must not stay open in the pool.
            if not conn.closed and conn.pgconn.transaction_status in _OPEN:
                with suppress(PsycopgError):
                    conn.rollback()
            raise
    return positions


def changed_ids(stored_events: Sequence[StoredEvent]) -> list[str]:
    """The milestones whose first event in the batch is not their creation: the ones whose
    rows before the batch the projections read."""
    firsts: dict[str, int] = {}
    for event in stored_events:
        public_id = to_public_id(cast("UUID", event.originator_id))
        firsts.setdefault(public_id, event.originator_version)
    return [public_id for public_id, version in firsts.items() if version != 1]


class ReadAhead(threading.local):
    """The reads sent with one thread's insert, until its batch is written.

    While a batch is ``deferred``, the store's reads of the view's documents and of the
    standings are answered from here, and its writes are sent without waiting.
    """

    def __init__(self) -> None:
        self.deferred = False
        self.cursors: dict[str, Cursor[DictRow]] = {}
        self.documents: dict[str, Document] | None = None
        self.standings: dict[str, Standing] | None = None

    def send(self, curs: Cursor[DictRow], public_ids: list[str]) -> None:
        """Queue the reads in the pipeline; their results come with the insert's sync."""
        self.cursors.clear()
        self.documents = self.standings = None
        if not public_ids:
            return
        for table, statement in ((VIEW_TABLE, DOCUMENTS), (TRANSITIONS_TABLE, STANDINGS)):
            cursor = curs.connection.cursor()
            cursor.execute(_format(statement, table), (public_ids,), prepare=True)
            self.cursors[table] = cursor

    @contextmanager
    def batch(self) -> Iterator[None]:
        """While the batch's rows are derived and sent."""
        self.deferred = True
        try:
            yield
        finally:
            self.deferred = False
            self.cursors.clear()
            self.documents = self.standings = None

    def documents_of(self, table: str, public_ids: list[str]) -> dict[str, Document] | None:
        """The documents read ahead, or None when this read was not sent ahead."""
        if not self.deferred or table != VIEW_TABLE:
            return None
        if self.documents is None:
            rows = self._rows(VIEW_TABLE)
            self.documents = {row["id"]: orjson.loads(row["body"]) for row in rows}
        return {pid: self.documents[pid] for pid in public_ids if pid in self.documents}

    def standings_of(self, table: str, public_ids: list[str]) -> dict[str, Standing] | None:
        if not self.deferred or table != TRANSITIONS_TABLE:
            return None
        if self.standings is None:
            self.standings = {
                row["milestone_id"]: (row["project_id"], row["to_status"])
                for row in self._rows(TRANSITIONS_TABLE)
            }
        return {pid: self.standings[pid] for pid in public_ids if pid in self.standings}

    def _rows(self, table: str) -> Iterator[DictRow]:
        cursor = self.cursors.get(table)
        return iter(()) if cursor is None else iter(cursor.fetchall())


def _format(statement: SQL, table: str) -> Composed:
    return statement.format(table=Identifier(table))
