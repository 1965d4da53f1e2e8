"""Stored records as the read side meets them, decoded and upcast to today's event shapes.

Every reader of the log (the fold, the history, the feed, the export) decodes a record's
JSON once here, so an event class that changes shape needs an upcaster and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.utils import resolve_topic

from domain.milestone import format_instant

if TYPE_CHECKING:
    from collections.abc import Iterable

Record = tuple[int, str, int, str, bytes]  # position, public id, version, topic, stored state
# position, public id, version, event type, state: a record decoded, for a reader that needs
# its state (a rebuild decodes each record once and hands the same event to every projection)
Event = tuple[int, str, int, str, dict[str, Any]]
EVENT_TYPES = frozenset({"Created", "Updated", "StatusChanged", "Deleted"})

_WITH_MICROSECONDS = len("2026-02-19T10:30:00.000000+00:00")
_WHOLE_SECONDS = len("2026-02-19T10:30:00+00:00")


def decode(topic: str, stored: bytes) -> dict[str, Any]:
    """A stored event's state in the shape of today's event class.

    Records written by an older version of the class are upcast exactly as the library's
    mapper does for the domain (``class_version`` and ``upcast_vN_vN+1``).
    """
    state: dict[str, Any] = orjson.loads(stored)
    event_class, latest = event_class_of(topic)
    version = state.pop("class_version", 1)
    while version < latest:
        getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def decoded(records: Iterable[Record]) -> list[Event]:
    """Records with their states decoded and their types named."""
    return [
        (position, public_id, version, event_type(topic), decode(topic, stored))
        for position, public_id, version, topic, stored in records
    ]


@lru_cache
def event_class_of(topic: str) -> tuple[type, int]:
    event_class = resolve_topic(topic)
    return event_class, getattr(event_class, "class_version", 1)


@lru_cache
def latest_version(topic: str) -> int:
    """The class version that a record of ``topic`` written today has (1 when unversioned)."""
    return event_class_of(topic)[1]


@lru_cache
def event_type(topic: str) -> str:
    """``Created`` for the topic ``domain.milestone:Milestone.Created``."""
    return topic.rpartition(".")[2]


def stored_instant(value: dict[str, str]) -> str:
    """An instant as the event store holds it (the library's transcoding of a datetime)."""
    text = value["_data_"]
    # The service writes UTC at whole milliseconds: "...:38.004000+00:00", or "...:38+00:00"
    # when the milliseconds are zero. Slicing those is a replay's hottest path.
    if text.endswith("+00:00"):
        if len(text) == _WITH_MICROSECONDS and text.endswith("000+00:00"):
            return text[:23] + "Z"
        if len(text) == _WHOLE_SECONDS:
            return text[:19] + ".000Z"
    return format_instant(datetime.fromisoformat(text))
