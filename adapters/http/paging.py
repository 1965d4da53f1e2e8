"""The list of milestones as a query of the view, and its pages: cursors and the Link header.

A cursor is the base64url of the last row's sort key and id, a dot, and a hash binding
that position to the list's filters and sort. So it is opaque to clients, a cursor made
for other filters or another sort is refused (the hash differs), and a malformed one too.
Positions are keys, not offsets: a page starts after the last row of the page before,
whatever was created, changed or deleted meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from adapters.contract.validation import ValidationFailed
from projections.finding import Find, due_key, instant_key, words

if TYPE_CHECKING:
    import falcon

    from adapters.contract.models import ListQuery
    from projections.finding import After

_DIGEST_BYTES = 12
_NOT_OURS = "is not a cursor of this list (made for other filters or another sort, or altered)"


def find_of(query: ListQuery, cursor: After | None = None) -> Find:
    """The view query a list request asks, at its own moment for ``overdue``."""
    return Find(
        project_id=query.project_id,
        status=None if query.status is None else tuple(map(str, query.status)),
        due_after=None if query.due_after is None else due_key(query.due_after),
        due_before=None if query.due_before is None else due_key(query.due_before),
        overdue=query.overdue,
        now=instant_key(datetime.now(UTC)) if query.overdue is not None else "",
        terms=tuple(words(query.q)) if query.q is not None else (),
        sort=str(query.sort or "createdAt"),
        limit=query.limit,
        after=cursor,
    )


def list_find(query: ListQuery) -> Find:
    """The view query of a list request, its cursor checked against its filters and sort."""
    if query.cursor is None:
        return find_of(query)
    find = find_of(query)
    return find_of(query, _position(query.cursor, _binding(find)))


def render(
    req: falcon.Request, resp: falcon.Response, find: Find, rows: list[tuple[Any, str, bytes]]
) -> None:
    """The list body; with a limit, ``next`` and the Link header of the next page."""
    if find.limit is None:
        bodies = [row[2] for row in rows]
        resp.data = b'{"data":[%b],"count":%d}' % (b",".join(bodies), len(bodies))
        return
    page = rows[: find.limit]
    next_cursor = None
    if len(rows) > find.limit:
        next_cursor = _cursor((page[-1][0], page[-1][1]), _binding(find))
        resp.set_header("Link", next_link(req, "cursor", next_cursor))
    bodies = [row[2] for row in page]
    resp.data = b'{"data":[%b],"count":%d,"next":%b}' % (
        b",".join(bodies),
        len(bodies),
        orjson.dumps(next_cursor),
    )


def make_cursor(after: After, binding: bytes) -> str:
    """A cursor of another keyset-paged list: ``after`` bound to what ``binding`` names."""
    return _cursor(after, binding)


def cursor_position(cursor: str, binding: bytes) -> After:
    """The ``after`` of a ``make_cursor`` cursor; a 400 naming ``cursor`` if it is malformed
    or was made for another binding."""
    return _position(cursor, binding)


def next_link(req: falcon.Request, name: str, value: str) -> str:
    """The ``Link`` header of the next page: this request's URL with ``name`` set to ``value``."""
    params = {key: given for key, given in req.params.items() if key != name}
    # The path is decoded (a project id may hold spaces): encoded again, it is a URL.
    return f'<{req.prefix}{quote(req.path)}?{urlencode({**params, name: value})}>; rel="next"'


def _binding(find: Find) -> bytes:
    """What a cursor is bound to: every filter and the sort, normalised (not the page size)."""
    return orjson.dumps(
        [
            find.project_id,
            None if find.status is None else list(find.status),
            find.due_after,
            find.due_before,
            find.overdue,
            list(find.terms),
            find.sort,
        ]
    )


def _digest(binding: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(b"milestones cursor\0" + binding + b"\0" + payload).digest()[
        :_DIGEST_BYTES
    ]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    if not text.isascii():
        raise ValueError(text)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(position: Any, binding: bytes) -> str:
    """An opaque cursor of a position (JSON), bound to ``binding``: the list it was made for."""
    payload = orjson.dumps(position)
    return f"{_encode(payload)}.{_encode(_digest(binding, payload))}"


def decode_cursor(cursor: str, binding: bytes) -> Any:
    """The position of a cursor made by ``encode_cursor`` for this ``binding``, or a 400."""
    try:
        encoded_payload, encoded_digest = cursor.split(".")
        payload, digest = _decode(encoded_payload), _decode(encoded_digest)
    except (ValueError, binascii.Error):
        raise _refused("is not a cursor (malformed)") from None
    if not hmac.compare_digest(digest, _digest(binding, payload)):
        raise _refused(_NOT_OURS)
    return orjson.loads(payload)  # ours, as the digest shows


def _cursor(after: After, binding: bytes) -> str:
    return encode_cursor(list(after), binding)


def _position(cursor: str, binding: bytes) -> After:
    key, public_id = decode_cursor(cursor, binding)
    return key, public_id


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed([{"field": "cursor", "message": message}])
