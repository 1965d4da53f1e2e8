"""The composition root: the one place that builds the service from its settings."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.http.app import create_app
from adapters.http.metrics import Metrics
from adapters.http.middleware import BearerAuth, parse_tokens
from adapters.settings import Settings
from adapters.webhooks.store import WebhookStore
from domain.application import Milestones
from projections.runner import catch_up

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    import falcon

    from projections.ports import Reads, ViewStore


# The advisory lock key under which processes set up a PostgreSQL database ("mile").
SETUP_LOCK = 0x6D696C65


@dataclass
class Service:
    """The application over its storage: what serving needs."""

    milestones: Milestones
    reads: Reads
    store: ViewStore
    webhooks: WebhookStore

    def close(self) -> None:
        self.webhooks.close()
        self.reads.close()
        self.milestones.close()


@dataclass
class Store:
    """The storage alone, without the application: what the operator's tools need."""

    view: ViewStore
    reads: Reads
    factory: InfrastructureFactory[Any]

    def close(self) -> None:
        self.reads.close()
        self.factory.close()


def sqlite_path(database_url: str) -> str:
    """``sqlite:///var/m.db`` is relative to the working directory, ``sqlite:////srv/m.db`` not."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix:
        msg = f"not an SQLite URL: {database_url!r} (expected sqlite:///path/to/file.db)"
        raise ValueError(msg)
    return database_url[len(prefix) :]


@dataclass(frozen=True)
class _Backend:
    """How to open one kind of storage: the library's settings, what must hold while the
    tables are created, the view store and reads of the recorder made, and what serving
    does first on it."""

    env: dict[str, str]
    setup: Callable[[], AbstractContextManager[None]]
    open: Callable[[Any], tuple[ViewStore, Reads]]
    start: Callable[[Any], None] = lambda recorder: None


def _backend(settings: Settings) -> _Backend:
    scheme = settings.database_url.partition(":")[0]
    if scheme == "sqlite":
        return _sqlite(settings)
    if scheme in {"postgresql", "postgres"}:
        return _postgres(settings)
    msg = f"DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme}:"
    raise ValueError(msg)


def _sqlite(settings: Settings) -> _Backend:
    from adapters.sqlite import MilestonesRecorder, SQLiteReads  # noqa: PLC0415

    path = sqlite_path(settings.database_url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)

    def open_recorder(recorder: Any) -> tuple[ViewStore, Reads]:
        if not isinstance(recorder, MilestonesRecorder):
            raise TypeError(recorder)
        return recorder, SQLiteReads(path)

    def start(recorder: MilestonesRecorder) -> None:
        recorder.analyze()

    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": "adapters.sqlite:MilestonesRecorder",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout),
    }
    return _Backend(env, nullcontext, open_recorder, start)


def _postgres(settings: Settings) -> _Backend:
    # Imported here so that SQLite users need not install psycopg.
    from adapters.postgres import PostgresMilestonesRecorder, PostgresReads  # noqa: PLC0415

    def open_recorder(recorder: Any) -> tuple[ViewStore, Reads]:
        if not isinstance(recorder, PostgresMilestonesRecorder):
            raise TypeError(recorder)
        return recorder, PostgresReads(recorder.datastore)

    return _Backend(_postgres_env(settings), lambda: _setup_lock(settings), open_recorder)


@contextmanager
def _setup_lock(settings: Settings) -> Iterator[None]:
    """Serialise table setup across every process and host that opens one database.

    The library creates its tables and functions on start; two processes doing that at
    once on PostgreSQL fail ("tuple concurrently updated"). An advisory lock, held on a
    connection of its own, makes them take turns.
    """
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        settings.database_url, autocommit=True, connect_timeout=settings.connect_timeout
    ) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def _postgres_env(settings: Settings) -> dict[str, str]:
    url = urlsplit(settings.database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "adapters.postgres:PostgresMilestonesRecorder",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
        "POSTGRES_HOST": url.hostname or "localhost",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or ""),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout),
    }


def open_store(settings: Settings) -> Store:
    """Open the storage for a tool: the tables are created if missing, the view is left
    as it is, and no application is built."""
    backend = _backend(settings)
    with backend.setup():
        factory = InfrastructureFactory.construct(Environment(Milestones.name, backend.env))
        view, reads = backend.open(factory.application_recorder())
    return Store(view=view, reads=reads, factory=factory)


def open_service(settings: Settings) -> Service:
    """Open the storage and the application on it, create what is missing, and bring the
    view up to the log's head."""
    backend = _backend(settings)
    with backend.setup():
        milestones = Milestones(env=backend.env)
    store, reads = backend.open(milestones.recorder)
    milestones.lookups = reads
    backend.start(milestones.recorder)
    catch_up(store)
    return Service(milestones, reads, store, open_webhooks(settings))


def open_webhooks(settings: Settings) -> WebhookStore:
    """The webhook tables (subscriptions, progress, delivery log, lease), created if missing."""
    return WebhookStore(
        settings.database_url,
        lock_timeout=settings.lock_timeout,
        connect_timeout=settings.connect_timeout,
    )


def _stderr_lines(line: bytes) -> None:
    # One write per line, straight to stderr: lines this short are written whole even
    # when several workers share the stream.
    os.write(sys.stderr.fileno(), line)


def create_wsgi_app() -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI entry point: ``gunicorn 'adapters.bootstrap:create_wsgi_app()'``."""
    settings = Settings.from_environ()
    service = open_service(settings)
    metrics = Metrics(service.reads, service.webhooks)
    service.milestones.observers.append(metrics.count_events)
    auth = None
    if settings.api_tokens is not None:
        # Configured but empty would silently leave the API open: refuse to start instead.
        tokens = parse_tokens(settings.api_tokens)
        if not tokens:
            raise ValueError("MILESTONES_API_TOKENS(_FILE) is set but holds no token")
        auth = BearerAuth(tokens, protect_metrics=settings.metrics_require_token)
    elif settings.metrics_require_token:
        raise ValueError("MILESTONES_METRICS_REQUIRE_TOKEN needs MILESTONES_API_TOKENS(_FILE)")
    return create_app(
        service.milestones,
        service.reads,
        metrics=metrics,
        access_log=_stderr_lines if settings.access_log else None,
        auth=auth,
        cors_origins=settings.cors_origins,
        body_timeout=settings.body_timeout,
        webhooks=service.webhooks,
        allow_private_webhooks=settings.webhook_allow_private,
    )
