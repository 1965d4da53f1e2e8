"""What a connection's framing and closing can do to everyone else: nothing.

A malformed chunked body is the client's error, answered 4xx problem+json without a trace
in the log; a client that keeps a finished ``Connection: close`` socket open does not delay
the next client, even with a single worker.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from typing import TYPE_CHECKING

from tests.api_client import assert_problem
from tests.e2e.client import HOST, raw_request

if TYPE_CHECKING:
    from tests.e2e.harness import Servers

# Chunk-size lines that are not a size (a size followed by other bytes is malformed too).
BAD_SIZES = [b"zz", b"-1", b"0x10", b"+5", b" 1", b"5;", b"5\x00", b"\xff", b"g", b""]
BAD_SIZES.append(b"1" * 30 + b"z")
BODY = b'{"projectId": "proj_chunks", "title": "never recorded"}'
MALFORMED_REQUESTS = 2000


def _chunked(size_line: bytes, path: str = "/api/milestones") -> bytes:
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        + size_line
        + b"\r\n"
        + BODY
        + b"\r\n0\r\n\r\n"
    )


def test_malformed_chunk_sizes_are_400_problems_without_a_traceback(servers: Servers) -> None:
    server = servers.start()
    head = server.client.head()
    lines = [_chunked(size) for size in BAD_SIZES]
    # A well-formed size whose chunk is longer than it says: a missing terminator.
    lines.append(_chunked(b"%x" % (len(BODY) - 5)))

    def send(number: int) -> int:
        response = raw_request(server.port, lines[number % len(lines)])
        assert_problem(response, response[0])
        return response[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(MALFORMED_REQUESTS)))
    assert set(statuses) == {400}, sorted(set(statuses))
    assert server.client.head() == head  # nothing was recorded
    assert "Traceback" not in server.stderr()
    assert server.client.request("GET", "/health")[0] == 200


def test_a_finished_socket_held_open_does_not_delay_the_next_client(servers: Servers) -> None:
    server = servers.start(workers=1)
    request = b"GET /health HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n"
    held: list[socket.socket] = []
    delays = []
    try:
        for _ in range(5):
            finished = socket.create_connection((HOST, server.port), timeout=10)
            held.append(finished)
            finished.sendall(request)
            assert finished.recv(65536).startswith(b"HTTP/1.1 200")  # then it keeps it open
            started = time.monotonic()
            status, _, _ = raw_request(server.port, request)
            delays.append(time.monotonic() - started)
            assert status == 200
    finally:
        for sock in held:
            sock.close()
    # Gunicorn's own close would wait up to 2 s for each held socket.
    assert max(delays) < 0.5, delays


def test_a_chunked_body_past_the_limit_is_413_at_once(servers: Servers) -> None:
    """A chunk that claims more than 64 KiB is refused as soon as its size is read: the
    client cannot trickle it for as long as it likes."""
    server = servers.start()
    head = server.client.head()
    started = time.monotonic()
    response = raw_request(server.port, _chunked(b"ffffffff")[: -len(b"\r\n0\r\n\r\n")])
    assert time.monotonic() - started < 2.0
    assert_problem(response, 413)
    assert server.client.head() == head
