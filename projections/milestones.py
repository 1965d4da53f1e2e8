"""The milestone read model: the wire document of each live milestone.

The same fold serves the live view (applied in the transaction that records the events),
the catch-up of a view that lags, and a full rebuild. It works on stored records as
decoded JSON, not on domain objects, so a rebuild decodes each record once and nothing
more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

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
EVENT_TYPES = frozenset({"Created", "Updated", "StatusChanged", "Deleted"})


def decode(topic: str, stored: bytes) -> dict[str, Any]:
    """A stored event's state in the shape of today's event class.

    Records written by an older version of the class are upcast exactly as the library's
    mapper does for the domain (``class_version`` and ``upcast_vN_vN+1``).
    """
    state: dict[str, Any] = orjson.loads(stored)
    event_class = resolve_topic(topic)
    version, latest = state.pop("class_version", 1), getattr(event_class, "class_version", 1)
    while version < latest:
        getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def event_type(topic: str) -> str:
    """``Created`` for the topic ``domain.milestone:Milestone.Created``."""
    return topic.rpartition(".")[2]


def stored_instant(value: dict[str, str]) -> str:
    """An instant as the event store holds it (the library's transcoding of a datetime)."""
    return format_instant(datetime.fromisoformat(value["_data_"]))


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
    current: Document | None, milestone_id: UUID, kind: str, state: dict[str, Any]
) -> Document | None:
    """The document after one stored event; None once the milestone is deleted."""
    if kind == "Created":
        return document(
            to_public_id(milestone_id), wire_fields(state), stored_instant(state["timestamp"])
        )
    if current is None:
        msg = f"{kind} event for a milestone that is not in the view: {milestone_id}"
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


Record = tuple[int, UUID, int, str, bytes]  # position, milestone id, version, topic, state
Row = tuple[int, Document | None]  # version, document (None once deleted)
# position, milestone, project, version, type, occurredAt: what the event feed filters on
Entry = tuple[int, str, str, int, str, str]


@dataclass
class Folded:
    rows: dict[str, Row] = field(default_factory=dict)  # the last row of each milestone
    entries: list[Entry] = field(default_factory=list)  # one per record


def fold(records: Iterable[Record], load: Callable[[list[str]], Mapping[str, Document]]) -> Folded:
    """Apply records in log order to the documents of the milestones they touch.

    ``load`` fetches, all at once, the current documents of the milestones whose first
    record here is not their Created event.
    """
    decoded = [
        (
            position,
            milestone_id,
            to_public_id(milestone_id),
            version,
            topic,
            event_type(topic),
            state,
        )
        for position, milestone_id, version, topic, state in records
    ]
    first_kinds: dict[str, str] = {}
    for _, _, public_id, _, _, kind, _ in decoded:
        first_kinds.setdefault(public_id, kind)
    documents: dict[str, Document | None] = dict(
        load([public_id for public_id, kind in first_kinds.items() if kind != "Created"])
    )
    folded = Folded()
    for position, milestone_id, public_id, version, topic, kind, stored in decoded:
        state = decode(topic, stored)
        before = documents.get(public_id)
        after = apply(before, milestone_id, kind, state)
        documents[public_id] = after
        folded.rows[public_id] = (version, after)
        project_id = (after or before or {}).get("projectId", "")
        folded.entries.append(
            (position, public_id, project_id, version, kind, stored_instant(state["timestamp"]))
        )
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
