"""The log's hash chain: what makes a changed, removed or inserted event evident.

``h(0)`` is 64 zeros; the hash of an event is the lowercase hex SHA-256 of the previous
event's hash (its ASCII) followed by the RFC 8785 (JSON Canonicalization Scheme) form of
the event object as the history shows it, UTF-8. The position is not hashed, so a copy of
the log imported elsewhere, where positions may differ, has the same hashes event by event.
Pure: no storage here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import rfc8785

from projections.document import WIRE_NAMES, wire_fields
from projections.events import event_document, event_object
from projections.records import event_type, latest_version, stored_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from projections.document import Document
    from projections.records import Record

ZERO_HASH = "0" * 64


@dataclass(frozen=True)
class Link:
    """One event's place in the chain: its position in the log, its hash, and when it
    occurred (what the head reports)."""

    position: int
    hash: str
    occurred_at: str | None


GENESIS = Link(0, ZERO_HASH, None)  # the chain of an empty log


def canonical(event: Document) -> bytes:
    """The RFC 8785 serialization of an event object, UTF-8.

    For what events hold (objects with ASCII keys, one level nested at most; strings,
    integers within 2**53, booleans and null) orjson with sorted keys writes exactly RFC
    8785's bytes, fifty times faster than the reference implementation: both escape only
    quote, backslash and control characters (the short forms, else ``\\u00xx`` in lowercase)
    and write all else as UTF-8, and ASCII keys sort the same by code point as by UTF-16
    unit. Anything else (a float, a deeper value, a key beyond ASCII) goes to the reference
    implementation, and so does an integer beyond 2**53, which orjson refuses here.
    """
    if _simple(event):
        try:
            return orjson.dumps(event, option=_SORTED_EXACT)
        except orjson.JSONEncodeError:
            pass
    return rfc8785.dumps(event)


_SORTED_EXACT = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_SCALARS = frozenset({str, int, bool, type(None)})


def _simple(event: Document) -> bool:
    # Loops, not all() over generators: this runs for every event hashed.
    if not "".join(event).isascii():
        return False
    for value in event.values():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is not dict or not "".join(value).isascii():
            return False
        for item in value.values():
            if type(item) not in _SCALARS:
                return False
    return True


def event_bytes(event: Document) -> bytes:
    """``canonical`` of an event object that ``event_document`` made, sooner: its keys are
    fixed ASCII names and its payload is flat, so only the values need a look."""
    payload = event["payload"]
    if type(event["actor"]) in _SCALARS and type(event["requestId"]) in _SCALARS:
        for item in payload.values():
            if type(item) not in _SCALARS:
                return canonical(event)
        if "".join(payload).isascii():
            try:
                return orjson.dumps(event, option=_SORTED_EXACT)
            except orjson.JSONEncodeError:
                pass
    return canonical(event)


def record_event(public_id: str, version: int, topic: str, stored: bytes) -> Document:
    """``event_document`` of a stored record, with less work: a verification and the
    keeper run this for every event.

    A record of an event class's latest version needs no upcast, so its event object is
    built straight from the decoded state, by the same rules as ``event_document`` (the
    payload's fields by wire name, instants in the service's text form). Anything else (an
    older version, an unknown type, a state that lacks a field or holds a value of another
    shape) takes ``event_document``'s way, which gives the same object or the same error.
    """
    state = orjson.loads(stored)
    kind = event_type(topic)
    payload_of = _PAYLOADS.get(kind)
    if payload_of is not None and state.get("class_version") == latest_version(topic):
        try:
            return event_object(public_id, version, kind, state, payload_of(state))
        except (KeyError, TypeError, AttributeError, ValueError):
            pass
    return event_document(public_id, version, topic, stored)


def record_bytes(public_id: str, version: int, topic: str, stored: bytes) -> bytes:
    """``canonical`` of a stored record's event object."""
    return event_bytes(record_event(public_id, version, topic, stored))


def _created(state: dict[str, Any]) -> Document:
    # wire_fields of every field, each of which a Created record of today's version holds
    payload = wire_fields(state)
    if len(payload) != len(WIRE_NAMES):
        raise KeyError("a field is missing")
    return payload


def _status_changed(state: dict[str, Any]) -> Document:
    reached_at = state["reached_at"]
    return {
        "from": state["from_status"],
        "to": state["to_status"],
        "reachedAt": None if reached_at is None else stored_instant(reached_at),
    }


_PAYLOADS: dict[str, Callable[[dict[str, Any]], Document]] = {
    "Created": _created,
    "Updated": lambda state: wire_fields(state["changes"]),
    "StatusChanged": _status_changed,
    "Deleted": lambda state: {},
}


def next_hash(previous: str, event: Document) -> str:
    """The hash of ``event`` following the event whose hash is ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + canonical(event)).hexdigest()


def links(previous: str, records: Iterable[Record]) -> list[Link]:
    """The links of records in log order, the first following the hash ``previous``."""
    chained = []
    sha256 = hashlib.sha256
    for position, public_id, version, topic, state in records:
        event = record_event(public_id, version, topic, state)
        previous = sha256(previous.encode("ascii") + event_bytes(event)).hexdigest()
        chained.append(Link(position, previous, event["occurredAt"]))
    return chained


def chain_of(events: Iterable[Document]) -> list[str]:
    """The hashes of event objects in log order (e.g. as the feed or an export shows them,
    whose other keys, such as ``position``, are left out of the hash)."""
    previous, hashes = ZERO_HASH, []
    for event in events:
        previous = next_hash(previous, hashed_part(event))
        hashes.append(previous)
    return hashes


HASHED_KEYS = ("milestoneId", "version", "type", "occurredAt", "actor", "requestId", "payload")


def hashed_part(event: Document) -> Document:
    """The keys of an event object that its hash covers; KeyError if one is missing."""
    return {key: event[key] for key in HASHED_KEYS}
