"""Inputs built to break a server, over real HTTP.

Each gets the right 4xx problem+json and records nothing (the log's head is unchanged), and
the server goes on serving. test_rejections.py covers the ordinary bad inputs; these are
the hostile ones: bytes that are not UTF-8, numbers JSON allows but a float does not hold,
nesting, duplicate keys, control characters, slow and truncated bodies, odd paths, long
request lines, methods no route has and repeated query parameters.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.api_client import assert_problem, rejected
from tests.e2e.client import HOST, raw_request, read_response

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.e2e.client import Client
    from tests.e2e.harness import Server, Servers

BODY_TIMEOUT = 1.0  # MILESTONES_BODY_TIMEOUT of this module's server
TIMEOUT_SLACK = 4.0  # a 408 must come within BODY_TIMEOUT + this
LIMIT_REQUEST_LINE = 8190  # adapters/server/gunicorn_conf.py limit_request_line
MAX_BODY = 64 * 1024
JSON = {"Content-Type": "application/json"}
NEVER_EXISTED = "ms_00000000000000000000000000"


@pytest.fixture(scope="module")
def server(module_servers: Servers) -> Server:
    return module_servers.start(env={"MILESTONES_BODY_TIMEOUT": str(BODY_TIMEOUT)})


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.client


@pytest.fixture
def milestone(client: Client) -> Iterator[dict[str, Any]]:
    """A live milestone; after the test it must be exactly as it was (version 1)."""
    document, etag = client.create(
        projectId=f"proj_{uuid.uuid4().hex[:12]}", title="Target", description="untouched"
    )
    assert etag == '"1"'
    yield document
    assert client.get(document["id"]) == (document, '"1"'), "a rejected request changed it"


def path_of(milestone: dict[str, Any]) -> str:
    return f"/api/milestones/{milestone['id']}"


def post_and_patch(client: Client, milestone: dict[str, Any], body: bytes, status: int) -> None:
    """The same bytes as a create and as an update: both rejected, nothing recorded."""
    rejected(client, "POST", "/api/milestones", body, JSON, status=status)
    rejected(client, "PATCH", path_of(milestone), body, JSON, status=status)


def still_serving(client: Client) -> None:
    """Both workers: a few fresh connections, and a write that works."""
    for _ in range(4):
        assert client.request("GET", "/health")[0] == 200
    head = client.head()
    client.create(projectId="proj_still_serving")
    assert client.head() == head + 1


# Bytes that are not UTF-8 (test_rejections.py has a lone 0xff in a value)

NOT_UTF8 = [
    pytest.param(b'{"projectId": "p", "title": "\xc0\xaf"}', id="overlong-slash"),
    pytest.param(b'{"projectId": "p", "title": "\xed\xa0\x80"}', id="encoded-surrogate"),
    pytest.param(b'{"projectId": "p", "title": "\xf4\x90\x80\x80"}', id="beyond-u10ffff"),
    pytest.param(b'{"projectId": "p", "title": "caf\xc3"}', id="cut-sequence"),
    pytest.param(b'{"projectId": "p", "title": "\x80"}', id="lone-continuation"),
    pytest.param(b'{"projectId": "p", "ti\xfetle": "t"}', id="in-a-key"),
    pytest.param('{"projectId": "p", "title": "café"}'.encode("latin-1"), id="latin-1"),
    pytest.param('{"projectId": "p", "title": "t"}'.encode("utf-16"), id="utf-16"),
    pytest.param('{"projectId": "p", "title": "t"}'.encode("utf-32"), id="utf-32"),
]


@pytest.mark.parametrize("body", NOT_UTF8)
def test_invalid_utf8(client: Client, milestone: dict[str, Any], body: bytes) -> None:
    post_and_patch(client, milestone, body, 400)


def test_invalid_utf8_with_a_charset_that_claims_otherwise(
    client: Client, milestone: dict[str, Any]
) -> None:
    body = '{"projectId": "p", "title": "café"}'.encode("latin-1")
    headers = {"Content-Type": "application/json; charset=iso-8859-1"}
    rejected(client, "POST", "/api/milestones", body, headers, status=400)


# NaN and Infinity, numbers too large

NOT_NUMBERS = [
    pytest.param(b'{"projectId": "p", "title": "t", "description": NaN}', id="NaN"),
    pytest.param(b'{"projectId": "p", "title": "t", "description": Infinity}', id="Infinity"),
    pytest.param(b'{"projectId": "p", "title": "t", "description": -Infinity}', id="-Infinity"),
    pytest.param(b'{"projectId": "p", "title": "t", "status": nan}', id="nan"),
    pytest.param(b'{"projectId": "p", "title": "t", "x": [1, NaN]}', id="NaN-in-array"),
    pytest.param(b'{"projectId": "p", "title": "t", "x": {"y": Infinity}}', id="nested"),
    pytest.param(b"Infinity", id="bare-Infinity"),
    pytest.param(b"-Infinity", id="bare-minus-Infinity"),
]

TOO_LARGE = [
    pytest.param(b'{"projectId": "p", "title": "t", "description": 1e400}', id="1e400"),
    pytest.param(b'{"projectId": "p", "title": "t", "description": -1e400}', id="-1e400"),
    pytest.param(b'{"projectId": "p", "title": "t", "description": 1.5E+309}', id="1.5E+309"),
    pytest.param(
        b'{"projectId": "p", "title": "t", "description": ' + b"9" * 5000 + b"}",
        id="5000-digit-integer",
    ),
    pytest.param(
        b'{"projectId": "p", "title": "t", "description": -' + b"1" * 5000 + b"}",
        id="5000-digit-negative",
    ),
    pytest.param(
        b'{"projectId": "p", "title": "t", "x": 0.' + b"1" * 5000 + b"e99999}",
        id="huge-exponent",
    ),
    pytest.param(b"1" * 20_000, id="bare-20000-digits"),
]


@pytest.mark.parametrize("body", NOT_NUMBERS + TOO_LARGE)
def test_numbers_json_or_a_float_cannot_hold(
    client: Client, milestone: dict[str, Any], body: bytes
) -> None:
    post_and_patch(client, milestone, body, 400)


# Nesting


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # 100,000 levels do not fit in 64 KiB: refused for their size, unread.
        pytest.param(b"[" * 100_000, 413, id="100000-open-brackets"),
        pytest.param(b'{"a":' * 20_000, 413, id="20000-open-objects"),
        # Under 64 KiB, the parser's depth limit refuses them.
        pytest.param(b"[" * 60_000, 400, id="60000-open-brackets"),
        pytest.param(b"[" * 30_000 + b"]" * 30_000, 400, id="30000-closed-brackets"),
        pytest.param(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, id="10000-objects"),
        pytest.param(
            b'{"projectId": "p", "title": "t", "description": '
            + b"[" * 20_000
            + b"]" * 20_000
            + b"}",
            400,
            id="deep-in-a-field",
        ),
        pytest.param(
            b'{"projectId": "p", "title": "t", "x": ' + b"[" * 500 + b"]" * 500 + b"}",
            400,
            id="500-in-an-unknown-field",
        ),
    ],
)
def test_deeply_nested_json(
    client: Client, milestone: dict[str, Any], body: bytes, status: int
) -> None:
    post_and_patch(client, milestone, body, status)


# Duplicate keys


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"projectId": "p", "title": "a", "title": "b"}', id="different-values"),
        pytest.param(b'{"projectId": "p", "title": "a", "title": "a"}', id="same-values"),
        pytest.param(b'{"projectId": "p", "title": "a", "t\\u0069tle": "b"}', id="escaped-key"),
        pytest.param(b'{"projectId": "p", "projectId": "q", "title": "a"}', id="projectId"),
        pytest.param(b'{"title": "a", "status": "reached", "status": "pending"}', id="status"),
        pytest.param(b'{"projectId": "p", "title": "a", "x": {"k": 1, "k": 2}}', id="nested"),
    ],
)
def test_duplicate_keys(client: Client, milestone: dict[str, Any], body: bytes) -> None:
    post_and_patch(client, milestone, body, 400)


# Control characters

CONTROL_CHARACTERS = [
    pytest.param("\u0000", id="NUL"),
    pytest.param("\u0007", id="BEL"),
    pytest.param("\u0008", id="BS"),
    pytest.param("\u001b[2J", id="ESC-sequence"),
    pytest.param("\u001f", id="US"),
    pytest.param("\u007f", id="DEL"),
    pytest.param("\u009b", id="CSI"),
]


@pytest.mark.parametrize("field", ["projectId", "title", "description"])
@pytest.mark.parametrize("control", CONTROL_CHARACTERS)
def test_control_characters_in_a_create(client: Client, field: str, control: str) -> None:
    body = {"projectId": "proj_control", "title": "Title"} | {field: f"before{control}after"}
    rejected(client, "POST", "/api/milestones", body, status=400, fields={field})


@pytest.mark.parametrize("field", ["title", "description"])
@pytest.mark.parametrize(
    "control", [pytest.param("\u0000", id="NUL"), pytest.param("\u001b", id="ESC")]
)
def test_control_characters_in_an_update(client: Client, field: str, control: str) -> None:
    document, _ = client.create(projectId=f"proj_{uuid.uuid4().hex[:12]}")
    rejected(
        client, "PATCH", path_of(document), {field: f"x{control}y"}, status=400, fields={field}
    )


def test_description_is_plain_text_with_lines_and_tabs(client: Client) -> None:
    """The contract's description is text: newline, carriage return and tab belong to it."""
    description = "Line one\n\tindented\r\nline three\n"
    document, _ = client.create(projectId="proj_text", description=description)
    assert document["description"] == description
    assert client.get(document["id"])[0]["description"] == description


# Slow and truncated bodies


def _post_head(content_length: int, path: str = "/api/milestones", method: str = "POST") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


VALID = b'{"projectId": "proj_slow", "title": "Arrives too late"}'


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="no-body-at-all"),
        pytest.param(VALID[:20], id="part-of-the-body"),
        pytest.param(VALID[:-1], id="all-but-the-last-byte"),
    ],
)
def test_slow_body_is_408(server: Server, sent: bytes) -> None:
    client = server.client
    head = client.head()
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(_post_head(len(VALID)) + sent)
        response = read_response(sock)  # the client sends nothing more and waits
    elapsed = time.monotonic() - started
    assert_problem(response, 408)
    assert BODY_TIMEOUT * 0.8 <= elapsed <= BODY_TIMEOUT + TIMEOUT_SLACK, elapsed
    assert client.head() == head
    still_serving(client)


def test_slow_patch_body_is_408(server: Server, milestone: dict[str, Any]) -> None:
    body = b'{"title": "Arrives too late"}'
    head = server.client.head()
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(_post_head(len(body), path_of(milestone), "PATCH") + body[:5])
        response = read_response(sock)
    assert_problem(response, 408)
    assert time.monotonic() - started <= BODY_TIMEOUT + TIMEOUT_SLACK
    assert server.client.head() == head


def test_slow_chunked_body_is_408(server: Server) -> None:
    head = server.client.head()
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/milestones HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(VALID) + VALID[:10]
        )
        response = read_response(sock)
    assert_problem(response, 408)
    assert time.monotonic() - started <= BODY_TIMEOUT + TIMEOUT_SLACK
    assert server.client.head() == head


def test_two_stalled_clients_do_not_stop_the_service(server: Server) -> None:
    """Both workers held by stalled bodies at once: each is freed by its timeout, and a
    request that came meanwhile is answered then.
    """
    head = server.client.head()
    socks = [socket.create_connection((HOST, server.port), timeout=30) for _ in range(2)]
    try:
        for sock in socks:
            sock.sendall(_post_head(len(VALID)) + VALID[:3])
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(server.client.request, "GET", "/health")
            for sock in socks:
                assert_problem(read_response(sock), 408)
                sock.close()  # so that gunicorn stops lingering on it
            assert waiting.result(timeout=BODY_TIMEOUT + TIMEOUT_SLACK)[0] == 200
        assert time.monotonic() - started <= BODY_TIMEOUT + TIMEOUT_SLACK
    finally:
        for sock in socks:
            sock.close()
    assert server.client.head() == head
    still_serving(server.client)


def _half_closed(server: Server, data: bytes) -> tuple[int, Any, Any]:
    """Send the bytes, close our sending side (the client has nothing more), read."""
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_response(sock)


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(VALID[: len(VALID) // 2], id="half"),
        pytest.param(VALID[:-1], id="all-but-the-last-byte"),
    ],
)
def test_truncated_body_is_400(server: Server, sent: bytes) -> None:
    head = server.client.head()
    started = time.monotonic()
    assert_problem(_half_closed(server, _post_head(len(VALID)) + sent), 400)
    assert time.monotonic() - started < BODY_TIMEOUT, "an ended body is not a slow one"
    assert server.client.head() == head
    still_serving(server.client)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_body_shorter_than_its_content_length_is_400(server: Server, method: str) -> None:
    if method == "POST":
        body, path = VALID, "/api/milestones"
    else:
        document, _ = server.client.create(projectId=f"proj_{uuid.uuid4().hex[:12]}")
        body, path = b'{"title": "Truncated"}', path_of(document)
    head = server.client.head()
    # The client announced twice as much as it sent, then ended its side.
    response = _half_closed(server, _post_head(2 * len(body), path, method) + body)
    assert_problem(response, 400)
    assert server.client.head() == head


def test_truncated_chunked_body_is_400(server: Server) -> None:
    head = server.client.head()
    data = (
        b"POST /api/milestones HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(VALID) + VALID[:10]
    )
    assert_problem(_half_closed(server, data), 400)
    assert server.client.head() == head


# Path ids: long, odd characters, percent-encoding

ODD_IDS = [
    pytest.param("ms_" + "A" * 3997, id="4000-chars"),
    pytest.param("A" * 4000, id="4000-chars-no-prefix"),
    pytest.param("ms_%00", id="pct-NUL"),
    pytest.param("ms_0000000000000000000000000%00", id="pct-NUL-at-end"),
    pytest.param("ms_%0A", id="pct-newline"),
    pytest.param("ms_%0D%0Ax", id="pct-CRLF"),
    pytest.param("%2E%2E", id="pct-dot-dot"),
    pytest.param("..", id="dot-dot"),
    pytest.param("ms_%25", id="pct-percent"),
    pytest.param("ms_%ZZ", id="bad-pct"),
    pytest.param("ms_%", id="lone-pct"),
    pytest.param("%E9t%E9", id="pct-latin-1"),
    pytest.param("%C3%A9t%C3%A9", id="pct-utf8-accents"),
    pytest.param("%F0%9F%92%A5", id="pct-emoji"),
    pytest.param("%C3%28", id="pct-invalid-utf8"),
    pytest.param("%FF%FE", id="pct-bytes"),
    pytest.param("ms_%20", id="pct-space"),
    pytest.param("%20ms_00000000000000000000000000", id="pct-leading-space"),
    pytest.param("ms_%2B%2B", id="pct-plus"),
    pytest.param("ms_;x=1", id="semicolon"),
    pytest.param("ms_0000000000000000000000000~", id="tilde"),
    pytest.param("ms_%EF%BC%90%EF%BC%90", id="pct-fullwidth-digits"),
]


@pytest.mark.parametrize("milestone_id", ODD_IDS)
def test_odd_path_ids_are_404(client: Client, milestone: dict[str, Any], milestone_id: str) -> None:
    path = f"/api/milestones/{milestone_id}"
    rejected(client, "GET", path, status=404)
    rejected(client, "GET", f"{path}/history", status=404)
    rejected(client, "PATCH", path, {"title": "Nope"}, status=404)
    rejected(client, "DELETE", path, status=404)


@pytest.mark.parametrize(
    "milestone_id",
    [
        pytest.param("ms_%2F", id="pct-slash"),
        pytest.param("a%2Fb", id="pct-slash-inside"),
        pytest.param("ms_x%2F..%2F..%2Fhealth", id="pct-traversal"),
    ],
)
def test_encoded_slashes_match_no_route(client: Client, milestone_id: str) -> None:
    path = f"/api/milestones/{milestone_id}"
    rejected(client, "GET", path, status=404)
    rejected(client, "PATCH", path, {"title": "Nope"}, status=404)
    rejected(client, "DELETE", path, status=404)


def test_a_percent_encoded_real_id_is_the_same_resource(
    client: Client, milestone: dict[str, Any]
) -> None:
    """RFC 3986 6.2.2.2: encoding an unreserved character does not change the URI."""
    encoded = "".join(f"%{ord(char):02X}" for char in milestone["id"])
    status, headers, body = client.request("GET", f"/api/milestones/{encoded}")
    assert status == 200, body
    assert body["data"] == milestone
    assert headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    "raw_path",
    [
        pytest.param(b"/api/milestones/ms_ x", id="raw-space"),
        pytest.param("/api/milestones/été".encode(), id="raw-utf8"),
        pytest.param(b"/api/milestones/ms_\x00", id="raw-NUL"),
        pytest.param(b"/api/milestones/ms_\x7f", id="raw-DEL"),
    ],
)
def test_raw_bytes_in_the_request_line_are_400(client: Client, raw_path: bytes) -> None:
    """Not HTTP at all: gunicorn refuses them before the app, as problem+json too."""
    head = client.head()
    response = raw_request(
        client.port, b"GET " + raw_path + b" HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n"
    )
    assert_below_the_app(response, 400)
    assert client.head() == head
    still_serving(client)


def _request_line_of(length: int, method: str = "GET") -> bytes:
    prefix, suffix = f"{method} /api/milestones/ms_".encode(), b" HTTP/1.1"
    line = prefix + b"X" * (length - len(prefix) - len(suffix)) + suffix
    assert len(line) == length
    return line


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_request_line_at_gunicorns_limit_reaches_the_app(client: Client, method: str) -> None:
    head = client.head()
    line = _request_line_of(LIMIT_REQUEST_LINE, method)
    response = raw_request(client.port, line + b"\r\nHost: e2e\r\nConnection: close\r\n\r\n")
    assert_problem(response, 404)
    assert response[1]["X-Content-Type-Options"] == "nosniff"
    assert client.head() == head


def test_request_line_over_gunicorns_limit_is_414(client: Client) -> None:
    head = client.head()
    line = _request_line_of(LIMIT_REQUEST_LINE + 1)
    response = raw_request(client.port, line + b"\r\nHost: e2e\r\nConnection: close\r\n\r\n")
    assert_below_the_app(response, 414)
    assert client.head() == head
    still_serving(client)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param(b"Bad Header\r\n", 400, id="no-colon"),
        pytest.param(b"X-Big: " + b"y" * 9000 + b"\r\n", 431, id="header-too-long"),
        pytest.param(b"".join(b"X-%d: 1\r\n" % n for n in range(120)), 431, id="too-many"),
    ],
)
def test_malformed_or_oversized_headers_are_problems(
    client: Client, headers: bytes, status: int
) -> None:
    head = client.head()
    request = b"GET /health HTTP/1.1\r\nHost: e2e\r\n" + headers + b"Connection: close\r\n\r\n"
    assert_below_the_app(raw_request(client.port, request), status)
    assert client.head() == head
    still_serving(client)


def assert_below_the_app(response: Any, status: int) -> None:
    """What gunicorn answers itself: problem+json with a request id, closing the connection."""
    assert_problem(response, status)
    headers = response[1]
    assert len(headers["X-Request-Id"]) == 32
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Connection"] == "close"


def test_a_long_query_string_near_the_limit(client: Client) -> None:
    head = client.head()
    value = "p" * (LIMIT_REQUEST_LINE - 100)
    status, _, body = client.request("GET", f"/api/milestones?projectId={value}")
    assert status == 200, body
    assert body == {"data": [], "count": 0}
    assert client.head() == head


# Methods no route has

# Every route answers HEAD where it answers GET, and OPTIONS (contract section 12).
ROUTES = {
    "/api/milestones": {"GET", "HEAD", "OPTIONS", "POST"},
    "/api/milestones/{id}": {"GET", "HEAD", "OPTIONS", "PATCH", "DELETE"},
    "/api/milestones/{id}/history": {"GET", "HEAD", "OPTIONS"},
    "/api/events": {"GET", "HEAD", "OPTIONS"},
    "/health": {"GET", "HEAD", "OPTIONS"},
    "/ready": {"GET", "HEAD", "OPTIONS"},
    "/metrics": {"GET", "HEAD", "OPTIONS"},
}


def _allow(headers: Any) -> set[str]:
    return {name.strip().upper() for name in (headers["Allow"] or "").split(",") if name.strip()}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("method", ["PUT", "TRACE"])
def test_methods_no_route_has_are_405_with_allow(
    client: Client, milestone: dict[str, Any], route: str, method: str
) -> None:
    path = route.format(id=milestone["id"])
    head = client.head()
    body = {"projectId": "proj_put", "title": "Put"} if method == "PUT" else None
    status, headers, response = client.request(method, path, body)
    assert_problem((status, headers, response), 405)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert _allow(headers) == ROUTES[route]
    assert client.head() == head


@pytest.mark.parametrize("route", list(ROUTES))
def test_options_is_204_with_the_allow_of_the_405(
    client: Client, milestone: dict[str, Any], route: str
) -> None:
    path = route.format(id=milestone["id"])
    head = client.head()
    status, headers, body = client.request("OPTIONS", path)
    assert status == 204, body
    assert body == b""
    assert headers["X-Request-Id"]
    assert _allow(headers) == ROUTES[route]
    assert headers["Allow"] == client.request("PUT", path)[1]["Allow"]
    assert client.head() == head


@pytest.mark.parametrize("route", list(ROUTES))
def test_head_is_the_get_without_its_body(
    client: Client, milestone: dict[str, Any], route: str
) -> None:
    path = route.format(id=milestone["id"])
    status, headers, body = client.request("HEAD", path)
    get_status, get_headers, get_body = client.request("GET", path)
    assert (status, body) == (get_status, b"")
    assert get_body != b""
    varying = {"date", "x-request-id", "content-length"}  # metrics and feeds may grow between
    assert {k.lower() for k in headers} == {k.lower() for k in get_headers}
    for name in {k.lower() for k in headers} - varying:
        assert headers[name] == get_headers[name], name


def test_head_of_an_unknown_milestone_is_its_404_without_a_body(client: Client) -> None:
    status, headers, body = client.request("HEAD", f"/api/milestones/{NEVER_EXISTED}")
    assert (status, body) == (404, b"")
    assert headers.get_content_type() == "application/problem+json"
    assert headers["X-Request-Id"]


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "BREW"])
def test_unknown_methods_are_rejected(client: Client, method: str) -> None:
    head = client.head()
    status, headers, _ = client.request(method, "/api/milestones")
    assert status in {400, 405, 501}
    assert headers.get_content_type() == "application/problem+json"
    assert client.head() == head


# Repeated query parameters


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/milestones", "status=pending&status=reached", "status"),
        ("/api/milestones", "status=pending&status=pending", "status"),
        ("/api/milestones", "status=a&status=b", "status"),
        ("/api/milestones", "projectId=p&projectId=q", "projectId"),
        ("/api/milestones", "projectId=p&status=pending&projectId=p", "projectId"),
        ("/api/events", "after=0&after=1", "after"),
        ("/api/events", "limit=1&limit=1", "limit"),
        ("/api/events", "type=Created&type=Deleted", "type"),
        ("/api/events", "projectId=p&projectId=p", "projectId"),
        ("/api/events", f"milestoneId={NEVER_EXISTED}&milestoneId={NEVER_EXISTED}", "milestoneId"),
        ("/api/events", "since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z", "since"),
        ("/api/events", "until=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("/api/milestones/{id}", "version=1&version=1", "version"),
        ("/api/milestones/{id}", "asOf=2100-01-01T00:00:00Z&asOf=2100-01-01T00:00:00Z", "asOf"),
    ],
)
def test_repeated_query_parameters_are_400(
    client: Client, milestone: dict[str, Any], path: str, query: str, field: str
) -> None:
    url = f"{path.format(id=milestone['id'])}?{query}"
    rejected(client, "GET", url, status=400, fields={field})
