"""Storage faults at the layer that shows them: the real recorders on real databases,
and the HTTP app's answers through Falcon's TestClient."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from falcon import testing

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.postgres.recorder import PostgresMilestonesRecorder
from adapters.settings import Settings, sqlite_path
from adapters.sqlite.recorder import JOURNAL_SIZE_LIMIT
from adapters.storage.faults import Fault, classify

if TYPE_CHECKING:
    from collections.abc import Sequence

UNKNOWN = "urn:milestones:problem:commit-outcome-unknown"
# SQLite's defaults: pages between automatic checkpoints, and the write-ahead log's layout.
CHECKPOINT_PAGES, PAGE_SIZE, FRAME_HEADER, WAL_HEADER = 1000, 4096, 24, 32


def test_the_wal_stays_within_the_checkpoint_interval(sqlite_url: str) -> None:
    service = open_service(Settings(database_url=sqlite_url))
    wal = Path(f"{sqlite_path(sqlite_url)}-wal")
    sizes = []
    try:
        for number in range(300):
            service.milestones.create(project_id="proj_wal", title=f"write {number}")
            sizes.append(wal.stat().st_size)
    finally:
        service.close()
    # About 40 pages a create: the log passed its checkpoint interval (1,000 pages of 4 KiB)
    # many times over, and was written again from its start each time, never beyond it.
    interval = CHECKPOINT_PAGES * (PAGE_SIZE + FRAME_HEADER) + WAL_HEADER
    assert max(sizes) <= interval + 64 * (PAGE_SIZE + FRAME_HEADER) <= JOURNAL_SIZE_LIMIT
    assert sizes.index(max(sizes)) < len(sizes) - 1, "the log only grew"


def test_real_sqlite_errors_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (x BLOB)")
        connection.commit()
    with (
        closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as read_only,
        pytest.raises(sqlite3.OperationalError) as unwritable,
    ):
        read_only.execute("INSERT INTO t VALUES (1)")
    assert classify(unwritable.value) is Fault.UNWRITABLE
    with closing(sqlite3.connect(path)) as connection:
        # A database may not grow past its page limit: SQLite's "disk is full".
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        connection.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(sqlite3.OperationalError) as full:
            connection.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    assert classify(full.value) is Fault.FULL
    with pytest.raises(sqlite3.OperationalError) as missing:
        sqlite3.connect(f"file:{tmp_path}/absent.db?mode=ro", uri=True)
    assert classify(missing.value) is Fault.UNWRITABLE
    # Wrapped as the library wraps them, they are told apart all the same.
    from eventsourcing.persistence import OperationalError  # noqa: PLC0415

    wrapped = OperationalError(str(full.value))
    wrapped.__cause__ = full.value
    assert classify(wrapped) is Fault.FULL
    assert classify(OperationalError(str(full.value))) is Fault.FULL  # the text alone
    assert classify(OperationalError("connection refused")) is Fault.UNREACHABLE


@pytest.mark.postgres
def test_a_commit_cut_off_says_its_outcome_is_unknown_and_a_keyed_retry_is_safe(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = open_service(Settings(database_url=postgres_url))
    client = testing.TestClient(create_app(service.milestones, service.reads))
    insert = PostgresMilestonesRecorder._fetch_ids_after_insert_events

    def cut_off(
        self: PostgresMilestonesRecorder, curs: Any, stored_events: Sequence[Any], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = insert(self, curs, stored_events, **kwargs)
        # The server goes away with everything sent but the COMMIT.
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (curs.connection.info.backend_pid,))
        return positions

    body = {"projectId": "proj_cut", "title": "cut off"}
    headers = {"Idempotency-Key": "cut-off-1"}
    try:
        with monkeypatch.context() as patch:
            patch.setattr(PostgresMilestonesRecorder, "_fetch_ids_after_insert_events", cut_off)
            answer = client.simulate_post("/api/milestones", json=body, headers=headers)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json["type"] == UNKNOWN
        assert "may or may not" in answer.json["detail"]
        assert "Retry-After" not in answer.headers
        # Not retried behind the client's back: one attempt, not the library's ten.
        assert client.simulate_get("/api/milestones").json["count"] == 0
        retried = client.simulate_post("/api/milestones", json=body, headers=headers)
        assert retried.status_code == 201, retried.text
        again = client.simulate_post("/api/milestones", json=body, headers=headers)
        assert again.json["data"]["id"] == retried.json["data"]["id"]
        assert client.simulate_get("/api/milestones").json["count"] == 1
    finally:
        service.close()
