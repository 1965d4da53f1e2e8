"""PostgreSQL's SQL of the due-date projection (``projections.schedule_view``), and the
index of the changes between two instants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg.sql import SQL, Composed, Identifier

from projections.schedule_view import DUE_TABLE, NEXT_DUE_TABLE

if TYPE_CHECKING:
    from psycopg import Cursor
    from psycopg.rows import DictRow

    from projections.schedule_view import DueRow, Move


def due_table_ddl(table: str) -> Composed:
    # "C" collation: ids compare as their bytes do, as the view's (which they join) do.
    return SQL(
        "CREATE TABLE IF NOT EXISTS {table} ("
        'milestone_id text COLLATE "C" PRIMARY KEY, project_id text NOT NULL, '
        "original_due text, due text, moves bigint NOT NULL, position bigint NOT NULL, "
        "original_at bigint, due_at bigint)"
    ).format(table=Identifier(table))


# A project's schedule reads its milestones' rows.
DUE_INDEX = SQL("CREATE INDEX IF NOT EXISTS {name} ON {table} (project_id)").format(
    name=Identifier(f"{DUE_TABLE}_by_project"), table=Identifier(DUE_TABLE)
)
# The changes of a window walk the project's milestones in id order (as their bytes
# compare), each one's events in time order, from the index alone: a page of a busy window
# stops after its last milestone.
CHANGES_INDEX = SQL(
    "CREATE INDEX IF NOT EXISTS event_index_by_project_milestone "
    'ON event_index (project_id, milestone_id COLLATE "C", occurred_at)'
).format()
SCHEDULE_DDL = [due_table_ddl(DUE_TABLE), DUE_INDEX, CHANGES_INDEX]


def _row(row: DictRow) -> DueRow:
    return (
        row["milestone_id"],
        row["project_id"],
        row["original_due"],
        row["due"],
        row["moves"],
        row["position"],
        row["original_at"],
        row["due_at"],
    )


_CREATE = SQL(
    "INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (milestone_id) DO NOTHING"
).format(table=Identifier(DUE_TABLE))
_MOVE = SQL(
    "UPDATE {table} SET original_due = COALESCE(original_due, %(due)s), "
    "original_at = CASE WHEN original_due IS NULL THEN %(at)s ELSE original_at END, "
    "due = %(due)s, due_at = %(at)s, moves = moves + 1, position = %(position)s "
    "WHERE milestone_id = %(id)s AND position < %(position)s"
).format(table=Identifier(DUE_TABLE))


_FEW = 4  # rows a write records one statement each, rather than in a batch that must settle


def _settle(c: Cursor[DictRow]) -> None:
    """In the library's pipeline the results of executemany arrive later, where a later
    fetch on the same cursor (the tracking's) would read one of them instead of its own."""
    if c.connection.pgconn.pipeline_status:
        with c.connection.pipeline() as pipeline:
            pipeline.sync()


class PostgresDueDates:
    def record(self, c: Cursor[DictRow], created: list[DueRow], moves: list[Move]) -> None:
        params = [{"due": due, "at": at, "position": position, "id": pid}
                  for due, at, position, pid in moves]  # fmt: skip
        if len(created) + len(moves) <= _FEW:
            # A write's own row or two: sent in the library's pipeline, their results are
            # never fetched, so nothing waits for them (as executemany's would need).
            for row in created:
                c.execute(_CREATE, row)
            for move in params:
                c.execute(_MOVE, move)
            return
        if created:
            c.executemany(_CREATE, created)
        if params:
            c.executemany(_MOVE, params)
        _settle(c)

    def write(self, c: Cursor[DictRow], table: str, rows: list[DueRow]) -> None:
        c.executemany(
            SQL(
                "INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (milestone_id) DO UPDATE SET original_due = EXCLUDED.original_due, "
                "due = EXCLUDED.due, moves = EXCLUDED.moves, position = EXCLUDED.position, "
                "original_at = EXCLUDED.original_at, due_at = EXCLUDED.due_at"
            ).format(table=Identifier(table)),
            rows,
        )
        _settle(c)

    def stored(self, c: Cursor[DictRow], table: str = DUE_TABLE) -> list[DueRow]:
        c.execute(SQL("SELECT * FROM {table}").format(table=Identifier(table)))
        return [_row(row) for row in c.fetchall()]

    def create_next(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(NEXT_DUE_TABLE)))
        c.execute(due_table_ddl(NEXT_DUE_TABLE))

    def swap_in_next(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE {table}").format(table=Identifier(DUE_TABLE)))
        for suffix, kind in (("", SQL("TABLE")), ("_pkey", SQL("INDEX"))):
            c.execute(
                SQL("ALTER {kind} {next} RENAME TO {live}").format(
                    kind=kind,
                    next=Identifier(f"{NEXT_DUE_TABLE}{suffix}"),
                    live=Identifier(f"{DUE_TABLE}{suffix}"),
                )
            )
        c.execute(DUE_INDEX)
