"""The OpenAPI 3.1 document of the HTTP API, served at /openapi.json.

``components.schemas`` and every query parameter come from the models of ``models.py``,
the paths from the table of ``paths.py``, the other components (problem responses, headers,
parameters) from ``openapi_components.py``; here they are put together. Tests
keep the document true: the route-coverage test compares it with the app's router, a
generated client is driven against a running server, and the fuzz tests hold the service
to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from adapters.contract import audit_chain, insights, models, schedule, webhooks
from adapters.contract.docs import DOCS_ASSET_PARAMETER
from adapters.contract.examples import PARAMETER_EXAMPLES, SCHEMA_EXAMPLES
from adapters.contract.insights import ProgressQuery
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery, NoQuery, Query
from adapters.contract.openapi_components import (
    PROBLEMS,
    headers,
    parameters,
    problem_responses,
    ref,
)
from adapters.contract.operation import Operation, Schema, protocol_operations
from adapters.contract.paths import (
    MILESTONE_ID_PATHS,
    OPEN_PATHS,
    PROJECT_ID_PATHS,
    TABLE,
)
from adapters.contract.validation import parse_query

if TYPE_CHECKING:
    import falcon

JSON = "application/json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF_TEMPLATE = "#/components/schemas/{model}"

# Named by the problem responses; the table names the others.
_PROBLEM_SCHEMAS = ("Problem", "ValidationProblem", "ReadinessProblem")


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # a property's name says it; generators name classes after titles


def _model(name: str) -> Any:
    """The model a name in the paths table stands for, in either module of shapes."""
    for module in (models, insights, schedule, webhooks, audit_chain):
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
        "X-Request-Id": ref("headers", "RequestId"),
        "X-Content-Type-Options": ref("headers", "ContentTypeOptions"),
    }
    success: Schema = {"description": operation.ok_description}
    success["headers"] = {
        name.replace("CacheControl", "Cache-Control"): ref("headers", name)
        for name in operation.response_headers
    } | common
    if operation.bodiless:
        pass
    elif operation.content is not None:
        success["content"] = operation.content
    elif operation.body is not None:
        example = operation.example or SCHEMA_EXAMPLES[operation.body]
        success["content"] = {JSON: {"schema": ref("schemas", operation.body), "example": example}}
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
            *(ref("parameters", name) for name in (*operation.headers, "RequestId")),
        ],
        "responses": dict(sorted(responses.items())),
    }
    if operation.request is not None:
        request_example = SCHEMA_EXAMPLES[operation.request]
        result["requestBody"] = {
            "required": True,
            "content": {
                JSON: {"schema": ref("schemas", operation.request), "example": request_example}
            },
        }
    if path in OPEN_PATHS:
        result["security"] = []  # never a token, whatever the service's configuration
    return result


def _problem(operation: Operation, status: int) -> Schema:
    if not operation.bodiless or operation.method == "options":
        return ref("responses", PROBLEMS[status][0])
    shared = problem_responses()[PROBLEMS[status][0]]
    return {k: v for k, v in shared.items() if k != "content"}  # HEAD: the problem's headers


def _paths() -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for path, table in TABLE.items():
        options_errors = (400, 404) if path in MILESTONE_ID_PATHS or "{asset}" in path else (400,)
        operations = [*table, *protocol_operations(path, table, options_errors=options_errors)]
        item: Schema = {op.method: _operation(path, op) for op in operations}
        if path in MILESTONE_ID_PATHS:
            item = {"parameters": [ref("parameters", "MilestoneIdPath")]} | item
        if path in PROJECT_ID_PATHS:
            item = {"parameters": [ref("parameters", "ProjectIdPath")]} | item
        if "{asset}" in path:
            item = {"parameters": [DOCS_ASSET_PARAMETER]} | item
        if "{webhook_id}" in path:
            item = {"parameters": [ref("parameters", "WebhookIdPath")]} | item
        paths[path] = item
    return paths


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API; a fresh structure on every call."""
    responses = problem_responses()
    common = {
        "X-Request-Id": ref("headers", "RequestId"),
        "X-Content-Type-Options": ref("headers", "ContentTypeOptions"),
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
            {"name": "schedule", "description": "How due dates moved, and what changed when."},
            {"name": "webhooks", "description": "Signed, ordered delivery of events to URLs."},
            {"name": "operations", "description": "Liveness, readiness, metrics, this document."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": parameters(),
            "headers": headers(),
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
