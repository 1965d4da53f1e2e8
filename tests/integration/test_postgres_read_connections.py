"""The hot reads' own connections on PostgreSQL: they survive a lost connection, and a
server that cannot be reached is the library's error, as it is through the pool."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import psycopg
import pytest
from eventsourcing.persistence import OperationalError

from adapters.bootstrap import open_service
from adapters.postgres.read_connections import ReadConnections
from adapters.postgres.reads import PostgresReads
from adapters.settings import Settings
from domain.ids import to_public_id

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

pytestmark = pytest.mark.postgres


def _backend_pids(connections: ReadConnections) -> list[int]:
    return [connection.info.backend_pid for connection in connections._open]


def test_a_read_after_its_connection_was_cut_reconnects(postgres_url: str) -> None:
    service = open_service(Settings(database_url=postgres_url))
    try:
        reads = service.reads
        assert isinstance(reads, PostgresReads)
        made = service.milestones.create(project_id="p", title="Kept")
        public_id = to_public_id(made.id)
        assert reads.document(public_id) is not None
        hot = reads._hot
        (first,) = _backend_pids(hot)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        row = reads.document(public_id)
        assert row is not None
        assert row[0] == 1
        assert _backend_pids(hot) != [first]
        assert reads.document("ms_unknown") is None
    finally:
        service.close()


def test_an_unreachable_server_is_the_librarys_operational_error() -> None:
    pool = SimpleNamespace(
        conninfo="",
        kwargs={"host": "127.0.0.1", "port": 1, "dbname": "none", "connect_timeout": 1},
        get_password_func=None,
    )
    hot = ReadConnections(cast("PostgresDatastore", SimpleNamespace(pool=pool)))
    with pytest.raises(OperationalError):
        hot.rows("SELECT 1", ())
    assert _backend_pids(hot) == []
