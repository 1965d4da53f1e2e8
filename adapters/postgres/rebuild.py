"""PostgreSQL's SQL of a rebuild: the next rows, filled beside the live ones, and the swap."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Identifier

from adapters.postgres.schema import (
    TRANSITION_INDEXES,
    VIEW_INDEXES,
    by_milestone_ddl,
    record_of,
    transitions_table_ddl,
    view_table_ddl,
    words_table_ddl,
)
from adapters.storage.rebuild_rows import rebuild_rows
from adapters.storage.sql import VIEW_COLUMNS, words_table
from projections.progress import NEXT_TRANSITIONS_TABLE, TRANSITIONS_TABLE
from projections.runner import NEXT_VIEW_TABLE, VIEW_TABLE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from eventsourcing.postgres import PostgresDatastore
    from psycopg import Cursor
    from psycopg.rows import DictRow

    from projections.fold import Folded
    from projections.records import Record

# Each of a rebuild's writes into the next view, and the rows of ``RebuildRows`` it takes.
_NEXT_ROWS_WRITES = [
    (SQL("DELETE FROM {words} WHERE id = %s AND word = %s"), "stale_words"),
    (SQL("DELETE FROM {words} WHERE id = %s"), "deletes"),
    (SQL("DELETE FROM {table} WHERE id = %s"), "deletes"),
    (
        SQL(f"INSERT INTO {{table}} ({VIEW_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"),  # noqa: S608
        "inserts",
    ),
    (
        SQL(
            "UPDATE {table} SET status = %s, version = %s, body = %s, title = %s, due_at = %s, "
            "late_at = %s WHERE id = %s"
        ),
        "rekeyed",
    ),
    (SQL("UPDATE {table} SET status = %s, version = %s, body = %s WHERE id = %s"), "updates"),
    (SQL("INSERT INTO {words} SELECT %s, unnest(%s::text[])"), "fresh_words"),
]


class PostgresRebuild:
    """The rebuild's part of ``projections.ports.ViewStore``, for the PostgreSQL recorder.

    Its writes run in transactions of their own (``copy_transaction``, or the swap's), never
    in the library's pipeline, so each statement has its results when it returns.
    """

    datastore: PostgresDatastore
    events_table_name: str

    def select_part(
        self, c: Cursor[DictRow], after: int, limit: int, *, upto: int, part: int, parts: int
    ) -> list[Record]:
        # By the last byte of the id, which is random.
        c.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {events} WHERE notification_id > %s AND notification_id <= %s "
                "AND get_byte(uuid_send(originator_id), 15) %% %s = %s "
                "ORDER BY notification_id LIMIT %s"
            ).format(events=Identifier(self.events_table_name)),
            (after, upto, parts, part, limit),
        )
        return [record_of(row) for row in c.fetchall()]

    @contextmanager
    def copy_transaction(self) -> Iterator[Cursor[DictRow]]:
        with self.datastore.transaction(commit=True) as curs:
            # Its commit does not wait for the WAL to reach the disk: the swap's commit,
            # which does wait, flushes the WAL that holds this one too.
            curs.execute("SET LOCAL synchronous_commit = off")
            yield curs

    def write_next_rows(self, c: Cursor[DictRow], folded: Folded) -> None:
        rows = rebuild_rows(folded)
        names = {
            "table": Identifier(NEXT_VIEW_TABLE),
            "words": Identifier(words_table(NEXT_VIEW_TABLE)),
        }
        for statement, kind in _NEXT_ROWS_WRITES:
            params: list[Any] = getattr(rows, kind)
            if params:
                c.executemany(statement.format(**names), params)

    def create_next_view(self, c: Cursor[DictRow]) -> None:
        for table in (NEXT_VIEW_TABLE, words_table(NEXT_VIEW_TABLE)):
            c.execute(SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(table)))
        c.execute(view_table_ddl(NEXT_VIEW_TABLE))
        c.execute(words_table_ddl(NEXT_VIEW_TABLE))

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

    def create_next_transitions(self, c: Cursor[DictRow]) -> None:
        c.execute(
            SQL("DROP TABLE IF EXISTS {table}").format(table=Identifier(NEXT_TRANSITIONS_TABLE))
        )
        c.execute(transitions_table_ddl(NEXT_TRANSITIONS_TABLE))

    def index_next_transitions(self, c: Cursor[DictRow]) -> None:
        c.execute(by_milestone_ddl(NEXT_TRANSITIONS_TABLE))

    def swap_in_next_transitions(self, c: Cursor[DictRow]) -> None:
        c.execute(SQL("DROP TABLE {table}").format(table=Identifier(TRANSITIONS_TABLE)))
        # The index by milestone is there if the rebuild read standings back (else the
        # statements after build it).
        for suffix in ("", "_pkey", "by_milestone_ddl"):
            kind = SQL("TABLE") if not suffix else SQL("INDEX IF EXISTS")
            c.execute(
                SQL("ALTER {kind} {next} RENAME TO {live}").format(
                    kind=kind,
                    next=Identifier(f"{NEXT_TRANSITIONS_TABLE}{suffix}"),
                    live=Identifier(f"{TRANSITIONS_TABLE}{suffix}"),
                )
            )
        for statement in TRANSITION_INDEXES:
            c.execute(statement)
