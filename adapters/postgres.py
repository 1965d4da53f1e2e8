"""PostgreSQL persistence: the events, the read models and their tracking in one transaction.

The same procedures as SQLite (``projections.runner``), with PostgreSQL's SQL. Event writers
serialise on an EXCLUSIVE lock of the events table (the library's way to keep the
notification order equal to the commit order), so a view writer that takes that lock
excludes them too.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg.sql import SQL, Composed, Identifier

from adapters.sql import row_changes, sql_conditions
from domain.ids import to_public_id
from projections.runner import NEXT_VIEW_TABLE, VIEW_TABLE, VIEW_TRACKING, apply_records

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresDatastore
    from psycopg import Cursor
    from psycopg.rows import DictRow

    from domain.ports import IdempotencyKey
    from projections.document import Document
    from projections.fold import Folded
    from projections.ports import EventFilter
    from projections.records import Record

EVENTS_TABLE = "milestones_events"


def _view_table(table: str) -> Composed:
    # "C" collation: ids and instants order as their bytes do, as on SQLite.
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'id text COLLATE "C" PRIMARY KEY, project_id text NOT NULL, status text NOT NULL, '
        'created_at text COLLATE "C" NOT NULL, version bigint NOT NULL, body bytea NOT NULL)'
    ).format(table=Identifier(table))


def _ddl(statement: str) -> Composed:
    return SQL(statement).format()


VIEW_INDEXES = [
    _ddl(
        "CREATE INDEX IF NOT EXISTS milestones_by_project "
        "ON milestones (project_id, created_at, id)"
    ),
]
EVENT_INDEX = [
    _ddl(
        "CREATE TABLE IF NOT EXISTS event_index ("
        "position bigint PRIMARY KEY, milestone_id text NOT NULL, project_id text NOT NULL, "
        'version bigint NOT NULL, type text NOT NULL, occurred_at text COLLATE "C" NOT NULL, '
        "actor text)"
    ),
    # An event index made before events recorded their actor lacks the column; its entries
    # are of such events, so NULL is their actor.
    _ddl("ALTER TABLE event_index ADD COLUMN IF NOT EXISTS actor text"),
    _ddl(
        "CREATE INDEX IF NOT EXISTS event_index_by_milestone "
        "ON event_index (milestone_id, position)"
    ),
    _ddl("CREATE INDEX IF NOT EXISTS event_index_by_project ON event_index (project_id, position)"),
    # A rare type (Deleted) would otherwise mean a scan of the whole log.
    _ddl("CREATE INDEX IF NOT EXISTS event_index_by_type ON event_index (type, position)"),
    _ddl("CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (occurred_at)"),
    _ddl("CREATE INDEX IF NOT EXISTS event_index_by_actor ON event_index (actor, position)"),
]
ENTRY_COLUMNS = "position, milestone_id, project_id, version, type, occurred_at, actor"
IDEMPOTENCY_KEYS = _ddl(
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    "key text PRIMARY KEY, fingerprint text NOT NULL, milestone_id text NOT NULL)"
)
UPSERT = (
    "INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
    "status = EXCLUDED.status, version = EXCLUDED.version, body = EXCLUDED.body"
)


class PostgresMilestonesRecorder(PostgresProcessRecorder):
    """Records events and, in the same transaction, applies them to the read models."""

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
            [_view_table(VIEW_TABLE), *VIEW_INDEXES, *EVENT_INDEX, IDEMPOTENCY_KEYS]
        )

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
        return self._max_tracking_id(VIEW_TRACKING, c) or 0

    def track(self, c: Cursor[DictRow], position: int) -> None:
        self._insert_tracking(c, Tracking(VIEW_TRACKING, position))

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

    def write_rows(self, c: Cursor[DictRow], table: str, folded: Folded) -> None:
        upserts, deletes = row_changes(folded)
        if upserts:
            c.executemany(SQL(UPSERT).format(table=Identifier(table)), upserts)
        if deletes:
            c.executemany(
                SQL("DELETE FROM {table} WHERE id = %s").format(table=Identifier(table)), deletes
            )
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

    def create_next_view(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(NEXT_VIEW_TABLE)))
        c.execute(_view_table(NEXT_VIEW_TABLE))

    def swap_in_next_view(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE {table}").format(table=Identifier(VIEW_TABLE)))
        c.execute(
            SQL("ALTER TABLE {next} RENAME TO {live}").format(
                next=Identifier(NEXT_VIEW_TABLE), live=Identifier(VIEW_TABLE)
            )
        )
        c.execute(
            SQL("ALTER INDEX {next} RENAME TO {live}").format(
                next=Identifier(f"{NEXT_VIEW_TABLE}_pkey"), live=Identifier(f"{VIEW_TABLE}_pkey")
            )
        )
        for statement in VIEW_INDEXES:
            c.execute(statement)


def _settle(c: Cursor[DictRow]) -> None:
    """Wait for the results of what was sent, when in the library's pipeline.

    There, the results of executemany arrive later, and a later fetch on the same cursor
    would read one of them instead of its own.
    """
    if c.connection.pgconn.pipeline_status:
        with c.connection.pipeline() as pipeline:
            pipeline.sync()


class PostgresReads:
    """The queries behind every read, on the application's connection pool."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore

    def _rows(self, query: str | SQL, params: Sequence[Any] = ()) -> list[DictRow]:
        with self._datastore.get_connection() as connection:
            return connection.execute(query, params, prepare=True).fetchall()

    def document(self, public_id: str) -> tuple[int, bytes] | None:
        rows = self._rows(f"SELECT version, body FROM {VIEW_TABLE} WHERE id = %s", (public_id,))  # noqa: S608
        return (rows[0]["version"], rows[0]["body"]) if rows else None

    def documents(self, project_id: str | None = None, status: str | None = None) -> list[bytes]:
        where, params = sql_conditions(("project_id = %s", project_id), ("status = %s", status))
        sql = f"SELECT body FROM {VIEW_TABLE} WHERE {where} ORDER BY created_at, id"  # noqa: S608
        return [row["body"] for row in self._rows(sql, params)]

    def lag(self) -> tuple[int, int]:
        rows = self._rows(
            f"SELECT (SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}) AS head, "  # noqa: S608
            "(SELECT notification_id FROM milestones_tracking "
            "WHERE application_name = %s) AS position",
            (VIEW_TRACKING,),
        )
        return rows[0]["position"] or 0, rows[0]["head"]

    def request(self, key: str) -> tuple[str, str] | None:
        rows = self._rows(
            "SELECT fingerprint, milestone_id FROM idempotency_keys WHERE key = %s", (key,)
        )
        return (rows[0]["fingerprint"], rows[0]["milestone_id"]) if rows else None

    def history(self, milestone_id: UUID) -> list[tuple[int, str, bytes]]:
        rows = self._rows(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} "  # noqa: S608
            "WHERE originator_id = %s ORDER BY originator_version",
            (milestone_id,),
        )
        return [(row["originator_version"], row["topic"], bytes(row["state"])) for row in rows]

    def version_at(self, public_id: str, instant: str) -> int | None:
        rows = self._rows(
            "SELECT MAX(version) AS version FROM event_index "
            "WHERE milestone_id = %s AND occurred_at <= %s",
            (public_id, instant),
        )
        version = rows[0]["version"]
        return int(version) if version is not None else None

    def events(self, after: int, limit: int, only: EventFilter) -> list[Record]:
        where, params = sql_conditions(
            ("i.project_id = %s", only.project_id),
            ("i.milestone_id = %s", only.milestone_id),
            ("i.type = %s", only.type),
            ("i.occurred_at >= %s", only.since),
            ("i.occurred_at <= %s", only.until),
            ("i.actor = %s", only.actor),
        )
        if params:
            sql = (
                "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
                f"FROM event_index i JOIN {EVENTS_TABLE} e ON e.notification_id = i.position "
                f"WHERE {where} AND i.position > %s ORDER BY i.position LIMIT %s"
            )
        else:
            sql = (
                "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
                f"FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            )
        return [
            (
                row["notification_id"],
                to_public_id(row["originator_id"]),
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
            )
            for row in self._rows(sql, [*params, after, limit])
        ]

    def close(self) -> None:
        """The pool belongs to the application, which closes it."""
