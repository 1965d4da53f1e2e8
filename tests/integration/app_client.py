"""The API in-process: Falcon's TestClient over the app on a real service, no server process.

``AppClient`` answers as the end-to-end ``Client`` does (``(status, headers, body)``, the same
conveniences, the same problem checks of tests/api_client.py), so a test of what the app
decides reads the same here, where it costs no socket and no worker.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING, Any

from falcon import testing

from adapters.http.app import create_app
from tests.api_client import ApiClient, Response, encode_body, parse_body

if TYPE_CHECKING:
    from collections.abc import Mapping

    import falcon

    from adapters.bootstrap import Service


def app_of(service: Service) -> falcon.App[falcon.Request, falcon.Response]:
    """The app as the tests run it: the service's parts, no metrics, log, auth or CORS."""
    return create_app(
        service.milestones, service.reads, webhooks=service.webhooks, chain=service.chain
    )


class AppClient(ApiClient):
    """The API through ``falcon.testing.TestClient``; a path may carry its query string."""

    def __init__(self, service: Service) -> None:
        self.test_client = testing.TestClient(app_of(service))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        payload, send_headers = encode_body(body, headers)
        result = self.test_client.simulate_request(method, path, body=payload, headers=send_headers)
        message = http.client.HTTPMessage()
        for name, value in result.headers.items():
            message[name] = value
        return result.status_code, message, parse_body(result.content, message["Content-Type"])
