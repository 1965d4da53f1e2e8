"""The API reference, in-process: /docs and each of its files served by the service itself,
and / leading there. That the page renders every operation in a browser is shown by
tests/e2e/test_docs_browser.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from adapters.contract.docs import DOCS_ASSETS
from tests.api_client import assert_problem

if TYPE_CHECKING:
    from tests.integration.app_client import AppClient


def test_docs_is_a_page_that_loads_only_files_of_the_service(api: AppClient) -> None:
    status, headers, page = api.request("GET", "/docs")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.decode())
    assert sorted(sources) == sorted(f"/docs/{name}" for name in DOCS_ASSETS)


@pytest.mark.parametrize("name", sorted(DOCS_ASSETS))
def test_every_file_of_the_page_is_served_with_its_media_type(api: AppClient, name: str) -> None:
    status, headers, body = api.request("GET", f"/docs/{name}")
    assert status == 200
    assert headers["Content-Type"] == DOCS_ASSETS[name]
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert len(body) > 100  # a real file, not an empty answer


def test_the_reference_script_reads_this_document_and_no_validator(api: AppClient) -> None:
    script = api.request("GET", "/docs/reference.js")[2].decode()
    assert 'url: "/openapi.json"' in script
    assert "validatorUrl: null" in script


def test_swagger_ui_is_a_release_that_reads_openapi_3_1(api: AppClient) -> None:
    bundle = api.request("GET", "/docs/swagger-ui-bundle.js")[2]
    assert b"SwaggerUIBundle" in bundle
    assert b"OAS31" in bundle or b"oas31" in bundle


@pytest.mark.parametrize(
    "path", ["/docs/index.html", "/docs/swagger-initializer.js", "/docs/..%2Fcore.py", "/docs/x"]
)
def test_any_other_file_is_a_404(api: AppClient, path: str) -> None:
    assert_problem(api.request("GET", path), 404)


def test_the_root_redirects_to_the_reference(api: AppClient) -> None:
    status, headers, _ = api.request("GET", "/")
    assert status == 302
    assert headers["Location"] == "/docs"


@pytest.mark.parametrize("path", ["/", "/docs", "/docs/swagger-ui.css"])
def test_the_reference_takes_no_query_parameters(api: AppClient, path: str) -> None:
    assert_problem(api.request("GET", f"{path}?x=1"), 400, {"x"})


@pytest.mark.parametrize("path", ["/", "/docs", "/docs/swagger-ui.css"])
def test_the_reference_is_read_only(api: AppClient, path: str) -> None:
    assert_problem(api.request("POST", path, {}), 405)


def test_options_of_a_file_the_page_does_not_have_is_a_404(api: AppClient) -> None:
    assert api.request("OPTIONS", "/docs/swagger-ui.css")[0] == 204
    assert_problem(api.request("OPTIONS", "/docs/index.html"), 404)
