"""SQLite's SQL of the due-date projection (``projections.schedule_view``), and the index
of the changes between two instants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.schedule_view import DUE_TABLE, NEXT_DUE_TABLE

if TYPE_CHECKING:
    from eventsourcing.sqlite import SQLiteCursor

    from projections.schedule_view import DueRow, Move


def due_table_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "milestone_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, original_due TEXT, "
        "due TEXT, moves INTEGER NOT NULL, position INTEGER NOT NULL, original_at INTEGER, "
        "due_at INTEGER) WITHOUT ROWID"
    )


# A project's schedule reads its milestones' rows.
DUE_INDEX = f"CREATE INDEX IF NOT EXISTS {DUE_TABLE}_by_project ON {DUE_TABLE} (project_id)"
# The changes of a window walk the project's milestones in id order, each one's events in
# time order, from the index alone: a page of a busy window stops after its last milestone.
CHANGES_INDEX = (
    "CREATE INDEX IF NOT EXISTS event_index_by_project_milestone "
    "ON event_index (project_id, milestone_id, occurred_at)"
)
SCHEDULE_DDL = [due_table_ddl(DUE_TABLE), DUE_INDEX, CHANGES_INDEX]
_MARKS = ", ".join("?" * 8)


class SQLiteDueDates:
    def record(self, c: SQLiteCursor, created: list[DueRow], moves: list[Move]) -> None:
        # A write creates or moves, seldom both: a statement with no rows is not sent.
        if created:
            c.executemany(f"INSERT OR IGNORE INTO {DUE_TABLE} VALUES ({_MARKS})", created)  # noqa: S608
        if not moves:
            return
        c.executemany(
            f"UPDATE {DUE_TABLE} SET original_due = COALESCE(original_due, ?1), "  # noqa: S608
            "original_at = CASE WHEN original_due IS NULL THEN ?2 ELSE original_at END, "
            "due = ?1, due_at = ?2, moves = moves + 1, position = ?3 "
            "WHERE milestone_id = ?4 AND position < ?3",
            moves,
        )

    def write(self, c: SQLiteCursor, table: str, rows: list[DueRow]) -> None:
        c.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({_MARKS})", rows)  # noqa: S608

    def stored(self, c: SQLiteCursor, table: str = DUE_TABLE) -> list[DueRow]:
        c.execute(f"SELECT * FROM {table}")  # noqa: S608
        return [tuple(row) for row in c.fetchall()]

    def create_next(self, c: SQLiteCursor) -> None:
        c.execute(f"DROP TABLE IF EXISTS {NEXT_DUE_TABLE}")
        c.execute(due_table_ddl(NEXT_DUE_TABLE))

    def swap_in_next(self, c: SQLiteCursor) -> None:
        c.execute(f"DROP TABLE {DUE_TABLE}")
        c.execute(f"ALTER TABLE {NEXT_DUE_TABLE} RENAME TO {DUE_TABLE}")
        c.execute(DUE_INDEX)
