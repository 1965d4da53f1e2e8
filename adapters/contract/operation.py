"""One operation of the HTTP API as its OpenAPI document tells it, and the HEAD and OPTIONS
operations that every path answers besides the ones it lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.contract.models import NoQuery, Query

Schema = dict[str, Any]
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One operation, by named fields; what every operation shares (the request id, the
    common headers, the token's problems) ``openapi.py`` adds."""

    method: str
    operation_id: str
    tag: str
    summary: str
    description: str
    ok: str  # the success status
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
    content: Schema | None = None  # the success body by media type, when it is not JSON


def protocol_operations(
    path: str, operations: list[Operation], *, options_errors: tuple[int, ...]
) -> list[Operation]:
    """What every route answers besides its table: HEAD as its GET, without the body, and
    OPTIONS with the same ``Allow`` as a 405 on it (and ``options_errors``)."""
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
        method="options",
        operation_id=f"options{_camel(path)}",
        tag=operations[0].tag,
        summary="The methods of this path",
        description=(
            f"`Allow` names them: {', '.join(sorted(methods))}; a 405 on this path sends "
            "the same `Allow`."
        ),
        ok="204",
        ok_description="No content; the methods are in `Allow`.",
        response_headers=("Allow",),
        errors=options_errors,
        bodiless=True,
    )
    return [*derived, options]


def _camel(path: str) -> str:
    """``/api/projects/{project_id}/summary`` -> ``ApiProjectsOneSummary``: an operation id is
    to be URL-safe, so a path parameter becomes ``One`` and any other punctuation a break."""
    words = re.split(r"[^A-Za-z0-9]+", re.sub(r"\{[^}]*\}", "one", path))
    return "".join(word[:1].upper() + word[1:] for word in words if word) or "Root"
