"""The application hands each write's command the storage's rendering of that very state."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from domain.ids import to_public_id
from domain.milestone import MilestoneNotFound
from tests.unit.memory import in_memory_milestones

if TYPE_CHECKING:
    from eventsourcing.persistence import Recording

    from domain.application import Milestones


class FakeView:
    """Renders what each save recorded, as a view would: (version, document) by public id;
    ``lag`` renders a version behind, as for a command followed by another in its batch."""

    def __init__(self, app: Milestones, lag: int = 0) -> None:
        self.rows: dict[str, tuple[int, object]] = {}
        self.lag = lag
        app.observers.append(self.saw)
        app.renderings = self.take

    def saw(self, recordings: list[Recording[Any]]) -> None:
        for recording in recordings:
            event = recording.domain_event
            pid = to_public_id(event.originator_id)
            self.rows[pid] = (event.originator_version - self.lag, {"rendered": pid})

    def take(self) -> dict[str, tuple[int, object]]:
        rows, self.rows = self.rows, {}
        return rows


@pytest.fixture
def app() -> Milestones:
    return in_memory_milestones()


def test_a_write_gets_the_rendering_of_its_own_version(app: Milestones) -> None:
    FakeView(app)
    made = app.create(project_id="p", title="t")
    assert app.rendering(made) == {"rendered": to_public_id(made.id)}
    changed = app.update(made.id, {"title": "u"})
    assert app.rendering(changed) == {"rendered": to_public_id(made.id)}


def test_a_rendering_of_another_version_is_not_handed_over(app: Milestones) -> None:
    FakeView(app, lag=1)
    made = app.create(project_id="p", title="t")
    assert app.rendering(made) is None


def test_without_renderings_a_write_has_none(app: Milestones) -> None:
    made = app.create(project_id="p", title="t")
    assert app.rendering(made) is None


def test_a_refused_write_leaves_no_rendering_behind(app: Milestones) -> None:
    FakeView(app)
    made = app.create(project_id="p", title="t")
    assert app.rendering(made) is not None
    with pytest.raises(MilestoneNotFound):
        app.update(uuid.uuid4(), {"title": "u"})
    assert app.rendering(made) is None
