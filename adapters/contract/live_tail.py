"""The live tail's shapes: the stream's query, and how its messages look."""

from __future__ import annotations

from adapters.contract.fields import (
    MAX_POSITION,
    ActorFilter,
    AfterParam,
    MilestoneFilter,
    ProjectFilter,
    TypeFilter,
)
from adapters.contract.models import Query, optional_field
from adapters.contract.validation import ValidationFailed

EVENT_STREAM = "text/event-stream"
LAST_EVENT_ID = "Last-Event-ID"
# What a client is told while every stream slot of the worker it reached is taken.
STREAMS_BUSY_RETRY_SECONDS = 2
EXAMPLE_DATA = (
    '{"position":42,"milestoneId":"ms_01K8ZAA7M0EEGSYBHX9HDPMYC8","version":2,'
    '"type":"StatusChanged","occurredAt":"2026-02-19T10:30:00.000Z","actor":"alice",'
    '"requestId":"5d1c0c6e-req","payload":{"from":"pending","to":"reached",'
    '"reachedAt":"2026-02-19T10:30:00.000Z"}}'
)


class StreamQuery(Query):
    """The feed's filters; where to start, unless the `Last-Event-ID` header says it."""

    after: AfterParam = optional_field(
        "Start after this position (default: the log's head, only new events). The "
        "`Last-Event-ID` header, when sent, wins."
    )
    project_id: ProjectFilter = optional_field("Only this project.")
    milestone_id: MilestoneFilter = optional_field("Only this milestone.")
    type: TypeFilter = optional_field("Only this type of event.")
    actor: ActorFilter = optional_field("Only events recorded by this actor (exact match).")


def last_event_id(value: str | None) -> int | None:
    """The position a reconnecting client names in ``Last-Event-ID``; a 400 for another value."""
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_POSITION))):
        raise _bad_header()
    position = int(text)
    if position > MAX_POSITION:
        raise _bad_header()
    return position


def _bad_header() -> ValidationFailed:
    message = f"must be a position: a whole number from 0 to {MAX_POSITION}"
    return ValidationFailed([{"field": LAST_EVENT_ID, "message": message}])


# The body as a sequence of messages, each described by the schema: clients and tools that
# read SSE check each message they parse.
STREAM_CONTENT = {
    EVENT_STREAM: {
        "schema": {
            "type": "object",
            "description": "One message of the stream: `id:`, `event:` and `data:` lines and a "
            "blank line. The first message has only `id` (where the stream starts) and `retry`; "
            "`: keep-alive` comment lines come between messages.",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "The event's position; send it back as `Last-Event-ID`.",
                },
                "event": {
                    "type": "string",
                    "description": "The event's type: `Created`, `Updated`, `StatusChanged` or "
                    "`Deleted`.",
                },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "The event as `/api/events` shows it, on one line.",
                },
                "retry": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Milliseconds to wait before reconnecting.",
                },
            },
            "required": ["id"],
        },
        "example": {"id": "42", "event": "StatusChanged", "data": EXAMPLE_DATA},
    }
}
STREAMS_BUSY = {
    "description": "This worker holds as many streams (and long polls) as it may: try again "
    "after `Retry-After` seconds. Also the answer when the storage is unreachable.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
            "example": str(STREAMS_BUSY_RETRY_SECONDS),
        }
    },
    "content": {
        "application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "this worker serves as many live streams as it may; try again shortly",
            },
        }
    },
}
