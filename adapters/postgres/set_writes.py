"""The projections' writes of a whole batch on PostgreSQL: one statement per table and kind
of change, its rows sent as one array per column and spread by ``unnest``.

A statement per row costs the server a parse-bind-execute each and the client an encoding
each; a batch of creates touches the view, its words, the event index and the transitions,
so the difference grows with the batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Identifier

from adapters.postgres.schema import ENTRY_COLUMNS
from adapters.storage.sql import VIEW_COLUMNS, row_changes, words_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from psycopg import Cursor
    from psycopg.rows import DictRow

    from projections.fold import Entry, Folded
    from projections.progress import Transition

_VIEW_TYPES = ", ".join(
    f"%s::{kind}[]"
    for kind in ("text", "text", "text", "text", "bigint", "bytea", "text", "text", "text")
)
_UPSERT = SQL(
    f"INSERT INTO {{table}} ({VIEW_COLUMNS}) SELECT * FROM unnest({_VIEW_TYPES}) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version, "
    "body = EXCLUDED.body, title = EXCLUDED.title, due_at = EXCLUDED.due_at, "
    "late_at = EXCLUDED.late_at"
)
# A row whose keys stay as they were: its indexes are left alone.
_UPDATE = SQL(
    "UPDATE {table} AS v SET status = s.status, version = s.version, body = s.body "
    "FROM unnest(%s::text[], %s::bigint[], %s::bytea[], %s::text[]) "
    "AS s(status, version, body, id) WHERE v.id = s.id"
)
_DELETE_WORDS_OF = SQL("DELETE FROM {words} WHERE id = ANY(%s)")
_DELETE_WORDS = SQL(
    "DELETE FROM {words} AS w USING unnest(%s::text[], %s::text[]) AS s(id, word) "
    "WHERE w.id = s.id AND w.word = s.word"
)
_INSERT_WORDS = SQL("INSERT INTO {words} (id, word) SELECT * FROM unnest(%s::text[], %s::text[])")
_DELETE_ROWS = SQL("DELETE FROM {table} WHERE id = ANY(%s)")
# A catch-up may meet entries or transitions already there: each depends on its record alone.
_INSERT_ENTRIES = SQL(
    f"INSERT INTO event_index ({ENTRY_COLUMNS}) SELECT * FROM "  # noqa: S608
    "unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], "
    "%s::text[]) ON CONFLICT (position) DO NOTHING"
)
_INSERT_TRANSITIONS = SQL(
    "INSERT INTO {table} SELECT * FROM "
    "unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
    "ON CONFLICT (position) DO NOTHING"
)


def columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as one list per column: the arrays that ``unnest`` turns back into rows."""
    return [list(column) for column in zip(*rows, strict=True)]


def write_view_rows(c: Cursor[DictRow], table: str, folded: Folded) -> None:
    """Bring a view's rows and words from the fold's documents before to those after."""
    changes = row_changes(folded)
    names = {"table": Identifier(table), "words": Identifier(words_table(table))}
    if changes.rewrite_words:
        c.execute(_DELETE_WORDS_OF.format(**names), ([pid for (pid,) in changes.rewrite_words],))
    statements = [
        (_DELETE_WORDS, changes.stale_words),
        (_UPSERT, changes.upserts),
        (_UPDATE, changes.updates),
        (_INSERT_WORDS, changes.fresh_words),
    ]
    for statement, rows in statements:
        if rows:
            c.execute(statement.format(**names), columns(rows), prepare=True)
    if changes.deletes:
        c.execute(_DELETE_ROWS.format(**names), ([pid for (pid,) in changes.deletes],))


def insert_entries(c: Cursor[DictRow], entries: Sequence[Entry]) -> None:
    if entries:
        c.execute(_INSERT_ENTRIES, columns(entries), prepare=True)


def insert_transitions(c: Cursor[DictRow], table: str, transitions: Sequence[Transition]) -> None:
    if transitions:
        c.execute(
            _INSERT_TRANSITIONS.format(table=Identifier(table)), columns(transitions), prepare=True
        )
