"""The API reference page's files: what ``/docs/{asset}`` serves, and as which media type.

Swagger UI's own files come from a pinned Python package (``swagger-ui-py``), so that the
page works offline and behind a firewall: no file comes from another host.
"""

from typing import Any

DOCS_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "reference.js": "text/javascript; charset=utf-8",  # ours: starts Swagger UI on the document
}

DOCS_ASSET_PARAMETER = {
    "name": "asset",
    "in": "path",
    "required": True,
    "description": "A file of the reference page; any other name is a 404.",
    "schema": {"type": "string", "enum": sorted(DOCS_ASSETS)},
    "example": "swagger-ui.css",
}

# The document shows an example of every body; these bodies are files.
MEDIA_EXAMPLES = {
    "text/html": '<!doctype html><html lang="en">...</html>',
    "text/css": ".swagger-ui{...}",
    "text/javascript": "window.ui = SwaggerUIBundle({...});",
    "image/png": "(the icon's PNG bytes)",
}


def text_content(*media: str) -> dict[str, Any]:
    """A success body that is not JSON, by media type, for the OpenAPI document."""
    return {kind: {"schema": {"type": "string"}, "example": MEDIA_EXAMPLES[kind]} for kind in media}
