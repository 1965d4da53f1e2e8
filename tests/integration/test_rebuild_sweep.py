"""A rebuild whose first pass is one sweep of the log into the last rows (on SQLite; on
PostgreSQL the same call shares the batch-by-batch pass out) leaves every projection as a
replay of the log leaves it, alone or cut by milestone over processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from adapters.rebuild_workers import swept_fill
from adapters.settings import Settings
from domain.milestone import Status
from projections import runner
from tests.integration.conftest import backend_of
from tests.integration.test_rebuild import ALL, damage, interleave

if TYPE_CHECKING:
    from adapters.bootstrap import Service

NAMES = [projection.name for projection in ALL]


def _verified(service: Service) -> None:
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_swept_fill_leaves_every_projection_as_a_replay(
    service: Service, database_url: str, workers: int
) -> None:
    interleave(service, milestones=12)
    damage(database_url)
    _, head = service.reads.lag()
    settings = Settings.from_environ({"DATABASE_URL": database_url})
    fill = swept_fill(settings, service.store, NAMES, workers, 0)
    seen: list[int | None] = []

    def counted_fill(at: int) -> runner.Rebuilt | None:
        filled = fill(at)
        seen.append(None if filled is None else filled.events)
        return filled

    rebuilt = runner.rebuild_all(service.store, lambda done, total: None, ALL, fill=counted_fill)
    # PostgreSQL's pass with one worker is not shared out: the batches read it all.
    alone = backend_of(database_url) == "postgres" and workers == 1
    assert seen == [None if alone else head], "the fill read every event up to the head, once"
    assert rebuilt.events == head
    assert set(rebuilt.seconds) == set(NAMES)
    _verified(service)
    # The live apply goes on on the swapped-in rows.
    service.milestones.create(project_id="proj_0", title="after the rebuild")
    _verified(service)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_pass_goes_on_with_what_was_written_while_the_sweep_ran(
    service: Service, database_url: str, workers: int
) -> None:
    interleave(service, milestones=12)
    app = service.milestones
    kept = app.create(project_id="proj_1", title="written before", due_date="2026-05-01").id
    gone = app.create(project_id="proj_1", title="deleted while the sweep ran").id
    settings = Settings.from_environ({"DATABASE_URL": database_url})
    fill = swept_fill(settings, service.store, NAMES, workers, 0)

    def fill_then_write(head: int) -> runner.Rebuilt | None:
        filled = fill(head)
        # Beyond the head the sweep read up to: the pass reads back what it wrote of these
        # milestones (document, standing, due-date row) to go on.
        app.update(kept, {"title": "renamed while the sweep ran", "due_date": "2026-06-01"})
        app.update(kept, {"status": Status.REACHED})
        app.delete(gone)
        app.create(project_id="proj_2", title="created while the sweep ran")
        return filled

    runner.rebuild_all(
        service.store, lambda done, total: None, ALL, batch_size=4, fill=fill_then_write
    )
    _verified(service)


def test_a_swept_fill_of_one_projection_leaves_the_others_alone(
    service: Service, database_url: str
) -> None:
    interleave(service, milestones=6)
    settings = Settings.from_environ({"DATABASE_URL": database_url})
    progress = runner.PROJECTIONS["progress"]
    fill = swept_fill(settings, service.store, [progress.name], 1, 0)
    rebuilt = runner.rebuild_all(service.store, lambda done, total: None, [progress], fill=fill)
    assert set(rebuilt.seconds) == {"progress"}
    _verified(service)


def test_an_empty_log_sweeps_to_empty_projections(service: Service, database_url: str) -> None:
    settings = Settings.from_environ({"DATABASE_URL": database_url})
    fill = swept_fill(settings, service.store, NAMES, 1, 0)
    rebuilt = runner.rebuild_all(service.store, lambda done, total: None, ALL, fill=fill)
    assert rebuilt.events == 0
    _verified(service)
