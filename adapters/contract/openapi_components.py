"""The components of the OpenAPI document that the paths refer to: the problem responses,
the response headers and the request's header and path parameters, each with its prose.
"""

from __future__ import annotations

from http import HTTPStatus

from adapters.contract.examples import EXAMPLE_ID
from adapters.contract.operation import PROBLEM_JSON, Schema
from adapters.contract.patterns import MILESTONE_ID_PATTERN

REQUEST_ID_PATTERN = r"^[\x20-\x7e]{1,128}$"


def ref(kind: str, name: str) -> Schema:
    """A reference to the component ``name`` of ``kind`` (schemas, headers, responses...)."""
    return {"$ref": f"#/components/{kind}/{name}"}


_NOTHING = " Nothing was recorded."
_TOKENS = "Only when the service is configured with API tokens: "
# Each problem response: its name, when it is given, and an example detail.
PROBLEMS: dict[int, tuple[str, str, str]] = {
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


def problem_responses() -> dict[str, Schema]:
    responses = {}
    for status, (name, description, detail) in PROBLEMS.items():
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
            "content": {PROBLEM_JSON: {"schema": ref("schemas", schema), "example": example}},
        }
    responses["Unauthorized"]["headers"] = {"WWW-Authenticate": ref("headers", "WWWAuthenticate")}
    return responses


def headers() -> dict[str, Schema]:
    table: dict[str, tuple[str, Schema, str]] = {
        "ETag": ('The milestone\'s version as a strong entity tag: `"<version>"`.',
                 {"type": "string", "pattern": r'^"[1-9][0-9]*"$'}, '"1"'),
        "Location": ("The created milestone; from `/`, the API reference.", {
                     "type": "string", "pattern": "^/(?:api/milestones/"
                     + MILESTONE_ID_PATTERN[1:-1] + "|docs)$"}, f"/api/milestones/{EXAMPLE_ID}"),
        "RequestId": ("The request's id: the client's `X-Request-Id`, or one made up.",
                      {"type": "string", "pattern": REQUEST_ID_PATTERN}, "5d1c0c6e-req"),
        "ContentTypeOptions": ("Browsers are not to sniff the content type.",
                               {"const": "nosniff"}, "nosniff"),
        "WWWAuthenticate": ("The scheme to authenticate with.",
                            {"type": "string", "pattern": "^Bearer "}, 'Bearer realm="milestones"'),
        "Allow": ("The methods of this path.", {"type": "string"}, "GET, HEAD, OPTIONS"),
        "CacheControl": ("Write responses are not to be cached.",
                         {"type": "string", "pattern": "no-store"}, "no-store"),
        "Link": (("When there is a next page: its URL, the same parameters with `cursor` (a "
                  "list with `limit`) or `after` (the feed) set to `next`."),
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


def parameters() -> dict[str, Schema]:
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
        "LastEventId": ("Last-Event-ID", (
            "The `id` of the last message a reconnecting client saw: the stream starts after "
            "that position (before `after`). Any other value is a 400."
        ), {"type": "string", "pattern": "^[0-9]+$"}, "42"),
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
