"""An event as the history, the feed and the export show it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projections.document import wire_fields
from projections.records import decode, event_type, stored_instant

if TYPE_CHECKING:
    from collections.abc import Mapping

    from projections.document import Document
    from projections.records import Record


def event_document(public_id: str, version: int, topic: str, stored: bytes) -> Document:
    """``{milestoneId, version, type, occurredAt, actor, requestId, payload}`` of one stored
    record; ``actor`` and ``requestId`` are None for records from before events had them."""
    state = decode(topic, stored)
    kind = event_type(topic)
    return event_object(public_id, version, kind, state, _payload(kind, state))


def event_object(
    public_id: str, version: int, kind: str, state: Mapping[str, Any], payload: Document
) -> Document:
    """The event object of a decoded state whose payload is made already."""
    return {
        "milestoneId": public_id,
        "version": version,
        "type": kind,
        "occurredAt": stored_instant(state["timestamp"]),
        "actor": state["actor"],
        "requestId": state["request_id"],
        "payload": payload,
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
            **wire_fields({"reached_at": state["reached_at"]}),
        }
    return {}


def feed_document(record: Record) -> Document:
    """An event as the feed shows it: its global ``position``, then the event document."""
    position, public_id, version, topic, state = record
    return {"position": position} | event_document(public_id, version, topic, state)
