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
    PostgresFactory,
    PostgresProcessRecorder,
)
from psycopg.sql import SQL, Composed, Identifier

from adapters.sql import (
    FIND_COLUMNS,
    VIEW_COLUMNS,
    find_queries,
    row_changes,
    sql_conditions,
    word_rows,
    words_table,
)
from adapters.storage_faults import CommitOutcomeUnknown
from domain.ids import to_public_id
from projections.finding import prefix_end
from projections.fold import Folded
from projections.progress import NEXT_TRANSITIONS_TABLE, TRANSITIONS_TABLE
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
    from projections.finding import Find, Keys
    from projections.ports import EventFilter
    from projections.progress import Standing, Transition
    from projections.records import Record

EVENTS_TABLE = "milestones_events"

# The library retries a failed statement this many times, this many seconds apart
# (eventsourcing.postgres); each attempt may wait for a pooled connection.
LIBRARY_ATTEMPTS = 10
LIBRARY_RETRY_WAIT = 0.2
STORAGE_TIMEOUT = "MILESTONES_STORAGE_TIMEOUT"
RECONNECT_TIMEOUT = 1.0
DEFAULT_STORAGE_TIMEOUT = 5.0


# Seconds of the storage timeout kept for the statements themselves and the jitter of
# the library's pauses.
TIMEOUT_MARGIN = 0.3


def attempt_timeout(storage_timeout: float) -> float:
    """How long one attempt may wait for a connection, so that all of the library's
    attempts together end within ``storage_timeout`` seconds."""
    waits = (LIBRARY_ATTEMPTS - 1) * LIBRARY_RETRY_WAIT + TIMEOUT_MARGIN
    return max(0.05, (storage_timeout - waits) / LIBRARY_ATTEMPTS)


class BoundedPostgresFactory(PostgresFactory):
    """The library's factory with bounded waits for the database.

    Its pool waits for a connection as long as its connect timeout (whole seconds), ten
    times over; during an outage a request would hang past the worker timeout. Here each
    attempt waits a share of ``MILESTONES_STORAGE_TIMEOUT``, so a request meets an outage
    with a 503 within that time, and connecting gives up after that time too.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        timeout = float(self.env.get(STORAGE_TIMEOUT) or DEFAULT_STORAGE_TIMEOUT)
        pool = self.datastore.pool
        pool.timeout = attempt_timeout(timeout)
        # The pool retries a lost connection with a growing backoff for as long as this
        # (the library's five minutes): after an outage it could still be waiting while the
        # server answers again. Given up after a second, the next request tries afresh.
        pool.reconnect_timeout = RECONNECT_TIMEOUT
        # The library builds the pool with a dict of connection arguments.
        cast("dict[str, Any]", pool.kwargs)["connect_timeout"] = max(1, round(timeout))


def _view_table(table: str) -> Composed:
    # "C" collation: ids and instants order as their bytes do, as on SQLite.
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'id text COLLATE "C" PRIMARY KEY, project_id text NOT NULL, status text NOT NULL, '
        'created_at text COLLATE "C" NOT NULL, version bigint NOT NULL, body bytea NOT NULL, '
        'title text COLLATE "C", due_at text COLLATE "C", late_at text COLLATE "C")'
    ).format(table=Identifier(table))


def _words_table(table: str) -> Composed:
    return SQL(
        'CREATE TABLE IF NOT EXISTS {table} (id text COLLATE "C" NOT NULL, '
        'word text COLLATE "C" NOT NULL, PRIMARY KEY (id, word))'
    ).format(table=Identifier(words_table(table)))


def _ddl(statement: str) -> Composed:
    return SQL(statement).format()


FEW_WORDS = 2_000  # as on SQLite: a search term this rare leads the query
# Each sort within a project and across all of them; the words by word, for a prefix range.
VIEW_INDEXES = [
    _ddl(f"CREATE INDEX IF NOT EXISTS {VIEW_TABLE}_{name} ON {VIEW_TABLE} ({columns})")
    for name, columns in [
        ("by_project", "project_id, created_at, id"),
        ("by_project_due", "project_id, due_at, id"),
        ("by_project_title", "project_id, title, id"),
        ("by_created", "created_at, id"),
        ("by_due", "due_at, id"),
        ("by_title", "title, id"),
    ]
] + [
    _ddl(f"CREATE INDEX IF NOT EXISTS {VIEW_TABLE}_words_by_word ON {VIEW_TABLE}_words (word, id)")
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


def _transitions_table(table: str) -> Composed:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'position bigint PRIMARY KEY, project_id text NOT NULL, occurred_at text COLLATE "C" '
        "NOT NULL, milestone_id text NOT NULL, from_status text, to_status text)"
    ).format(table=Identifier(table))


def _by_milestone(table: str) -> Composed:
    return SQL("CREATE INDEX IF NOT EXISTS {name} ON {table} (milestone_id, position)").format(
        name=Identifier(f"{table}_by_milestone"), table=Identifier(table)
    )


# A project's series reads its transitions in time order; a milestone's latest one is its
# standing.
TRANSITION_INDEXES = [
    _ddl(
        f"CREATE INDEX IF NOT EXISTS {TRANSITIONS_TABLE}_by_project "
        f"ON {TRANSITIONS_TABLE} (project_id, occurred_at, position)"
    ),
    _by_milestone(TRANSITIONS_TABLE),
]
UPSERT = (
    f"INSERT INTO {{table}} ({VIEW_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version, "
    "body = EXCLUDED.body, title = EXCLUDED.title, due_at = EXCLUDED.due_at, "
    "late_at = EXCLUDED.late_at"
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
            [_view_table(VIEW_TABLE), _words_table(VIEW_TABLE), *EVENT_INDEX, IDEMPOTENCY_KEYS]
        )
        self.sql_create_statements.extend(
            [_transitions_table(TRANSITIONS_TABLE), *TRANSITION_INDEXES]
        )
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

    def create_next_transitions(self, c: Cursor[DictRow]) -> None:
        c.execute(
            SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(NEXT_TRANSITIONS_TABLE))
        )
        c.execute(_transitions_table(NEXT_TRANSITIONS_TABLE))
        # The standings of a rebuild are looked up by milestone, so that index comes first.
        c.execute(_by_milestone(NEXT_TRANSITIONS_TABLE))

    def swap_in_next_transitions(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE {table}").format(table=Identifier(TRANSITIONS_TABLE)))
        for suffix in ("", "_pkey", "_by_milestone"):
            kind = SQL("TABLE") if not suffix else SQL("INDEX")
            c.execute(
                SQL("ALTER {kind} {next} RENAME TO {live}").format(
                    kind=kind,
                    next=Identifier(f"{NEXT_TRANSITIONS_TABLE}{suffix}"),
                    live=Identifier(f"{TRANSITIONS_TABLE}{suffix}"),
                )
            )
        for statement in TRANSITION_INDEXES:
            c.execute(statement)

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
        upserts, deletes = row_changes(folded)
        if upserts:
            c.executemany(SQL(UPSERT).format(table=Identifier(table)), upserts)
        words = Identifier(words_table(table))
        c.execute(
            SQL("DELETE FROM {words} WHERE id = ANY(%s)").format(words=words), (list(folded.rows),)
        )
        if new_words := word_rows(folded):
            c.executemany(SQL("INSERT INTO {words} VALUES (%s, %s)").format(words=words), new_words)
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
        for table in (NEXT_VIEW_TABLE, words_table(NEXT_VIEW_TABLE)):
            c.execute(SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(table)))
        c.execute(_view_table(NEXT_VIEW_TABLE))
        c.execute(_words_table(NEXT_VIEW_TABLE))

    def swap_in_next_view(self, c: Cursor[DictRow]) -> None:
        for live, fresh in [
            (VIEW_TABLE, NEXT_VIEW_TABLE),
            (words_table(VIEW_TABLE), words_table(NEXT_VIEW_TABLE)),
        ]:
            c.execute(SQL("DROP TABLE {table}").format(table=Identifier(live)))
            c.execute(
                SQL("ALTER TABLE {next} RENAME TO {live}").format(
                    next=Identifier(fresh), live=Identifier(live)
                )
            )
            c.execute(
                SQL("ALTER INDEX {next} RENAME TO {live}").format(
                    next=Identifier(f"{fresh}_pkey"), live=Identifier(f"{live}_pkey")
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

    def find(self, find: Find) -> list[tuple[str | None, str, bytes]]:
        """(sort key, id, body) of the matches in order; with a limit, up to one more."""
        lead = bool(find.terms) and self._few_words(find.terms[0])
        rows: list[tuple[str | None, str, bytes]] = []
        for sql, params in find_queries(find, VIEW_TABLE, "%s", lead_with_words=lead):
            # The sort key's column is the first of the SELECT, whichever it is.
            rows += [tuple(row.values()) for row in self._rows(sql, params)]
            if find.limit is not None and len(rows) > find.limit:
                return rows[: find.limit + 1]
        return rows

    def _few_words(self, term: str) -> bool:
        rows = self._rows(
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {words_table(VIEW_TABLE)} "  # noqa: S608
            "WHERE word >= %s AND word < %s LIMIT %s) AS few",
            (term, prefix_end(term), FEW_WORDS),
        )
        return bool(rows[0]["n"] < FEW_WORDS)

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

    def daily_transitions(self, project_id: str) -> list[tuple[str, str | None, str | None, int]]:
        rows = self._rows(
            "SELECT substr(occurred_at, 1, 10) AS day, from_status, to_status, "  # noqa: S608
            f"COUNT(*) AS n FROM {TRANSITIONS_TABLE} WHERE project_id = %s "
            "GROUP BY day, from_status, to_status ORDER BY day",
            (project_id,),
        )
        return [(row["day"], row["from_status"], row["to_status"], row["n"]) for row in rows]

    def close(self) -> None:
        """The pool belongs to the application, which closes it."""
