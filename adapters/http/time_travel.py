"""Why a time-travel read of a milestone found nothing: it did not exist yet, or no longer.

Only a milestone that never existed is "no milestone has this id"; one that exists but was
created after the instant asked for, or was already deleted by then, is a 404 that says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.ids import from_public_id
from domain.milestone import MilestoneNotFound
from projections.events import event_document

if TYPE_CHECKING:
    from adapters.contract.models import MilestoneQuery
    from projections.ports import Reads


class MilestoneNotThen(MilestoneNotFound):
    """The milestone exists (or existed) but not at the version or instant asked for."""


def not_then(reads: Reads, milestone_id: str, query: MilestoneQuery) -> MilestoneNotFound:
    """The 404 of a time-travel read that found nothing, saying why."""
    events = [
        event_document(milestone_id, version, topic, state)
        for version, topic, state in reads.history(from_public_id(milestone_id))
    ]
    if not events:
        return MilestoneNotFound(milestone_id)
    created, last = events[0], events[-1]
    if query.as_of is not None and query.as_of < created["occurredAt"]:
        return MilestoneNotThen(
            f"milestone {milestone_id} did not exist yet at {query.as_of}: it was created "
            f"at {created['occurredAt']}"
        )
    if query.as_of is not None and query.version is not None:
        recorded = len(events) >= query.version
        occurred = events[query.version - 1]["occurredAt"] if recorded else None
        if occurred is None or query.as_of < occurred:
            since = "it has not been recorded" if occurred is None else f"recorded at {occurred}"
            return MilestoneNotThen(
                f"version {query.version} of milestone {milestone_id} did not exist yet at "
                f"{query.as_of}: {since}"
            )
    when = f"at {query.as_of}" if query.version is None else f"at version {query.version}"
    return MilestoneNotThen(
        f"milestone {milestone_id} was already deleted {when}: it was deleted at "
        f"{last['occurredAt']}"
    )
