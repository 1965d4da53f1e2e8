"""The OpenAPI document: valid OpenAPI 3.1, true to the app's routes, to its examples and to
the service's validation, and in the shapes that client generators read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

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
from adapters.contract.examples import EXAMPLE_ID
from adapters.contract.fields import parse_instant
from adapters.contract.openapi import HTTP_METHODS, OpenApiResource, openapi_document
from adapters.contract.patterns import (
    DATE_TIME_INPUT_PATTERN,
    DUE_DATE_PATTERN,
    MILESTONE_ID_PATTERN,
)
from adapters.contract.validation import ValidationFailed, parse_create, parse_update
from adapters.http.app import create_app
from adapters.http.metrics import Metrics
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
    yield create_app(
        service.milestones,
        service.reads,
        metrics=Metrics(service.reads),
        webhooks=service.webhooks,
        chain=service.chain,
    )
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
    """What the document says of undocumented methods: 405 (with Allow)."""
    for route in falcon.inspect.inspect_routes(app):
        for method in route.methods:
            if method.internal:
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
        assert allowed == documented, path  # HEAD and OPTIONS are documented too


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


def test_every_operation_id_is_unique_and_url_safe() -> None:
    """Generators and reference pages put operation ids into URLs and identifiers."""
    ids = [
        operation["operationId"]
        for item in DOCUMENT["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))
    assert [id_ for id_ in ids if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", id_)] == []


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


@pytest.mark.parametrize("field", ["title", "projectId", "description"])
@given(text=st.text(WHITE + CONTROL + "aé", max_size=210) | st.text(max_size=210))
def test_the_text_schemas_are_exactly_the_texts_the_service_accepts(field: str, text: str) -> None:
    schema = DOCUMENT["components"]["schemas"]["CreateMilestone"]["properties"][field]
    valid = schema.get("minLength", 0) <= len(text) <= schema["maxLength"] and matches(
        schema["pattern"], text
    )
    body = {"projectId": "proj_01", "title": "Beta Launch"} | {field: text}
    assert accepted(parse_create, body) == valid


DATE_TIMES = st.from_regex(DATE_TIME_INPUT_PATTERN[1:-1], fullmatch=True)
# Near misses: the right shape with any digits (31 June, year 0, hour 24, offset +25:00...).
LOOSE_DATES = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)
LOOSE_DATE_TIMES = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,10})?)?(Z|[+-][0-9]{2}:[0-9]{2})",
    fullmatch=True,
)
# Instants at the edges of what Python's datetime holds in UTC.
EDGES = st.sampled_from(["0001-01-01", "9999-12-31"]).flatmap(
    lambda day: st.from_regex(
        rf"{day}T[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\.[0-9]{{1,9}})?)?(Z|[+-][0-2][0-9]:[0-5][0-9])",
        fullmatch=True,
    )
)
SOME_DATE_TIMES = DATE_TIMES | LOOSE_DATE_TIMES | EDGES | DATE_TIMES.map(str.lower)


@given(st.dates().map(str) | LOOSE_DATES | SOME_DATE_TIMES | st.text(max_size=40))
def test_the_due_date_pattern_is_exactly_the_due_dates_the_service_accepts(due_date: str) -> None:
    valid = matches(DUE_DATE_PATTERN, due_date)
    assert accepted(parse_update, {"dueDate": due_date}) == valid
    assert accepted(parse_create, {"projectId": "p", "title": "t", "dueDate": due_date}) == valid


@given(SOME_DATE_TIMES | DATE_TIMES.map(lambda t: t.replace("T", " ")) | st.text(max_size=40))
def test_the_date_time_pattern_is_exactly_the_instants_the_service_accepts(text: str) -> None:
    """For ``reachedAt`` and every instant parameter; each match is an instant of years 1-9999."""
    valid = matches(DATE_TIME_INPUT_PATTERN, text)
    assert accepted(parse_update, {"reachedAt": text}) == valid
    assert (parse_instant(text) is not None) == valid
    assert (parse_instant(text, round_up=True) is not None) == (
        valid and not text.startswith("9999-12-31T23:59:59.9999")
    )


# --- What client generators need ----------------------------------------------------------


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method in (method for method in HTTP_METHODS if method in item):
            yield path, method, item[method]


def test_every_problem_response_is_a_named_problem_schema() -> None:
    """Generators read a ``$ref`` to a named schema; an ``allOf`` wrapper they drop."""
    schemas = DOCUMENT["components"]["schemas"]
    for name, response in DOCUMENT["components"]["responses"].items():
        schema = response["content"]["application/problem+json"]["schema"]
        assert set(schema) == {"$ref"}, name
        assert schemas[schema["$ref"].rpartition("/")[2]]["title"].endswith("Problem")
    assert "allOf" not in orjson.dumps(DOCUMENT).decode()
    errors = DOCUMENT["components"]["responses"]["BadRequest"]["content"]
    assert errors["application/problem+json"]["schema"]["$ref"].endswith("/ValidationProblem")
    assert "errors" in schemas["ValidationProblem"]["required"]


def test_every_instant_the_service_writes_is_a_date_time() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name in ("createdAt", "reachedAt"):
        property_ = schemas["Milestone"]["properties"][name]
        instant = property_["anyOf"][0] if "anyOf" in property_ else property_
        assert instant["format"] == "date-time", name
    assert schemas["CreatedEvent"]["properties"]["occurredAt"]["format"] == "date-time"


def test_event_variants_are_named_schemas_told_apart_by_type() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    items = schemas["History"]["properties"]["data"]["items"]
    variants = {ref["$ref"].rpartition("/")[2] for ref in items["oneOf"]}
    assert variants == {"CreatedEvent", "UpdatedEvent", "StatusChangedEvent", "DeletedEvent"}
    assert items["discriminator"]["propertyName"] == "type"
    for name in variants:
        assert schemas[name]["properties"]["type"]["const"] == name.removesuffix("Event")


def test_authentication_is_optional_and_stated_once() -> None:
    """No operation names a scheme itself, so generated calls take a plain client; the
    document-wide requirement includes the empty one (authentication is off by default).
    """
    assert DOCUMENT["security"] == [{}, {"bearer": []}]
    for path, _, operation in _operations():
        never_a_token = path in {
            "/health",
            "/ready",
            "/openapi.json",
            "/docs",
            "/docs/{asset}",
            "/",
        }
        assert operation.get("security") == ([] if never_a_token else None), path


def test_every_operation_answers_an_unknown_query_parameter_with_a_400_naming_it(
    app: falcon.App[falcon.Request, falcon.Response],
) -> None:
    client = falcon.testing.TestClient(app)
    for path, method, operation in _operations():
        query = [p for p in operation["parameters"] if p.get("in") == "query"]
        assert "projectid" not in {p["name"] for p in query}
        required = {p["name"]: p["example"] for p in query if p["required"]}
        url = path.replace("{milestone_id}", EXAMPLE_ID)
        response = client.simulate_request(
            method.upper(),
            url,
            query_string=urlencode(required | {"projectid": "proj_01"}),
            json={},
        )
        assert response.status_code == 400, (method, path, response.text)
        if method == "head":  # the same status and headers as the GET, and no body
            assert response.content == b"", path
            continue
        assert response.json["errors"] == [
            {"field": "projectid", "message": "is not a query parameter of this route"},
        ], (method, path)
