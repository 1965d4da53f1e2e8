"""The worker's answers for errors that gunicorn raises below the application."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

import orjson
import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http.errors import InvalidHeader, LimitRequestHeaders, LimitRequestLine

from adapters.server.worker import HeaderTimeout, Worker

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def worker() -> Iterator[Worker]:
    config = Config()
    made = Worker(1, 0, [], None, 30, config, Logger(config))
    yield made
    made.tmp.close()


def answer(worker: Worker, error: BaseException) -> tuple[list[bytes], dict[str, object]]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        worker.handle_error(None, ours, ("127.0.0.1", 1), error)
        ours.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := theirs.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), orjson.loads(body)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (LimitRequestLine(9000, 8190), 414),
        (InvalidHeader("Bad Header"), 400),
        (LimitRequestHeaders("limit request headers fields size"), 431),
        (HeaderTimeout(), 408),
        (RuntimeError("boom: a secret"), 500),
    ],
)
def test_errors_below_the_app_are_problem_json_with_a_request_id(
    worker: Worker, error: BaseException, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL):
        lines, body = answer(worker, error)
    assert lines[0].startswith(b"HTTP/1.1 %d " % status)
    headers = dict(line.split(b": ", 1) for line in lines[1:])
    assert headers[b"Content-Type"] == b"application/problem+json"
    assert len(headers[b"X-Request-Id"]) == 32
    assert headers[b"Connection"] == b"close"
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == status
    assert "secret" not in str(body["detail"])  # a 500 does not tell what failed
