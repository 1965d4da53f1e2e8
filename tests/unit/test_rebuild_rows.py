"""A rebuild's writes into the next view leave the rows that the live writes would.

Both are played on a model of the view's table and words (no database): the live writes
(``storage.sql.row_changes``) and a rebuild's (``storage.rebuild_rows.rebuild_rows``), fold
after fold of the same log, cut into the same pieces.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.storage.rebuild_rows import RebuildRows, find_keys, rebuild_rows, word_set
from adapters.storage.sql import RowChanges, row_changes
from projections import rebuild_copy
from projections.finding import keys_of, words_of
from projections.fold import fold
from projections.rebuild_copy import Memory
from tests.unit.test_projection import Create, Delete, Update, commands, new_app, run
from tests.unit.test_projection import stored_records as records_of

if TYPE_CHECKING:
    from projections.document import Document
    from projections.fold import Folded

Table = dict[str, tuple[Any, ...]]  # id -> the row after its id, in VIEW_COLUMNS order
Words = set[tuple[str, str]]


def apply_live(changes: RowChanges, table: Table, words: Words) -> None:
    """What the live ``write_rows`` statements do, in their order."""
    for (pid,) in changes.rewrite_words:
        words -= {w for w in words if w[0] == pid}
    words -= set(changes.stale_words)
    for row in changes.upserts:
        table[row[0]] = row[1:]
    for status, version, body, pid in changes.updates:
        project, _, created, _, _, *keys = table[pid]
        table[pid] = (project, status, created, version, body, *keys)
    words |= set(changes.fresh_words)
    for (pid,) in changes.deletes:
        table.pop(pid, None)


def apply_next(rows: RebuildRows, table: Table, words: Words) -> None:
    """What the rebuild's ``write_next_rows`` statements do, in their order."""
    words -= set(rows.stale_words)
    for (pid,) in rows.deletes:
        words -= {w for w in words if w[0] == pid}
        del table[pid]  # it was written, or the fold would not have known it before
    for row in rows.inserts:
        assert row[0] not in table, "a row the fold did not know is not in the next view"
        table[row[0]] = row[1:]
    for status, version, body, title, due_at, late_at, pid in rows.rekeyed:
        project, _, created, *_ = table[pid]
        table[pid] = (project, status, created, version, body, title, due_at, late_at)
    for status, version, body, pid in rows.updates:
        project, _, created, _, _, *keys = table[pid]
        table[pid] = (project, status, created, version, body, *keys)
    for pid, fresh in rows.fresh_words:
        assert fresh == sorted(fresh)
        assert not any(w[0] == pid and w[1] in fresh for w in words), "a word added twice"
        words |= {(pid, word) for word in fresh}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=commands, cuts=st.lists(st.integers(0, 200), max_size=5))
def test_the_next_view_ends_as_the_live_view_would(
    script: list[Create | Update | Delete], cuts: list[int]
) -> None:
    app = new_app()
    run(app, script)
    records = records_of(app)
    bounds = sorted({0, len(records), *(cut % (len(records) + 1) for cut in cuts)})
    live: tuple[Table, Words] = ({}, set())
    rebuilt: tuple[Table, Words] = ({}, set())
    documents: dict[str, Document] = {}

    def load(ids: list[str]) -> dict[str, Document]:
        return {pid: documents[pid] for pid in ids if pid in documents}

    for start, stop in itertools.pairwise(bounds):
        folded: Folded = fold(records[start:stop], load, index=False)
        apply_live(row_changes(folded), *live)
        apply_next(rebuild_rows(folded), *rebuilt)
        for pid, (_, document) in folded.rows.items():
            if document is None:
                documents.pop(pid, None)
            else:
                documents[pid] = document
    assert rebuilt == live


documents = st.fixed_dictionaries(
    {
        "title": st.text(max_size=20),
        "description": st.text(max_size=30),
        "dueDate": st.none()
        | st.sampled_from(
            [
                "2026-03-01",
                "9999-12-31",
                "0001-01-01",
                "2026-03-01T00:00:00Z",
                "2026-03-01T09:30:00.5+02:00",
                "9999-12-31T23:59:59-05:00",
            ]
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(document=documents)
def test_keys_and_words_are_findings_own(document: Document) -> None:
    assert find_keys(document) == keys_of(document)
    assert sorted(word_set(document)) == words_of(document)


def test_memory_forgets_all_but_the_last_batch_beyond_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rebuild_copy, "REMEMBERED", 3)
    memory: Memory[str] = Memory()
    reads: list[list[str]] = []

    def read(ids: list[str]) -> dict[str, str]:
        reads.append(ids)
        return {pid: f"read {pid}" for pid in ids if pid != "gone"}

    memory.remember({"a": "1", "b": "2"})
    assert memory.known(["a", "b", "c"], read) == {"a": "1", "b": "2", "c": "read c"}
    assert reads == [["c"]]
    assert not memory.forgot
    memory.remember({"b": None, "c": "3"})  # b is gone from the next rows
    assert memory.known(["b"], read) == {"b": "read b"}
    memory.remember({"d": "4", "e": "5"})  # a, c and these: beyond the bound
    assert memory.forgot
    reads.clear()
    assert memory.known(["a", "d", "e", "gone"], read) == {"a": "read a", "d": "4", "e": "5"}
    assert reads == [["a", "gone"]]
