"""Integration fixtures: the real application and read models on a real database.

Every test that takes ``database_url`` (or ``service``, ``open_services``, ``log``, ``view``,
``replay``, which build on it) runs twice: on a fresh SQLite file (``[sqlite]``) and on a
fresh PostgreSQL database of its own (``[postgres]``: an empty database, recycled
after the test by ``recycled_postgres_url`` of tests/conftest.py). ``log``, ``view`` and
``replay`` read the tables with the plain driver of each backend, not through the
application. ``shared_service`` and ``api`` run on both backends too, with one database
of each for a whole module.

A test that takes ``database_path`` (it opens the SQLite file itself) runs once, as
``[sqlite]``, with no ``[postgres]`` twin. A test marked ``sqlite_only`` (its assertions are
stronger than the contract and hold on SQLite alone) has its ``[postgres]`` twin skipped
with the reason its mark gives (see tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack, closing
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
import psycopg
import pytest

from adapters.bootstrap import Service, open_service
from adapters.postgres.recorder import EVENTS_TABLE
from adapters.settings import Settings, sqlite_path
from domain.ids import to_public_id
from projections.fold import fold
from projections.runner import VIEW_TABLE
from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from projections.document import Document
    from projections.records import Record
    from tests.conftest import PostgresDatabases

Rows = dict[str, tuple[int, "Document"]]

SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)
# Fixtures that open the SQLite file directly: a test that takes one runs on SQLite only.
SQLITE_ONLY_FIXTURES = frozenset({"database_path"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames:
        return
    opens_the_file = not SQLITE_ONLY_FIXTURES.isdisjoint(metafunc.fixturenames)
    backends = [SQLITE] if opens_the_file else [SQLITE, POSTGRES]
    metafunc.parametrize("database_url", backends, indirect=True)


def backend_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite:") else "postgres"


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of the backend this run of the test is for.

    An SQLite file in the test's directory, or an empty PostgreSQL database of the test's
    own that tests/conftest.py's ``postgres_databases`` recycles: emptied after the test.
    """
    fixture = "sqlite_url" if request.param == "sqlite" else "recycled_postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def database_path(database_url: str) -> Path:
    """The SQLite file behind ``database_url`` (SQLite-only tests, see the module's doc)."""
    from pathlib import Path  # noqa: PLC0415 - only for the runtime value

    assert backend_of(database_url) == "sqlite", "database_path is for SQLite-only tests"
    return Path(sqlite_path(database_url))


@pytest.fixture
def open_services(database_url: str) -> Iterator[Callable[[], Service]]:
    """``open_services()``: another service on the test's database, each with its own
    connections, as separate processes would have; all are closed after the test."""
    opened: list[Service] = []

    def open_one() -> Service:
        service = open_service(Settings(database_url=database_url))
        opened.append(service)
        return service

    yield open_one
    for service in reversed(opened):
        service.close()


@pytest.fixture
def service(open_services: Callable[[], Service]) -> Service:
    return open_services()


@pytest.fixture(scope="module", params=[SQLITE, POSTGRES])
def shared_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[Service]:
    """One service for all the tests of a module, on each backend in turn.

    For tests that, like the end-to-end tests on their session server, work in projects
    of their own and check only what they change: they pay for no fresh database.
    """
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('shared')}/milestones.db"
        else:
            url = stack.enter_context(postgres_databases.database())
        service = open_service(Settings(database_url=url))
        stack.callback(service.close)
        yield service


@pytest.fixture(scope="module")
def api(shared_service: Service) -> AppClient:
    """The API in-process over ``shared_service`` (see tests/integration/app_client.py)."""
    return AppClient(shared_service)


# Reading the tables with the plain driver of each backend.


def _sqlite_rows(database_url: str, sql: str) -> list[Any]:
    with closing(sqlite3.connect(sqlite_path(database_url))) as connection:
        return connection.execute(sql).fetchall()


def _postgres_rows(database_url: str, sql: str) -> list[Any]:
    with psycopg.connect(database_url, connect_timeout=5) as connection:
        return connection.execute(sql).fetchall()


def read_log(database_url: str) -> list[Record]:
    """Every stored event in commit order: (position, public id, version, topic, state)."""
    if backend_of(database_url) == "sqlite":
        rows = _sqlite_rows(
            database_url,
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid",
        )
        return [(row[0], to_public_id(UUID(row[1])), row[2], row[3], row[4]) for row in rows]
    rows = _postgres_rows(
        database_url,
        "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
        f"FROM {EVENTS_TABLE} ORDER BY notification_id",
    )
    return [(row[0], to_public_id(row[1]), row[2], row[3], bytes(row[4])) for row in rows]


def replay_log(database_url: str) -> Rows:
    """The live milestones as a fold of the whole log gives them: id -> (version, document)."""
    folded = fold(read_log(database_url), lambda ids: {})
    return {pid: (version, doc) for pid, (version, doc) in folded.rows.items() if doc is not None}


def read_view(database_url: str) -> Rows:
    """The milestone view's rows: id -> (version, document)."""
    sql = f"SELECT id, version, body FROM {VIEW_TABLE}"  # noqa: S608 - a constant
    if backend_of(database_url) == "sqlite":
        rows = _sqlite_rows(database_url, sql)
    else:
        rows = _postgres_rows(database_url, sql)
    return {row[0]: (row[1], orjson.loads(bytes(row[2]))) for row in rows}


@pytest.fixture
def log(database_url: str) -> Callable[[], list[Record]]:
    return lambda: read_log(database_url)


@pytest.fixture
def replay(database_url: str) -> Callable[[], Rows]:
    return lambda: replay_log(database_url)


@pytest.fixture
def view(database_url: str) -> Callable[[], Rows]:
    return lambda: read_view(database_url)
