"""The WSGI application a gunicorn worker serves: the composition root's service behind the
HTTP resources, with authentication, metrics and the storage's fault episodes."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.bootstrap import Service, open_log_watch, open_service, open_store
from adapters.http.app import create_app
from adapters.http.identity import parse_tokens
from adapters.http.live_tail import LiveTail
from adapters.http.log_lines import BatchedLines
from adapters.http.metrics import Metrics
from adapters.http.middleware import BearerAuth
from adapters.server.on_demand import (
    LazyService,
    lazy_application,
    lazy_chain,
    lazy_reads,
    lazy_webhooks,
)
from adapters.server.read_only import ReadsWhileUnwritable
from adapters.settings import Settings, sqlite_path
from adapters.storage.faults import (
    Fault,
    FaultEpisodes,
    StorageUnavailable,
    checked_turn,
    sqlite_probe,
)
from adapters.storage.log_watch import LogWaiter

if TYPE_CHECKING:
    from collections.abc import Callable

    import falcon


def _stderr_lines(lines: bytes) -> None:
    # Whole lines, at most what a pipe writes at once, straight to stderr: written whole
    # even when several workers share the stream.
    os.write(sys.stderr.fileno(), lines)


def authentication(settings: Settings) -> BearerAuth | None:
    """The bearer-token check the settings ask for; a ValueError for unusable settings (a
    malformed tokens line is named by its number, never by its token)."""
    if settings.api_tokens is not None:
        # Configured but empty would silently leave the API open: refuse to start instead.
        tokens = parse_tokens(settings.api_tokens)
        if not tokens:
            raise ValueError("MILESTONES_API_TOKENS(_FILE) is set but holds no token")
        return BearerAuth(tokens, protect_metrics=settings.metrics_require_token)
    if settings.metrics_require_token:
        raise ValueError("MILESTONES_METRICS_REQUIRE_TOKEN needs MILESTONES_API_TOKENS(_FILE)")
    return None


def create_wsgi_app() -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI entry point: ``gunicorn 'adapters.bootstrap:create_wsgi_app()'``."""
    settings = Settings.from_environ()
    auth = authentication(settings)
    # Opened on first use, so that a worker boots and answers while the database is down.
    probe = _probe(settings)
    faults = FaultEpisodes(probe)

    def on_open(service: Service) -> None:
        service.milestones.observers.extend([metrics.count_events, faults.succeeded])
        service.milestones.batch_observers.append(metrics.observe_batch)
        if probe is not None:  # the file the probe looks at decides, in every worker
            service.milestones.writer_turn = checked_turn(faults, service.milestones.writer_turn)

    lazy = LazyService(lambda: open_service(settings), on_open)
    faults.on_unwritable = lazy.reset
    reads = lazy_reads(lazy)
    if probe is not None:
        reads = ReadsWhileUnwritable(lazy, lambda: open_store(settings))
    webhooks = lazy_webhooks(lazy)
    metrics = Metrics(reads, webhooks)
    with suppress(StorageUnavailable):
        lazy.get()
    return create_app(
        lazy_application(lazy),
        reads,
        metrics=metrics,
        access_log=BatchedLines(_stderr_lines) if settings.access_log else None,
        auth=auth,
        cors_origins=settings.cors_origins,
        body_timeout=settings.body_timeout,
        faults=faults,
        # With tokens, the token names the actor: a client can never choose its own.
        actor_header=settings.actor_header if auth is None else None,
        webhooks=webhooks,
        allow_private_webhooks=settings.webhook_allow_private,
        tail=LiveTail(
            reads,
            LogWaiter(lambda: open_log_watch(settings)),
            slots=settings.streams_per_worker,
            stream_seconds=settings.stream_seconds,
            keepalive_seconds=settings.stream_keepalive_seconds,
            metrics=metrics,
        ),
        chain=lazy_chain(lazy),
    )


def _probe(settings: Settings) -> Callable[[Fault | None], Fault | None] | None:
    """What ``/ready`` can see of a write fault without writing: SQLite's file only."""
    if settings.database_url.startswith("sqlite"):
        return sqlite_probe(str(Path(sqlite_path(settings.database_url)).resolve()))
    return None
