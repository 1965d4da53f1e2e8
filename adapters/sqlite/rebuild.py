"""SQLite's SQL of a rebuild: the next rows, filled beside the live ones, and the swap."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

from adapters.sqlite.schema import (
    TRANSITION_INDEXES,
    VIEW_INDEXES,
    transitions_table_ddl,
    view_table_ddl,
)
from adapters.sqlite.search import search_table_ddl, write_search
from adapters.storage.rebuild_rows import find_keys, rebuild_rows, word_set
from adapters.storage.sql import words_table
from domain.ids import public_id_of_hex
from projections.progress import NEXT_TRANSITIONS_TABLE, TRANSITIONS_TABLE
from projections.rebuild_pass import live
from projections.runner import NEXT_VIEW_TABLE, VIEW_TABLE
from projections.schedule_view import NEXT_DUE_TABLE

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator

    from eventsourcing.sqlite import SQLiteCursor

    from projections.fold import Folded
    from projections.rebuild_pass import RawRecord, Swept
    from projections.records import Record

# Rows handed to one executemany: big enough that the statement's own cost vanishes, small
# enough that the parameters of a chunk are a few megabytes at most.
_CHUNK = 20_000
_SORT_THREADS = 2


class SQLiteRebuild:
    """The rebuild's part of ``projections.ports.ViewStore``, for the SQLite recorder (which
    adds ``copy_transaction``, beside its other transactions)."""

    def select_part(
        self, c: SQLiteCursor, after: int, limit: int, *, upto: int, part: int, parts: int
    ) -> list[Record]:
        # By the last hex digit of the id, which is random: the other parts' records are
        # skipped by SQLite, not fetched and converted.
        c.sqlite_cursor.row_factory = None
        c.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? AND rowid <= ? AND unicode(substr(originator_id, -1)) % ? = ? "
            "ORDER BY rowid LIMIT ?",
            (after, upto, parts, part, limit),
        )
        return [
            (position, public_id_of_hex(hex_id), version, topic, state)
            for position, hex_id, version, topic, state in c.sqlite_cursor
        ]

    def sweep_records(
        self, c: SQLiteCursor, *, upto: int, part: int, parts: int
    ) -> Iterable[RawRecord]:
        # Streamed from SQLite's cursor: a million rows are never all in memory at once.
        c.sqlite_cursor.row_factory = None
        where = (
            "rowid <= ?"
            if parts == 1
            else "rowid <= ? AND unicode(substr(originator_id, -1)) % ? = ?"
        )
        arguments = (upto,) if parts == 1 else (upto, parts, part)
        return c.sqlite_cursor.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "  # noqa: S608
            f"WHERE {where} ORDER BY rowid",
            arguments,
        )

    def write_swept(
        self, c: SQLiteCursor, swept: Swept, names: Collection[str]
    ) -> dict[str, float]:
        # Each table gets its rows in the order of its key, so every insert appends to the
        # B-tree; the secondary indexes are built once, at the swap.
        seconds: dict[str, float] = {}
        if "milestones" in names:
            started = time.perf_counter()
            milestones = live(swept)
            _insert(
                c,
                f"INSERT INTO {NEXT_VIEW_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                [
                    (
                        m.public_id,
                        d["projectId"],
                        d["status"],
                        d["createdAt"],
                        m.version,
                        orjson.dumps(d),
                        *find_keys(d),
                    )
                    for m in milestones
                    if (d := m.document) is not None
                ],
            )
            milestones.sort(key=lambda m: m.created_at)
            _insert(
                c,
                f"INSERT INTO {words_table(NEXT_VIEW_TABLE)} (rowid, id, words) VALUES (?, ?, ?)",  # noqa: S608
                [
                    (m.created_at, m.public_id, " ".join(sorted(word_set(d))))
                    for m in milestones
                    if (d := m.document) is not None
                ],
            )
            seconds["milestones"] = time.perf_counter() - started
        if "progress" in names:
            started = time.perf_counter()
            _insert(
                c,
                f"INSERT INTO {NEXT_TRANSITIONS_TABLE} VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                swept.transitions,
            )
            seconds["progress"] = time.perf_counter() - started
        if "schedule" in names:
            started = time.perf_counter()
            rows = sorted(swept.due_rows.values())
            _insert(c, f"INSERT INTO {NEXT_DUE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)  # noqa: S608
            seconds["schedule"] = time.perf_counter() - started
        return seconds

    def create_next_view(self, c: SQLiteCursor) -> None:
        # Without its secondary indexes, which are built once after the bulk load.
        c.execute(f"DROP TABLE IF EXISTS {NEXT_VIEW_TABLE}")
        c.execute(f"DROP TABLE IF EXISTS {words_table(NEXT_VIEW_TABLE)}")
        c.execute(view_table_ddl(NEXT_VIEW_TABLE))
        c.execute(search_table_ddl(NEXT_VIEW_TABLE))

    def write_next_rows(self, c: SQLiteCursor, folded: Folded) -> None:
        rows, table = rebuild_rows(folded), NEXT_VIEW_TABLE
        c.executemany(f"DELETE FROM {table} WHERE id = ?", rows.deletes)  # noqa: S608
        c.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows.inserts)  # noqa: S608
        c.executemany(
            f"UPDATE {table} SET status = ?, version = ?, body = ?, title = ?, due_at = ?, "  # noqa: S608
            "late_at = ? WHERE id = ?",
            rows.rekeyed,
        )
        c.executemany(
            f"UPDATE {table} SET status = ?, version = ?, body = ? WHERE id = ?",  # noqa: S608
            rows.updates,
        )
        write_search(c, table, folded)

    def swap_in_next_view(self, c: SQLiteCursor) -> None:
        with _swapping(c):
            for live, fresh in [
                (VIEW_TABLE, NEXT_VIEW_TABLE),
                (words_table(VIEW_TABLE), words_table(NEXT_VIEW_TABLE)),
            ]:
                c.execute(f"DROP TABLE {live}")
                c.execute(f"ALTER TABLE {fresh} RENAME TO {live}")
            for statement in VIEW_INDEXES:
                c.execute(statement)

    def create_next_transitions(self, c: SQLiteCursor) -> None:
        c.execute(f"DROP TABLE IF EXISTS {NEXT_TRANSITIONS_TABLE}")
        c.execute(transitions_table_ddl(NEXT_TRANSITIONS_TABLE))

    def index_next_transitions(self, c: SQLiteCursor) -> None:
        c.execute(
            f"CREATE INDEX IF NOT EXISTS {NEXT_TRANSITIONS_TABLE}by_milestone_ddl "
            f"ON {NEXT_TRANSITIONS_TABLE} (milestone_id, position)"
        )

    def swap_in_next_transitions(self, c: SQLiteCursor) -> None:
        with _swapping(c):
            c.execute(f"DROP TABLE {TRANSITIONS_TABLE}")
            # The index of the next rows (if standings were read back) has a name of its own:
            # the live one is built anew under the live name.
            c.execute(f"DROP INDEX IF EXISTS {NEXT_TRANSITIONS_TABLE}by_milestone_ddl")
            c.execute(f"ALTER TABLE {NEXT_TRANSITIONS_TABLE} RENAME TO {TRANSITIONS_TABLE}")
            for statement in TRANSITION_INDEXES:
                c.execute(statement)


def _insert(c: SQLiteCursor, statement: str, rows: list[Any]) -> None:
    for start in range(0, len(rows), _CHUNK):
        c.sqlite_cursor.executemany(statement, rows[start : start + _CHUNK])


@contextmanager
def _swapping(c: SQLiteCursor) -> Iterator[None]:
    """Dropped rows go to the free list as they are during a swap, not zeroed first
    (``secure_delete``, which Debian's SQLite turns on): zeroing wrote every page of the old
    tables to the WAL again (60 of the 100 MB it held after a rebuild of 250,000 events),
    and what they held is in the log anyway. The connection's settings are restored after."""
    c.execute("PRAGMA secure_delete")
    secure_delete = int(c.fetchone()[0])
    c.execute("PRAGMA threads")
    threads = int(c.fetchone()[0])
    c.execute("PRAGMA secure_delete = FAST")
    # The indexes built at the swap sort every row: helper threads share the sort.
    c.execute(f"PRAGMA threads = {_SORT_THREADS:d}")
    try:
        yield
    finally:
        c.execute(f"PRAGMA secure_delete = {secure_delete:d}")
        c.execute(f"PRAGMA threads = {threads:d}")
