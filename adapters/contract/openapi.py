"""The OpenAPI 3.1 document of the HTTP API, served at /openapi.json.

``components.schemas`` and every query parameter come from the models of ``models.py``;
what is left here is a compact table of the paths, their headers and their prose. Tests
keep the document true: the route-coverage test compares it with the app's router, a
generated client is driven against a running server, and the fuzz tests hold the service
to it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from adapters.contract import audit_chain, insights, models, webhooks
from adapters.contract.examples import (
    EXAMPLE_ID,
    PARAMETER_EXAMPLES,
    SCHEMA_EXAMPLES,
)
from adapters.contract.fields import MILESTONE_ID_PATTERN
from adapters.contract.insights import ProgressQuery
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery, NoQuery, Query
from adapters.contract.paths import (
    MILESTONE_ID_PATHS,
    OPEN_PATHS,
    PROJECT_ID_PATHS,
    TABLE,
    Operation,
    protocol_operations,
)
from adapters.contract.validation import parse_query

if TYPE_CHECKING:
    import falcon

Schema = dict[str, Any]

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF_TEMPLATE = "#/components/schemas/{model}"
REQUEST_ID_PATTERN = r"^[\x20-\x7e]{1,128}$"

# Named by the problem responses; the table names the others.
_PROBLEM_SCHEMAS = ("Problem", "ValidationProblem", "ReadinessProblem")


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # a property's name says it; generators name classes after titles


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _model(name: str) -> Any:
    """The model a name in the paths table stands for, in either module of shapes."""
    for module in (models, insights, webhooks, audit_chain):
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(name)


def _schemas() -> dict[str, Schema]:
    named = {name for ops in TABLE.values() for op in ops for name in (op.body, op.request) if name}
    _, top = models_json_schema(
        [(_model(name), "validation") for name in sorted({*named, *_PROBLEM_SCHEMAS})],
        ref_template=REF_TEMPLATE,
        schema_generator=_Generator,
    )
    schemas: dict[str, Schema] = top["$defs"]
    for query in (ListQuery, MilestoneQuery, EventsQuery, ProgressQuery):  # their enums
        schemas |= query.model_json_schema(schema_generator=_Generator).get("$defs", {})
    for name, example in SCHEMA_EXAMPLES.items():
        schemas[name]["examples"] = [example]
    return dict(sorted(schemas.items()))


def _query(model: type[Query]) -> list[Schema]:
    """The query parameters of a model, one each, in its order."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_Generator)
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "description": property_.pop("description")
            + " Given at most once; an empty value is a 400.",
            "schema": property_,
            "example": PARAMETER_EXAMPLES[name],
        }
        for name, property_ in schema.get("properties", {}).items()
    ]


# --- Responses ------------------------------------------------------------------------------

_NOTHING = " Nothing was recorded."
_TOKENS = "Only when the service is configured with API tokens: "
# Each problem response: its name, when it is given, and an example detail.
_PROBLEMS: dict[int, tuple[str, str, str]] = {
    400: ("BadRequest", (
        "The request breaks the contract: malformed JSON, a body that is not an object, wrong "
        "types, missing or empty required fields, unknown body fields or query parameters, bad "
        "enum or date values, bad header values. `errors` names every bad field." + _NOTHING
    ), "title: must not be empty"),
    401: ("Unauthorized", _TOKENS + "no `Authorization: Bearer <token>`, or an unknown token.",
          "a valid bearer token is required"),
    403: ("Forbidden", _TOKENS + "a read-only token may not write." + _NOTHING,
          "this token may only read"),
    404: ("NotFound", "No milestone has this id (or had it at the requested version or time).",
          "no milestone has this id"),
    408: ("RequestTimeout", (
        "The client stopped sending the body for longer than the service waits." + _NOTHING
    ), "the body did not arrive within 10 s"),
    409: ("Conflict", (
        "The Idempotency-Key was used with another body, or the write kept losing the race "
        "with other writers." + _NOTHING
    ), "this Idempotency-Key was used with a different request body"),
    412: ("PreconditionFailed", "If-Match names no tag of the current version." + _NOTHING,
          "If-Match does not match the current version 2"),
    413: ("ContentTooLarge", "The body is over 64 KiB." + _NOTHING,
          "the body must be at most 64 KiB"),
    415: ("UnsupportedMediaType", (
        "The body has a content type other than JSON (`application/json` or `*/*+json`; a "
        "missing content type is read as JSON)." + _NOTHING
    ), "the body must be application/json"),
    503: ("StorageUnavailable", (
        "The storage is busy (a writer's lock was not released in time) or unreachable; the "
        "request may be retried." + _NOTHING
    ), "the storage is busy or unreachable"),
}  # fmt: skip


def _responses() -> dict[str, Schema]:
    responses = {}
    for status, (name, description, detail) in _PROBLEMS.items():
        example: Schema = {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
        schema = "Problem"
        if status == HTTPStatus.BAD_REQUEST:
            schema = "ValidationProblem"
            example["errors"] = [{"field": "title", "message": "must not be empty"}]
        responses[name] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": _ref("schemas", schema), "example": example}},
        }
    responses["Unauthorized"]["headers"] = {"WWW-Authenticate": _ref("headers", "WWWAuthenticate")}
    return responses


def _headers() -> dict[str, Schema]:
    table: dict[str, tuple[str, Schema, str]] = {
        "ETag": ('The milestone\'s version as a strong entity tag: `"<version>"`.',
                 {"type": "string", "pattern": r'^"[1-9][0-9]*"$'}, '"1"'),
        "Location": ("The created milestone.", {"type": "string", "pattern": "^/api/milestones/"
                     + MILESTONE_ID_PATTERN[1:]}, f"/api/milestones/{EXAMPLE_ID}"),
        "RequestId": ("The request's id: the client's `X-Request-Id`, or one made up.",
                      {"type": "string", "pattern": REQUEST_ID_PATTERN}, "5d1c0c6e-req"),
        "ContentTypeOptions": ("Browsers are not to sniff the content type.",
                               {"const": "nosniff"}, "nosniff"),
        "WWWAuthenticate": ("The scheme to authenticate with.",
                            {"type": "string", "pattern": "^Bearer "}, 'Bearer realm="milestones"'),
        "Allow": ("The methods of this path.", {"type": "string"}, "GET, HEAD, OPTIONS"),
        "CacheControl": ("Write responses are not to be cached.",
                         {"type": "string", "pattern": "no-store"}, "no-store"),
        "Link": (("With `limit`, when there is a next page: its URL (the same parameters and "
                  "`cursor` set to `next`)."),
                 {"type": "string", "pattern": '^<[^>]+>; rel="next"$'},
                 '</api/milestones?projectId=proj_01&limit=100&cursor=...>; rel="next"'),
    }  # fmt: skip
    sometimes = {"Link"}  # only on some responses of the operations that send it
    return {
        name: {
            "description": description,
            "required": name not in sometimes,
            "schema": schema,
            "example": example,
        }
        for name, (description, schema, example) in table.items()
    }


def _parameters() -> dict[str, Schema]:
    table: dict[str, tuple[str, str, Schema, str]] = {
        "IfMatch": ("If-Match", (
            'Entity tags (`"<version>"`, comma-separated) or `*`. If none matches the current '
            "version, the write is refused with 412 and changes nothing. Weak tags never match."
        ), {"type": "string"}, '"1"'),
        "IdempotencyKey": ("Idempotency-Key", (
            "A repeat with the same key and the same body returns the first milestone (201, "
            "same id) and creates nothing; the same key with another body is a 409."
        ), {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x20-\x7e]+$"},
            "5d1c0c6e"),
        "IfNoneMatch": ("If-None-Match", (
            "Entity tags or `*`: if one names the current version (weak comparison), the "
            "answer is 304 without a body. Ignored with `version` or `asOf`."
        ), {"type": "string"}, '"1"'),
        "RequestId": ("X-Request-Id", (
            "Echoed in the response's `X-Request-Id` when it is 1 to 128 printable ASCII "
            "characters; otherwise the service makes up one."
        ), {"type": "string"}, "5d1c0c6e-req"),
    }  # fmt: skip
    parameters = {
        key: {"name": name, "in": "header", "required": False, "description": description,
              "schema": schema, "example": example}
        for key, (name, description, schema, example) in table.items()
    }  # fmt: skip
    parameters["MilestoneIdPath"] = {
        "name": "milestone_id",
        "in": "path",
        "required": True,
        "description": "The milestone's id; any other text is a 404.",
        "schema": {"type": "string", "pattern": MILESTONE_ID_PATTERN},
        "example": EXAMPLE_ID,
    }
    parameters["ProjectIdPath"] = {
        "name": "project_id",
        "in": "path",
        "required": True,
        "description": "The project's id, percent-encoded; one without milestones is empty.",
        "schema": {"type": "string", "minLength": 1},
        "example": "proj_01",
    }
    parameters["WebhookIdPath"] = {
        "name": "webhook_id",
        "in": "path",
        "required": True,
        "description": "The subscription's id; any other text is a 404.",
        "schema": {"type": "string"},
        "example": "wh_01KGC6WBM0EQ3TMJVCHM71YEJV",
    }
    return parameters


# --- Paths ----------------------------------------------------------------------------------


_METRICS_EXAMPLE = 'milestones_events_appended_total{type="Created"} 3.0\n'


def _links(operation: Operation) -> dict[str, Schema]:
    """From a body that holds one milestone to the operations on that milestone."""
    target = {"milestone_id": "$response.body#/data/id"}
    links = {
        name: {"operationId": name[0].lower() + name[1:], "parameters": target}
        for name in ("GetMilestone", "UpdateMilestone", "DeleteMilestone", "GetMilestoneHistory")
    }
    if "ETag" in operation.response_headers:
        for name, header in (
            ("GetMilestone", "If-None-Match"),
            ("UpdateMilestone", "If-Match"),
            ("DeleteMilestone", "If-Match"),
        ):
            links[f"{name}{header.replace('-', '')}"] = {
                "operationId": name[0].lower() + name[1:],
                "parameters": target | {f"header.{header}": "$response.header.ETag"},
                "description": f"With `{header}` naming the version this response shows.",
            }
    return links


def _operation(path: str, operation: Operation) -> Schema:
    common = {
        "X-Request-Id": _ref("headers", "RequestId"),
        "X-Content-Type-Options": _ref("headers", "ContentTypeOptions"),
    }
    success: Schema = {"description": operation.ok_description}
    success["headers"] = {
        name.replace("CacheControl", "Cache-Control"): _ref("headers", name)
        for name in operation.response_headers
    } | common
    if operation.bodiless:
        pass
    elif operation.body is not None:
        example = operation.example or SCHEMA_EXAMPLES[operation.body]
        success["content"] = {JSON: {"schema": _ref("schemas", operation.body), "example": example}}
    else:
        success["content"] = {
            "text/plain": {"schema": {"type": "string"}, "example": _METRICS_EXAMPLE}
        }
    if operation.links:
        success["links"] = _links(operation)
    responses = {operation.ok: success} | operation.more
    errors = set(operation.errors)
    if path.startswith("/api/") or path == "/metrics":
        errors |= {401, 403} if operation.method not in {"get", "head"} else {401}
    if operation.method == "options":
        errors -= {401, 403}  # a CORS preflight carries no credentials
    responses |= {str(status): _problem(operation, status) for status in errors}
    for response in operation.more.values():
        response["headers"] = response.get("headers", {}) | common
    result: Schema = {
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "summary": operation.summary,
        "description": operation.description,
        "parameters": [
            *_query(operation.query),
            *(_ref("parameters", name) for name in (*operation.headers, "RequestId")),
        ],
        "responses": dict(sorted(responses.items())),
    }
    if operation.request is not None:
        request_example = SCHEMA_EXAMPLES[operation.request]
        result["requestBody"] = {
            "required": True,
            "content": {
                JSON: {"schema": _ref("schemas", operation.request), "example": request_example}
            },
        }
    if path in OPEN_PATHS:
        result["security"] = []  # never a token, whatever the service's configuration
    return result


def _problem(operation: Operation, status: int) -> Schema:
    if not operation.bodiless or operation.method == "options":
        return _ref("responses", _PROBLEMS[status][0])
    shared = _responses()[_PROBLEMS[status][0]]
    return {k: v for k, v in shared.items() if k != "content"}  # HEAD: the problem's headers


def _paths() -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for path, table in TABLE.items():
        operations = [*table, *protocol_operations(path, table)]
        item: Schema = {op.method: _operation(path, op) for op in operations}
        if path in MILESTONE_ID_PATHS:
            item = {"parameters": [_ref("parameters", "MilestoneIdPath")]} | item
        if path in PROJECT_ID_PATHS:
            item = {"parameters": [_ref("parameters", "ProjectIdPath")]} | item
        if "{webhook_id}" in path:
            item = {"parameters": [_ref("parameters", "WebhookIdPath")]} | item
        paths[path] = item
    return paths


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API; a fresh structure on every call."""
    responses = _responses()
    common = {
        "X-Request-Id": _ref("headers", "RequestId"),
        "X-Content-Type-Options": _ref("headers", "ContentTypeOptions"),
    }
    for response in responses.values():
        response["headers"] = response.get("headers", {}) | common
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Milestones API",
            "version": "0.1.0",
            "summary": "Project milestones over an audited event log.",
            "description": 'Every success body is JSON `{"data": ...}` (collections add '
            "`count`). Every 4xx/5xx body is RFC 9457 `application/problem+json`, and a "
            "rejected request records nothing. A query parameter that an operation does not "
            "list is a 400 naming it. A path that no route has is a 404, and a method that a "
            "path does not list is a 405 with `Allow`; OPTIONS is a 204 with the same `Allow`, "
            "and HEAD is answered wherever GET is. "
            "Every response carries `X-Request-Id` and `X-Content-Type-Options: nosniff`. "
            "Authentication is off by default (so the security requirements include the "
            "empty one); when the service is configured with API tokens, /api (and, if so "
            "configured, /metrics) require `Authorization: Bearer <token>`. Every event "
            "records its `actor` (the token's name; without tokens, the value of the header "
            "an authenticating proxy sets, if the operator names one, where a value that is "
            "not 1-200 printable characters is a 400 naming the header; else null) and its "
            "`requestId` (the request's `X-Request-Id`). With tokens, no header a client "
            "sends chooses its actor.",
            "contact": {"name": "Milestones maintainers"},
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearer": []}],
        "tags": [
            {"name": "milestones", "description": "Milestones and their current state."},
            {"name": "audit", "description": "Events: per milestone and the global feed."},
            {"name": "projects", "description": "A project's summary and progress series."},
            {"name": "webhooks", "description": "Signed, ordered delivery of events to URLs."},
            {"name": "operations", "description": "Liveness, readiness, metrics, this document."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "headers": _headers(),
            "responses": responses,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Only when the service is configured with API tokens "
                    "(MILESTONES_API_TOKENS_FILE): every /api route then requires a token, "
                    "and a read-only token may not write. The token's name is the actor of "
                    "the events its requests record. Off by default.",
                }
            },
        },
    }


class OpenApiResource:
    """``GET /openapi.json``: the document, serialised once."""

    def __init__(self) -> None:
        self._body = orjson.dumps(openapi_document())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        resp.content_type = JSON
        resp.data = self._body
