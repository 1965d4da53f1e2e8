"""SQLite's tables and indexes of the read models, beside the library's events table."""

from __future__ import annotations

from adapters.storage.sql import VIEW_SORT_INDEXES
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE


def view_table_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "id TEXT PRIMARY KEY, project_id TEXT NOT NULL, status TEXT NOT NULL, "
        "created_at TEXT NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL, "
        "title TEXT, due_at TEXT, late_at TEXT"
        ") WITHOUT ROWID"
    )


# Each sort within a project and across all of them (the words: adapters.sqlite.search).
VIEW_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS {VIEW_TABLE}_{name} ON {VIEW_TABLE} ({columns})"
    for name, columns in VIEW_SORT_INDEXES
]
EVENT_INDEX = [
    (
        "CREATE TABLE IF NOT EXISTS event_index ("
        "position INTEGER PRIMARY KEY, milestone_id TEXT NOT NULL, project_id TEXT NOT NULL, "
        "version INTEGER NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL, actor TEXT)"
    ),
    "CREATE INDEX IF NOT EXISTS event_index_by_milestone ON event_index (milestone_id, position)",
    "CREATE INDEX IF NOT EXISTS event_index_by_project ON event_index (project_id, position)",
    # A rare type (Deleted) would otherwise mean a scan of the whole log.
    "CREATE INDEX IF NOT EXISTS event_index_by_type ON event_index (type, position)",
    "CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (occurred_at)",
]


def transitions_table_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "position INTEGER PRIMARY KEY, project_id TEXT NOT NULL, occurred_at TEXT NOT NULL, "
        "milestone_id TEXT NOT NULL, from_status TEXT, to_status TEXT)"
    )


# A project's series reads its transitions in time order; a milestone's latest one is its
# standing.
TRANSITION_INDEXES = [
    (
        f"CREATE INDEX IF NOT EXISTS {TRANSITIONS_TABLE}_by_project "
        f"ON {TRANSITIONS_TABLE} (project_id, occurred_at, position)"
    ),
    (
        f"CREATE INDEX IF NOT EXISTS {TRANSITIONS_TABLE}by_milestone_ddl "
        f"ON {TRANSITIONS_TABLE} (milestone_id, position)"
    ),
]


# Created after the actor column is known to exist (see MilestonesRecorder._create_table).
ACTOR_INDEX = "CREATE INDEX IF NOT EXISTS event_index_by_actor ON event_index (actor, position)"
ENTRY_COLUMNS = "position, milestone_id, project_id, version, type, occurred_at, actor"
IDEMPOTENCY_KEYS = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    "key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, milestone_id TEXT NOT NULL)"
)
