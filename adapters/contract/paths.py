"""The paths of the HTTP API as its OpenAPI document tells them: a compact table.

Schemas are named here, not spelt out: they come from ``models.py``; what every operation
shares (the request id, the common headers, the optional bearer token) is added by
``openapi.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from adapters.contract.audit_chain import CheckpointQuery
from adapters.contract.examples import EXAMPLE_MILESTONE, EXAMPLE_REACHED, SCHEMA_EXAMPLES
from adapters.contract.insights import ProgressQuery
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery, NoQuery, Query
from adapters.contract.webhooks import DeliveriesQuery

Schema = dict[str, Any]
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    """One operation; what every operation shares is added by ``_operation``."""

    method: str
    operation_id: str
    tag: str
    summary: str
    description: str
    ok: str  # the success status and its description
    ok_description: str
    body: str | None = None  # the success body's schema
    request: str | None = None  # the request body's schema
    query: type[Query] = NoQuery
    headers: tuple[str, ...] = ()  # header parameters, from components.parameters
    response_headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = (400, 503)
    links: bool = False  # to the operations on the milestone in the body
    example: Any = None  # the success body's example, if not its schema's
    more: dict[str, Schema] = field(default_factory=dict)  # other responses
    bodiless: bool = False  # HEAD and OPTIONS: headers only


WRITE = ("CacheControl", "ETag")
EXAMPLE_HASH = "9f2c5e0b8d1a4f6e3c7b2a9d8e1f0c4b5a6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"
BODY_ERRORS = (400, 404, 408, 409, 412, 413, 415, 503)
MILESTONE_ID_PATHS = ("/api/milestones/{milestone_id}", "/api/milestones/{milestone_id}/history")
PROJECT_ID_PATHS = ("/api/projects/{project_id}/summary", "/api/projects/{project_id}/progress")
OPEN_PATHS = ("/health", "/ready", "/openapi.json")
TABLE: dict[str, list[Operation]] = {
    "/api/milestones": [
        Operation(
            "get", "listMilestones", "milestones", "Find milestones",
            "Live milestones, by default ordered by `createdAt`, then `id`. Filters combine "
            "with AND. With `limit`, keyset pages: follow `next` (or the `Link` header) from "
            "the first page to see every milestone that matched throughout and kept its sort "
            "key exactly once, while others are created, changed and deleted.",
            "200", "The milestones (a page of them with `limit`).", "MilestoneList",
            query=ListQuery, response_headers=("Link",),
        ),
        Operation(
            "post", "createMilestone", "milestones", "Create a milestone",
            "`reachedAt` starts null, except that a milestone created with status `reached` "
            "has `reachedAt == createdAt`.",
            "201", "Created (or, under a repeated Idempotency-Key with the same body, the "
            "milestone the first request created).", "MilestoneEnvelope", "CreateMilestone",
            headers=("IdempotencyKey",), response_headers=("Location", *WRITE),
            errors=(400, 408, 409, 413, 415, 503), links=True,
        ),
    ],
    "/api/milestones/{milestone_id}": [
        Operation(
            "get", "getMilestone", "milestones", "Get a milestone, now or as it was",
            "With `version` or `asOf`: the state after that event or at that instant, rebuilt "
            "from the events; with both, the state after event `version` if it had occurred "
            "by `asOf`. 404 if the milestone did not exist then or was already deleted.",
            "200", "The milestone.", "MilestoneEnvelope", query=MilestoneQuery,
            headers=("IfNoneMatch",), response_headers=("ETag",), errors=(400, 404, 503),
            links=True, example={"data": EXAMPLE_MILESTONE},
            more={"304": {"description": "Not modified: `If-None-Match` names the current "
                          "version.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}}},
        ),
        Operation(
            "patch", "updateMilestone", "milestones", "Update a milestone",
            "Changes any of the fields a client may set; see `UpdateMilestone`.",
            "200", "The milestone after the update.", "MilestoneEnvelope", "UpdateMilestone",
            headers=("IfMatch",), response_headers=WRITE, errors=BODY_ERRORS, links=True,
            example={"data": EXAMPLE_REACHED},
        ),
        Operation(
            "delete", "deleteMilestone", "milestones", "Delete a milestone",
            "Afterwards GET, PATCH and DELETE of it answer 404 and lists omit it; its history "
            "stays readable.",
            "200", "Deleted.", "DeletedMilestone", headers=("IfMatch",),
            response_headers=("CacheControl",), errors=(400, 404, 409, 412, 503),
        ),
    ],
    "/api/milestones/{milestone_id}/history": [
        Operation(
            "get", "getMilestoneHistory", "audit", "A milestone's events",
            "Oldest first, also after the milestone was deleted; 404 only for an id that "
            "never existed. Each event names who recorded it (`actor`) and in which request "
            "(`requestId`).",
            "200", "The events.", "History", errors=(400, 404, 503),
        ),
    ],
    "/api/events": [
        Operation(
            "get", "listEvents", "audit", "The global event feed",
            "Every event of every milestone in commit order. A consumer that follows `next` "
            "from `after=0` sees every event exactly once. `actor` finds what one caller "
            "recorded.",
            "200", "A page of the feed.", "EventFeed", query=EventsQuery,
        ),
    ],
    "/api/audit/head": [
        Operation(
            "get", "getAuditHead", "audit", "The hash chain's head",
            "The latest event in the log's SHA-256 hash chain: its position, the hash after "
            "it and when it occurred. Keep it outside this system (e.g. daily): with it, "
            "`milestones audit verify --position P --hash H` proves that no event up to it "
            "was changed, removed or inserted since.",
            "200", "The head.", "ChainHeadEnvelope", errors=(400, 503),
            example={"data": {"position": 1042, "hash": EXAMPLE_HASH,
                              "occurredAt": "2026-02-19T10:30:00.000Z"}},
        ),
    ],
    "/api/audit/checkpoint": [
        Operation(
            "get", "getAuditCheckpoint", "audit", "The hash chain at a position",
            "`h(position)`: the hash after every event up to `position` (after the last "
            "event before it, where the log has no event at `position`). 404 past the "
            "chain's head.",
            "200", "The checkpoint.", "CheckpointEnvelope", query=CheckpointQuery,
            errors=(400, 404, 503),
            example={"data": {"position": 1042, "hash": EXAMPLE_HASH}},
        ),
    ],
    "/api/projects/{project_id}/summary": [
        Operation(
            "get", "getProjectSummary", "projects", "Where a project stands now",
            "Counts by status, overdue, reached on time or late, and the milestone due next, "
            "over the project's live milestones (a write that was answered is in the next "
            "summary). A project without live milestones gets zeros and a null `nextDue`.",
            "200", "The summary.", "SummaryEnvelope", errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/progress": [
        Operation(
            "get", "getProjectProgress", "projects", "How a project stood over time",
            "The project's counts by status at the end of each interval, folded from the "
            "events: every milestone as it was then, one deleted later included. Each point "
            "equals what `?asOf=` one millisecond before `at` gives on each of the project's "
            "milestones. More than 1,000 points is a 400 naming the parameter to narrow; a "
            "project that never had a milestone gets an empty list.",
            "200", "The series.", "ProgressSeries", query=ProgressQuery, errors=(400, 503),
        ),
    ],
    "/api/webhooks": [
        Operation(
            "get", "listWebhooks", "webhooks", "List webhook subscriptions",
            "Every subscription, oldest first; secrets are never shown again.",
            "200", "The subscriptions.", "WebhookList",
        ),
        Operation(
            "post", "createWebhook", "webhooks", "Subscribe a URL to events",
            "Each matching event after this moment is POSTed to `url` as the feed shows it, "
            "signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
            "`webhook-signature`), at least once and in log order. The `secret` is shown only "
            "here.",
            "201", "Subscribed.", "NewWebhookEnvelope", "CreateWebhook",
            response_headers=("Location", "CacheControl"), errors=(400, 408, 413, 415, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}": [
        Operation(
            "get", "getWebhook", "webhooks", "Get a webhook subscription",
            "Without its secret.", "200", "The subscription.", "WebhookEnvelope",
            errors=(400, 404, 503),
        ),
        Operation(
            "patch", "updateWebhook", "webhooks", "Change a webhook subscription",
            "Any of `url`, `types`, `projectId`, `enabled`. A subscription that kept failing "
            "for the give-up time is disabled; enabling it resumes at the event where it "
            "stopped.",
            "200", "The subscription after the change.", "WebhookEnvelope", "UpdateWebhook",
            response_headers=("CacheControl",), errors=(400, 404, 408, 413, 415, 503),
        ),
        Operation(
            "delete", "deleteWebhook", "webhooks", "Delete a webhook subscription",
            "Its progress and delivery log go with it.",
            "200", "Deleted.", "DeletedWebhook", response_headers=("CacheControl",),
            errors=(400, 404, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}/deliveries": [
        Operation(
            "get", "listWebhookDeliveries", "webhooks", "A subscription's delivery log",
            "The latest attempts, newest first: the event's `position`, the `attempt` at it, "
            "when, the receiver's HTTP `status` (null if none came), the `error`, and how "
            "long it took.",
            "200", "The attempts.", "DeliveryList", query=DeliveriesQuery,
            errors=(400, 404, 503),
        ),
    ],
    "/health": [
        Operation(
            "get", "getHealth", "operations", "The process answers",
            "200 while the process runs; for liveness probes.",
            "200", "Up.", "Health", errors=(400,),
        ),
    ],
    "/ready": [
        Operation(
            "get", "getReady", "operations", "Storage reachable, read model at the log's head",
            "For readiness probes: 200 when the storage answers and the read model has every "
            "event of the log.",
            "200", "Ready; the read model's position, the log's head and the lag between "
            "them.", "Readiness", errors=(400,),
            more={"503": {"description": "Not ready.", "content": {PROBLEM_JSON: {
                "schema": {"$ref": "#/components/schemas/ReadinessProblem"},
                "example": SCHEMA_EXAMPLES["ReadinessProblem"]}}}},
        ),
    ],
    "/metrics": [
        Operation(
            "get", "getMetrics", "operations", "Prometheus metrics",
            "Requests by route, method and status; latency histograms; events appended by "
            "type; the read model's position and lag. Summed over all worker processes. A "
            "bearer token is required only when the service is configured to protect it.",
            "200", "The Prometheus text exposition format.", errors=(400,),
        ),
    ],
    "/openapi.json": [
        Operation(
            "get", "getOpenApi", "operations", "This document",
            "The OpenAPI 3.1 document of the API, generated from the service's models.",
            "200", "The document.", "OpenApiDocument", errors=(400,),
        ),
    ],
}  # fmt: skip


def protocol_operations(path: str, operations: list[Operation]) -> list[Operation]:
    """What every route answers besides its table (contract section 12): HEAD as its GET,
    without the body, and OPTIONS with the same ``Allow`` as a 405 on it."""
    derived = [
        replace(
            get,
            method="head",
            operation_id=f"{get.operation_id}Head",
            summary=f"{get.summary} (headers only)",
            description=f"The status and headers of `GET {path}`, without the body.",
            links=False,
            example=None,
            bodiless=True,
            more={
                status: {k: v for k, v in response.items() if k != "content"}
                for status, response in get.more.items()
            },
        )
        for get in operations
        if get.method == "get"
    ]
    methods = {op.method.upper() for op in [*operations, *derived]} | {"OPTIONS"}
    options = Operation(
        "options",
        f"options{_camel(path)}",
        operations[0].tag,
        "The methods of this path",
        f"`Allow` names them: {', '.join(sorted(methods))}; a 405 on this path sends the "
        "same `Allow`.",
        "204",
        "No content; the methods are in `Allow`.",
        response_headers=("Allow",),
        errors=(400, 404) if path in MILESTONE_ID_PATHS else (400,),
        bodiless=True,
    )
    return [*derived, options]


def _camel(path: str) -> str:
    words = path.replace("{milestone_id}", "one").replace(".", "/").split("/")
    return "".join(word[:1].upper() + word[1:] for word in words if word)
