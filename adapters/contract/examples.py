"""Examples in the document: the seed document's milestones, in the contract's forms.

The seed's ids ("ms_01") and second-precision timestamps predate the contract; here the ids
are UUIDv7s whose time is the example's createdAt. Tests check each against its schema.
"""

from __future__ import annotations

from typing import Any

EXAMPLE_ID = "ms_01K8ZAA7M0EEGSYBHX9HDPMYC8"
EXAMPLE_ID_2 = "ms_01KGC6WBM0EQ3TMJVCHM71YEJV"
EXAMPLE_MILESTONE: dict[str, Any] = {
    "id": EXAMPLE_ID,
    "projectId": "proj_01",
    "title": "Design Phase Complete",
    "description": "All wireframes and design specs approved by stakeholders.",
    "status": "reached",
    "dueDate": "2025-12-15T00:00:00Z",
    "reachedAt": "2025-12-12T16:00:00.000Z",
    "createdAt": "2025-11-01T09:00:00.000Z",
}
EXAMPLE_CREATE: dict[str, Any] = {
    "projectId": "proj_01",
    "title": "Beta Launch",
    "description": "Internal beta deployed to staging environment for QA.",
    "status": "pending",
    "dueDate": "2026-03-01T00:00:00Z",
}
EXAMPLE_CREATED = (
    {"id": EXAMPLE_ID_2}
    | EXAMPLE_CREATE
    | {
        "reachedAt": None,
        "createdAt": "2026-02-01T09:00:00.000Z",
    }
)
EXAMPLE_REACHED = EXAMPLE_CREATED | {"status": "reached", "reachedAt": "2026-02-19T10:30:00.000Z"}
EXAMPLE_EVENTS: list[dict[str, Any]] = [
    {
        "milestoneId": EXAMPLE_ID_2,
        "version": 1,
        "type": "Created",
        "occurredAt": "2026-02-01T09:00:00.000Z",
        "actor": "ci-deploy",
        "requestId": "3f2a9c4e8b1d4f6a9e0c7b5d2a1f8e6c",
        "payload": {k: v for k, v in EXAMPLE_CREATED.items() if k not in {"id", "createdAt"}},
    },
    {
        "milestoneId": EXAMPLE_ID_2,
        "version": 2,
        "type": "StatusChanged",
        "occurredAt": "2026-02-19T10:30:00.000Z",
        "actor": "alice@example.com",
        "requestId": "9b7e1d2c4a6f4e8d8c3b2a1f0e9d8c7b",
        "payload": {"from": "pending", "to": "reached", "reachedAt": "2026-02-19T10:30:00.000Z"},
    },
]
EXAMPLE_FEED = {"data": [{"position": 7, **EXAMPLE_EVENTS[0]}], "count": 1, "next": None}
EXAMPLE_READY = {"data": {"status": "ready", "position": 42, "head": 42, "lag": 0}}
EXAMPLE_CREATE_WEBHOOK: dict[str, Any] = {
    "url": "https://hooks.example.com/milestones",
    "types": ["StatusChanged"],
    "projectId": "proj_01",
}
EXAMPLE_WEBHOOK: dict[str, Any] = {
    "id": "wh_01KGC6WBM0EQ3TMJVCHM71YEJV",
    **EXAMPLE_CREATE_WEBHOOK,
    "enabled": True,
    "createdAt": "2026-02-01T09:00:00.000Z",
}
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4Lq6KUpMm3E="  # noqa: S105 - an example, not a key in use
EXAMPLE_DELIVERIES: list[dict[str, Any]] = [
    {"position": 8, "attempt": 2, "at": "2026-02-19T10:30:05.120Z", "status": 204,
     "error": None, "durationMs": 12.4},
    {"position": 8, "attempt": 1, "at": "2026-02-19T10:30:00.100Z", "status": 503,
     "error": "HTTP 503", "durationMs": 20.1},
]  # fmt: skip
PARAMETER_EXAMPLES = {
    "projectId": "proj_01",
    "status": "pending",
    "version": 2,
    "asOf": "2026-02-19T10:30:00Z",
    "after": 0,
    "position": 1042,
    "limit": 100,
    "wait": 25,
    "milestoneId": EXAMPLE_ID,
    "type": "StatusChanged",
    "since": "2026-02-01T00:00:00Z",
    "until": "2026-03-01T00:00:00Z",
    "dueAfter": "2026-03-01",
    "dueBefore": "2026-04-01",
    "overdue": True,
    "q": "beta lau",
    "sort": "dueDate",
    # The next of ?projectId=proj_01&sort=dueDate&limit=1 whose first page is EXAMPLE_MILESTONE.
    "cursor": "WyIyMDI1LTEyLTE1VDAwOjAwOjAwLjAwMDAwMCIsIm1zXzAxSzhaQUE3TTBFRUdTWUJIWDlIRFBNWUM4Il0"
    ".Nl0lmzvMlOQ5waeV",
    "interval": "week",
    "actor": "alice@example.com",
    "slipped": True,
}
EXAMPLE_SUMMARY = {
    "projectId": "proj_01",
    "total": 2,
    "byStatus": {"pending": 1, "in_progress": 0, "reached": 1},
    "overdue": 0,
    "reachedOnTime": 1,
    "reachedLate": 0,
    "nextDue": EXAMPLE_CREATED,
    "slipped": 1,
}
EXAMPLE_PROGRESS = [
    {"at": "2026-02-02T00:00:00.000Z", "total": 1, "pending": 1, "in_progress": 0, "reached": 0},
    {"at": "2026-02-09T00:00:00.000Z", "total": 2, "pending": 1, "in_progress": 0, "reached": 1},
]
EXAMPLE_MOVE = {
    "version": 3,
    "occurredAt": "2026-02-20T08:15:00.000Z",
    "actor": "alice@example.com",
    "requestId": "5c1e7a9d3b2f4e6a8d0c9b7a6f5e4d3c",
    "from": "2026-03-01T00:00:00Z",
    "to": "2026-03-08",
    "slipSeconds": 604800,
}
EXAMPLE_SCHEDULE = {
    "milestoneId": EXAMPLE_ID_2,
    "originalDueDate": "2026-03-01T00:00:00Z",
    "dueDate": "2026-03-08",
    "changes": 1,
    "totalSlipSeconds": 604800,
    "moves": [EXAMPLE_MOVE],
}
EXAMPLE_SLIPPED = {
    "milestoneId": EXAMPLE_ID_2,
    "title": "Beta Launch",
    "status": "reached",
    **{key: EXAMPLE_SCHEDULE[key] for key in ("originalDueDate", "dueDate", "changes")},
    "totalSlipSeconds": 604800,
}
EXAMPLE_CHANGE = {
    "milestoneId": EXAMPLE_ID_2,
    "kind": "changed",
    "fields": ["status", "reachedAt"],
    "before": EXAMPLE_CREATED,
    "after": EXAMPLE_REACHED,
    "events": 1,
    "actors": ["alice@example.com"],
}
# Each named schema's example; each body's example is one of these.
SCHEMA_EXAMPLES: dict[str, Any] = {
    "Milestone": EXAMPLE_MILESTONE,
    "CreateMilestone": EXAMPLE_CREATE,
    "UpdateMilestone": {"status": "reached"},
    "MilestoneEnvelope": {"data": EXAMPLE_CREATED},
    "MilestoneList": {"data": [EXAMPLE_MILESTONE], "count": 1},
    "DeletedMilestone": {"data": {"id": EXAMPLE_ID, "deleted": True}},
    "History": {"data": EXAMPLE_EVENTS, "count": 2},
    "EventFeed": EXAMPLE_FEED,
    "SummaryEnvelope": {"data": EXAMPLE_SUMMARY},
    "ProjectList": {
        "data": [
            {
                "projectId": "proj_01",
                "total": 3,
                "byStatus": {"pending": 1, "in_progress": 1, "reached": 1},
            }
        ],
        "count": 1,
        "next": None,
    },
    "ProgressSeries": {"data": EXAMPLE_PROGRESS, "count": 2},
    "ScheduleEnvelope": {"data": EXAMPLE_SCHEDULE},
    "ProjectSchedule": {"data": [EXAMPLE_SLIPPED], "count": 1},
    "ChangeList": {"data": [EXAMPLE_CHANGE], "count": 1, "next": None},
    "Health": {"data": {"status": "ok"}},
    "Readiness": EXAMPLE_READY,
    "ReadinessProblem": {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the read model is 3 events behind",
        "position": 39,
        "head": 42,
        "lag": 3,
    },
    "CreateWebhook": EXAMPLE_CREATE_WEBHOOK,
    "UpdateWebhook": {"enabled": True},
    "Webhook": EXAMPLE_WEBHOOK,
    "NewWebhookEnvelope": {"data": EXAMPLE_WEBHOOK | {"secret": EXAMPLE_SECRET}},
    "WebhookEnvelope": {"data": EXAMPLE_WEBHOOK},
    "WebhookList": {"data": [EXAMPLE_WEBHOOK], "count": 1},
    "DeletedWebhook": {"data": {"id": EXAMPLE_WEBHOOK["id"], "deleted": True}},
    "DeliveryList": {"data": EXAMPLE_DELIVERIES, "count": 2},
    "OpenApiDocument": {"openapi": "3.1.0", "info": {"title": "Milestones API"}, "paths": {}},
}
