"""The progress projection: every change of a milestone's standing in its project's counts.

A transition is one event that moved a milestone into, out of or between statuses: a
Created (from nothing to its status), a StatusChanged (from one status to another), a
Deleted (from its status to nothing). Updated events change no count and leave no trace
here. The series of a project's counts at any instants is a running sum over its
transitions in time order (``projections.insights``), so no question about the past needs
a replay of the log.

The derivation is independent of the milestone view: what it must know of a milestone
whose Created event is not among the records at hand (its project, its last status) it
asks its own table, or during a replay the standings it has met so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.records import decoded, event_type, stored_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from projections.records import Event, Record

# position, project, occurredAt, milestone, status before (None: not there), status after
Transition = tuple[int, str, str, str, "str | None", "str | None"]
Standing = tuple[str, "str | None"]  # project, status (None once deleted)

TRANSITIONS_TABLE = "status_transitions"
NEXT_TRANSITIONS_TABLE = "status_transitions_next"
PROGRESS_TRACKING = "progress_view"
# The event types that move a milestone in its project's counts.
COUNTED = frozenset({"Created", "StatusChanged", "Deleted"})


def derive(
    records: Iterable[Record], standings: Callable[[list[str]], Mapping[str, Standing]]
) -> list[Transition]:
    """The transitions of records in log order.

    ``standings`` fetches, all at once, the project and last status of the milestones
    whose first counted record here is not their Created event.
    """
    # Updated records count nothing, so they are not even decoded.
    counted = [record for record in records if event_type(record[3]) in COUNTED]
    return derive_events(decoded(counted), standings)


def derive_events(
    events: Iterable[Event], standings: Callable[[list[str]], Mapping[str, Standing]]
) -> list[Transition]:
    """``derive`` of records already decoded (a rebuild decodes each once for every projection)."""
    counted = [event for event in events if event[3] in COUNTED]
    firsts: dict[str, str] = {}
    for _, public_id, _, kind, _ in counted:
        firsts.setdefault(public_id, kind)
    known: dict[str, Standing] = dict(
        standings([pid for pid, kind in firsts.items() if kind != "Created"])
    )
    transitions: list[Transition] = []
    for position, public_id, _, kind, state in counted:
        at = stored_instant(state["timestamp"])
        if kind == "Created":
            project, before, after = state["project_id"], None, state["status"]
        else:
            project, before = known[public_id]
            after = state["to_status"] if kind == "StatusChanged" else None
        known[public_id] = (project, after)
        transitions.append((position, project, at, public_id, before, after))
    return transitions


class Replay:
    """Transitions of a log read from its start, the standings kept in memory."""

    def __init__(self) -> None:
        self._standings: dict[str, Standing] = {}

    def derive(self, records: Iterable[Record]) -> list[Transition]:
        transitions = derive(records, self._known)
        for _, project, _, public_id, _, after in transitions:
            self._standings[public_id] = (project, after)
        return transitions

    def _known(self, public_ids: list[str]) -> dict[str, Standing]:
        return {pid: self._standings[pid] for pid in public_ids if pid in self._standings}
