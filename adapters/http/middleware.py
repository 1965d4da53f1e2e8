"""What every request goes through: request ids, security headers, logs, metrics, auth."""

from __future__ import annotations

import hmac
import os
import time
from typing import TYPE_CHECKING

import falcon
import orjson

from adapters.http.log_time import LogClock

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.http.identity import Token
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
        self._clock = LogClock()

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
        req.context.actor = None  # until authentication or the proxy's header names one

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
                        "time": self._clock.now(),
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

    A read-only token may read but not write. The token's name is the request's actor,
    whatever else the request sends. Tokens are compared in constant time, each one every
    time, and never logged.
    """

    def __init__(self, tokens: dict[str, Token], *, protect_metrics: bool) -> None:
        self._tokens = [(token.encode(), named) for token, named in tokens.items()]
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
        found = self._access(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            raise falcon.HTTPUnauthorized(
                description="a valid bearer token is required",
                challenges=['Bearer realm="milestones"'],
            )
        if found.read_only and req.method not in SAFE_METHODS:
            raise falcon.HTTPForbidden(description="this token may only read")
        req.context.actor = found.name

    def _access(self, token: str) -> Token | None:
        """What the token stands for; None for an unknown token."""
        presented = token.encode()
        found: Token | None = None
        for candidate, named in self._tokens:
            if hmac.compare_digest(candidate, presented):
                found = named
        return found
