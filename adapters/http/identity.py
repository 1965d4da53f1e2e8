"""Who the caller is: named bearer tokens, or the header an authenticating proxy sets.

The adapter decides who calls and hands the application a ``Caller``; every event it
records carries the caller's actor and the request's id. With tokens configured the
actor is the token's name, whatever else the request says; without tokens, it is the
value of the header the operator names (``MILESTONES_ACTOR_HEADER``), or unknown.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import falcon

from adapters.contract.fields import MAX_ACTOR
from adapters.contract.validation import ValidationFailed
from domain.caller import Caller

READ_ONLY = "read-only"
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}", re.ASCII)
_LINE_FORMS = "expected 'TOKEN', 'TOKEN read-only', 'TOKEN NAME' or 'TOKEN NAME read-only'"
_NAME_RULE = "a NAME is 1-64 characters of A-Z a-z 0-9 . _ @ - and not 'read-only'"


@dataclass(frozen=True)
class Token:
    """What a bearer token stands for: who it names and whether it may only read."""

    name: str
    read_only: bool = False


def legacy_name(token: str) -> str:
    """The name of a token given without one: derived from it, never the token itself."""
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:8]


def parse_tokens(text: str) -> dict[str, Token]:
    """Tokens, one a line: ``TOKEN NAME`` or ``TOKEN NAME read-only``, and the older
    ``TOKEN`` or ``TOKEN read-only`` (named by ``legacy_name``); blank lines and ``#``
    comments are skipped. Two tokens may share a name.

    A malformed line is a ValueError naming its number, never its token.
    """
    tokens = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        token, rest = words[0], words[1:]
        read_only = bool(rest) and rest[-1] == READ_ONLY
        if read_only:
            rest = rest[:-1]
        if len(rest) > 1:
            msg = f"token line {number}: {_LINE_FORMS}"
            raise ValueError(msg)
        if rest and (rest[0] == READ_ONLY or not _NAME.fullmatch(rest[0])):
            msg = f"token line {number}: {_NAME_RULE}"
            raise ValueError(msg)
        tokens[token] = Token(rest[0] if rest else legacy_name(token), read_only)
    return tokens


class ActorHeader:
    """The actor from a header that an authenticating proxy in front of the service sets
    (oauth2-proxy's ``X-Forwarded-User``, for instance): used only without tokens.

    A value that is not 1-200 printable characters is a 400 naming the header, before
    the request reaches a responder, so it records nothing.
    """

    def __init__(self, header: str) -> None:
        self._header = header

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: object
    ) -> None:
        raw = req.get_header(self._header)
        if raw is None or not req.path.startswith("/api/"):
            return
        req.context.actor = self._checked(raw)

    def _checked(self, raw: str) -> str:
        # WSGI hands header bytes over as Latin-1; a proxy sends names as UTF-8.
        try:
            value = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            value = None
        if value is None or not value or len(value) > MAX_ACTOR or not value.isprintable():
            message = f"must be 1-{MAX_ACTOR} printable characters"
            raise ValidationFailed([{"field": self._header, "message": message}])
        return value


def caller_of(req: falcon.Request) -> Caller:
    """The caller of a request, as the middleware established it."""
    return Caller(actor=req.context.actor, request_id=req.context.request_id)
