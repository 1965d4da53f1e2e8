"""PostgreSQL's tables and indexes of the read models, beside the library's events table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Composed, Identifier

from adapters.storage.sql import (
    VIEW_SORT_INDEXES,
    words_table,
)
from domain.ids import to_public_id
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE

if TYPE_CHECKING:
    from projections.records import Record

EVENTS_TABLE = "milestones_events"


def view_table_ddl(table: str) -> Composed:
    # "C" collation: ids and instants order as their bytes do, as on SQLite.
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'id text COLLATE "C" PRIMARY KEY, project_id text NOT NULL, status text NOT NULL, '
        'created_at text COLLATE "C" NOT NULL, version bigint NOT NULL, body bytea NOT NULL, '
        'title text COLLATE "C", due_at text COLLATE "C", late_at text COLLATE "C")'
    ).format(table=Identifier(table))


def words_table_ddl(table: str) -> Composed:
    return SQL(
        'CREATE TABLE IF NOT EXISTS {table} (id text COLLATE "C" NOT NULL, '
        'word text COLLATE "C" NOT NULL, PRIMARY KEY (id, word))'
    ).format(table=Identifier(words_table(table)))


def ddl(statement: str) -> Composed:
    return SQL(statement).format()


# Each sort within a project and across all of them; the words by word, for a prefix range.
VIEW_INDEXES = [
    ddl(f"CREATE INDEX IF NOT EXISTS {VIEW_TABLE}_{name} ON {VIEW_TABLE} ({columns})")
    for name, columns in VIEW_SORT_INDEXES
] + [ddl(f"CREATE INDEX IF NOT EXISTS {VIEW_TABLE}_words_by_word ON {VIEW_TABLE}_words (word, id)")]
EVENT_INDEX = [
    ddl(
        "CREATE TABLE IF NOT EXISTS event_index ("
        "position bigint PRIMARY KEY, milestone_id text NOT NULL, project_id text NOT NULL, "
        'version bigint NOT NULL, type text NOT NULL, occurred_at text COLLATE "C" NOT NULL, '
        "actor text)"
    ),
    # An event index made before events recorded their actor lacks the column; its entries
    # are of such events, so NULL is their actor.
    ddl("ALTER TABLE event_index ADD COLUMN IF NOT EXISTS actor text"),
    ddl(
        "CREATE INDEX IF NOT EXISTS event_index_by_milestone "
        "ON event_index (milestone_id, position)"
    ),
    ddl("CREATE INDEX IF NOT EXISTS event_index_by_project ON event_index (project_id, position)"),
    # A rare type (Deleted) would otherwise mean a scan of the whole log.
    ddl("CREATE INDEX IF NOT EXISTS event_index_by_type ON event_index (type, position)"),
    ddl("CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (occurred_at)"),
    ddl("CREATE INDEX IF NOT EXISTS event_index_by_actor ON event_index (actor, position)"),
]
ENTRY_COLUMNS = "position, milestone_id, project_id, version, type, occurred_at, actor"
IDEMPOTENCY_KEYS = ddl(
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    "key text PRIMARY KEY, fingerprint text NOT NULL, milestone_id text NOT NULL)"
)


def transitions_table_ddl(table: str) -> Composed:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'position bigint PRIMARY KEY, project_id text NOT NULL, occurred_at text COLLATE "C" '
        "NOT NULL, milestone_id text NOT NULL, from_status text, to_status text)"
    ).format(table=Identifier(table))


def by_milestone_ddl(table: str) -> Composed:
    return SQL("CREATE INDEX IF NOT EXISTS {name} ON {table} (milestone_id, position)").format(
        name=Identifier(f"{table}by_milestone_ddl"), table=Identifier(table)
    )


# A project's series reads its transitions in time order; a milestone's latest one is its
# standing.
TRANSITION_INDEXES = [
    ddl(
        f"CREATE INDEX IF NOT EXISTS {TRANSITIONS_TABLE}_by_project "
        f"ON {TRANSITIONS_TABLE} (project_id, occurred_at, position)"
    ),
    by_milestone_ddl(TRANSITIONS_TABLE),
]


def record_of(row: Any) -> Record:
    """A row of the events table (a dict row) as the projections read a stored event."""
    return (
        row["notification_id"],
        to_public_id(row["originator_id"]),
        row["originator_version"],
        row["topic"],
        bytes(row["state"]),
    )
