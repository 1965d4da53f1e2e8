"""The 64 KiB body limit as a real server applies it, on a body read off a socket.

Every rejection of contract section 4 is tested in-process, in
tests/integration/test_http_rejections.py; here gunicorn hands the app the body: a body of
exactly the limit is read to its last byte and no further, one far over it is refused
while the client is still sending, and a chunked one (no Content-Length) is cut off at
the limit. Each rejection is an RFC 9457 problem that records nothing.
"""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING, Any

from tests.api_client import assert_problem, rejected
from tests.e2e.read_model import assert_one_created

if TYPE_CHECKING:
    from tests.e2e.client import Client

MAX_BODY = 64 * 1024
JSON = {"Content-Type": "application/json"}
VALID = {"projectId": "proj_rejected", "title": "Would be valid"}


def _padded(body: dict[str, Any], size: int) -> bytes:
    """Valid JSON of exactly ``size`` bytes: the object, then insignificant whitespace."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_post_body_of_exactly_64_kib_is_accepted(client: Client) -> None:
    head = client.head()
    status, _, body = client.request("POST", "/api/milestones", _padded(VALID, MAX_BODY), JSON)
    assert status == 201, body
    assert_one_created(client, head, body["data"]["id"])


def test_post_body_far_over_64_kib(client: Client) -> None:
    rejected(client, "POST", "/api/milestones", _padded(VALID, 4 * MAX_BODY), JSON, status=413)


def test_chunked_body_over_64_kib(client: Client) -> None:
    payload = _padded(VALID, MAX_BODY + 1)
    head = client.head()
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/milestones",
            body=(payload[i : i + 8192] for i in range(0, len(payload), 8192)),
            headers=JSON,
            encode_chunked=True,
        )
        response = connection.getresponse()
        status, headers, raw = response.status, response.msg, response.read()
    finally:
        connection.close()
    assert_problem((status, headers, json.loads(raw)), 413)
    assert client.head() == head
