"""SQLite's search index: each milestone's words in an FTS5 table built for appends.

A B-tree of (word, id) took a random-position insert per word of every create, half of
the pages a write put in the log. FTS5 gathers a transaction's words in memory and writes
them as one new segment at the commit, merging segments in the background of later
writes, so a batch of creates costs a few pages.

The word rule stays Python's (``projections.finding``): the index is given the words that
rule found, lower-cased and joined by spaces, and the ``ascii`` tokenizer cuts only there
(every character of such a word is an ASCII letter or digit or not ASCII at all, which that
tokenizer keeps in its tokens; it folds nothing but A-Z, which no lower-cased word holds).
A query term, a word prefix by the same rule, is a prefix query ``"term"*``.

A milestone's row in the index has the position of its Created event as its rowid: unique,
growing as milestones are made (so its content is appended), and found again from the
milestone's id through the event index (reads) or the log (writes), without a table more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from adapters.storage.rebuild_rows import word_set
from adapters.storage.sql import words_table
from domain.ids import from_public_id
from projections.runner import VIEW_TABLE

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from eventsourcing.sqlite import SQLiteCursor

    from projections.fold import Folded

# Rows looked up in one statement, well below SQLite's limit on bound values.
_CHUNK = 500


def chunks(values: list[str]) -> Iterator[list[str]]:
    """Values in lists short enough for one statement's ``IN (...)``."""
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def marks(values: list[Any]) -> str:
    """The placeholders of an ``IN (...)`` of these values."""
    return ", ".join("?" * len(values))


def search_table_ddl(table: str) -> str:
    """The index of a view's words; ``id`` is kept beside them, not indexed.

    ``detail=none``: a term's postings list only the rows, not the places in them, which
    is all a prefix test needs; ``columnsize=0``: no table of row sizes to keep.
    """
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {words_table(table)} USING fts5("
        "id UNINDEXED, words, detail=none, columnsize=0, tokenize='ascii')"
    )


def has_search_index(c: SQLiteCursor, table: str) -> bool:
    """Whether the view's words are in the index (a store written before it has a table
    of (id, word) rows under the same name, or no words at all)."""
    c.execute("SELECT sql FROM sqlite_master WHERE name = ?", (words_table(table),))
    row = c.fetchone()
    return row is not None and "fts5" in str(row[0]).lower()


def match_expression(terms: Iterable[str]) -> str:
    """Rows where each term begins a word: FTS5 prefix queries, ANDed."""
    return " AND ".join(f'"{term}"*' for term in terms)


def creation_positions(c: SQLiteCursor, public_ids: list[str]) -> dict[str, int]:
    """The position in the log of each milestone's Created event: its row in the index."""
    hex_ids = {from_public_id(pid).hex: pid for pid in public_ids}
    found: dict[str, int] = {}
    for chunk in chunks(list(hex_ids)):
        c.execute(
            f"SELECT originator_id, rowid FROM stored_events WHERE originator_version = 1 "  # noqa: S608
            f"AND originator_id IN ({marks(chunk)})",
            chunk,
        )
        found.update((hex_ids[row[0]], int(row[1])) for row in c.fetchall())
    return found


def search_changes(folded: Folded) -> tuple[dict[str, str], list[str]]:
    """What the fold changes in the index: the words of each milestone whose words changed
    (or that is new), space-joined; and the milestones that are gone."""
    rewritten: dict[str, str] = {}
    gone: list[str] = []
    for pid, (_, doc) in folded.rows.items():
        before = folded.before.get(pid)
        if doc is None:
            gone.append(pid)
            continue
        fresh = word_set(doc)
        if before is None or word_set(before) != fresh:
            rewritten[pid] = " ".join(sorted(fresh))
    return rewritten, gone


def write_search(c: SQLiteCursor, table: str, folded: Folded) -> None:
    """Bring the index from the words of the fold's documents before to those after: only
    milestones whose words changed (or that are new, or gone) are written."""
    rewritten, gone = search_changes(folded)
    if not rewritten and not gone:
        return
    positions = _positions(c, folded, [*rewritten, *gone])
    index = words_table(table)
    if gone:
        c.executemany(
            f"DELETE FROM {index} WHERE rowid = ?",  # noqa: S608
            [(positions[pid],) for pid in gone if pid in positions],
        )
    # REPLACE: a milestone's row goes in whole, whether it was there or not.
    if rewritten:
        c.executemany(
            f"INSERT OR REPLACE INTO {index} (rowid, id, words) VALUES (?, ?, ?)",  # noqa: S608
            [(positions[pid], pid, text) for pid, text in rewritten.items()],
        )


def _positions(c: SQLiteCursor, folded: Folded, public_ids: list[str]) -> dict[str, int]:
    """``creation_positions``, from the cheapest source that has each: the fold's own
    entries for a milestone created in it, else the event index (one statement), else the
    log (a rebuild's fold has no entries; it reads back every milestone from the log)."""
    created = {entry[1]: entry[0] for entry in folded.entries if entry[4] == "Created"}
    found = {pid: created[pid] for pid in public_ids if pid in created}
    rest = [pid for pid in public_ids if pid not in found]
    if rest and folded.entries:
        for chunk in chunks(rest):
            c.execute(
                f"SELECT milestone_id, MIN(position) FROM event_index "  # noqa: S608
                f"WHERE milestone_id IN ({marks(chunk)}) GROUP BY milestone_id",
                chunk,
            )
            found.update((row[0], int(row[1])) for row in c.fetchall())
        rest = [pid for pid in rest if pid not in found]
    if rest:
        found.update(creation_positions(c, rest))
    return found


def fill_search(c: SQLiteCursor, table: str) -> None:
    """Index the words of every document of a view that has none indexed yet."""
    c.execute(f"SELECT id, body FROM {table}")  # noqa: S608
    documents = {row[0]: orjson.loads(row[1]) for row in c.fetchall()}
    positions = creation_positions(c, list(documents))
    c.executemany(
        f"INSERT OR REPLACE INTO {words_table(table)} (rowid, id, words) VALUES (?, ?, ?)",  # noqa: S608
        [
            (positions[pid], pid, " ".join(sorted(word_set(doc))))
            for pid, doc in documents.items()
            if pid in positions
        ],
    )


def indexed_words(c: SQLiteCursor, table: str) -> dict[str, list[str]]:
    """The words the index holds for each milestone, read from the index itself.

    A row whose rowid is not its milestone's Created event is found by no filter that goes
    through the event index, so its words are reported with the rowid they sit at, and
    differ from what a replay expects.
    """
    index = words_table(table)
    # The index's own (term, row) pairs, through a table of this connection alone.
    c.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{index}_terms "
        f"USING fts5vocab(main, {index}, instance)"
    )
    c.execute(
        f"SELECT DISTINCT w.id, t.term, t.doc, i.milestone_id = w.id "  # noqa: S608
        f"FROM temp.{index}_terms t JOIN {index} w ON w.rowid = t.doc "
        "LEFT JOIN event_index i ON i.position = t.doc"
    )
    found: dict[str, set[str]] = {}
    for pid, term, rowid, placed in c.fetchall():
        found.setdefault(pid, set()).add(term if placed else f"{term}@{rowid}")
    return {pid: sorted(terms) for pid, terms in found.items()}


def search_filter(terms: tuple[str, ...], *, lead: bool) -> tuple[str, list[Any]]:
    """The condition on a view row ``v`` that each term begins one of its words.

    ``lead``: the terms match few milestones, which are looked up by id; else each row of
    the sort's walk is tested against the set of matching rows, taken once.
    """
    index = words_table(VIEW_TABLE)
    match = f"SELECT {'id' if lead else 'rowid'} FROM {index} WHERE {index} MATCH ?"  # noqa: S608
    if lead:
        return f" AND v.id IN ({match})", [match_expression(terms)]
    created = "(SELECT MIN(position) FROM event_index WHERE milestone_id = v.id)"
    return f" AND {created} IN ({match})", [match_expression(terms)]
