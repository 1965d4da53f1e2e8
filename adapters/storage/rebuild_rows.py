"""The rows a rebuild writes into the next view, built alike for both backends.

What ``adapters.storage.sql.row_changes`` is to the live view, for a table that only the rebuild
writes and that starts empty: a milestone that the fold did not find there is not there, so
its row is inserted, and its words added, without a look at what the table holds. The sort
keys and the words are kept by the texts they come from (a due date, a description), which
many milestones share, so that each is worked out once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from projections.finding import keys_of, words

if TYPE_CHECKING:
    from projections.document import Document
    from projections.finding import Keys
    from projections.fold import Folded

_CACHED_TEXTS = 1 << 16


@dataclass
class RebuildRows:
    """What a fold changes in the rebuilt view (``storage.sql.VIEW_COLUMNS``) and its words."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)  # whole rows
    rekeyed: list[tuple[Any, ...]] = field(default_factory=list)  # status, version, body, keys, id
    updates: list[tuple[Any, ...]] = field(default_factory=list)  # status, version, body, id
    deletes: list[tuple[str]] = field(default_factory=list)  # their words go with them
    stale_words: list[tuple[str, str]] = field(default_factory=list)  # (id, word)
    fresh_words: list[tuple[str, list[str]]] = field(default_factory=list)  # id, words in order


def rebuild_rows(folded: Folded) -> RebuildRows:
    """The writes that bring the next view from the fold's documents before to those after."""
    rows = RebuildRows()
    for pid, (version, doc) in folded.rows.items():
        before = folded.before.get(pid)
        if doc is None:
            if before is not None:  # else created and deleted within the fold: never written
                rows.deletes.append((pid,))
            continue
        keys, body = find_keys(doc), orjson.dumps(doc)
        if before is None:
            rows.inserts.append(
                (pid, doc["projectId"], doc["status"], doc["createdAt"], version, body, *keys)
            )
            rows.fresh_words.append((pid, sorted(word_set(doc))))
            continue
        if find_keys(before) == keys:
            rows.updates.append((doc["status"], version, body, pid))
        else:
            rows.rekeyed.append((doc["status"], version, body, *keys, pid))
        old, new = word_set(before), word_set(doc)
        rows.stale_words += [(pid, word) for word in sorted(old - new)]
        if fresh := sorted(new - old):
            rows.fresh_words.append((pid, fresh))
    return rows


def find_keys(document: Document) -> Keys:
    """``projections.finding.keys_of``, the due date's keys worked out once per due date."""
    return (document["title"], *_due_keys(document["dueDate"]))


def word_set(document: Document) -> frozenset[str]:
    """The words of ``projections.finding.words_of``, unordered, each text's cut once."""
    return _words_of_text(document["title"]) | _words_of_text(document["description"])


@lru_cache(maxsize=_CACHED_TEXTS)
def _due_keys(due_date: str | None) -> tuple[str | None, str | None]:
    _, due_at, late_at = keys_of({"title": "", "dueDate": due_date})
    return due_at, late_at


@lru_cache(maxsize=_CACHED_TEXTS)
def _words_of_text(text: str) -> frozenset[str]:
    return frozenset(words(text))
