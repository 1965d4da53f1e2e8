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
    # Seconds a write waits for another process's write lock before giving up (SQLite).
    sqlite_lock_timeout: int = 15

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            sqlite_lock_timeout=int(environ.get("SQLITE_LOCK_TIMEOUT") or 15),
        )
