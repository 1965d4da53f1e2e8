"""When a request buffered by the worker's poller is ready for a thread
(``adapters.server.request_reader``): whole, or to be answered as it is."""

from __future__ import annotations

import pytest

from adapters.server.request_reader import MAX_BODY_BYTES, MAX_HEAD_BYTES, Needs, needs

POST = b"POST /api/milestones HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
CHUNKED = b"POST /api/milestones HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("buffer", "expected"),
    [
        pytest.param(b"", Needs.HEAD, id="nothing-yet"),
        pytest.param(b"GET /health HTTP/1.1\r\nHost: h\r\n", Needs.HEAD, id="head-unfinished"),
        pytest.param(b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n", Needs.NOTHING, id="get"),
        pytest.param(b"G" * (MAX_HEAD_BYTES + 1), Needs.NOTHING, id="head-over-the-limit"),
        pytest.param(POST + b"ab", Needs.BODY, id="body-unfinished"),
        pytest.param(POST + b"abcde", Needs.NOTHING, id="body-whole"),
        pytest.param(POST + b"abcdeGET", Needs.NOTHING, id="pipelined"),
        pytest.param(POST.replace(b"Length", b"length"), Needs.BODY, id="header-case"),
        pytest.param(
            POST.replace(b"5", b"%d" % (MAX_BODY_BYTES + 1)), Needs.NOTHING, id="body-too-large"
        ),
        pytest.param(
            POST.replace(b"\r\n\r\n", b"\r\nContent-Length: 6\r\n\r\n"),
            Needs.NOTHING,
            id="conflicting-lengths",
        ),
        pytest.param(
            POST.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"),
            Needs.NOTHING,
            id="awaits-100-continue",
        ),
        pytest.param(CHUNKED, Needs.BODY, id="chunked-nothing-yet"),
        pytest.param(CHUNKED + b"5\r\nab", Needs.BODY, id="chunk-unfinished"),
        pytest.param(CHUNKED + b"5\r\nabcde\r\n", Needs.BODY, id="no-last-chunk"),
        pytest.param(CHUNKED + b"5\r\nabcde\r\n0\r\n", Needs.BODY, id="no-end-line"),
        pytest.param(CHUNKED + b"5\r\nabcde\r\n0\r\n\r\n", Needs.NOTHING, id="chunked-whole"),
        pytest.param(CHUNKED + b"5;x=y\r\nabcde\r\n0\r\n\r\n", Needs.NOTHING, id="extension"),
        pytest.param(CHUNKED + b"0\r\nX-T: 1\r\n", Needs.BODY, id="trailer-unfinished"),
        pytest.param(CHUNKED + b"0\r\nX-T: 1\r\n\r\n", Needs.NOTHING, id="trailer-whole"),
        pytest.param(CHUNKED + b"zz\r\n", Needs.NOTHING, id="malformed-size"),
        pytest.param(CHUNKED + b"ffffffff\r\n", Needs.TOO_LARGE, id="chunk-too-large"),
        pytest.param(
            CHUNKED + (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 2 + b"1\r\n",
            Needs.TOO_LARGE,
            id="chunks-add-up-past-the-limit",
        ),
        pytest.param(
            CHUNKED + (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 2 + b"0\r\n\r\n",
            Needs.NOTHING,
            id="chunks-up-to-the-limit",
        ),
    ],
)
def test_when_a_request_is_ready_for_a_thread(buffer: bytes, expected: str) -> None:
    assert needs(buffer) == expected
