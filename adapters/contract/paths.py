"""The paths of the HTTP API as its OpenAPI document tells them: a table of ``Operation``
records, one per method of a path.

Schemas are named here, not spelt out: they come from ``models.py``; what every operation
shares (the request id, the common headers, the optional bearer token) is added by
``openapi.py``.
"""

from __future__ import annotations

from adapters.contract.audit_chain import CheckpointQuery
from adapters.contract.docs import text_content
from adapters.contract.examples import EXAMPLE_MILESTONE, EXAMPLE_REACHED, SCHEMA_EXAMPLES
from adapters.contract.insights import ProgressQuery, ProjectsQuery
from adapters.contract.live_tail import STREAM_CONTENT, STREAMS_BUSY, StreamQuery
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery
from adapters.contract.operation import PROBLEM_JSON, Operation
from adapters.contract.schedule import ChangesQuery, ProjectScheduleQuery
from adapters.contract.webhooks import DeliveriesQuery

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
TABLE: dict[str, list[Operation]] = {
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
    "/api/projects": [
        Operation(
            method="get",
            operation_id="listProjects",
            tag="projects",
            summary="List projects",
            description=(
                "Every project that has live milestones, ordered by `projectId` (by code point), "
                "with its milestones counted by status. With `limit`, keyset pages: follow `next` "
                "(or the `Link` header) from the first page to see every project that kept live "
                "milestones throughout exactly once."
            ),
            ok="200",
            ok_description="The projects (a page of them with `limit`).",
            body="ProjectList",
            query=ProjectsQuery,
            response_headers=("Link",),
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/summary": [
        Operation(
            method="get",
            operation_id="getProjectSummary",
            tag="projects",
            summary="Where a project stands now",
            description=(
                "Counts by status, overdue, reached on time or late, and the milestone due next, "
                "over the project's live milestones (a write that was answered is in the next "
                "summary). A project without live milestones gets zeros and a null `nextDue`."
            ),
            ok="200",
            ok_description="The summary.",
            body="SummaryEnvelope",
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/progress": [
        Operation(
            method="get",
            operation_id="getProjectProgress",
            tag="projects",
            summary="How a project stood over time",
            description=(
                "The project's counts by status at the end of each interval, folded from the "
                "events: every milestone as it was then, one deleted later included. Each point "
                "equals what `?asOf=` one millisecond before `at` gives on each of the project's "
                "milestones. More than 1,000 points is a 400 naming the parameter to narrow; a "
                "project that never had a milestone gets an empty list."
            ),
            ok="200",
            ok_description="The series.",
            body="ProgressSeries",
            query=ProgressQuery,
            errors=(400, 503),
        ),
    ],
    "/api/milestones/{milestone_id}/schedule": [
        Operation(
            method="get",
            operation_id="getMilestoneSchedule",
            tag="schedule",
            summary="How a milestone's due date moved",
            description=(
                "Every move of `dueDate` after creation, oldest first, with the value it came from "
                "and went to exactly as stored, the slip in seconds between their due instants (a "
                "date is its 00:00:00Z), and who moved it when. Folded from the history, so also "
                "readable after a delete; 404 only for an id that never existed."
            ),
            ok="200",
            ok_description="The schedule.",
            body="ScheduleEnvelope",
            errors=(400, 404, 503),
        ),
    ],
    "/api/projects/{project_id}/schedule": [
        Operation(
            method="get",
            operation_id="getProjectSchedule",
            tag="schedule",
            summary="How a project's due dates slipped",
            description=(
                "The project's live milestones that have or had a due date, with their original "
                "and current due dates, how often and how far they moved: the most slipped first "
                "(no slip to tell last), ties by `milestoneId`. A project without such milestones "
                "gets an empty list."
            ),
            ok="200",
            ok_description="The milestones.",
            body="ProjectSchedule",
            query=ProjectScheduleQuery,
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/changes": [
        Operation(
            method="get",
            operation_id="listProjectChanges",
            tag="schedule",
            summary="What changed in a project between two instants",
            description=(
                "Each milestone of the project with an event in `(since, until]`, by "
                "`milestoneId`: its state at both ends exactly as `?asOf=` shows it, the kind of "
                "change, the keys that differ, how many events and which actors. Keyset pages: "
                "follow `next` (or the `Link` header); without `until` the first page fixes it "
                "and the cursor carries it."
            ),
            ok="200",
            ok_description="A page of changes.",
            body="ChangeList",
            query=ChangesQuery,
            response_headers=("Link",),
            errors=(400, 503),
        ),
    ],
    "/api/webhooks": [
        Operation(
            method="get",
            operation_id="listWebhooks",
            tag="webhooks",
            summary="List webhook subscriptions",
            description="Every subscription, oldest first; secrets are never shown again.",
            ok="200",
            ok_description="The subscriptions.",
            body="WebhookList",
        ),
        Operation(
            method="post",
            operation_id="createWebhook",
            tag="webhooks",
            summary="Subscribe a URL to events",
            description=(
                "Each matching event after this moment is POSTed to `url` as the feed shows it, "
                "signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
                "`webhook-signature`), at least once and in log order. The `secret` is shown only "
                "here."
            ),
            ok="201",
            ok_description="Subscribed.",
            body="NewWebhookEnvelope",
            request="CreateWebhook",
            response_headers=("Location", "CacheControl"),
            errors=(400, 408, 413, 415, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}": [
        Operation(
            method="get",
            operation_id="getWebhook",
            tag="webhooks",
            summary="Get a webhook subscription",
            description="Without its secret.",
            ok="200",
            ok_description="The subscription.",
            body="WebhookEnvelope",
            errors=(400, 404, 503),
        ),
        Operation(
            method="patch",
            operation_id="updateWebhook",
            tag="webhooks",
            summary="Change a webhook subscription",
            description=(
                "Any of `url`, `types`, `projectId`, `enabled`. A subscription that kept failing "
                "for the give-up time is disabled; enabling it resumes at the event where it "
                "stopped."
            ),
            ok="200",
            ok_description="The subscription after the change.",
            body="WebhookEnvelope",
            request="UpdateWebhook",
            response_headers=("CacheControl",),
            errors=(400, 404, 408, 413, 415, 503),
        ),
        Operation(
            method="delete",
            operation_id="deleteWebhook",
            tag="webhooks",
            summary="Delete a webhook subscription",
            description="Its progress and delivery log go with it.",
            ok="200",
            ok_description="Deleted.",
            body="DeletedWebhook",
            response_headers=("CacheControl",),
            errors=(400, 404, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}/deliveries": [
        Operation(
            method="get",
            operation_id="listWebhookDeliveries",
            tag="webhooks",
            summary="A subscription's delivery log",
            description=(
                "The latest attempts, newest first: the event's `position`, the `attempt` at it, "
                "when, the receiver's HTTP `status` (null if none came), the `error`, and how long"
                " it took."
            ),
            ok="200",
            ok_description="The attempts.",
            body="DeliveryList",
            query=DeliveriesQuery,
            errors=(400, 404, 503),
        ),
    ],
    "/health": [
        Operation(
            method="get",
            operation_id="getHealth",
            tag="operations",
            summary="The process answers",
            description="200 while the process runs; for liveness probes.",
            ok="200",
            ok_description="Up.",
            body="Health",
            errors=(400,),
        ),
    ],
    "/ready": [
        Operation(
            method="get",
            operation_id="getReady",
            tag="operations",
            summary="Storage reachable, read model at the log's head",
            description=(
                "For readiness probes: 200 when the storage answers and the read model has every "
                "event of the log."
            ),
            ok="200",
            ok_description=(
                "Ready; the read model's position, the log's head and the lag between them."
            ),
            body="Readiness",
            errors=(400,),
            more={
                "503": {
                    "description": "Not ready.",
                    "content": {
                        PROBLEM_JSON: {
                            "schema": {"$ref": "#/components/schemas/ReadinessProblem"},
                            "example": SCHEMA_EXAMPLES["ReadinessProblem"],
                        }
                    },
                }
            },
        ),
    ],
    "/docs": [
        Operation(
            method="get",
            operation_id="getReference",
            tag="operations",
            summary="This document as an interactive reference",
            description=(
                "Swagger UI over `/openapi.json`, every file of it served by the service itself: "
                "it works offline."
            ),
            ok="200",
            ok_description="The reference page.",
            errors=(400,),
            content=text_content("text/html"),
        ),
    ],
    "/docs/{asset}": [
        Operation(
            method="get",
            operation_id="getReferenceAsset",
            tag="operations",
            summary="A file of the reference page",
            description=(
                "A style sheet, script or icon of `/docs`, from the pinned Swagger UI release."
            ),
            ok="200",
            ok_description="The file.",
            errors=(400, 404),
            content=text_content("text/css", "text/javascript", "image/png"),
        ),
    ],
    "/": [
        Operation(
            method="get",
            operation_id="getRoot",
            tag="operations",
            summary="Where to start",
            description="Redirects to the interactive reference, `/docs`.",
            ok="302",
            ok_description="Found: `Location` is `/docs`.",
            errors=(400,),
            response_headers=("Location",),
            bodiless=True,
        ),
    ],
    "/metrics": [
        Operation(
            method="get",
            operation_id="getMetrics",
            tag="operations",
            summary="Prometheus metrics",
            description=(
                "Requests by route, method and status; latency histograms; events appended by "
                "type; the read model's position and lag. Summed over all worker processes. A "
                "bearer token is required only when the service is configured to protect it."
            ),
            ok="200",
            ok_description="The Prometheus text exposition format.",
            errors=(400,),
        ),
    ],
    "/openapi.json": [
        Operation(
            method="get",
            operation_id="getOpenApi",
            tag="operations",
            summary="This document",
            description="The OpenAPI 3.1 document of the API, generated from the service's models.",
            ok="200",
            ok_description="The document.",
            body="OpenApiDocument",
            errors=(400,),
        ),
    ],
}
