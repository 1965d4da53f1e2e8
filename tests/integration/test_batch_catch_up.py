"""A batch brings the milestones it changes up to date with the log in one read: another
process's changes are seen, and no command reads the log on its own."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import open_service
from adapters.settings import Settings
from domain.ids import to_public_id
from domain.milestone import Status

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    import pytest


def test_changes_decide_on_what_another_process_recorded_read_once_a_batch(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = open_service(Settings(database_url=database_url))
    there = open_service(Settings(database_url=database_url))
    try:
        made = [here.milestones.create(project_id="p", title=f"m{n}") for n in range(4)]
        for milestone in made:  # cached here at version 1; now version 3 in the log
            there.milestones.update(milestone.id, {"title": f"{milestone.title} renamed"})
            there.milestones.update(milestone.id, {"status": Status.IN_PROGRESS})

        reads: list[Mapping[UUID, int]] = []
        events_after = type(here.reads).events_after

        def counted(self: Any, versions: Mapping[UUID, int]) -> Any:
            reads.append(dict(versions))
            return events_after(self, versions)

        monkeypatch.setattr(type(here.reads), "events_after", counted)
        # Held at the writer's queue until all four have queued: one batch.
        gate = threading.Event()

        def hold(commands: int, seconds: float) -> None:
            gate.wait(5)

        here.milestones.batch_observers.append(hold)
        results: dict[UUID, Any] = {}

        def change(milestone_id: UUID) -> None:
            results[milestone_id] = here.milestones.update(
                milestone_id, {"status": Status.REACHED}, if_version={3}
            )

        first = threading.Thread(target=change, args=(made[0].id,))
        first.start()  # a batch of one, held after recording by the observer
        others = [threading.Thread(target=change, args=(m.id,)) for m in made[1:]]
        for thread in others:
            thread.start()
        writes = here.milestones._writes
        deadline = time.monotonic() + 10
        while len(writes._queued) < len(others):  # the commands waiting for the next batch
            assert time.monotonic() < deadline, "the other changes never queued"
            time.sleep(0.005)
        gate.set()
        for thread in [first, *others]:
            thread.join()

        assert all(result.version == 4 for result in results.values()), results
        assert all(result.status is Status.REACHED for result in results.values())
        assert all(result.title.endswith("renamed") for result in results.values())
        # One read a batch, of every milestone the batch changes.
        assert sum(len(versions) for versions in reads) == len(made)
        assert [len(versions) for versions in reads] == [1, len(others)]
        for milestone in made:
            document = there.reads.document(to_public_id(milestone.id))
            assert document is not None
            assert document[0] == 4
    finally:
        here.close()
        there.close()
