"""Configuration, read from the environment once, at the composition root."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_DATABASE_URL = "sqlite:///var/milestones.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Seconds a write waits for another writer's lock before it fails with 503.
    lock_timeout: int = 15
    # PostgreSQL connections per process: kept open, and extra ones opened under load.
    pool_size: int = 2
    pool_max_overflow: int = 8
    # Seconds to wait for a PostgreSQL connection.
    connect_timeout: int = 5
    # Seconds a request waits for an unreachable PostgreSQL server before a 503.
    storage_timeout: float = 5.0
    # Seconds a client may take to send a request body before it gets a 408.
    body_timeout: float = 10.0
    # Bearer tokens, one a line ("TOKEN NAME", "TOKEN NAME read-only", or the older "TOKEN"
    # and "TOKEN read-only"); None: no authentication.
    api_tokens: str | None = None
    # The header an authenticating proxy names the caller in; used only without tokens.
    actor_header: str | None = None
    metrics_require_token: bool = False
    cors_origins: tuple[str, ...] = field(default=())
    access_log: bool = True
    # Webhooks: http and private addresses allowed; the first retry's delay; when to give up.
    webhook_allow_private: bool = False
    webhook_retry_seconds: float = 5.0
    webhook_give_up_seconds: float = 86_400.0
    # Live tail: streams (and long polls) a worker holds at once, each taking one of its
    # threads; how long the server keeps a stream open; the longest silence on a stream.
    streams_per_worker: int = 4
    stream_seconds: float = 300.0
    stream_keepalive_seconds: float = 15.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def number(name: str, default: float) -> float:
            return float(environ.get(name) or default)

        def flag(name: str, default: bool) -> bool:
            value = environ.get(name)
            return default if not value else value.lower() in {"1", "true", "yes", "on"}

        tokens_file = environ.get("MILESTONES_API_TOKENS_FILE")
        tokens = (
            Path(tokens_file).read_text() if tokens_file else environ.get("MILESTONES_API_TOKENS")
        )
        origins = environ.get("MILESTONES_CORS_ORIGINS") or ""
        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            lock_timeout=int(number("MILESTONES_LOCK_TIMEOUT", cls.lock_timeout)),
            pool_size=int(number("MILESTONES_POOL_SIZE", cls.pool_size)),
            pool_max_overflow=int(number("MILESTONES_POOL_MAX_OVERFLOW", cls.pool_max_overflow)),
            connect_timeout=int(number("MILESTONES_CONNECT_TIMEOUT", cls.connect_timeout)),
            body_timeout=number("MILESTONES_BODY_TIMEOUT", cls.body_timeout),
            storage_timeout=number("MILESTONES_STORAGE_TIMEOUT", cls.storage_timeout),
            api_tokens=tokens,
            actor_header=environ.get("MILESTONES_ACTOR_HEADER") or None,
            metrics_require_token=flag("MILESTONES_METRICS_REQUIRE_TOKEN", default=False),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            access_log=flag("MILESTONES_ACCESS_LOG", default=True),
            webhook_allow_private=flag("MILESTONES_WEBHOOK_ALLOW_PRIVATE", default=False),
            webhook_retry_seconds=number("MILESTONES_WEBHOOK_RETRY_SECONDS", 5.0),
            webhook_give_up_seconds=number("MILESTONES_WEBHOOK_GIVE_UP_SECONDS", 86_400.0),
            streams_per_worker=int(number("MILESTONES_STREAMS_PER_WORKER", 4)),
            stream_seconds=number("MILESTONES_STREAM_SECONDS", 300.0),
            stream_keepalive_seconds=number("MILESTONES_STREAM_KEEPALIVE_SECONDS", 15.0),
        )


def sqlite_path(database_url: str) -> str:
    """``sqlite:///var/m.db`` is relative to the working directory, ``sqlite:////srv/m.db`` not."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix:
        msg = f"not an SQLite URL: {database_url!r} (expected sqlite:///path/to/file.db)"
        raise ValueError(msg)
    return database_url[len(prefix) :]
