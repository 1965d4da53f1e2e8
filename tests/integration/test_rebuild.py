"""A rebuild of every projection in one pass over the log, on both backends.

The log interleaves the events of many milestones, so that batches of a few events meet
milestones created batches earlier, and the next copies' memory is kept tiny, so that what
they must know of those milestones is read back from the rows they wrote.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

import psycopg
import pytest

from adapters.settings import sqlite_path
from domain.milestone import Status
from projections import rebuild_copy, runner
from projections.schedule_view import DUE_DATES_VIEW
from tests.integration.conftest import backend_of

if TYPE_CHECKING:
    from pathlib import Path

    from adapters.bootstrap import Service

ALL = list(runner.PROJECTIONS.values())


def interleave(service: Service, milestones: int = 8) -> None:
    """Each milestone created, renamed, moved through statuses; a few deleted; in turns."""
    app = service.milestones
    ids = [
        app.create(project_id=f"proj_{n % 3}", title=f"step {n}", due_date="2026-03-01").id
        for n in range(milestones)
    ]
    for status in (Status.IN_PROGRESS, Status.REACHED, Status.PENDING):
        for number, milestone_id in enumerate(ids):
            app.update(milestone_id, {"title": f"step {number} {status}", "due_date": None})
            app.update(milestone_id, {"status": status})
    for milestone_id in ids[::3]:
        app.delete(milestone_id)


def damage(database_url: str) -> None:
    """Take rows away from both projections, with the backend's plain driver."""
    statements = [
        "DELETE FROM milestones_words",
        "DELETE FROM status_transitions",
        "UPDATE due_dates SET moves = moves + 1",
    ]
    if backend_of(database_url) == "sqlite":
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            for statement in statements:
                lite.execute(statement)
        return
    with psycopg.connect(database_url, connect_timeout=5) as connection:
        for statement in statements:
            connection.execute(statement)


def test_one_pass_rebuilds_every_projection_as_a_replay(
    service: Service, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    interleave(service)
    damage(database_url)
    assert runner.verify(service.store) != []
    assert runner.verify(service.store, runner.PROGRESS_VIEW) != []
    assert runner.verify(service.store, DUE_DATES_VIEW) != []
    # Two milestones remembered: most are read back from the next rows, batch after batch.
    monkeypatch.setattr(rebuild_copy, "REMEMBERED", 2)
    progress: list[tuple[int, int]] = []
    rebuilt = runner.rebuild_all(
        service.store, lambda done, total: progress.append((done, total)), ALL, batch_size=5
    )
    _, head = service.reads.lag()
    assert rebuilt.events == head
    assert set(rebuilt.seconds) == {"milestones", "progress", "schedule"}
    assert progress[0] == (5, head)
    assert progress[-1] == (head, head)
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name
    tracked, at = runner.positions(service.store)
    assert tracked == {"milestones": at, "progress": at, "schedule": at}
    # The live apply goes on on the swapped-in rows.
    service.milestones.create(project_id="proj_0", title="after the rebuild")
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name


def test_a_rebuild_of_an_empty_log_swaps_in_empty_projections(service: Service) -> None:
    rebuilt = runner.rebuild_all(service.store, lambda done, total: None, ALL)
    assert rebuilt.events == 0
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name


def test_sqlite_connections_get_their_settings_back(service: Service, database_path: Path) -> None:
    with closing(sqlite3.connect(database_path)) as fresh:
        usual = {
            name: fresh.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("synchronous", "secure_delete")
        }
    store = service.store
    with store.copy_transaction() as c:
        c.execute("PRAGMA synchronous")
        assert c.fetchone()[0] == 1  # NORMAL: not synced, the swap's commit is
        connection = c.sqlite_cursor.connection
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == usual["synchronous"]
    with store.write_transaction() as c:
        store.create_next_view(c)
        store.swap_in_next_view(c)  # dropping rows without zeroing them
        c.execute("PRAGMA secure_delete")
        assert c.fetchone()[0] == usual["secure_delete"]
