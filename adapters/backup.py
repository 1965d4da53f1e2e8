"""Export the event log as JSON Lines, and import such a file into an empty store.

A line is an event as the feed shows it: position, milestoneId, version, type,
occurredAt, actor, requestId, payload, and its hash in the log's hash chain
(``projections.chain``), which import checks before it records anything. Ids, versions,
times, actors and request ids survive a round trip exactly, on either backend, because
occurredAt is stored at millisecond precision in the first place. A line without actor or
requestId (from an export made before events had them) imports with both null.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.utils import get_topic

from domain.ids import from_public_id
from domain.milestone import Milestone, Status
from domain.ports import IdempotencyKey
from projections.chain import ZERO_HASH, next_hash
from projections.document import attributes_of
from projections.events import event_document
from projections.runner import BATCH

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from adapters.bootstrap import Service
    from projections.ports import ViewStore


def export_lines(store: ViewStore) -> Iterator[bytes]:
    """Every event in commit order, one JSON line each, from one consistent snapshot.

    A Created line also carries the idempotency key and request fingerprint of the POST
    that made it, if it had one, so that a restored store still knows the key.
    """
    with store.read_transaction() as c:
        requests = store.recorded_requests(c)
        position, chained = 0, ZERO_HASH
        while batch := store.select_records(c, position, BATCH):
            for position, public_id, version, topic, state in batch:
                event = event_document(public_id, version, topic, state)
                chained = next_hash(chained, event)
                line = {"position": position, **event, "hash": chained}
                if version == 1 and public_id in requests:
                    line["idempotencyKey"], line["requestFingerprint"] = requests[public_id]
                yield orjson.dumps(line) + b"\n"


class StoreNotEmpty(Exception):
    """Import replays a whole log, so it only goes into a store that holds no events."""


class MalformedLine(ValueError):
    """A line of an import that is not an exported event; says which, and why."""

    def __init__(self, number: int, error: Exception, recorded: int) -> None:
        reason = str(error) if not isinstance(error, KeyError) else f"no field {error}"
        super().__init__(
            f"line {number} is not an exported event ({reason}); "
            f"{recorded:,} events were imported before it"
        )
        self.number = number


def import_lines(service: Service, lines: Iterable[bytes]) -> int:
    """Record the events of an exported log; how many there were."""
    with service.store.read_transaction() as c:
        if service.store.head(c):
            raise StoreNotEmpty
    count = 0
    batch: list[Milestone.Event] = []
    keys: list[IdempotencyKey] = []

    def record() -> None:
        nonlocal count, batch, keys
        service.milestones.events.put(batch, idempotency_keys=keys)
        count, batch, keys = count + len(batch), [], []

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
            batch.append(domain_event(event))
            if "idempotencyKey" in event:
                key, fingerprint = event["idempotencyKey"], event["requestFingerprint"]
                keys.append(IdempotencyKey(key, fingerprint, from_public_id(event["milestoneId"])))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise MalformedLine(number, error, count) from error
        if len(batch) == BATCH:
            record()
    if batch:
        record()
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
        fields = attributes_of(payload) | {"originator_topic": get_topic(Milestone)}
    elif kind == "Updated":
        fields["changes"] = attributes_of(payload)
    elif kind == "StatusChanged":
        fields = {
            "from_status": Status(payload["from"]),
            "to_status": Status(payload["to"]),
            "reached_at": _instant(payload["reachedAt"]),
        }
    # Who made it, exactly as recorded; a line exported before events had them has neither.
    fields |= {"actor": event.get("actor"), "request_id": event.get("requestId")}
    event_class: type[Milestone.Event] = EVENT_CLASSES[kind]
    return event_class(
        originator_id=from_public_id(event["milestoneId"]),
        originator_version=event["version"],
        timestamp=datetime.fromisoformat(event["occurredAt"]),
        **fields,
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
