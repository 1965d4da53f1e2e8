"""Configuration, read from the environment once, at the composition root."""

from __future__ import annotations

import os
from dataclasses import dataclass
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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def number(name: str, default: int) -> int:
            return int(environ.get(name) or default)

        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            lock_timeout=number("MILESTONES_LOCK_TIMEOUT", cls.lock_timeout),
            pool_size=number("MILESTONES_POOL_SIZE", cls.pool_size),
            pool_max_overflow=number("MILESTONES_POOL_MAX_OVERFLOW", cls.pool_max_overflow),
            connect_timeout=number("MILESTONES_CONNECT_TIMEOUT", cls.connect_timeout),
        )
