"""The schedule and the changes between two instants, answered through ``Reads``.

A milestone's schedule is folded from its history, and the changes from the histories of
the milestones that the event index finds in the window: only the records that can matter
are decoded (no record after the window's end changes what it shows). A project's schedule
reads the due-date projection (``projections.schedule_view``), which holds the same fold
of every milestone.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

from domain.ids import from_public_id
from domain.milestone import MilestoneNotFound
from projections.records import decode, event_type
from projections.schedule import DueHistory, change, due_history, last_version_by

if TYPE_CHECKING:
    from projections.document import Document
    from projections.ports import Reads, StreamRow
    from projections.schedule import StreamEvent, WindowEvent

_SETS_A_DUE_DATE = frozenset({"Created", "Updated"})


def milestone_due_history(reads: Reads, public_id: str) -> DueHistory:
    """The due history of one milestone, also after a delete; not found if it never existed."""
    rows = reads.history(from_public_id(public_id))
    if not rows:
        raise MilestoneNotFound(public_id)
    events: list[StreamEvent] = [
        (version, kind, decode(topic, stored))
        for version, topic, stored in rows
        if (kind := event_type(topic)) in _SETS_A_DUE_DATE
    ]
    return due_history(public_id, events)


@dataclass(frozen=True)
class Window:
    """``(since, until]`` of a project, from after the milestone id ``after`` on."""

    project_id: str
    since: str
    until: str
    after: str = ""


def changes_page(reads: Reads, window: Window, limit: int) -> tuple[list[Document], str | None]:
    """Up to ``limit`` changes in id order, and the id the next page starts after (None:
    this is the last page)."""
    ids = reads.window_milestones(
        window.project_id, window.since, window.until, window.after, limit + 1
    )
    page = ids[:limit]
    rows = reads.streams(page) if page else []
    streams = {public_id: list(group) for public_id, group in groupby(rows, key=lambda r: r[0])}
    changes = []
    for public_id in page:
        events = _window_events(streams.get(public_id, []), window.until)
        found = change(public_id, events, window.since, window.until)
        if found is not None:  # an event in the window, as the index said
            changes.append(found)
    return changes, page[-1] if len(ids) > limit else None


def _window_events(stream: list[StreamRow], until: str) -> list[WindowEvent]:
    """The events of one milestone, decoded up to the version that ``until`` shows."""
    last = last_version_by([(row[1], row[2]) for row in stream], until)
    return [
        (version, occurred_at, actor, event_type(topic), decode(topic, stored))
        if version <= last
        else (version, occurred_at, actor, event_type(topic), None)
        for _, version, occurred_at, actor, topic, stored in stream
    ]
