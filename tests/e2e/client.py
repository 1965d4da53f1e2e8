"""Speaking HTTP to a running server: a small JSON client, raw sockets, problem checks.

``Client`` opens a fresh connection per request, so with several workers any of them may
answer any request. ``raw_request`` and ``read_response`` are for bytes that ``http.client``
would not send as they are (chunks, stalls, odd request lines).
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Mapping

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0
MAX_FEED_PAGES = 1000  # a feed followed with limit=1000 ends within a million events

Response = tuple[int, http.client.HTTPMessage, Any]


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _parsed(raw: bytes, content_type: str | None) -> Any:
    """The body parsed when its type says JSON; the bytes as they came otherwise (or when
    it does not parse: the test that looks at it will fail)."""
    if raw and _is_json(content_type):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


@dataclass(frozen=True)
class Client:
    """A tiny HTTP client: one fresh connection per request, JSON in and out."""

    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """``(status, headers, body)``; the body is parsed when the response says it is JSON.

        A ``dict`` or ``list`` body is sent as JSON with ``Content-Type: application/json``
        (unless ``headers`` name another one); ``bytes`` or ``str`` go out exactly as given,
        with no Content-Type unless ``headers`` has one.
        """
        send_headers = dict(headers or {})
        payload: bytes | None
        if body is None:
            payload = None
        elif isinstance(body, bytes | bytearray):
            payload = bytes(body)
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()
            if not any(name.lower() == "content-type" for name in send_headers):
                send_headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=send_headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, response.msg, _parsed(raw, response.getheader("Content-Type"))
        finally:
            connection.close()

    # Small conveniences over ``request``.

    def ready(self) -> dict[str, Any]:
        status, _, body = self.request("GET", "/ready")
        assert status == 200, body
        data: dict[str, Any] = body["data"]
        return data

    def head(self) -> int:
        """The number of the last event in the log."""
        head = self.ready()["head"]
        assert isinstance(head, int)
        return head

    def create(self, **fields: Any) -> tuple[dict[str, Any], str]:
        """POST a milestone (projectId and title defaulted); its document and ETag."""
        body = {"projectId": "proj_e2e", "title": "A milestone", **fields}
        status, headers, response = self.request("POST", "/api/milestones", body)
        assert status == 201, response
        return response["data"], headers["ETag"]

    def get(self, milestone_id: str) -> tuple[dict[str, Any], str]:
        status, headers, response = self.request("GET", f"/api/milestones/{milestone_id}")
        assert status == 200, response
        return response["data"], headers["ETag"]

    def history(self, milestone_id: str) -> list[dict[str, Any]]:
        """A milestone's events, oldest first."""
        status, _, response = self.request("GET", f"/api/milestones/{milestone_id}/history")
        assert status == 200, response
        assert response["count"] == len(response["data"]), response
        events: list[dict[str, Any]] = response["data"]
        return events

    def feed(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Every event after ``after``: the pages up to the end (``next`` null), at most 1000."""
        events: list[dict[str, Any]] = []
        for _ in range(MAX_FEED_PAGES):
            status, _, page = self.request("GET", f"/api/events?after={after}&limit={limit}")
            assert status == 200, page
            assert page["count"] == len(page["data"]), page
            events.extend(page["data"])
            if page["next"] is None:
                return events
            assert page["next"] == page["data"][-1]["position"], page["next"]
            after = page["next"]
        pytest.fail(f"the event feed did not end within {MAX_FEED_PAGES} pages")


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
    return response.status, response.msg, _parsed(raw, response.getheader("Content-Type"))


def raw_request(port: int, data: bytes, *, timeout: float = 10.0) -> Response:
    """Send bytes exactly as given on a fresh connection and read the response."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


PROBLEM_KEYS = frozenset({"type", "title", "status", "detail"})


def assert_problem(
    response: Response,
    status: int,
    fields: set[str] | None = None,
    *,
    extra_keys: bool = False,
) -> dict[str, Any]:
    """An RFC 9457 problem+json response with this status.

    ``fields``: the bad fields its ``errors`` must name. ``extra_keys``: it may carry
    members beyond the problem's own (as /ready's 503 does).
    """
    code, headers, body = response
    assert code == status, (code, body)
    assert headers.get_content_type() == "application/problem+json", headers["Content-Type"]
    assert isinstance(body, dict), body
    assert PROBLEM_KEYS.issubset(body), body
    if not extra_keys:
        assert set(body) <= PROBLEM_KEYS | {"errors"}, body
    assert body["status"] == status, body
    for key in ("type", "title"):
        assert isinstance(body[key], str), body
        assert body[key], body
    assert isinstance(body["detail"], str), body
    if fields is not None:
        errors = body.get("errors")
        assert isinstance(errors, list), body
        for error in errors:
            assert set(error) == {"field", "message"}, error
            assert isinstance(error["message"], str)
            assert error["message"]
        assert {error["field"] for error in errors} == fields, errors
    return body


def rejected(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    status: int,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """Send a request that must be rejected, and prove that no event was recorded."""
    head = client.head()
    problem = assert_problem(client.request(method, path, body, headers), status, fields)
    assert client.head() == head, "a rejected request recorded an event"
    return problem
