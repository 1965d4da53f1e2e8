"""What finding milestones needs beside each document: its sort and search keys, and a query.

The view stores, next to a milestone's document, keys that SQL can compare and index on
both backends alike: the title, the due instant and the instant from which the milestone is
late, each as fixed-width text (so text order is time order), and the words of its title
and description, lower-cased, one row each (so a prefix of a word is an index range).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.due import due_instant, late_from

if TYPE_CHECKING:
    from projections.document import Document

# A word: a run of letters and digits (Python's notion of both, on every backend alike).
_WORD = re.compile(r"[^\W_]+")
_SURROGATES = range(0xD800, 0xE000)

# The sort orders by wire name: the view's column and whether it runs backwards.
SORTS = {
    "createdAt": ("created_at", False),
    "-createdAt": ("created_at", True),
    "dueDate": ("due_at", False),
    "-dueDate": ("due_at", True),
    "title": ("title", False),
    "-title": ("title", True),
}

Keys = tuple[str, str | None, str | None]  # title, due instant, late from
# Where a page ends: the last row's sort key (None: a milestone without dueDate) and id.
After = tuple[str | None, str]


def instant_key(instant: datetime) -> str:
    """An instant as fixed-width UTC text to the microsecond: ``0001-01-01T00:00:00.000000``."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def due_key(due_date: str) -> str:
    """The due instant of a dueDate (or of a dueAfter/dueBefore bound) as a key."""
    return instant_key(due_instant(due_date))


def keys_of(document: Document) -> Keys:
    """The sort and filter keys the view stores beside a document."""
    due_date = document["dueDate"]
    if due_date is None:
        return document["title"], None, None
    return document["title"], due_key(due_date), instant_key(late_from(due_date))


def words(text: str) -> list[str]:
    """The words of a text, lower-cased, in order."""
    return [word.lower() for word in _WORD.findall(text)]


def words_of(document: Document) -> list[str]:
    """The distinct words of a document's title and description, in code point order."""
    return sorted(set(words(document["title"])) | set(words(document["description"])))


def prefix_end(prefix: str) -> str:
    """The least text above every text that starts with ``prefix`` (in code point order)."""
    following = ord(prefix[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return prefix[:-1] + chr(following)


@dataclass(frozen=True)
class Find:
    """A query of the view: filters (None: any), a sort, and an optional page.

    Instants are keys (``instant_key``); ``terms`` are lower-cased word prefixes that
    must each begin a word; ``limit`` None asks for every match at once.
    """

    project_id: str | None = None
    status: tuple[str, ...] | None = None  # any of these
    due_after: str | None = None
    due_before: str | None = None
    overdue: bool | None = None
    now: str = ""
    terms: tuple[str, ...] = ()
    sort: str = "createdAt"
    limit: int | None = None
    after: After | None = None
