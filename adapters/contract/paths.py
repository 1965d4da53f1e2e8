"""The paths of the HTTP API as its OpenAPI document tells them: a table of ``Operation``
records, one per method of a path.

Schemas are named here, not spelt out: they come from ``models.py``; what every operation
shares (the request id, the common headers, the optional bearer token) is added by
``openapi.py``.
"""

from __future__ import annotations

from adapters.contract.audit_chain import CheckpointQuery
from adapters.contract.examples import EXAMPLE_MILESTONE, EXAMPLE_REACHED
from adapters.contract.live_tail import STREAM_CONTENT, STREAMS_BUSY, StreamQuery
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery
from adapters.contract.operation import Operation
from adapters.contract.paths_operations import OPERATION_PATHS
from adapters.contract.paths_projects import PROJECT_PATHS

WRITE = ("CacheControl", "ETag")
EXAMPLE_HASH = "9f2c5e0b8d1a4f6e3c7b2a9d8e1f0c4b5a6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"
BODY_ERRORS = (400, 404, 408, 409, 412, 413, 415, 503)
MILESTONE_ID_PATHS = (
    "/api/milestones/{milestone_id}",
    "/api/milestones/{milestone_id}/history",
    "/api/milestones/{milestone_id}/schedule",
)
PROJECT_ID_PATHS = (
    "/api/projects/{project_id}/summary",
    "/api/projects/{project_id}/progress",
    "/api/projects/{project_id}/schedule",
    "/api/projects/{project_id}/changes",
)
OPEN_PATHS = ("/health", "/ready", "/openapi.json", "/docs", "/docs/{asset}", "/")
_MILESTONE_PATHS: dict[str, list[Operation]] = {
    "/api/milestones": [
        Operation(
            method="get",
            operation_id="listMilestones",
            tag="milestones",
            summary="Find milestones",
            description=(
                "Live milestones, by default ordered by `createdAt`, then `id`. Filters combine "
                "with AND. With `limit`, keyset pages: follow `next` (or the `Link` header) from "
                "the first page to see every milestone that matched throughout and kept its sort "
                "key exactly once, while others are created, changed and deleted."
            ),
            ok="200",
            ok_description="The milestones (a page of them with `limit`).",
            body="MilestoneList",
            query=ListQuery,
            response_headers=("Link",),
        ),
        Operation(
            method="post",
            operation_id="createMilestone",
            tag="milestones",
            summary="Create a milestone",
            description=(
                "`reachedAt` starts null, except that a milestone created with status `reached` "
                "has `reachedAt == createdAt`."
            ),
            ok="201",
            ok_description=(
                "Created (or, under a repeated Idempotency-Key with the same body, the milestone "
                "the first request created)."
            ),
            body="MilestoneEnvelope",
            request="CreateMilestone",
            headers=("IdempotencyKey",),
            response_headers=("Location", *WRITE),
            errors=(400, 408, 409, 413, 415, 503),
            links=True,
        ),
    ],
    "/api/milestones/{milestone_id}": [
        Operation(
            method="get",
            operation_id="getMilestone",
            tag="milestones",
            summary="Get a milestone, now or as it was",
            description=(
                "With `version` or `asOf`: the state after that event or at that instant, rebuilt "
                "from the events; with both, the state after event `version` if it had occurred by"
                " `asOf`. 404 if the milestone did not exist then or was already deleted."
            ),
            ok="200",
            ok_description="The milestone.",
            body="MilestoneEnvelope",
            query=MilestoneQuery,
            headers=("IfNoneMatch",),
            response_headers=("ETag",),
            errors=(400, 404, 503),
            links=True,
            example={"data": EXAMPLE_MILESTONE},
            more={
                "304": {
                    "description": "Not modified: `If-None-Match` names the current version.",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                }
            },
        ),
        Operation(
            method="patch",
            operation_id="updateMilestone",
            tag="milestones",
            summary="Update a milestone",
            description="Changes any of the fields a client may set; see `UpdateMilestone`.",
            ok="200",
            ok_description="The milestone after the update.",
            body="MilestoneEnvelope",
            request="UpdateMilestone",
            headers=("IfMatch",),
            response_headers=WRITE,
            errors=BODY_ERRORS,
            links=True,
            example={"data": EXAMPLE_REACHED},
        ),
        Operation(
            method="delete",
            operation_id="deleteMilestone",
            tag="milestones",
            summary="Delete a milestone",
            description=(
                "Afterwards GET, PATCH and DELETE of it answer 404 and lists omit it; its history "
                "stays readable."
            ),
            ok="200",
            ok_description="Deleted.",
            body="DeletedMilestone",
            headers=("IfMatch",),
            response_headers=("CacheControl",),
            errors=(400, 404, 409, 412, 503),
        ),
    ],
    "/api/milestones/{milestone_id}/history": [
        Operation(
            method="get",
            operation_id="getMilestoneHistory",
            tag="audit",
            summary="A milestone's events",
            description=(
                "Oldest first, also after the milestone was deleted; 404 only for an id that never"
                " existed. Each event names who recorded it (`actor`) and in which request "
                "(`requestId`)."
            ),
            ok="200",
            ok_description="The events.",
            body="History",
            errors=(400, 404, 503),
        ),
    ],
    "/api/events": [
        Operation(
            method="get",
            operation_id="listEvents",
            tag="audit",
            summary="The global event feed",
            description=(
                "Every event of every milestone in commit order. A consumer that follows `next` "
                "from `after=0` sees every event exactly once. `actor` finds what one caller "
                "recorded."
            ),
            ok="200",
            ok_description="A page of the feed.",
            body="EventFeed",
            query=EventsQuery,
            response_headers=("Link",),
        ),
    ],
    "/api/events/stream": [
        Operation(
            method="get",
            operation_id="streamEvents",
            tag="audit",
            summary="The event feed, live (Server-Sent Events)",
            description=(
                "Each new event that matches the filters, as it is committed: one message with "
                "`id: <position>`, `event: <type>` and `data: <the feed's event object>`, in log "
                "order, each exactly once per connection. The first message carries only the `id` "
                "the stream starts after, and `: keep-alive` comments come at least every 15 s. "
                "The server ends a stream after a while (`MILESTONES_STREAM_SECONDS`, default "
                "300 s) and on a restart; a client that reconnects with `Last-Event-ID` misses "
                "nothing and sees nothing twice (browsers' `EventSource` does so by itself)."
            ),
            ok="200",
            ok_description="The stream.",
            query=StreamQuery,
            headers=("LastEventId",),
            errors=(400,),
            content=STREAM_CONTENT,
            more={"503": STREAMS_BUSY},
        ),
    ],
    "/api/audit/head": [
        Operation(
            method="get",
            operation_id="getAuditHead",
            tag="audit",
            summary="The hash chain's head",
            description=(
                "The latest event in the log's SHA-256 hash chain: its position, the hash after "
                "it and when it occurred. Keep it outside this system (e.g. daily): with it, "
                "`milestones audit verify --position P --hash H` proves that no event up to it "
                "was changed, removed or inserted since."
            ),
            ok="200",
            ok_description="The head.",
            body="ChainHeadEnvelope",
            errors=(400, 503),
            example=(
                {
                    "data": {
                        "position": 1042,
                        "hash": EXAMPLE_HASH,
                        "occurredAt": "2026-02-19T10:30:00.000Z",
                    }
                }
            ),
        ),
    ],
    "/api/audit/checkpoint": [
        Operation(
            method="get",
            operation_id="getAuditCheckpoint",
            tag="audit",
            summary="The hash chain at a position",
            description=(
                "`h(position)`: the hash after every event up to `position` (after the last "
                "event before it, where the log has no event at `position`). 404 past the "
                "chain's head."
            ),
            ok="200",
            ok_description="The checkpoint.",
            body="CheckpointEnvelope",
            query=CheckpointQuery,
            errors=(400, 404, 503),
            example={"data": {"position": 1042, "hash": EXAMPLE_HASH}},
        ),
    ],
}
# The document lists the paths in this order.
TABLE = {**_MILESTONE_PATHS, **PROJECT_PATHS, **OPERATION_PATHS}
