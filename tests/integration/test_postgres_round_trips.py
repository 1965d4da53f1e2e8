"""A batch's write on PostgreSQL: two round trips to the server and one NOTIFY, whatever
the batch holds, read from libpq's own trace of the messages on the wire."""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eventsourcing.postgres import PostgresDatastore

from adapters.bootstrap import open_service
from adapters.settings import Settings
from domain.ids import to_public_id
from domain.milestone import Status

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from adapters.bootstrap import Service

pytestmark = pytest.mark.postgres


@pytest.fixture
def service(postgres_url: str) -> Iterator[Service]:
    opened = open_service(Settings(database_url=postgres_url))
    yield opened
    opened.close()


@contextmanager
def wire_trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """libpq's trace of every connection taken from the pool meanwhile."""
    taken = PostgresDatastore.get_connection
    with tempfile.TemporaryFile("w+") as trace:

        @contextmanager
        def traced(self: PostgresDatastore) -> Iterator[Any]:
            with taken(self) as conn:
                conn.pgconn.trace(trace.fileno())
                try:
                    yield conn
                finally:
                    conn.pgconn.untrace()

        def read() -> str:
            return Path(f"/proc/self/fd/{trace.fileno()}").read_text()

        with monkeypatch.context() as patch:
            patch.setattr(PostgresDatastore, "get_connection", traced)
            yield read


def _write_transactions(trace: str) -> list[str]:
    """The trace of each transaction that locks the events table, from BEGIN to COMMIT."""
    return re.findall(r'"BEGIN".*?"COMMIT"', trace, re.DOTALL)


def test_a_lone_create_and_change_take_two_round_trips_and_one_notify(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    milestones = service.milestones
    made = milestones.create(project_id="p", title="warm up")
    with wire_trace(monkeypatch) as read:
        created = milestones.create(project_id="p", title="launch review")
        milestones.update(made.id, {"status": Status.IN_PROGRESS, "title": "renamed"})
        milestones.delete(created.id)
        trace = read()
    transactions = _write_transactions(trace)
    assert len(transactions) == 3, trace
    for transaction in transactions:
        sent = [line for line in transaction.splitlines() if line.split("\t")[1:2] == ["F"]]
        syncs = [line for line in sent if "\tSync" in line]
        notifies = [line for line in sent if "NOTIFY" in line]
        assert len(syncs) == 1, transaction  # the second round trip is the COMMIT's sync
        assert len(notifies) == 1, transaction
        assert "LOCK TABLE" in transaction
    # Whatever was recorded is in the view and its index, as before.
    assert service.reads.document(to_public_id(made.id)) is not None
    assert service.reads.document(to_public_id(created.id)) is None


def test_a_key_recorded_first_by_another_writer_fails_the_whole_batch_at_the_commit(
    postgres_url: str, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's insert is only sent; its conflict surfaces at the commit's sync, nothing of
    the batch commits, and the command decided again answers the milestone made first."""
    other = open_service(Settings(database_url=postgres_url))
    try:
        command = {"project_id": "p", "title": "keyed"}
        first = other.milestones.create_once("key-1", command)
        looked_up = type(service.reads).request
        missed: list[str] = []

        def stale_once(reads: Any, key: str) -> tuple[str, str] | None:
            # As if the other writer recorded the key just after this one looked.
            if not missed:
                missed.append(key)
                return None
            return looked_up(reads, key)

        monkeypatch.setattr(type(service.reads), "request", stale_once)
        again = service.milestones.create_once("key-1", command)
        assert missed == ["key-1"]
        assert again.id == first.id
        assert service.reads.documents(project_id="p") == other.reads.documents(project_id="p")
        assert len(service.reads.documents(project_id="p")) == 1
    finally:
        other.close()
