"""SQLite persistence: the events, the read models and their tracking in one transaction."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteCursor,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTransaction,
)

from adapters.sqlite.due_dates import SCHEDULE_DDL, SQLiteDueDates
from adapters.sqlite.rebuild import SQLiteRebuild
from adapters.sqlite.schema import (
    ACTOR_INDEX,
    ENTRY_COLUMNS,
    EVENT_INDEX,
    IDEMPOTENCY_KEYS,
    TRANSITION_INDEXES,
    VIEW_INDEXES,
    transitions_table_ddl,
    view_table_ddl,
)
from adapters.sqlite.search import (
    chunks,
    fill_search,
    has_search_index,
    indexed_words,
    marks,
    search_table_ddl,
    write_search,
)
from adapters.sqlite.view_rows import view_writes
from adapters.sqlite.writer_lock import writer_lock
from adapters.storage.sql import FIND_COLUMNS, words_table
from domain.ids import public_id_of_hex, to_public_id
from projections.fold import Folded
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE, apply_records

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from eventsourcing.persistence import StoredEvent

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.finding import Keys
    from projections.progress import Standing, Transition
    from projections.records import Record


# Bytes of write-ahead log kept after a checkpoint. The log is checkpointed every 1,000
# pages (about 4 MB) and then written again from its start, so in steady state it stays
# that size and this limit only cuts back a log that a long read let grow beyond it.
# A limit below the checkpoint interval (1 MiB, once) truncated the file after every
# checkpoint, and every commit after that grew it again: a lone write took 1.6 ms instead
# of 1.1 ms.
JOURNAL_SIZE_LIMIT = 8 << 20


class MilestonesSQLiteFactory(SQLiteFactory):
    """The library's SQLite factory, whose connections bound the WAL's size on disk."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        create = pool._create_connection  # noqa: SLF001 - the library's one connection hook

        def create_connection() -> SQLiteConnection:
            connection = create()
            connection.cursor().execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            return connection

        pool._create_connection = create_connection  # type: ignore[method-assign]  # noqa: SLF001


class _Immediate(SQLiteTransaction):
    """The library's transaction (its errors mapped to the library's), begun IMMEDIATE."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class MilestonesRecorder(SQLiteRebuild, SQLiteProcessRecorder):
    due_dates = SQLiteDueDates()
    """Records events and, in the same transaction, applies them to the read models.

    So a write that has committed is already in the view (read-your-writes across
    processes), and the view never lags or leads the log. It is also SQLite's
    ``projections.ports.ViewStore``, the SQL that ``projections.runner`` works with.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writer_lock = writer_lock(self.datastore.pool.db_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            view_table_ddl(VIEW_TABLE),
            search_table_ddl(VIEW_TABLE),
            *EVENT_INDEX,
            IDEMPOTENCY_KEYS,
            transitions_table_ddl(TRANSITIONS_TABLE),
            *TRANSITION_INDEXES,
            *SCHEDULE_DDL,
        ]

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        if not has_search_index(c, VIEW_TABLE):
            # Words kept by an earlier version as a table of (id, word) rows, or not at all.
            c.execute(f"DROP TABLE IF EXISTS {words_table(VIEW_TABLE)}")
            c.execute(search_table_ddl(VIEW_TABLE))
            fill_search(c, VIEW_TABLE)
        c.execute(f"PRAGMA table_info({VIEW_TABLE})")
        if "due_at" not in {row[1] for row in c.fetchall()}:
            self._add_find_keys(c)
        for statement in VIEW_INDEXES:  # after the columns they index exist
            c.execute(statement)
        # An event index made before events recorded their actor lacks the column; its
        # entries are of such events, so NULL is their actor.
        c.execute("PRAGMA table_info(event_index)")
        if "actor" not in {row[1] for row in c.fetchall()}:
            c.execute("ALTER TABLE event_index ADD COLUMN actor TEXT")
        c.execute(ACTOR_INDEX)

    def _add_find_keys(self, c: SQLiteCursor) -> None:
        """Give a view written before finding existed its keys and words, from its documents."""
        for column in FIND_COLUMNS:
            c.execute(f"ALTER TABLE {VIEW_TABLE} ADD COLUMN {column} TEXT")
        c.execute(f"SELECT id, version, body FROM {VIEW_TABLE}")  # noqa: S608
        folded = Folded(rows={row[0]: (row[1], orjson.loads(row[2])) for row in c.fetchall()})
        self.write_rows(c, VIEW_TABLE, folded)

    def analyze(self) -> None:
        """Fresh statistics (sampled, so quick at any size): with them the planner takes the
        narrower index for a feed page with two filters.

        A write, so in a transaction that takes the write lock first: the library's table
        setup begins as a reader, and a reader that then writes fails at once when another
        process wrote meanwhile.
        """
        with self.write_transaction() as c:
            c.execute("PRAGMA analysis_limit = 1000")
            c.execute("ANALYZE")

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        idempotency_keys: Sequence[IdempotencyKey] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            records = [
                (position, to_public_id(e.originator_id), e.originator_version, e.topic, e.state)
                for position, e in zip(positions, stored_events, strict=True)
            ]
            apply_records(self, c, records, idempotency_keys)
        return positions

    @contextmanager
    def write_transaction(self, *, exclusive: bool = True) -> Iterator[SQLiteCursor]:
        # IMMEDIATE takes SQLite's write lock up front, after the writer lock: SQLite has
        # one writer at a time, so any write transaction excludes event writers, briefly.
        # Event writes hold the writer lock too, around a whole batch of commands (the
        # application's writer turn), and record in the library's own transaction.
        with (
            self.writer_lock.held(),
            self.datastore.get_connection(commit=True) as connection,
            _Immediate(connection, commit=True) as cursor,
        ):
            yield cursor

    @contextmanager
    def read_transaction(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    @contextmanager
    def copy_transaction(self) -> Iterator[SQLiteCursor]:
        # With synchronous=NORMAL a WAL commit is not synced (the database stays consistent);
        # the swap's transaction, at the connection's usual level, syncs the WAL that holds
        # this one too. The level is the connection's, so it is restored for the pool.
        with self.writer_lock.held(), self.datastore.get_connection(commit=True) as connection:
            pragmas = connection.cursor()
            pragmas.execute("PRAGMA synchronous")
            usual = int(pragmas.fetchone()[0])
            pragmas.execute("PRAGMA synchronous = NORMAL")
            try:
                with _Immediate(connection, commit=True) as cursor:
                    yield cursor
            finally:
                pragmas.execute(f"PRAGMA synchronous = {usual:d}")

    def select_records(self, c: SQLiteCursor, after: int, limit: int) -> list[Record]:
        c.sqlite_cursor.row_factory = None  # plain tuples: this is a replay's hot path
        c.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        # Iterated, not fetched all at once, and unpacked: a third less time a record.
        return [
            (position, public_id_of_hex(hex_id), version, topic, state)
            for position, hex_id, version, topic, state in c.sqlite_cursor
        ]

    def head(self, c: SQLiteCursor) -> int:
        c.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events")
        return int(c.fetchone()[0])

    def position_of(self, c: SQLiteCursor, tracking: str) -> int:
        return self._max_tracking_id(tracking, c) or 0

    def track_as(self, c: SQLiteCursor, trackings: Sequence[str], position: int) -> None:
        # The library's upsert of one tracking row, for all of them in one statement: each
        # is a statement's overhead more in the writer's turn. A position that is not ahead
        # of the tracked one is refused, as the library refuses it.
        c.execute(
            f"INSERT INTO tracking VALUES {', '.join(['(?, ?)'] * len(trackings))} "  # noqa: S608
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = excluded.notification_id "
            "WHERE tracking.notification_id < excluded.notification_id "
            "RETURNING notification_id",
            [value for tracking in trackings for value in (tracking, position)],
        )
        if len(c.fetchall()) != len(trackings):
            msg = f"Failed to record tracking for {', '.join(trackings)} {position}"
            raise IntegrityError(msg)

    def standings(self, c: SQLiteCursor, table: str, public_ids: list[str]) -> dict[str, Standing]:
        found: dict[str, Standing] = {}
        for chunk in chunks(public_ids):
            # Each milestone's latest transition: its last entry in the index by milestone.
            c.execute(
                f"SELECT milestone_id, project_id, to_status FROM {table} "  # noqa: S608
                f"WHERE position IN (SELECT MAX(position) FROM {table} "
                f"WHERE milestone_id IN ({marks(chunk)}) GROUP BY milestone_id)",
                chunk,
            )
            found.update((row[0], (row[1], row[2])) for row in c.fetchall())
        return found

    def write_transitions(self, c: SQLiteCursor, table: str, transitions: list[Transition]) -> None:
        c.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?, ?, ?, ?)", transitions)  # noqa: S608

    def stored_transitions(self, c: SQLiteCursor) -> list[Transition]:
        c.execute(f"SELECT * FROM {TRANSITIONS_TABLE} ORDER BY position")  # noqa: S608
        return [tuple(row) for row in c.fetchall()]

    def load_documents(
        self, c: SQLiteCursor, table: str, public_ids: list[str]
    ) -> dict[str, Document]:
        documents: dict[str, Document] = {}
        for chunk in chunks(public_ids):
            c.execute(
                f"SELECT id, body FROM {table} WHERE id IN ({marks(chunk)})",  # noqa: S608
                chunk,
            )
            documents.update((row[0], orjson.loads(row[1])) for row in c.fetchall())
        return documents

    def live_documents(self, c: SQLiteCursor) -> dict[str, Document]:
        c.execute(f"SELECT id, body FROM {VIEW_TABLE}")  # noqa: S608
        return {row[0]: orjson.loads(row[1]) for row in c.fetchall()}

    def live_keys(self, c: SQLiteCursor) -> dict[str, tuple[Keys, list[str]]]:
        words = indexed_words(c, VIEW_TABLE)
        c.execute(f"SELECT id, title, due_at, late_at FROM {VIEW_TABLE}")  # noqa: S608
        return {row[0]: ((row[1], row[2], row[3]), words.get(row[0], [])) for row in c.fetchall()}

    def write_rows(self, c: SQLiteCursor, table: str, folded: Folded) -> None:
        changes = view_writes(folded)
        document = "status = ?, version = ?, body = ?"
        upsert = (
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) "  # noqa: S608
            "DO UPDATE SET status = excluded.status, version = excluded.version, "
            "body = excluded.body, title = excluded.title, due_at = excluded.due_at, "
            "late_at = excluded.late_at"
        )
        statements = [
            (upsert, changes.upserts),
            *(
                (f"UPDATE {table} SET {document}{keys} WHERE id = ?", rows)  # noqa: S608
                for keys, rows in [
                    ("", changes.updates),
                    (", title = ?", changes.retitled),
                    (", due_at = ?, late_at = ?", changes.redated),
                    (", title = ?, due_at = ?, late_at = ?", changes.rekeyed),
                ]
            ),
            (f"DELETE FROM {table} WHERE id = ?", changes.deletes),  # noqa: S608
        ]
        # Only the kinds of change the batch has: each statement, even with no rows, is
        # tens of microseconds in the writer's turn.
        for statement, rows in statements:
            if rows:
                c.executemany(statement, rows)
        write_search(c, table, folded)

    def write_entries(self, c: SQLiteCursor, folded: Folded) -> None:
        # A catch-up may meet entries already there: each depends on its record alone.
        if folded.entries:
            c.executemany(
                f"INSERT OR IGNORE INTO event_index ({ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                folded.entries,
            )

    def remember_request(self, c: SQLiteCursor, key: str, fingerprint: str, public_id: str) -> None:
        c.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?)", (key, fingerprint, public_id))

    def recorded_requests(self, c: SQLiteCursor) -> dict[str, tuple[str, str]]:
        c.execute("SELECT key, fingerprint, milestone_id FROM idempotency_keys")
        return {row[2]: (row[0], row[1]) for row in c.fetchall()}
