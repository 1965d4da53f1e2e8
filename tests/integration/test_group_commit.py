"""Group commit on a real database: two services (as two processes would be), each with
threads that create and change milestones at once, some of them the same ones."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from domain.milestone import ConcurrentUpdate, Milestone

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from eventsourcing.persistence import Recording

    from adapters.bootstrap import Service
    from tests.integration.conftest import Rows

THREADS = 6  # per service
CHANGES = 8  # per thread, of milestones that every thread changes


def test_writers_in_two_services_lose_nothing_and_share_commits(
    open_services: Callable[[], Service],
    view: Callable[[], Rows],
    replay: Callable[[], Rows],
) -> None:
    services = [open_services(), open_services()]
    shared = [services[0].milestones.create(project_id="p", title=f"s{n}").id for n in range(3)]
    sizes: list[int] = []
    for service in services:
        service.milestones.observers.append(lambda r: sizes.append(_milestones_in(r)))
    answers: list[Any] = []
    lock = threading.Lock()

    def write(service: Service, writer: str) -> None:
        milestones = service.milestones
        for number in range(CHANGES):
            # Every change is to a value no other writer sets, so each records an event.
            change = {"description": f"{writer}/{number}"}
            outcomes = [
                _outcome(milestones.create, project_id="p", title=f"c{writer}/{number}"),
                _outcome(milestones.update, shared[number % len(shared)], change),
            ]
            with lock:
                answers.extend(outcomes)

    threads = [
        threading.Thread(target=write, args=(service, f"{place}.{number}"))
        for number in range(THREADS)
        for place, service in enumerate(services)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    unexpected = [a for a in answers if not isinstance(a, Milestone | ConcurrentUpdate)]
    assert unexpected == []
    done = [a for a in answers if isinstance(a, Milestone)]
    # Each change that was answered is one event: the versions of each milestone answered
    # are distinct, and its log holds exactly as many changes as were answered.
    for milestone_id in shared:
        versions = [a.version for a in done if a.id == milestone_id]
        assert len(versions) == len(set(versions))
        assert services[1].milestones.get(milestone_id).version == 1 + len(versions)
    created = {a.id for a in done if a.title.startswith("c")}
    assert len(created) == 2 * THREADS * CHANGES - sum(
        isinstance(a, ConcurrentUpdate) for a in answers[0::2]
    )
    assert view() == replay()
    assert max(sizes) > 1, "no two commands ever shared a commit"


def _milestones_in(recordings: list[Recording[Any]]) -> int:
    ids: set[UUID] = {r.domain_event.originator_id for r in recordings}
    return len(ids)


def _outcome(command: Callable[..., Milestone], *args: Any, **kwargs: Any) -> Milestone | Exception:
    try:
        return command(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the test sorts them
        return error
