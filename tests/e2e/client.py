"""Speaking HTTP to a running server: the API client over a socket, and raw requests.

``Client`` opens a fresh connection per request, so with several workers any of them may
answer any request. ``raw_request`` and ``read_response`` are for bytes that ``http.client``
would not send as they are (stalls, odd request lines, half-closed sockets).
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.api_client import ApiClient, Response, encode_body, parse_body

if TYPE_CHECKING:
    from collections.abc import Mapping

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Client(ApiClient):
    """The API over real HTTP: one fresh connection per request."""

    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        payload, send_headers = encode_body(body, headers)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=send_headers)
            response = connection.getresponse()
            raw = response.read()
            return (
                response.status,
                response.msg,
                parse_body(raw, response.getheader("Content-Type")),
            )
        finally:
            connection.close()


def health_ok(port: int) -> bool:
    """Whether a server on this port answers ``GET /health`` as the service does."""
    try:
        status, _, body = Client(HOST, port).request("GET", "/health")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and isinstance(body, dict) and "data" in body


def read_response(sock: socket.socket) -> Response:
    """Parse one HTTP response from a socket the test wrote a raw request to."""
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        raw = response.read()
    finally:
        response.close()
    return response.status, response.msg, parse_body(raw, response.getheader("Content-Type"))


def raw_request(port: int, data: bytes, *, timeout: float = 10.0) -> Response:
    """Send bytes exactly as given on a fresh connection and read the response."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)
