"""What both HTTP test layers share: the API's conveniences over any transport, and the checks
of a problem response and of a rejection that records nothing.

``ApiClient`` is the API as a test speaks to it; the end-to-end ``Client`` sends its requests
over a socket to a real server, the integration ``AppClient`` through Falcon's TestClient to
the app in-process. Both answer ``(status, headers, body)`` with the same types, so a test
reads the same on either layer.
"""

from __future__ import annotations

import http.client
import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_FEED_PAGES = 1000  # a feed followed with limit=1000 ends within a million events

Response = tuple[int, http.client.HTTPMessage, Any]


def encode_body(
    body: Any, headers: Mapping[str, str] | None
) -> tuple[bytes | None, dict[str, str]]:
    """The bytes to send and the headers to send them with.

    A ``dict`` or ``list`` body is sent as JSON with ``Content-Type: application/json``
    (unless ``headers`` name another one); ``bytes`` or ``str`` go out exactly as given,
    with no Content-Type unless ``headers`` has one.
    """
    send_headers = dict(headers or {})
    if body is None:
        return None, send_headers
    if isinstance(body, bytes | bytearray):
        return bytes(body), send_headers
    if isinstance(body, str):
        return body.encode(), send_headers
    if not any(name.lower() == "content-type" for name in send_headers):
        send_headers["Content-Type"] = "application/json"
    return json.dumps(body).encode(), send_headers


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """The body parsed when its type says JSON; the bytes as they came otherwise (or when
    it does not parse: the test that looks at it will fail)."""
    if raw and _is_json(content_type):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


class ApiClient(ABC):
    """The Milestones API as a test speaks to it: ``request`` and conveniences over it."""

    @abstractmethod
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """``(status, headers, body)``; the body is parsed when the response says it is JSON.
        ``body`` and ``headers`` are sent as ``encode_body`` makes them."""

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
    client: ApiClient,
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
