"""Fixtures shared by every test layer: a fresh database on each backend.

A test that takes ``database_url`` (or ``session_database_url``) runs once on SQLite and once
on PostgreSQL. Marked ``@pytest.mark.sqlite_only(reason=...)``, its ``[postgres]`` run is
skipped with that reason: the report of every run names what is not checked on PostgreSQL
and why, where a deselected test would only be counted.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from hypothesis import settings

# Properties, not timings: a shared or loaded machine must not fail a case for being slow.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

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


@contextmanager
def throwaway_postgres_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped on leaving (skip or fail if none)."""
    name = f"milestones_test_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Name resolution for this machine only: literal addresses and localhost.

    Webhook URLs are resolved before delivery; generated URLs (the fuzz tests make up
    hosts) must never send a query to a resolver elsewhere.
    """
    name = host.decode() if isinstance(host, bytes) else host
    if name not in {None, "localhost"}:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            raise socket.gaierror(
                socket.EAI_NONAME, f"tests resolve no outside names: {name}"
            ) from None
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only_getaddrinfo


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the ``[postgres]`` run of each test marked ``sqlite_only``, giving its reason."""
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is None:
            continue
        reason = mark.kwargs.get("reason")
        if mark.args or set(mark.kwargs) != {"reason"} or not isinstance(reason, str) or not reason:
            raise pytest.UsageError(f"{item.nodeid}: write sqlite_only(reason=...), saying why")
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with throwaway_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/milestones.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A test that takes this runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


# Session-scoped variants, for what is costly to set up once per test (a running server):
# one database per backend for the whole session, made the same way as the ones above.


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """A PostgreSQL database for the whole session, dropped at its end."""
    with throwaway_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_session_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('session-db')}/milestones.db"


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def session_database_url(request: pytest.FixtureRequest) -> str:
    """``database_url`` for the session: the tests that take it run on each backend in turn."""
    return str(request.getfixturevalue(f"{request.param}_session_url"))


class PostgresDatabases:
    """Throw-away PostgreSQL databases, each test's own, recycled instead of re-created.

    ``CREATE DATABASE`` copies and syncs a template: a third of a second of waiting on the
    disk, which hundreds of short tests would add up. So a database a test has finished
    with is emptied (its connections ended, its ``public`` schema, where the service keeps
    every table, type, function and sequence, dropped and created anew: a few
    milliseconds) and handed to the next test, which finds it as a new one: no tables,
    positions from 1. A database that cannot be emptied is dropped. All are dropped at
    the end of the session. An unreachable server is the same skip, or failure in CI, as
    for ``postgres_url``, raised in the test that asks.
    """

    def __init__(self) -> None:
        self._admin: psycopg.Connection[Any] | None = None
        self._unreachable: BaseException | None = None
        self._free: list[str] = []
        self._made: list[str] = []

    def _admin_connection(self) -> psycopg.Connection[Any]:
        if self._unreachable is not None:
            raise self._unreachable  # the same skip (or failure) at once, with no new wait
        if self._admin is None:
            try:
                self._admin = _postgres_admin()
            except BaseException as outcome:
                self._unreachable = outcome
                raise
        return self._admin

    @contextmanager
    def database(self) -> Iterator[str]:
        """The URL of an empty database that no one else uses until this is left."""
        if self._free:
            name = self._free.pop()
        else:
            name = f"milestones_test_{uuid.uuid4().hex[:12]}"
            self._admin_connection().execute(f'CREATE DATABASE "{name}"')
            self._made.append(name)
        url = f"{POSTGRES_SERVER}/{name}"
        try:
            yield url
        finally:
            if self._empty(name, url):
                self._free.append(name)
            else:
                self._made.remove(name)
                self._admin_connection().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _empty(self, name: str, url: str) -> bool:
        """End every connection to the database and drop all it holds; whether that worked."""
        admin = self._admin_connection()
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
                connection.execute("SET lock_timeout = '10s'")
                connection.execute("DROP SCHEMA public CASCADE")
                connection.execute("CREATE SCHEMA public")
                row = connection.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
                    "('pg_catalog', 'information_schema', 'pg_toast')"
                ).fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] == 0

    def close(self) -> None:
        """Drop every database made here."""
        if self._admin is None:
            return
        for name in self._made:
            self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()
        self._free.clear()
        self._admin.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def recycled_postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """As ``postgres_url``, an empty PostgreSQL database of the test's own, but one that
    ``postgres_databases`` recycles (emptied after the test): for suites of many short
    tests."""
    with postgres_databases.database() as url:
        yield url
