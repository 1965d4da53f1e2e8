"""A rebuild whose first pass is shared out over processes, a part of the milestones each,
leaves the projections a replay of the log leaves, on both backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from adapters.cli.main import main
from adapters.rebuild_workers import parallel_fill
from adapters.settings import Settings
from domain.milestone import Status
from projections import runner
from tests.integration.test_rebuild import ALL, damage, interleave

if TYPE_CHECKING:
    from adapters.bootstrap import Service

NAMES = [projection.name for projection in ALL]


def test_parts_fill_the_next_rows_and_the_pass_goes_on_from_there(
    service: Service, database_url: str
) -> None:
    interleave(service, milestones=12)
    damage(database_url)
    _, head = service.reads.lag()
    fill = parallel_fill(Settings.from_environ({"DATABASE_URL": database_url}), NAMES, 2, 0)
    seen: list[int] = []

    def counted_fill(at: int) -> runner.Rebuilt | None:
        filled = fill(at)
        assert filled is not None
        seen.append(filled.events)
        return filled

    rebuilt = runner.rebuild_all(service.store, lambda done, total: None, ALL, fill=counted_fill)
    assert seen == [head], "the parts read every event up to the head, each once"
    assert rebuilt.events == head
    assert set(rebuilt.seconds) == set(NAMES)
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name
    # The live apply goes on on the swapped-in rows.
    service.milestones.create(project_id="proj_0", title="after the rebuild")
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name


def test_the_pass_goes_on_with_what_was_written_while_the_parts_worked(
    service: Service, database_url: str
) -> None:
    interleave(service, milestones=12)
    app = service.milestones
    kept = app.create(project_id="proj_1", title="written before the pass").id
    fill = parallel_fill(Settings.from_environ({"DATABASE_URL": database_url}), NAMES, 3, 0)

    def fill_then_write(head: int) -> runner.Rebuilt | None:
        filled = fill(head)
        # Beyond the head the parts read up to: the pass reads back what they wrote of the
        # milestone (its document, its standing) to go on.
        app.update(kept, {"title": "renamed while the parts worked"})
        app.update(kept, {"status": Status.REACHED})
        app.create(project_id="proj_2", title="created while the parts worked")
        return filled

    runner.rebuild_all(
        service.store, lambda done, total: None, ALL, batch_size=4, fill=fill_then_write
    )
    for projection in ALL:
        assert runner.verify(service.store, projection) == [], projection.name


def test_few_events_or_one_worker_are_not_shared_out(database_url: str) -> None:
    settings = Settings.from_environ({"DATABASE_URL": database_url})
    assert parallel_fill(settings, NAMES, 2)(10) is None  # below the least worth sharing
    assert parallel_fill(settings, NAMES, 1, 0)(10) is None


def test_every_event_up_to_the_head_is_in_exactly_one_part_with_its_milestone(
    service: Service,
) -> None:
    interleave(service, milestones=16)
    store = service.store
    with store.read_transaction() as c:
        head = store.head(c)
        everything = store.select_records(c, 0, head)
        for parts in (2, 3):
            read = [
                store.select_part(c, 0, head, upto=head - 5, part=part, parts=parts)
                for part in range(parts)
            ]
            assert sorted(record for part in read for record in part) == everything[:-5]
            milestones = [{record[1] for record in part} for part in read]
            assert all(milestones), "the milestones spread over every part"
            assert sum(map(len, milestones)) == len(set().union(*milestones))
        # A limit counts a part's own records.
        assert len(store.select_part(c, 0, 3, upto=head, part=0, parts=2)) == 3


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_a_rebuild_refuses_a_number_of_workers_that_is_not_positive(
    workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["projection", "rebuild", "--workers", workers])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err
