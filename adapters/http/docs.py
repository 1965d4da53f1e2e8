"""The interactive API reference: ``/docs`` (Swagger UI over ``/openapi.json``) and ``/``.

Every file of the page is served from here, Swagger UI's from the pinned ``swagger-ui-py``
package: the reference works without any other host (offline, behind a firewall), and a
page that loads no third-party script cannot leak who reads the API.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import falcon

from adapters.contract.docs import DOCS_ASSETS
from adapters.contract.models import NoQuery
from adapters.contract.validation import parse_query

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Milestones API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/reference.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to a validator elsewhere.
REFERENCE_JS = b"""window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
# The files of a pinned release never change under their names.
ASSET_CACHE = ["public", "max-age=86400"]


def _static() -> Traversable:
    return files("swagger_ui") / "static"


@cache
def asset_bytes(name: str) -> bytes:
    """A file of the page, read once per process."""
    return REFERENCE_JS if name == "reference.js" else (_static() / name).read_bytes()


class DocsResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        resp.content_type = "text/html; charset=utf-8"
        resp.data = PAGE


class DocsAssetResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response, asset: str) -> None:
        parse_query(NoQuery, req.params)
        if asset not in DOCS_ASSETS:
            raise falcon.HTTPNotFound(description="the reference page has no such file")
        resp.content_type, resp.cache_control = DOCS_ASSETS[asset], ASSET_CACHE
        resp.data = asset_bytes(asset)


class RootResource:
    """``/`` leads a person who types the service's address to its reference."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        raise falcon.HTTPFound("/docs")
