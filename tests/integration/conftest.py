"""Integration fixtures: the real application and read models on a real SQLite file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING
from uuid import UUID

import orjson
import pytest

from adapters.bootstrap import Service, open_service
from adapters.settings import Settings
from domain.ids import to_public_id
from projections.milestones import fold

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from projections.milestones import Document, Record

Rows = dict[str, tuple[int, "Document"]]


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "m.db"


@pytest.fixture
def database_url(database_path: Path) -> str:
    # An absolute path after "sqlite:///" gives four slashes.
    return f"sqlite:///{database_path}"


@pytest.fixture
def open_services(database_url: str) -> Iterator[Callable[[], Service]]:
    """Open services on the test's database; each is closed after the test."""
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


def read_log(path: Path) -> list[Record]:
    """Every stored event in commit order, read with plain sqlite3."""
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        ).fetchall()
    return [(row[0], to_public_id(UUID(row[1])), row[2], row[3], row[4]) for row in rows]


def replay_log(path: Path) -> Rows:
    """The live milestones as a fold of the whole log gives them: id -> (version, document)."""
    folded = fold(read_log(path), lambda ids: {})
    return {pid: (version, doc) for pid, (version, doc) in folded.rows.items() if doc is not None}


def read_view(path: Path) -> Rows:
    """The milestone view's rows, read with plain sqlite3: id -> (version, document)."""
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT id, version, body FROM milestones").fetchall()
    return {row[0]: (row[1], orjson.loads(row[2])) for row in rows}


@pytest.fixture
def log(database_path: Path) -> Callable[[], list[Record]]:
    return lambda: read_log(database_path)


@pytest.fixture
def replay(database_path: Path) -> Callable[[], Rows]:
    return lambda: replay_log(database_path)


@pytest.fixture
def view(database_path: Path) -> Callable[[], Rows]:
    return lambda: read_view(database_path)
