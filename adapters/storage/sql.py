"""SQL that both backends build the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from projections.finding import SORTS, keys_of, prefix_end, words_of

if TYPE_CHECKING:
    from projections.finding import Find
    from projections.fold import Folded

# The view's columns, in their order: the document and the keys that finding compares.
VIEW_COLUMNS = "id, project_id, status, created_at, version, body, title, due_at, late_at"
FIND_COLUMNS = ("title", "due_at", "late_at")  # added to views written before finding existed
# The view's index for each sort, within a project and across all of them: name, columns.
VIEW_SORT_INDEXES = (
    ("by_project", "project_id, created_at, id"),
    ("by_project_due", "project_id, due_at, id"),
    ("by_project_title", "project_id, title, id"),
    ("by_created", "created_at, id"),
    ("by_due", "due_at, id"),
    ("by_title", "title, id"),
)


def words_table(table: str) -> str:
    """The table of a view's words: on PostgreSQL (id, word) for each distinct word of each
    milestone; on SQLite its full-text index (``adapters.sqlite.search``)."""
    return f"{table}_words"


def sql_conditions(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """The conditions whose values are given, joined with AND ("TRUE" when none are)."""
    present = [(condition, value) for condition, value in pairs if value is not None]
    where = " AND ".join(condition for condition, _ in present) or "TRUE"
    return where, [value for _, value in present]


@dataclass
class RowChanges:
    """What a fold changes in a view's rows (``VIEW_COLUMNS``) and words."""

    upserts: list[tuple[Any, ...]] = field(default_factory=list)  # new rows, or new keys
    updates: list[tuple[Any, ...]] = field(default_factory=list)  # status, version, body, id
    deletes: list[tuple[str]] = field(default_factory=list)
    stale_words: list[tuple[str, str]] = field(default_factory=list)  # (id, word)
    fresh_words: list[tuple[str, str]] = field(default_factory=list)
    rewrite_words: list[tuple[str]] = field(default_factory=list)  # ids whose words all go


def row_changes(folded: Folded) -> RowChanges:
    """The writes that bring a view from the fold's documents before to those after.

    A row whose sort and search keys stay as they were (a status change, say) has only its
    status, version and document updated, so its indexes are left alone; words are written
    only where they changed. Both matter: each is a page of an index written to disk.
    """
    changes = RowChanges()
    for pid, (version, doc) in folded.rows.items():
        before = folded.before.get(pid)
        if doc is None:
            changes.deletes.append((pid,))
        elif before is not None and keys_of(before) == keys_of(doc):
            changes.updates.append((doc["status"], version, orjson.dumps(doc), pid))
        else:
            row = (pid, doc["projectId"], doc["status"], doc["createdAt"], version)
            changes.upserts.append((*row, orjson.dumps(doc), *keys_of(doc)))
        old = set(words_of(before)) if before is not None else set()
        new = set(words_of(doc)) if doc is not None else set()
        if before is None:
            # New to the view, or not known: any words it has are strays (of a view that
            # was emptied behind the service's back, say), and deleting none writes nothing.
            changes.rewrite_words.append((pid,))
        changes.stale_words += [(pid, word) for word in sorted(old - new)]
        changes.fresh_words += [(pid, word) for word in sorted(new - old)]
    return changes


# A backend's own test that each search term begins a word of row ``v``: the condition
# (" AND ...") and its values, given the terms.
WordsFilter = Callable[[tuple[str, ...]], tuple[str, list[Any]]]


def find_queries(
    find: Find,
    table: str,
    mark: str,
    *,
    lead_with_words: bool = False,
    words_filter: WordsFilter | None = None,
) -> list[tuple[str, list[Any]]]:
    """The queries that answer ``find``, to run in turn until the page is full.

    Each selects (sort key, id, body) in the sort's order. The dueDate orders take two:
    the milestones with a due date, then those without (last in both directions), each
    walking an index. ``mark`` is the backend's placeholder; ``lead_with_words``: the first
    search term matches few words, so look those up first rather than walk the sort.
    """
    column, backwards = SORTS[find.sort]
    where, params = _filters(
        find, table, mark, lead_with_words=lead_with_words, words_filter=words_filter
    )
    if words_filter is not None and find.terms:
        condition, values = words_filter(find.terms)
        where, params = where + condition, [*params, *values]
    direction = "DESC" if backwards else "ASC"
    beyond = "<" if backwards else ">"
    limit = "" if find.limit is None else f" LIMIT {find.limit + 1:d}"
    select = f"SELECT {column}, id, body FROM {table} v WHERE {where}"  # noqa: S608
    order = f" ORDER BY {column} {direction}, id {direction}{limit}"
    if column != "due_at":
        if find.after is None:
            return [(select + order, params)]
        keyset = f" AND ({column}, id) {beyond} ({mark}, {mark})"
        return [(select + keyset + order, [*params, *find.after])]
    queries = []
    in_undue = find.after is not None and find.after[0] is None
    if not in_undue:
        keyset = "" if find.after is None else f" AND (due_at, id) {beyond} ({mark}, {mark})"
        queries.append(
            (select + " AND due_at IS NOT NULL" + keyset + order, [*params, *(find.after or ())])
        )
    if find.due_after is None and find.due_before is None and find.overdue is not True:
        undue = select + " AND due_at IS NULL"
        if in_undue and find.after is not None:
            undue, params = undue + f" AND id {beyond} {mark}", [*params, find.after[1]]
        # Ordered as the index (.., due_at, id) is, so that PostgreSQL walks it too.
        queries.append((undue + order, params))
    return queries


def _filters(
    find: Find, table: str, mark: str, *, lead_with_words: bool, words_filter: WordsFilter | None
) -> tuple[str, list[Any]]:
    where, params = sql_conditions(
        (f"project_id = {mark}", find.project_id),
        (f"due_at >= {mark}", find.due_after),
        (f"due_at < {mark}", find.due_before),
    )
    if find.status is not None:
        where += f" AND status IN ({', '.join([mark] * len(find.status))})"
        params += find.status
    if find.overdue is True:
        where += f" AND status <> 'reached' AND late_at <= {mark}"
        params.append(find.now)
    elif find.overdue is False:
        where += f" AND (status = 'reached' OR late_at IS NULL OR late_at > {mark})"
        params.append(find.now)
    words = words_table(table)
    for number, term in enumerate(() if words_filter is not None else find.terms):
        if number == 0 and lead_with_words:
            where += f" AND id IN (SELECT id FROM {words} WHERE word >= {mark} AND word < {mark})"  # noqa: S608
        else:
            where += (
                f" AND EXISTS (SELECT 1 FROM {words} w WHERE w.id = v.id "  # noqa: S608
                f"AND w.word >= {mark} AND w.word < {mark})"
            )
        params += [term, prefix_end(term)]
    return where, params
