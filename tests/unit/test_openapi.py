"""The OpenAPI document: valid OpenAPI 3.1, true to the app's routes and to its examples."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import falcon
import falcon.inspect
import falcon.testing
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.http.metrics import Metrics
from adapters.http.openapi import (
    DATE_TIME_INPUT_PATTERN,
    DUE_DATE_PATTERN,
    EXAMPLE_ID,
    HTTP_METHODS,
    MILESTONE_ID_PATTERN,
    OpenApiResource,
    openapi_document,
)
from adapters.http.validation import ValidationFailed, parse_create, parse_update
from adapters.settings import Settings
from domain.ids import InvalidMilestoneId, from_public_id

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DOCUMENT = openapi_document()
BASE_URI = "urn:milestones:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    BASE_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)

Route = tuple[str, str]  # path template, method


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)
    assert DOCUMENT["openapi"].startswith("3.1.")


def test_the_resource_serves_the_document() -> None:
    app = falcon.App()
    app.add_route("/openapi.json", OpenApiResource())
    response = falcon.testing.TestClient(app).simulate_get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.content) == DOCUMENT


# --- Routes --------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[falcon.App[falcon.Request, falcon.Response]]:
    """The app with every optional route (metrics) on a real SQLite file."""
    service = open_service(Settings(database_url=f"sqlite:///{tmp_path}/m.db"))
    yield create_app(service.milestones, service.reads, metrics=Metrics(service.reads))
    service.close()


def documented_routes(document: dict[str, Any]) -> set[Route]:
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def app_routes(app: falcon.App[falcon.Request, falcon.Response]) -> set[Route]:
    """Every path and method a resource of ours answers (not Falcon's own OPTIONS or 405)."""
    return {
        (route.path, method.method)
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal
    }


def test_the_document_describes_exactly_the_routes_of_the_app(
    app: falcon.App[falcon.Request, falcon.Response],
) -> None:
    routed, documented = app_routes(app), documented_routes(DOCUMENT)
    assert sorted(routed - documented) == [], "routes that the document does not describe"
    assert sorted(documented - routed) == [], "documented operations that no route serves"


def test_every_other_method_is_falcons_405(
    app: falcon.App[falcon.Request, falcon.Response],
) -> None:
    """What the document says of undocumented methods: 405 (with Allow), OPTIONS aside."""
    for route in falcon.inspect.inspect_routes(app):
        for method in route.methods:
            if method.internal and method.method != "OPTIONS":
                assert method.function_name == "method_not_allowed", (route.path, method)


def test_an_undocumented_method_is_405_with_allow_naming_the_documented_ones(
    app: falcon.App[falcon.Request, falcon.Response],
) -> None:
    client = falcon.testing.TestClient(app)
    for path, item in DOCUMENT["paths"].items():
        url = path.replace("{milestone_id}", EXAMPLE_ID)
        response = client.simulate_request("PUT", url)
        assert response.status_code == 405, path
        assert response.headers["content-type"] == "application/problem+json"
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        documented = {method.upper() for method in item if method in HTTP_METHODS}
        assert allowed - {"OPTIONS"} == documented, path


# --- Examples ------------------------------------------------------------------------------


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def examples(node: Any, *path: str) -> Iterator[tuple[str, str, Any]]:
    """(where, pointer to the schema, example) for every example in the document."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from examples(item, *path, str(index))
    elif isinstance(node, dict):
        yield from _own_examples(node, *path)
        for key, value in node.items():
            if key not in {"example", "examples"}:
                yield from examples(value, *path, key)


def _own_examples(node: dict[str, Any], *path: str) -> Iterator[tuple[str, str, Any]]:
    """JSON Schemas hold a list under ``examples``; media types, parameters and headers hold
    ``example`` or a map of Example Objects under ``examples``, next to their ``schema``.
    """
    where = _pointer(*path)
    if isinstance(node.get("schema"), dict):
        schema = _pointer(*path, "schema")
        if "example" in node:
            yield where, schema, node["example"]
        for name, example in node.get("examples", {}).items():
            yield f"{where}/examples/{name}", schema, example["value"]
    elif isinstance(node.get("examples"), list):
        for index, example in enumerate(node["examples"]):
            yield f"{where}/examples/{index}", where, example


ALL_EXAMPLES = list(examples(DOCUMENT))


def bodies(document: dict[str, Any]) -> Iterator[str]:
    """A pointer to every media type of every request and response body."""
    for path, item in document["paths"].items():
        for method in (method for method in HTTP_METHODS if method in item):
            operation = item[method]
            for media_type in operation.get("requestBody", {}).get("content", {}):
                yield _pointer("paths", path, method, "requestBody", "content", media_type)
            for status, response in operation["responses"].items():
                for media_type in response.get("content", {}):
                    yield _pointer(
                        "paths", path, method, "responses", status, "content", media_type
                    )
    for name, response in document["components"]["responses"].items():
        for media_type in response.get("content", {}):
            yield _pointer("components", "responses", name, "content", media_type)


def test_every_body_has_an_example() -> None:
    with_examples = {where.partition("/examples")[0] for where, _, _ in ALL_EXAMPLES}
    assert sorted(set(bodies(DOCUMENT)) - with_examples) == []


@pytest.mark.parametrize(
    ("where", "schema", "example"), ALL_EXAMPLES, ids=[e[0] for e in ALL_EXAMPLES]
)
def test_every_example_matches_its_schema(where: str, schema: str, example: Any) -> None:
    validator = Draft202012Validator(
        {"$ref": f"{BASE_URI}#{quote(schema, safe='/~')}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = [
        f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(example)
    ]
    assert errors == [], where


# --- Links ---------------------------------------------------------------------------------


def test_every_link_names_an_operation_and_its_parameters() -> None:
    operations = {
        operation["operationId"]: (item, operation)
        for item in DOCUMENT["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    parameters = DOCUMENT["components"]["parameters"]

    def names(item: dict[str, Any], operation: dict[str, Any]) -> set[str]:
        found = set()
        for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
            resolved = (
                parameters[parameter["$ref"].rpartition("/")[2]]
                if "$ref" in parameter
                else parameter
            )
            found |= {resolved["name"], f"{resolved['in']}.{resolved['name']}"}
        return found

    links = [
        link
        for item in DOCUMENT["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert links
    for link in links:
        assert link["operationId"] in operations, link
        assert set(link["parameters"]) <= names(*operations[link["operationId"]]), link


# --- The document's patterns and the service's validation -------------------------------


def matches(pattern: str, text: str) -> bool:
    """A JSON Schema (ECMA-262) pattern: unanchored, and ``$`` only at the very end."""
    if pattern.startswith("^") and pattern.endswith("$"):
        return re.fullmatch(pattern[1:-1], text) is not None
    return re.search(pattern, text) is not None


def accepted(parse: Any, body: dict[str, Any]) -> bool:
    try:
        parse(body)
    except ValidationFailed:
        return False
    return True


ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZilou_ms"


@given(
    st.from_regex(MILESTONE_ID_PATTERN[1:-1], fullmatch=True)
    | st.text(ID_ALPHABET, min_size=25, max_size=27).map("ms_".__add__)
    | st.text(ID_ALPHABET, min_size=27, max_size=31)
    | st.text()
)
def test_the_id_pattern_is_exactly_the_ids_the_service_accepts(text: str) -> None:
    try:
        from_public_id(text)
    except InvalidMilestoneId:
        valid = False
    else:
        valid = True
    assert matches(MILESTONE_ID_PATTERN, text) == valid


# White space as Python sees it (some of it control characters), U+FEFF, which only some
# regex dialects count as white space, and other control characters.
WHITE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2007\u200a"
WHITE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
CONTROL = "\x00\x01\x08\x1b\x7f\x80\x9f"


@pytest.mark.parametrize(
    ("field", "schema_name"),
    [("title", "Title"), ("projectId", "ProjectId"), ("description", "Description")],
)
@given(text=st.text(WHITE + CONTROL + "aé", max_size=210) | st.text(max_size=210))
def test_the_text_schemas_are_exactly_the_texts_the_service_accepts(
    field: str, schema_name: str, text: str
) -> None:
    schema = DOCUMENT["components"]["schemas"][schema_name]
    valid = schema.get("minLength", 0) <= len(text) <= schema["maxLength"] and matches(
        schema["pattern"], text
    )
    body = {"projectId": "proj_01", "title": "Beta Launch"} | {field: text}
    assert accepted(parse_create, body) == valid


DATE_TIMES = st.from_regex(DATE_TIME_INPUT_PATTERN[1:-1], fullmatch=True)
DATES = st.dates().map(str)


@given(DATES | DATE_TIMES | DATE_TIMES.map(lambda t: t.lower()) | st.text(max_size=40))
def test_a_due_date_the_service_accepts_matches_the_pattern(due_date: str) -> None:
    """The service may refuse more (Feb 30), never accept what the pattern forbids."""
    if accepted(parse_update, {"dueDate": due_date}):
        assert matches(DUE_DATE_PATTERN, due_date)


@given(DATE_TIMES | DATE_TIMES.map(lambda t: t.replace("T", " ")) | st.text(max_size=40))
def test_a_reached_at_the_service_accepts_matches_the_pattern(reached_at: str) -> None:
    try:
        valid = accepted(parse_update, {"reachedAt": reached_at})
    except OverflowError:
        # A known bug (tests/integration/test_fuzz_regressions.py): out-of-range instants.
        valid = False
    if valid:
        assert matches(DATE_TIME_INPUT_PATTERN, reached_at)
