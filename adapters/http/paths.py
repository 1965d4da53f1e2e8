"""The paths of the HTTP API as its OpenAPI document tells them: a compact table.

Schemas are named here, not spelt out: they come from ``models.py``; what every operation
shares (the request id, the common headers, the optional bearer token) is added by
``openapi.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from adapters.http.examples import EXAMPLE_MILESTONE, EXAMPLE_REACHED, SCHEMA_EXAMPLES
from adapters.http.models import EventsQuery, ListQuery, MilestoneQuery, NoQuery, Query

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
BODY_ERRORS = (400, 404, 408, 409, 412, 413, 415, 503)
MILESTONE_ID_PATHS = ("/api/milestones/{milestone_id}", "/api/milestones/{milestone_id}/history")
OPEN_PATHS = ("/health", "/ready", "/openapi.json")
TABLE: dict[str, list[Operation]] = {
    "/api/milestones": [
        Operation(
            "get", "listMilestones", "milestones", "List milestones",
            "Live milestones ordered by `createdAt`, then `id`.",
            "200", "The milestones.", "MilestoneList", query=ListQuery,
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
            "never existed.",
            "200", "The events.", "History", errors=(400, 404, 503),
        ),
    ],
    "/api/events": [
        Operation(
            "get", "listEvents", "audit", "The global event feed",
            "Every event of every milestone in commit order. A consumer that follows `next` "
            "from `after=0` sees every event exactly once.",
            "200", "A page of the feed.", "EventFeed", query=EventsQuery,
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
