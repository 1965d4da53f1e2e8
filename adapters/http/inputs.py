"""Reading a request: its JSON body and its headers (the query is the models' business)."""

from __future__ import annotations

import json
import math
from typing import Any

import falcon
from gunicorn.http.errors import ParseException

from adapters.contract.validation import MAX_BODY_BYTES, ValidationFailed

JSON_TYPES = frozenset({"application/json"})
_TRUNCATED = "the body ended before its Content-Length"
_MAX_DIGITS = 19  # every number here fits in 63 bits


def read_json(req: falcon.Request, idle_timeout: float) -> Any:
    """The body as JSON: 415 for other media types, 413 past 64 KiB, 400 if malformed,
    408 when the client stops sending for ``idle_timeout`` seconds.

    A request without a Content-Type is read as JSON.
    """
    media_type = (req.content_type or "application/json").partition(";")[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise falcon.HTTPUnsupportedMediaType(description="the body must be application/json")
    if (req.content_length or 0) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description="the body must be at most 64 KiB")
    raw = _read_body(req, idle_timeout)
    if len(raw) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description="the body must be at most 64 KiB")
    return parse_json(raw)


def _read_body(req: falcon.Request, idle_timeout: float) -> bytes:
    # Under gunicorn the client's socket is at hand: bound how long a read may wait, so
    # a client that stalls cannot hold a worker until the arbiter kills it.
    client = req.env.get("gunicorn.socket")
    previous = client.gettimeout() if client is not None else None
    if client is not None:
        client.settimeout(idle_timeout)
    # Without a Content-Length the body is chunked, and the server decodes it.
    stream = req.bounded_stream if req.content_length is not None else req.stream
    try:
        raw = bytes(stream.read(MAX_BODY_BYTES + 1))
    except TimeoutError:
        raise falcon.HTTPError(
            falcon.HTTP_408, description=f"the body did not arrive within {idle_timeout:g} s"
        ) from None
    except OSError:
        raise ValidationFailed([{"field": "", "message": _TRUNCATED}]) from None
    except ParseException as error:
        # Gunicorn decodes a chunked body as it is read: a malformed chunk size or
        # terminator is the client's framing error, found only here.
        detail = f"the chunked body is malformed: {error}"
        raise ValidationFailed([{"field": "", "message": detail}]) from None
    finally:
        if client is not None:
            client.settimeout(previous)
    if req.content_length is not None and len(raw) < req.content_length:
        raise ValidationFailed([{"field": "", "message": _TRUNCATED}])
    return raw


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            msg = f"duplicate key {key!r}"
            raise ValueError(msg)
        obj[key] = value
    return obj


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        msg = f"number out of range: {text[:20]}"
        raise ValueError(msg)
    return number


def _whole(text: str) -> int:
    # A whole number no double can hold is out of range too, as it would be in most
    # clients' parsers; the check also comes before Python's limit on digits.
    _finite(text)
    return int(text)


def _no_constants(name: str) -> None:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


# One parse with the standard library's parser and hooks: it refuses duplicate keys (a body
# that says two things is not one to guess at), NaN and Infinity and numbers out of range;
# the strict UTF-8 decoding before it refuses bytes that are not text, and its depth is
# bounded by the interpreter's recursion limit. What it lets through, lone surrogates
# written as escapes, ``_lone_surrogate`` finds.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_float=_finite,
    parse_int=_whole,
    parse_constant=_no_constants,
)


def _lone_surrogate(value: Any) -> bool:
    """Whether any key or string in a parsed value holds half of a surrogate pair."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN or Infinity, no numbers out of range,
    no lone surrogates."""
    try:
        return _decode(raw)
    except (ValueError, RecursionError) as error:
        detail = "not valid UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
        raise ValidationFailed(
            [{"field": "", "message": "is not valid JSON"}], f"malformed JSON: {detail[:200]}"
        ) from None


def _decode(raw: bytes) -> Any:
    value = _DECODER.decode(raw.decode("utf-8"))
    # Only an escape (a backslash, u, then d800 to dfff) can make a lone surrogate: the
    # UTF-8 decoding refused encoded ones. Most bodies have no escape and skip the walk.
    if b"\\u" in raw and _lone_surrogate(value):
        msg = "lone surrogate in a string"
        raise ValueError(msg)
    return value


def if_match(req: falcon.Request) -> set[int] | None:
    """The versions an If-Match header accepts; None when any version will do."""
    header = req.get_header("If-Match")
    if header is None:
        return None
    versions = set()
    for tag in (part.strip() for part in header.split(",")):
        if tag == "*":
            return None
        # Weak tags never match under If-Match's strong comparison, nor do unknown ones.
        quoted = len(tag) > 1 and tag[0] == tag[-1] == '"'
        value = tag[1:-1]
        if quoted and value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
            versions.add(int(value))
    return versions


def none_match(req: falcon.Request, version: int) -> bool:
    """Whether If-None-Match names this version (weak comparison, as RFC 9110 says)."""
    header = req.get_header("If-None-Match")
    if header is None:
        return False
    tags = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in tags or f'"{version}"' in tags


def idempotency_key(req: falcon.Request) -> str | None:
    key = req.get_header("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 255 and key.isascii() and key.isprintable()):  # noqa: PLR2004
        raise ValidationFailed(
            [{"field": "Idempotency-Key", "message": "must be 1 to 255 printable ASCII characters"}]
        )
    return key
