"""Throw-away PostgreSQL databases for the PostgreSQL rounds, dropped whatever happens.

The server is the one the tests use: ``MILESTONES_TEST_POSTGRES`` (a URL without a
database name; trust authentication on 127.0.0.1 by default).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
_CONNECT_TIMEOUT = 5  # seconds; an absent server should not hold the run up
# Every database made here starts with this, then a role and this process's id.
DATABASE_PREFIX = "milestones_bench_"


class PostgresUnavailable(RuntimeError):
    """No server answered, or it would not make a database: those rounds are not measured."""


def server_url() -> str:
    return (os.environ.get("MILESTONES_TEST_POSTGRES") or DEFAULT_SERVER).rstrip("/")


def shown(url: str) -> str:
    """host:port of a server URL, for messages: never its user or password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}"


def _administer(server: str, statement: str, database: str) -> None:
    """``statement`` with ``{}`` for a database's name, on the server's ``postgres``
    database (CREATE and DROP DATABASE need autocommit: they cannot run in a transaction)."""
    import psycopg  # noqa: PLC0415 - only these rounds need the driver
    from psycopg import sql  # noqa: PLC0415

    with psycopg.connect(
        f"{server}/postgres", autocommit=True, connect_timeout=_CONNECT_TIMEOUT
    ) as admin:
        admin.execute(sql.SQL(statement).format(sql.Identifier(database)))


@contextlib.contextmanager
def throwaway_databases(server: str, *roles: str) -> Iterator[dict[str, str]]:
    """A fresh database per role, as URLs by role; all dropped on the way out.

    Raises ``PostgresUnavailable`` when the server cannot be reached or the driver is missing.
    """
    try:
        import psycopg  # noqa: PLC0415
    except ImportError as missing:
        msg = "psycopg is not installed (pip install -e '.[postgres]')"
        raise PostgresUnavailable(msg) from missing
    names = {role: f"{DATABASE_PREFIX}{role}_{os.getpid()}" for role in roles}
    made: list[str] = []
    try:
        for name in names.values():
            try:
                _administer(server, "CREATE DATABASE {}", name)
            except psycopg.OperationalError as error:
                # Short, for the tables; the driver's own words are the cause.
                msg = f"PostgreSQL at {shown(server)} unreachable"
                raise PostgresUnavailable(msg) from error
            made.append(name)
        yield {role: f"{server}/{name}" for role, name in names.items()}
    finally:
        for name in made:
            _drop(server, name)


def _drop(server: str, name: str) -> None:
    # FORCE ends any connection still open (a worker that outlived its arbiter's SIGKILL).
    try:
        _administer(server, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    except Exception as error:  # noqa: BLE001 - say so, and leave the original error standing
        sys.stderr.write(f"WARNING: could not drop the database {name}: {error}\n")
