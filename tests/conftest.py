"""Fixtures shared by every test layer: a fresh database on each backend."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# The server the PostgreSQL tests create their throw-away databases on.
POSTGRES_SERVER = os.environ.get("MILESTONES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _postgres_admin() -> psycopg.Connection[Any]:
    """A connection to the server's maintenance database; a skip if none (a failure in CI)."""
    try:
        return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        message = (
            f"PostgreSQL at {POSTGRES_SERVER} is unreachable ({error}); start it, or set "
            "MILESTONES_TEST_POSTGRES to a server where this user may create databases"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"milestones_test_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/milestones.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A test that takes this runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))
