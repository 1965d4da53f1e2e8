"""End-to-end fixtures: real ``milestones serve`` processes spoken to over real HTTP.

Every test that takes ``server`` or ``client`` (or ``server_factory``) runs on each backend:
``[sqlite]`` and ``[postgres]``, after ``session_database_url`` of tests/conftest.py. The
session server runs ``milestones serve --workers 2`` on a free 127.0.0.1 port, one per
backend for the whole session (pytest runs the tests of one backend, then the other's),
so two worker processes may answer any two requests. ``server_factory`` starts more
servers of the same backend, on a fresh database or on an existing one.

``module_servers`` (one set for a module) and ``servers`` (one for a test) start servers
with settings of their own (tokens, CORS origins, a short body timeout...), on SQLite
unless a test names another database. tests/e2e/harness.py starts and stops them all.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Protocol

import pytest

from tests.conftest import throwaway_postgres_database
from tests.e2e.harness import Servers, backend_of, finish_stopping, servers_in, start_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.client import Client
    from tests.e2e.harness import Database, Server


@pytest.fixture(scope="session", autouse=True)
def servers_gone_at_the_end() -> Iterator[None]:
    """Servers of finished tests end their shutdown beside the next test's start (see
    ``Servers.stop_all``); whatever is still shutting down is waited for at the end."""
    yield
    finish_stopping()


@pytest.fixture(scope="session")
def server(session_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session, on that backend's session database."""
    directory = tmp_path_factory.mktemp(f"e2e-server-{backend_of(session_database_url)}")
    running = start_server(session_database_url, directory)
    try:
        yield running
    finally:
        code = running.process.poll()
        running.stop()
    if code is not None:
        pytest.fail(f"the server exited during the tests (code {code}):\n{running.output()}")


@pytest.fixture(scope="session")
def client(server: Server) -> Client:
    return server.client


class ServerFactory(Protocol):
    def __call__(self, database: Database | None = None) -> Server: ...


@pytest.fixture
def server_factory(session_database_url: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """``server_factory(database=None)``: another running server, stopped after the test.

    Without a database it gets a fresh one of the test's backend (an SQLite file, or a
    PostgreSQL database dropped after the test); with one (e.g. ``server.database``) it
    serves that database, next to or after the server that wrote it.
    """
    postgres = backend_of(session_database_url) == "postgres"
    with ExitStack() as databases, Servers(tmp_path, "factory") as servers:
        # The servers stop first, then their databases are dropped.

        def start(database: Database | None = None) -> Server:
            if database is None and postgres:
                database = databases.enter_context(throwaway_postgres_database())
            return servers.start(database)

        yield start


@pytest.fixture(scope="module")
def module_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Servers shared by the tests of one module, stopped after its last test."""
    yield from servers_in(tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2]))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Servers of one test, stopped after it."""
    yield from servers_in(tmp_path)
