"""The milestone read model: the wire document of each live milestone.

The same fold serves the live view (applied in the transaction that records the events),
the catch-up of a view that lags, and a full rebuild. It works on stored records as
decoded JSON, not on domain objects, so a rebuild decodes each record once and nothing
more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.utils import resolve_topic

from domain.ids import to_public_id
from domain.milestone import format_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from domain.milestone import Milestone

Document = dict[str, Any]

# Aggregate attribute names and their names on the wire.
WIRE_NAMES = {
    "project_id": "projectId",
    "title": "title",
    "description": "description",
    "status": "status",
    "due_date": "dueDate",
    "reached_at": "reachedAt",
}
_INSTANTS = frozenset({"reached_at"})
_WITH_MICROSECONDS = len("2026-02-19T10:30:00.000000+00:00")
_WHOLE_SECONDS = len("2026-02-19T10:30:00+00:00")
EVENT_TYPES = frozenset({"Created", "Updated", "StatusChanged", "Deleted"})


def decode(topic: str, stored: bytes) -> dict[str, Any]:
    """A stored event's state in the shape of today's event class.

    Records written by an older version of the class are upcast exactly as the library's
    mapper does for the domain (``class_version`` and ``upcast_vN_vN+1``).
    """
    state: dict[str, Any] = orjson.loads(stored)
    event_class, latest = _event_class(topic)
    version = state.pop("class_version", 1)
    while version < latest:
        getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


@lru_cache
def _event_class(topic: str) -> tuple[type, int]:
    event_class = resolve_topic(topic)
    return event_class, getattr(event_class, "class_version", 1)


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


def stored_optional_instant(value: dict[str, str] | None) -> str | None:
    return None if value is None else stored_instant(value)


def wire_fields(state: dict[str, Any]) -> Document:
    """Stored field values by wire name, instants in their one text form."""
    return {
        WIRE_NAMES[name]: stored_optional_instant(value) if name in _INSTANTS else value
        for name, value in state.items()
        if name in WIRE_NAMES
    }


def document(public_id: str, fields: Document, created_at: str) -> Document:
    """A milestone as clients see it: exactly eight keys, in the contract's order."""
    return {
        "id": public_id,
        "projectId": fields["projectId"],
        "title": fields["title"],
        "description": fields["description"],
        "status": fields["status"],
        "dueDate": fields["dueDate"],
        "reachedAt": fields["reachedAt"],
        "createdAt": created_at,
    }


def document_of(milestone: Milestone) -> Document:
    """The document of an aggregate, e.g. a milestone as it was at some version."""
    fields = {wire: getattr(milestone, name) for name, wire in WIRE_NAMES.items()}
    if milestone.reached_at is not None:
        fields["reachedAt"] = format_instant(milestone.reached_at)
    return document(to_public_id(milestone.id), fields, format_instant(milestone.created_on))


def apply(
    current: Document | None, public_id: str, kind: str, state: dict[str, Any]
) -> Document | None:
    """The document after one stored event; None once the milestone is deleted."""
    if kind == "Created":
        return document(public_id, wire_fields(state), stored_instant(state["timestamp"]))
    if current is None:
        msg = f"{kind} event for a milestone that is not in the view: {public_id}"
        raise LookupError(msg)
    if kind == "Updated":
        return current | wire_fields(state["changes"])
    if kind == "StatusChanged":
        return current | {
            "status": state["to_status"],
            "reachedAt": stored_optional_instant(state["reached_at"]),
        }
    if kind == "Deleted":
        return None
    msg = f"unknown milestone event type: {kind}"
    raise ValueError(msg)


Record = tuple[int, str, int, str, bytes]  # position, public id, version, topic, stored state
Row = tuple[int, Document | None]  # version, document (None once deleted)
# position, milestone, project, version, type, occurredAt: what the event feed filters on
Entry = tuple[int, str, str, int, str, str]


@dataclass
class Folded:
    rows: dict[str, Row] = field(default_factory=dict)  # the last row of each milestone
    entries: list[Entry] = field(default_factory=list)  # one per record


def fold(
    records: Iterable[Record],
    load: Callable[[list[str]], Mapping[str, Document]],
    *,
    index: bool = True,
) -> Folded:
    """Apply records in log order to the documents of the milestones they touch.

    ``load`` fetches, all at once, the current documents of the milestones whose first
    record here is not their Created event. ``index`` asks for the event index entries
    too (a rebuild of the view alone does without them).
    """
    records = list(records)
    first_topics: dict[str, str] = {}
    for _, public_id, _, topic, _ in records:
        first_topics.setdefault(public_id, topic)
    documents: dict[str, Document | None] = dict(
        load([pid for pid, topic in first_topics.items() if event_type(topic) != "Created"])
    )
    versions: dict[str, int] = {}
    folded = Folded()
    for position, public_id, version, topic, stored in records:
        state = decode(topic, stored)
        kind = event_type(topic)
        before = documents.get(public_id)
        documents[public_id] = after = apply(before, public_id, kind, state)
        versions[public_id] = version
        if index:
            project_id = (after or before or {}).get("projectId", "")
            occurred_at = stored_instant(state["timestamp"])
            folded.entries.append((position, public_id, project_id, version, kind, occurred_at))
    folded.rows = {
        public_id: (version, documents[public_id]) for public_id, version in versions.items()
    }
    return folded


def event_document(public_id: str, version: int, topic: str, stored: bytes) -> Document:
    """An event as the history and the feed show it."""
    state = decode(topic, stored)
    kind = event_type(topic)
    return {
        "milestoneId": public_id,
        "version": version,
        "type": kind,
        "occurredAt": stored_instant(state["timestamp"]),
        "payload": _payload(kind, state),
    }


def _payload(kind: str, state: dict[str, Any]) -> Document:
    if kind == "Created":
        return wire_fields(state)
    if kind == "Updated":
        return wire_fields(state["changes"])
    if kind == "StatusChanged":
        return {
            "from": state["from_status"],
            "to": state["to_status"],
            "reachedAt": stored_optional_instant(state["reached_at"]),
        }
    return {}
