"""What every request goes through: request ids, security headers, logs, metrics, auth."""

from __future__ import annotations

import hmac
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import falcon
import orjson

from domain.milestone import format_instant

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.http.metrics import Metrics

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_REQUEST_ID = 128


class RequestContext:
    """Gives each request an id, and each response the id, nosniff, a log line and metrics.

    ``access_log`` takes each line as bytes: one JSON object and a newline.
    """

    def __init__(
        self, metrics: Metrics | None, access_log: Callable[[bytes], object] | None
    ) -> None:
        self._metrics = metrics
        self._access_log = access_log

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        request_id = req.get_header("X-Request-Id")
        if not (
            request_id
            and len(request_id) <= MAX_REQUEST_ID
            and request_id.isascii()
            and request_id.isprintable()
        ):
            request_id = os.urandom(16).hex()
        req.context.request_id = request_id

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)
        resp.set_header("X-Content-Type-Options", "nosniff")
        duration = time.perf_counter() - req.context.started
        route = req.uri_template or "unmatched"
        status = resp.status_code
        if self._metrics is not None:
            self._metrics.observe_request(route, req.method, status, duration)
        if self._access_log is not None:
            self._access_log(
                orjson.dumps(
                    {
                        "time": format_instant(datetime.now(UTC)),
                        "method": req.method,
                        "route": route,
                        "path": req.path,
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                        "request_id": req.context.request_id,
                    },
                    option=orjson.OPT_APPEND_NEWLINE,
                )
            )


class BearerAuth:
    """Requires ``Authorization: Bearer <token>`` on /api (and optionally /metrics).

    A read-only token may read but not write. Tokens are compared in constant time, each
    one every time, and never logged.
    """

    def __init__(self, tokens: dict[str, bool], *, protect_metrics: bool) -> None:
        self._tokens = [(token.encode(), read_only) for token, read_only in tokens.items()]
        self._protect_metrics = protect_metrics

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: object
    ) -> None:
        # After routing, so the access log and metrics name the route of a 401 or 403.
        protected = req.path == "/api" or req.path.startswith("/api/")
        if self._protect_metrics and req.path == "/metrics":
            protected = True
        if not protected or req.method == "OPTIONS":  # CORS preflights carry no credentials
            return
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        read_only = self._access(token.strip()) if scheme.lower() == "bearer" else None
        if read_only is None:
            raise falcon.HTTPUnauthorized(
                description="a valid bearer token is required",
                challenges=['Bearer realm="milestones"'],
            )
        if read_only and req.method not in SAFE_METHODS:
            raise falcon.HTTPForbidden(description="this token may only read")

    def _access(self, token: str) -> bool | None:
        """Whether the token is read-only; None for an unknown token."""
        presented = token.encode()
        found: bool | None = None
        for candidate, read_only in self._tokens:
            if hmac.compare_digest(candidate, presented):
                found = read_only
        return found


def parse_tokens(text: str) -> dict[str, bool]:
    """Tokens, one a line: ``TOKEN`` or ``TOKEN read-only``; blank lines and ``#`` comments.

    The value is whether the token is read-only.
    """
    tokens = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1] not in {"read-only", "read-write"}):  # noqa: PLR2004
            msg = f"token line {number}: expected 'TOKEN' or 'TOKEN read-only'"
            raise ValueError(msg)
        tokens[words[0]] = words[1:] == ["read-only"]
    return tokens
