"""Export the event log as JSON Lines, and import such a file into an empty store.

A line is an event as the feed shows it: position, milestoneId, version, type,
occurredAt, payload. Ids, versions and times survive a round trip exactly, on either
backend, because occurredAt is stored at millisecond precision in the first place.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.utils import get_topic

from adapters.views import BATCH
from domain.ids import from_public_id
from domain.milestone import Milestone, Status
from projections.milestones import WIRE_NAMES, event_document

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from adapters.bootstrap import Service

ATTRIBUTES = {wire: name for name, wire in WIRE_NAMES.items()}


def export_lines(service: Service) -> Iterator[bytes]:
    """Every event in commit order, one JSON line each, from one consistent snapshot."""
    with service.store.read_transaction() as c:
        position = 0
        while batch := service.store.select_records(c, position, BATCH):
            for position, public_id, version, topic, state in batch:
                event = event_document(public_id, version, topic, state)
                yield orjson.dumps({"position": position, **event}) + b"\n"


class StoreNotEmpty(Exception):
    """Import replays a whole log, so it only goes into a store that holds no events."""


def import_lines(service: Service, lines: Iterable[bytes]) -> int:
    """Record the events of an exported log; how many there were."""
    with service.store.read_transaction() as c:
        if service.store.head(c):
            raise StoreNotEmpty
    count = 0
    batch: list[Milestone.Event] = []
    for line in lines:
        if line.strip():
            batch.append(domain_event(orjson.loads(line)))
        if len(batch) == BATCH:
            service.milestones.events.put(batch)
            count, batch = count + len(batch), []
    if batch:
        service.milestones.events.put(batch)
        count += len(batch)
    return count


EVENT_CLASSES: dict[str, type[Any]] = {
    "Created": Milestone.Created,
    "Updated": Milestone.Updated,
    "StatusChanged": Milestone.StatusChanged,
    "Deleted": Milestone.Deleted,
}


def domain_event(event: dict[str, Any]) -> Milestone.Event:
    """The domain event behind an exported line."""
    kind, payload = event["type"], event["payload"]
    if kind not in EVENT_CLASSES:
        msg = f"unknown event type {kind!r} at position {event.get('position')}"
        raise ValueError(msg)
    fields: dict[str, Any] = {}
    if kind == "Created":
        fields = {ATTRIBUTES[wire]: value for wire, value in payload.items()}
        fields["status"] = Status(fields["status"])
        fields["reached_at"] = _instant(fields["reached_at"])
        fields["originator_topic"] = get_topic(Milestone)
    elif kind == "Updated":
        changes = {ATTRIBUTES[wire]: value for wire, value in payload.items()}
        if "reached_at" in changes:
            changes["reached_at"] = _instant(changes["reached_at"])
        fields["changes"] = changes
    elif kind == "StatusChanged":
        fields = {
            "from_status": Status(payload["from"]),
            "to_status": Status(payload["to"]),
            "reached_at": _instant(payload["reachedAt"]),
        }
    event_class: type[Milestone.Event] = EVENT_CLASSES[kind]
    return event_class(
        originator_id=from_public_id(event["milestoneId"]),
        originator_version=event["version"],
        timestamp=datetime.fromisoformat(event["occurredAt"]),
        **fields,
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
