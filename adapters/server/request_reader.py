"""Reading a request whole before it takes a thread: the head and a body up to the limit,
from the worker's poller, under one deadline for the whole request.

A client that sends its request slowly, or stops halfway, then costs a buffer and a place
in the poller, never one of the worker's threads: the threads serve only requests that
have arrived. What cannot be read whole here goes to a thread as it is, where gunicorn and
the application answer it: a body over the limit (413 without reading it), a malformed
head or chunk (400), a request that waits for ``100 Continue`` before sending its body.
"""

from __future__ import annotations

import re

# Bytes of body the application accepts at the most (adapters/contract/validation.py).
MAX_BODY_BYTES = 64 * 1024
# Bytes of request head read here at the most; a longer head goes to gunicorn's limits.
MAX_HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(
    rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,19})[ \t]*(?=\r\n)", re.IGNORECASE
)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:[^\r\n]*chunked", re.IGNORECASE)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue", re.IGNORECASE)


class Needs:
    """What reading a buffered request needs next."""

    HEAD = "head"  # the request head has not ended yet
    BODY = "body"  # the head is in; the body has not all arrived
    NOTHING = "nothing"  # ready for a thread: whole, or for gunicorn to answer as it is
    TOO_LARGE = "too large"  # a chunked body past the limit: refused without a thread


def needs(buffer: bytes | bytearray) -> str:
    """Whether the request at the start of ``buffer`` can go to a thread (``NOTHING``)."""
    head_end = buffer.find(_HEAD_END)
    if head_end < 0:
        return Needs.NOTHING if len(buffer) > MAX_HEAD_BYTES else Needs.HEAD
    head = bytes(buffer[: head_end + 2])
    body = memoryview(buffer)[head_end + len(_HEAD_END) :]
    if _EXPECT_CONTINUE.search(head):
        return Needs.NOTHING  # the client waits for gunicorn's 100 Continue
    if _CHUNKED.search(head):
        return _chunked(body)
    lengths = _CONTENT_LENGTH.findall(head)
    if not lengths:
        return Needs.NOTHING
    if len(set(lengths)) > 1:
        return Needs.NOTHING  # conflicting lengths: gunicorn refuses the request
    length = int(lengths[0])
    return Needs.BODY if length <= MAX_BODY_BYTES and len(body) < length else Needs.NOTHING


def _chunked(body: memoryview) -> str:
    """What reading a chunked body needs: more of it (``BODY``), nothing once the last chunk
    and the end of its trailers are in or it is malformed (gunicorn answers that), or to be
    refused once its chunks add up to more than the limit: a client could otherwise trickle
    a chunk that claims to be huge for as long as it likes."""
    data = bytes(body[: MAX_BODY_BYTES * 2])
    position, total = 0, 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return Needs.BODY if len(data) - position <= MAX_HEAD_BYTES else Needs.NOTHING
        size_text = data[position:line_end].split(b";", 1)[0].strip(b" \t")
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            return Needs.NOTHING
        size = int(size_text, 16)
        total += size
        if total > MAX_BODY_BYTES:
            return Needs.TOO_LARGE
        if size == 0:  # the last chunk, then trailers if any, up to an empty line
            rest = data[line_end:]
            done = rest.startswith(_HEAD_END[:2] * 2) or _HEAD_END in rest
            return Needs.NOTHING if done else Needs.BODY
        position = line_end + 2 + size + 2
        if position > len(data):
            return Needs.BODY
