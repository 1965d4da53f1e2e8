"""The OpenAPI 3.1 document of the whole HTTP API, built in code and served at /openapi.json.

The document is the project's own statement of ``shared/spec/contract.md``: every route,
parameter, body, header and problem response. Tests keep it true: the route-coverage test
compares it with the app's router, and the fuzz tests hold the running service to it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import falcon

Schema = dict[str, Any]

MAX_POSITION = 2**62
MAX_PAGE = 1000

# ``ms_`` and a 128-bit UUIDv7 in Crockford base32: 26 digits, the first carrying 3 bits.
MILESTONE_ID_PATTERN = r"^ms_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
# Character classes are spelled out: in some regex dialects ``\d`` and ``\s`` are Unicode-wide.
_YEAR_MONTH_DAY = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
# What a client may send: a date-time with an offset or Z, seconds and fraction optional.
DATE_TIME_INPUT_PATTERN = f"^{_YEAR_MONTH_DAY}T{_TIME}{_OFFSET}$"
# dueDate: an ISO 8601 date or such a date-time.
DUE_DATE_PATTERN = f"^{_YEAR_MONTH_DAY}(T{_TIME}{_OFFSET})?$"
# What the service writes: UTC, millisecond precision, Z.
INSTANT_PATTERN = rf"^{_YEAR_MONTH_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{{3}}Z$"
# A one-line text (projectId, title): no control characters (C0, DEL, C1), and at least one
# character that is not white space as Python's str.strip() sees it.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_NON_CONTROL_SPACE = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
LINE_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_NON_CONTROL_SPACE}][^{_CONTROL}]*$"
# A multi-line text (description): no control characters but tab, line feed and return.
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# Idempotency-Key: 1 to 255 printable ASCII characters.
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]+$"
REQUEST_ID_PATTERN = r"^[\x20-\x7e]{1,128}$"
ETAG_PATTERN = r'^"[1-9][0-9]*"$'

STATUSES = ["pending", "in_progress", "reached"]
EVENT_TYPES = ["Created", "Updated", "StatusChanged", "Deleted"]

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

# Examples, taken from the seed document (milestones-api.md). The seed's ids ("ms_01") and
# second-precision timestamps predate the contract; here they are in the contract's forms.
# UUIDv7 ids whose time is the example's createdAt.
EXAMPLE_ID = "ms_01K8ZAA7M0EEGSYBHX9HDPMYC8"
EXAMPLE_ID_2 = "ms_01KGC6WBM0EQ3TMJVCHM71YEJV"
EXAMPLE_MILESTONE: Schema = {
    "id": EXAMPLE_ID,
    "projectId": "proj_01",
    "title": "Design Phase Complete",
    "description": "All wireframes and design specs approved by stakeholders.",
    "status": "reached",
    "dueDate": "2025-12-15T00:00:00Z",
    "reachedAt": "2025-12-12T16:00:00.000Z",
    "createdAt": "2025-11-01T09:00:00.000Z",
}
EXAMPLE_CREATE: Schema = {
    "projectId": "proj_01",
    "title": "Beta Launch",
    "description": "Internal beta deployed to staging environment for QA.",
    "status": "pending",
    "dueDate": "2026-03-01T00:00:00Z",
}
EXAMPLE_CREATED: Schema = {
    "id": EXAMPLE_ID_2,
    **EXAMPLE_CREATE,
    "reachedAt": None,
    "createdAt": "2026-02-01T09:00:00.000Z",
}
EXAMPLE_REACHED: Schema = EXAMPLE_CREATED | {
    "status": "reached",
    "reachedAt": "2026-02-19T10:30:00.000Z",
}


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> Schema:
    return _ref("schemas", name)


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [{"type": "null"}, schema]}


def _object(
    properties: dict[str, Schema], required: list[str] | None = None, **extra: Any
) -> Schema:
    """A closed object: no properties beyond those named."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema | extra


def _content(schema: Schema, media_type: str = JSON, **examples: Any) -> Schema:
    media: Schema = {"schema": schema}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {media_type: media}


# --- Schemas -------------------------------------------------------------------------------


def _field_schemas() -> dict[str, Schema]:
    return {
        "MilestoneId": {
            "type": "string",
            "pattern": MILESTONE_ID_PATTERN,
            "description": "`ms_` and a UUIDv7 in Crockford base32: ids sort in creation "
            "order and are never reused.",
            "examples": [EXAMPLE_ID],
        },
        "ProjectId": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": LINE_PATTERN,
            "description": "1 to 100 characters, not all white space, no control characters.",
            "examples": ["proj_01"],
        },
        "Title": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": LINE_PATTERN,
            "description": "1 to 200 characters, not all white space, no control characters.",
            "examples": ["Beta Launch"],
        },
        "Description": {
            "type": "string",
            "maxLength": 10_000,
            "pattern": MULTILINE_PATTERN,
            "description": "Up to 10,000 characters; no control characters but tab, line "
            "feed and carriage return.",
            "examples": ["Internal beta deployed to staging environment for QA."],
        },
        "Status": {"type": "string", "enum": STATUSES, "examples": ["pending"]},
        "DueDate": {
            "type": ["string", "null"],
            "pattern": DUE_DATE_PATTERN,
            "description": "An ISO 8601 date, or a date-time with an offset or `Z` (seconds "
            "and fraction optional), or null. Echoed back exactly as sent.",
            "examples": ["2026-03-01", "2026-03-01T00:00:00Z", None],
        },
        "DateTimeInput": {
            "type": "string",
            "pattern": DATE_TIME_INPUT_PATTERN,
            "description": "An ISO 8601 date-time with an offset or `Z`; seconds and fraction "
            "optional. It must lie between 0001-01-01T00:00Z and 9999-12-31T23:59:59.999Z.",
            "examples": ["2026-02-19T10:30:00Z"],
        },
        "Instant": {
            "type": "string",
            "pattern": INSTANT_PATTERN,
            "description": "A time the service wrote: UTC, millisecond precision, `Z`.",
            "examples": ["2026-02-19T10:30:00.000Z"],
        },
        "Version": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
        "Position": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
        "Count": {"type": "integer", "minimum": 0},
    }


def _ignored(why: str) -> Schema:
    return {
        "description": f"Ignored: {why}. Accepted so that a client can send back a whole "
        "milestone; the response shows the stored value."
    }


def _milestone_schemas() -> dict[str, Schema]:
    return {
        "Milestone": _object(
            {
                "id": _schema("MilestoneId"),
                "projectId": _schema("ProjectId"),
                "title": _schema("Title"),
                "description": _schema("Description"),
                "status": _schema("Status"),
                "dueDate": _schema("DueDate"),
                "reachedAt": _nullable(_schema("Instant")),
                "createdAt": _schema("Instant"),
            },
            [
                "id",
                "projectId",
                "title",
                "description",
                "status",
                "dueDate",
                "reachedAt",
                "createdAt",
            ],
            description="A milestone: exactly these eight keys, in this order. Its version "
            "travels in the `ETag` header.",
            examples=[EXAMPLE_MILESTONE],
        ),
        "CreateMilestone": _object(
            {
                "projectId": _schema("ProjectId"),
                "title": _schema("Title"),
                "description": _schema("Description") | {"default": ""},
                "status": _schema("Status") | {"default": "pending"},
                "dueDate": _schema("DueDate") | {"default": None},
                "id": _ignored("ids are assigned by the service"),
                "createdAt": _ignored("createdAt is the time of the Created event"),
                "reachedAt": _ignored(
                    "a milestone created as reached has reachedAt == createdAt, else null"
                ),
            },
            ["projectId", "title"],
            description="Any other key is a 400.",
            examples=[EXAMPLE_CREATE],
        ),
        "UpdateMilestone": _object(
            {
                "title": _schema("Title"),
                "description": _schema("Description"),
                "status": _schema("Status"),
                "dueDate": _schema("DueDate"),
                "reachedAt": _nullable(_schema("DateTimeInput")),
                "id": _ignored("ids never change"),
                "createdAt": _ignored("createdAt never changes"),
                "projectId": _ignored("a milestone stays in its project"),
            },
            description="Any subset of the fields; a field sent with its current value is "
            "no change, and a PATCH that changes nothing records nothing. When `status` "
            "becomes `reached` and `reachedAt` is null, `reachedAt` becomes the time of that "
            "StatusChanged event. Any other key is a 400.",
            examples=[{"status": "reached"}],
        ),
        "MilestoneEnvelope": _object(
            {"data": _schema("Milestone")},
            ["data"],
            examples=[{"data": EXAMPLE_MILESTONE}],
        ),
        "MilestoneList": _object(
            {"data": {"type": "array", "items": _schema("Milestone")}, "count": _schema("Count")},
            ["data", "count"],
            description="`count` is the length of `data`.",
            examples=[{"data": [EXAMPLE_MILESTONE], "count": 1}],
        ),
        "DeletedMilestone": _object(
            {
                "data": _object(
                    {"id": _schema("MilestoneId"), "deleted": {"const": True}},
                    ["id", "deleted"],
                )
            },
            ["data"],
            examples=[{"data": {"id": EXAMPLE_ID, "deleted": True}}],
        ),
    }


_PAYLOADS: dict[str, Schema] = {
    "Created": _object(
        {
            "projectId": _schema("ProjectId"),
            "title": _schema("Title"),
            "description": _schema("Description"),
            "status": _schema("Status"),
            "dueDate": _schema("DueDate"),
            "reachedAt": _nullable(_schema("Instant")),
        },
        ["projectId", "title", "description", "status", "dueDate", "reachedAt"],
        description="Every initial field.",
    ),
    "Updated": _object(
        {
            "title": _schema("Title"),
            "description": _schema("Description"),
            "dueDate": _schema("DueDate"),
            "reachedAt": _nullable(_schema("Instant")),
        },
        minProperties=1,
        description="Only the changed fields, with their new values.",
    ),
    "StatusChanged": _object(
        {
            "from": _schema("Status"),
            "to": _schema("Status"),
            "reachedAt": _nullable(_schema("Instant")),
        },
        ["from", "to", "reachedAt"],
    ),
    "Deleted": _object({}, maxProperties=0),
}


def _event_variant(kind: str, *, in_feed: bool) -> Schema:
    properties: dict[str, Schema] = {
        "milestoneId": _schema("MilestoneId"),
        "version": _schema("Version"),
        "type": {"const": kind},
        "occurredAt": _schema("Instant"),
        "payload": _schema(f"{kind}Payload"),
    }
    required = ["milestoneId", "version", "type", "occurredAt", "payload"]
    if in_feed:
        properties = {"position": _schema("Position")} | properties
        required = ["position", *required]
    return _object(properties, required)


EXAMPLE_EVENTS: list[Schema] = [
    {
        "milestoneId": EXAMPLE_ID_2,
        "version": 1,
        "type": "Created",
        "occurredAt": "2026-02-01T09:00:00.000Z",
        "payload": {
            "projectId": "proj_01",
            "title": "Beta Launch",
            "description": "Internal beta deployed to staging environment for QA.",
            "status": "pending",
            "dueDate": "2026-03-01T00:00:00Z",
            "reachedAt": None,
        },
    },
    {
        "milestoneId": EXAMPLE_ID_2,
        "version": 2,
        "type": "StatusChanged",
        "occurredAt": "2026-02-19T10:30:00.000Z",
        "payload": {"from": "pending", "to": "reached", "reachedAt": "2026-02-19T10:30:00.000Z"},
    },
]


def _event_schemas() -> dict[str, Schema]:
    schemas: dict[str, Schema] = {
        "EventType": {"type": "string", "enum": EVENT_TYPES},
        **{f"{kind}Payload": payload for kind, payload in _PAYLOADS.items()},
        "Event": {
            "oneOf": [_event_variant(kind, in_feed=False) for kind in EVENT_TYPES],
            "description": "One event of a milestone's stream; `version` counts from 1.",
            "examples": EXAMPLE_EVENTS,
        },
        "FeedEvent": {
            "oneOf": [_event_variant(kind, in_feed=True) for kind in EVENT_TYPES],
            "description": "An event with its global `position` in commit order.",
            "examples": [{"position": 7, **EXAMPLE_EVENTS[0]}],
        },
        "History": _object(
            {"data": {"type": "array", "items": _schema("Event")}, "count": _schema("Count")},
            ["data", "count"],
            description="A milestone's events, oldest first.",
            examples=[{"data": EXAMPLE_EVENTS, "count": 2}],
        ),
        "EventFeed": _object(
            {
                "data": {"type": "array", "items": _schema("FeedEvent")},
                "count": _schema("Count"),
                "next": _nullable(_schema("Position")),
            },
            ["data", "count", "next"],
            description="`next` is the `after` of the next page, or null at the end.",
            examples=[
                {
                    "data": [
                        {"position": 7, **EXAMPLE_EVENTS[0]},
                        {"position": 9, **EXAMPLE_EVENTS[1]},
                    ],
                    "count": 2,
                    "next": None,
                }
            ],
        ),
    }
    return schemas


def _operations_schemas() -> dict[str, Schema]:
    return {
        "Health": _object(
            {"data": _object({"status": {"const": "ok"}}, ["status"])},
            ["data"],
            examples=[{"data": {"status": "ok"}}],
        ),
        "Readiness": _object(
            {
                "data": _object(
                    {
                        "status": {"const": "ready"},
                        "position": {"type": "integer", "minimum": 0},
                        "head": {"type": "integer", "minimum": 0},
                        "lag": {"type": "integer"},
                    },
                    ["status", "position", "head", "lag"],
                )
            },
            ["data"],
            examples=[{"data": {"status": "ready", "position": 42, "head": 42, "lag": 0}}],
        ),
    }


_PROBLEM_PROPERTIES: dict[str, Schema] = {
    "type": {"type": "string", "format": "uri-reference", "examples": ["about:blank"]},
    "title": {"type": "string", "description": "The status code's reason phrase."},
    "status": {"type": "integer", "minimum": 400, "maximum": 599},
    "detail": {"type": "string"},
    "errors": {
        "type": "array",
        "minItems": 1,
        "items": _object(
            {
                "field": {
                    "type": "string",
                    "description": "A body field, a query parameter or a header; empty for "
                    "the body as a whole.",
                },
                "message": {"type": "string"},
            },
            ["field", "message"],
        ),
        "description": "On a validation failure: every bad field.",
    },
}


def _problem_schemas() -> dict[str, Schema]:
    return {
        "Problem": _object(
            _PROBLEM_PROPERTIES,
            ["type", "title", "status", "detail"],
            description="RFC 9457 problem details.",
            examples=[
                {
                    "type": "about:blank",
                    "title": "Bad Request",
                    "status": 400,
                    "detail": "status: must be one of pending, in_progress, reached",
                    "errors": [
                        {
                            "field": "status",
                            "message": "must be one of pending, in_progress, reached",
                        }
                    ],
                }
            ],
        ),
        "ReadinessProblem": _object(
            _PROBLEM_PROPERTIES
            | {
                "position": {"type": "integer", "minimum": 0},
                "head": {"type": "integer", "minimum": 0},
                "lag": {"type": "integer"},
            },
            ["type", "title", "status", "detail"],
            description="Not ready: storage unreachable, or the read model behind the log.",
        ),
    }


# --- Parameters, headers and responses -----------------------------------------------------


def _query(name: str, schema: Schema, description: str, example: Any = None) -> Schema:
    parameter: Schema = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description + " Given at most once; an empty value is a 400.",
        "schema": schema,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def _parameters() -> dict[str, Schema]:
    return {
        "MilestoneIdPath": {
            "name": "milestone_id",
            "in": "path",
            "required": True,
            "description": "The milestone's id; any other text is a 404.",
            "schema": _schema("MilestoneId"),
            "example": EXAMPLE_ID,
        },
        "IfMatch": {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": 'Entity tags (`"<version>"`, comma-separated) or `*`. If none '
            "matches the current version, the write is refused with 412 and changes "
            "nothing. Weak tags never match.",
            "schema": {"type": "string"},
            "example": '"1"',
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "A repeat with the same key and the same body returns the first "
            "milestone (201, same id) and creates nothing; the same key with another body "
            "is a 409.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": IDEMPOTENCY_KEY_PATTERN,
            },
            "example": "5d1c0c6e",
        },
        "IfNoneMatch": {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "Entity tags or `*`: if one names the current version (weak "
            "comparison), the answer is 304 without a body. Ignored with `version` or `asOf`.",
            "schema": {"type": "string"},
            "example": '"1"',
        },
        "RequestId": {
            "name": "X-Request-Id",
            "in": "header",
            "required": False,
            "description": "Echoed in the response's `X-Request-Id` when it is 1 to 128 "
            "printable ASCII characters; otherwise the service makes up one.",
            "schema": {"type": "string"},
            "example": "5d1c0c6e-req",
        },
        "ProjectIdFilter": _query(
            "projectId", {"type": "string", "minLength": 1}, "Only this project.", "proj_01"
        ),
    }


def _headers() -> dict[str, Schema]:
    return {
        "ETag": {
            "description": 'The milestone\'s version as a strong entity tag: `"<version>"`.',
            "required": True,
            "schema": {"type": "string", "pattern": ETAG_PATTERN},
            "example": '"1"',
        },
        "Location": {
            "description": "The created milestone.",
            "required": True,
            "schema": {
                "type": "string",
                "pattern": "^/api/milestones/ms_[0-7][0-9A-HJKMNP-TV-Z]{25}$",
            },
            "example": f"/api/milestones/{EXAMPLE_ID}",
        },
        "Allow": {
            "description": "The methods the resource supports.",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
            "example": "GET, POST",
        },
        "RequestId": {
            "description": "The request's id: the client's `X-Request-Id`, or one made up.",
            "required": True,
            "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
            "example": "5d1c0c6e-req",
        },
        "ContentTypeOptions": {
            "description": "Browsers are not to sniff the content type.",
            "required": True,
            "schema": {"const": "nosniff"},
            "example": "nosniff",
        },
        "WWWAuthenticate": {
            "description": "The scheme to authenticate with.",
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer "},
            "example": 'Bearer realm="milestones"',
        },
        "CacheControl": {
            "description": "Write responses are not to be cached.",
            "required": False,
            "schema": {"type": "string", "pattern": "no-store"},
            "example": "no-store",
        },
    }


def _problem_response(status: int, description: str, example_detail: str) -> Schema:
    schema = {"allOf": [_schema("Problem"), {"properties": {"status": {"const": status}}}]}
    example = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": example_detail,
    }
    return {"description": description, "content": _content(schema, PROBLEM_JSON, problem=example)}


def _responses() -> dict[str, Schema]:
    bad_request = _problem_response(
        400,
        "The request breaks the contract: malformed JSON, a body that is not an object, "
        "wrong types, missing or empty required fields, unknown fields, bad enum or date "
        "values, bad query or header values. `errors` names every bad field. Nothing was "
        "recorded.",
        "title: must not be empty",
    )
    bad_request["content"][PROBLEM_JSON]["examples"]["problem"]["value"]["errors"] = [
        {"field": "title", "message": "must not be empty"}
    ]
    method_not_allowed = _problem_response(
        405,
        "The path exists but not with this method (every method that a path does not list "
        "here). `Allow` names the methods it supports.",
        "The method is not allowed for the requested resource.",
    )
    method_not_allowed["headers"] = {"Allow": _ref("headers", "Allow")}
    unauthorized = _problem_response(
        401,
        "Only when the service is configured with API tokens: no `Authorization: Bearer "
        "<token>`, or an unknown token.",
        "a valid bearer token is required",
    )
    unauthorized["headers"] = {"WWW-Authenticate": _ref("headers", "WWWAuthenticate")}
    return {
        "BadRequest": bad_request,
        "Unauthorized": unauthorized,
        "Forbidden": _problem_response(
            403,
            "Only when the service is configured with API tokens: a read-only token may not "
            "write. Nothing was recorded.",
            "this token may only read",
        ),
        "RequestTimeout": _problem_response(
            408,
            "The client stopped sending the body for longer than the service waits. Nothing "
            "was recorded.",
            "the body did not arrive within 10 s",
        ),
        "NotFound": _problem_response(
            404,
            "No milestone has this id (or had it at the requested version or time), or no "
            "route has this path.",
            "no milestone has this id",
        ),
        "MethodNotAllowed": method_not_allowed,
        "Conflict": _problem_response(
            409,
            "The Idempotency-Key was used with another body, or the write kept losing the "
            "race with other writers. Nothing was recorded.",
            "this Idempotency-Key was used with a different request body",
        ),
        "PreconditionFailed": _problem_response(
            412,
            "If-Match names no tag of the current version. Nothing was recorded.",
            "If-Match does not match the current version 2",
        ),
        "ContentTooLarge": _problem_response(
            413, "The body is over 64 KiB. Nothing was recorded.", "the body must be at most 64 KiB"
        ),
        "UnsupportedMediaType": _problem_response(
            415,
            "The body has a content type other than JSON (`application/json` or `*/*+json`; "
            "a missing content type is read as JSON). Nothing was recorded.",
            "the body must be application/json",
        ),
        "StorageUnavailable": _problem_response(
            503,
            "The storage is busy (a writer's lock was not released in time) or unreachable. "
            "Nothing was recorded; the request may be retried.",
            "the storage is busy or unreachable",
        ),
    }


def _errors(*names: str) -> dict[str, Schema]:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "RequestTimeout": "408",
        "NotFound": "404",
        "Conflict": "409",
        "PreconditionFailed": "412",
        "ContentTooLarge": "413",
        "UnsupportedMediaType": "415",
        "StorageUnavailable": "503",
    }
    return {codes[name]: _ref("responses", name) for name in names}


def _write_headers(*, etag: bool) -> dict[str, Schema]:
    headers = {"Cache-Control": _ref("headers", "CacheControl")}
    if etag:
        headers["ETag"] = _ref("headers", "ETag")
    return headers


def _links(*, with_etag: bool) -> dict[str, Schema]:
    """From a response whose body is one milestone to the operations on that milestone."""
    target = {"milestone_id": "$response.body#/data/id"}
    links: dict[str, Schema] = {
        "GetMilestone": {"operationId": "getMilestone", "parameters": target},
        "UpdateMilestone": {"operationId": "updateMilestone", "parameters": target},
        "DeleteMilestone": {"operationId": "deleteMilestone", "parameters": target},
        "GetMilestoneHistory": {"operationId": "getMilestoneHistory", "parameters": target},
    }
    if with_etag:
        links["GetMilestoneIfNoneMatch"] = {
            "operationId": "getMilestone",
            "parameters": target | {"header.If-None-Match": "$response.header.ETag"},
            "description": "A conditional read: 304 while the milestone is at this version.",
        }
        conditional = target | {"header.If-Match": "$response.header.ETag"}
        links["UpdateMilestoneIfMatch"] = {
            "operationId": "updateMilestone",
            "parameters": conditional,
            "description": "A conditional update of the version this response shows.",
        }
        links["DeleteMilestoneIfMatch"] = {
            "operationId": "deleteMilestone",
            "parameters": conditional,
            "description": "A conditional delete of the version this response shows.",
        }
    return links


# --- Paths ---------------------------------------------------------------------------------


def _milestones_path() -> Schema:
    return {
        "get": {
            "operationId": "listMilestones",
            "tags": ["milestones"],
            "summary": "List milestones",
            "description": "Live milestones ordered by `createdAt`, then `id`. Unknown query "
            "parameters are ignored.",
            "parameters": [
                _ref("parameters", "ProjectIdFilter"),
                _query("status", _schema("Status"), "Only milestones in this status.", "pending"),
            ],
            "responses": {
                "200": {
                    "description": "The milestones.",
                    "content": _content(
                        _schema("MilestoneList"),
                        seed={"data": [EXAMPLE_MILESTONE], "count": 1},
                    ),
                },
                **_errors("BadRequest", "StorageUnavailable"),
            },
        },
        "post": {
            "operationId": "createMilestone",
            "tags": ["milestones"],
            "summary": "Create a milestone",
            "description": "`reachedAt` starts null, except that a milestone created with "
            "status `reached` has `reachedAt == createdAt`.",
            "parameters": [_ref("parameters", "IdempotencyKey")],
            "requestBody": {
                "required": True,
                "content": _content(_schema("CreateMilestone"), betaLaunch=EXAMPLE_CREATE),
            },
            "responses": {
                "201": {
                    "description": "Created (or, under a repeated Idempotency-Key with the "
                    "same body, the milestone the first request created).",
                    "headers": {
                        "Location": _ref("headers", "Location"),
                        **_write_headers(etag=True),
                    },
                    "content": _content(
                        _schema("MilestoneEnvelope"), betaLaunch={"data": EXAMPLE_CREATED}
                    ),
                    "links": _links(with_etag=True),
                },
                **_errors(
                    "BadRequest",
                    "RequestTimeout",
                    "Conflict",
                    "ContentTooLarge",
                    "UnsupportedMediaType",
                    "StorageUnavailable",
                ),
            },
        },
    }


def _milestone_path() -> Schema:
    return {
        "parameters": [_ref("parameters", "MilestoneIdPath")],
        "get": {
            "operationId": "getMilestone",
            "tags": ["milestones"],
            "summary": "Get a milestone, now or as it was",
            "description": "With `version` or `asOf` (not both): the state after that event "
            "or at that instant, rebuilt from the events; 404 if the milestone did not exist "
            "then or was already deleted.",
            "parameters": [
                _query(
                    "version",
                    _schema("Version"),
                    "The state after this event of the milestone's stream; a version beyond "
                    "the stream is a 400.",
                    2,
                ),
                _query(
                    "asOf",
                    _schema("DateTimeInput"),
                    "The state at this instant (inclusive: an event that occurred at it is "
                    "part of the state).",
                    "2026-02-19T10:30:00Z",
                ),
                _ref("parameters", "IfNoneMatch"),
            ],
            "responses": {
                "200": {
                    "description": "The milestone.",
                    "headers": {"ETag": _ref("headers", "ETag")},
                    "content": _content(
                        _schema("MilestoneEnvelope"), seed={"data": EXAMPLE_MILESTONE}
                    ),
                    "links": _links(with_etag=True),
                },
                "304": {
                    "description": "Not modified: `If-None-Match` names the current version.",
                    "headers": {"ETag": _ref("headers", "ETag")},
                },
                **_errors("BadRequest", "NotFound", "StorageUnavailable"),
            },
        },
        "patch": {
            "operationId": "updateMilestone",
            "tags": ["milestones"],
            "summary": "Update a milestone",
            "parameters": [_ref("parameters", "IfMatch")],
            "requestBody": {
                "required": True,
                "content": _content(_schema("UpdateMilestone"), reach={"status": "reached"}),
            },
            "responses": {
                "200": {
                    "description": "The milestone after the update.",
                    "headers": _write_headers(etag=True),
                    "content": _content(
                        _schema("MilestoneEnvelope"), reached={"data": EXAMPLE_REACHED}
                    ),
                    "links": _links(with_etag=True),
                },
                **_errors(
                    "BadRequest",
                    "NotFound",
                    "RequestTimeout",
                    "Conflict",
                    "PreconditionFailed",
                    "ContentTooLarge",
                    "UnsupportedMediaType",
                    "StorageUnavailable",
                ),
            },
        },
        "delete": {
            "operationId": "deleteMilestone",
            "tags": ["milestones"],
            "summary": "Delete a milestone",
            "description": "Afterwards GET, PATCH and DELETE of it answer 404 and lists omit "
            "it; its history stays readable.",
            "parameters": [_ref("parameters", "IfMatch")],
            "responses": {
                "200": {
                    "description": "Deleted.",
                    "headers": _write_headers(etag=False),
                    "content": _content(
                        _schema("DeletedMilestone"),
                        seed={"data": {"id": EXAMPLE_ID, "deleted": True}},
                    ),
                    "links": {
                        "GetMilestoneHistory": {
                            "operationId": "getMilestoneHistory",
                            "parameters": {"milestone_id": "$response.body#/data/id"},
                        }
                    },
                },
                **_errors("NotFound", "Conflict", "PreconditionFailed", "StorageUnavailable"),
            },
        },
    }


def _history_path() -> Schema:
    return {
        "parameters": [_ref("parameters", "MilestoneIdPath")],
        "get": {
            "operationId": "getMilestoneHistory",
            "tags": ["audit"],
            "summary": "A milestone's events",
            "description": "Oldest first, also after the milestone was deleted; 404 only for "
            "an id that never existed.",
            "responses": {
                "200": {
                    "description": "The events.",
                    "content": _content(
                        _schema("History"), history={"data": EXAMPLE_EVENTS, "count": 2}
                    ),
                },
                **_errors("NotFound", "StorageUnavailable"),
            },
        },
    }


def _events_path() -> Schema:
    return {
        "get": {
            "operationId": "listEvents",
            "tags": ["audit"],
            "summary": "The global event feed",
            "description": "Every event of every milestone in commit order. A consumer that "
            "follows `next` from `after=0` sees every event exactly once.",
            "parameters": [
                _query(
                    "after",
                    {"type": "integer", "minimum": 0, "maximum": MAX_POSITION, "default": 0},
                    "Only events after this position.",
                    0,
                ),
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
                    "At most this many events.",
                    100,
                ),
                _ref("parameters", "ProjectIdFilter"),
                _query("milestoneId", _schema("MilestoneId"), "Only this milestone.", EXAMPLE_ID),
                _query("type", _schema("EventType"), "Only this type of event.", "StatusChanged"),
                _query(
                    "since",
                    _schema("DateTimeInput"),
                    "Only events that occurred at or after this instant.",
                    "2026-02-01T00:00:00Z",
                ),
                _query(
                    "until",
                    _schema("DateTimeInput"),
                    "Only events that occurred at or before this instant.",
                    "2026-03-01T00:00:00Z",
                ),
            ],
            "responses": {
                "200": {
                    "description": "A page of the feed.",
                    "content": _content(
                        _schema("EventFeed"),
                        page={
                            "data": [{"position": 7, **EXAMPLE_EVENTS[0]}],
                            "count": 1,
                            "next": None,
                        },
                    ),
                },
                **_errors("BadRequest", "StorageUnavailable"),
            },
        },
    }


def _operations_paths() -> dict[str, Schema]:
    return {
        "/health": {
            "get": {
                "operationId": "getHealth",
                "tags": ["operations"],
                "summary": "The process answers",
                "responses": {
                    "200": {
                        "description": "Up.",
                        "content": _content(_schema("Health"), up={"data": {"status": "ok"}}),
                    }
                },
            }
        },
        "/ready": {
            "get": {
                "operationId": "getReady",
                "tags": ["operations"],
                "summary": "Storage reachable and the read model at the log's head",
                "responses": {
                    "200": {
                        "description": "Ready; reports the read model's position, the log's "
                        "head and the lag between them.",
                        "content": _content(
                            _schema("Readiness"),
                            ready={
                                "data": {"status": "ready", "position": 42, "head": 42, "lag": 0}
                            },
                        ),
                    },
                    "503": {
                        "description": "Not ready.",
                        "content": _content(
                            {
                                "allOf": [
                                    _schema("ReadinessProblem"),
                                    {"properties": {"status": {"const": 503}}},
                                ]
                            },
                            PROBLEM_JSON,
                            behind={
                                "type": "about:blank",
                                "title": "Service Unavailable",
                                "status": 503,
                                "detail": "the read model is 3 events behind",
                                "position": 39,
                                "head": 42,
                                "lag": 3,
                            },
                        ),
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics",
                "description": "Requests by route, method and status; latency histograms; "
                "events appended by type; the read model's position and lag. Summed over "
                "all worker processes. A bearer token is required only when the service is "
                "configured to protect this route.",
                "responses": {
                    "200": {
                        "description": "The Prometheus text exposition format.",
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string"},
                                "example": "# TYPE milestones_events_appended_total counter\n"
                                'milestones_events_appended_total{type="Created"} 3.0\n',
                            }
                        },
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["operations"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document of the API.",
                        "content": _content(
                            {"type": "object", "required": ["openapi", "info", "paths"]},
                            document={
                                "openapi": "3.1.0",
                                "info": {"title": "Milestones API", "version": "0.1.0"},
                                "paths": {},
                            },
                        ),
                    }
                },
            }
        },
    }


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITE_METHODS = frozenset({"put", "post", "patch", "delete"})


def _add_common_parts(document: dict[str, Any]) -> None:
    """What all operations share: the request id, the headers of every response, and the
    optional bearer authentication of /api and /metrics.
    """
    headers = {
        "X-Request-Id": _ref("headers", "RequestId"),
        "X-Content-Type-Options": _ref("headers", "ContentTypeOptions"),
    }
    for path, item in document["paths"].items():
        for method in (method for method in HTTP_METHODS if method in item):
            operation = item[method]
            operation["parameters"] = [
                *operation.get("parameters", []),
                _ref("parameters", "RequestId"),
            ]
            responses = operation["responses"]
            if path.startswith("/api/") or path == "/metrics":
                operation["security"] = [{}, {"bearer": []}]
                responses["401"] = _ref("responses", "Unauthorized")
                if method in WRITE_METHODS:
                    responses["403"] = _ref("responses", "Forbidden")
            for response in responses.values():
                if "$ref" not in response:
                    response["headers"] = response.get("headers", {}) | headers
            operation["responses"] = dict(sorted(responses.items()))
    for response in document["components"]["responses"].values():
        response["headers"] = response.get("headers", {}) | headers


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API; a fresh structure on every call."""
    document = _document()
    _add_common_parts(document)
    return document


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Milestones API",
            "version": "0.1.0",
            "summary": "Project milestones over an audited event log.",
            "description": 'Every success body is JSON `{"data": ...}` (collections add '
            "`count`). Every 4xx/5xx body is RFC 9457 `application/problem+json`, and a "
            "rejected request records nothing. A path that no route has is a 404, and a "
            "method that a path does not list is a 405 with `Allow` (`components.responses`"
            ".MethodNotAllowed); OPTIONS is answered by the framework. Every response carries "
            "`X-Request-Id` and `X-Content-Type-Options: nosniff`. Authentication is off "
            "by default; when the service is configured with API tokens, /api (and, if so "
            "configured, /metrics) require `Authorization: Bearer <token>`.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "milestones", "description": "Milestones and their current state."},
            {"name": "audit", "description": "Events: per milestone and the global feed."},
            {"name": "operations", "description": "Liveness, readiness and this document."},
        ],
        "paths": {
            "/api/milestones": _milestones_path(),
            "/api/milestones/{milestone_id}": _milestone_path(),
            "/api/milestones/{milestone_id}/history": _history_path(),
            "/api/events": _events_path(),
            **_operations_paths(),
        },
        "components": {
            "schemas": {
                **_field_schemas(),
                **_milestone_schemas(),
                **_event_schemas(),
                **_operations_schemas(),
                **_problem_schemas(),
            },
            "parameters": _parameters(),
            "headers": _headers(),
            "responses": _responses(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Only when the service is configured with API tokens "
                    "(MILESTONES_API_TOKENS_FILE): every /api route then requires a token, "
                    "and a read-only token may not write. Off by default.",
                }
            },
        },
    }


class OpenApiResource:
    """``GET /openapi.json``: the document, serialised once."""

    def __init__(self) -> None:
        self._body = orjson.dumps(openapi_document())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = self._body
