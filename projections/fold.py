"""The fold: stored records, in log order, applied to the documents of the milestones.

The same fold serves the live view (applied in the transaction that records the events),
the catch-up of a view that lags, a rebuild and a verification. It works on stored
records as decoded JSON, not on domain objects, so a rebuild decodes each record once
and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from projections.document import WIRE_NAMES, milestone_document, wire_fields
from projections.records import decoded, stored_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from projections.document import Document
    from projections.records import Event, Record

Row = tuple[int, "Document | None"]  # version, document (None once deleted)
# position, milestone, project, version, type, occurredAt, actor: what the feed filters on
Entry = tuple[int, str, str, int, str, str, str | None]

_STATUS, _REACHED_AT = WIRE_NAMES["status"], WIRE_NAMES["reached_at"]


def apply(
    current: Document | None, public_id: str, kind: str, state: dict[str, Any]
) -> Document | None:
    """The document after one stored event; None once the milestone is deleted."""
    if kind == "Created":
        return milestone_document(public_id, state, stored_instant(state["timestamp"]))
    if current is None:
        msg = f"{kind} event for a milestone that is not in the view: {public_id}"
        raise LookupError(msg)
    if kind == "Updated":
        return current | wire_fields(state["changes"])
    if kind == "StatusChanged":
        reached_at = state["reached_at"]
        return current | {
            _STATUS: state["to_status"],
            _REACHED_AT: None if reached_at is None else stored_instant(reached_at),
        }
    if kind == "Deleted":
        return None
    msg = f"unknown milestone event type: {kind}"
    raise ValueError(msg)


@dataclass
class Folded:
    rows: dict[str, Row] = field(default_factory=dict)  # the last row of each milestone
    entries: list[Entry] = field(default_factory=list)  # one per record
    # Each milestone's document before the fold (None: it was new), so that only what
    # changed is written. A milestone missing here has all of its row and words written.
    before: dict[str, Document | None] = field(default_factory=dict)


def fold(
    records: Iterable[Record],
    load: Callable[[list[str]], Mapping[str, Document]],
    *,
    index: bool = True,
) -> Folded:
    """Apply records in log order to the documents of the milestones they touch.

    ``load`` fetches, all at once, the current documents of the milestones whose first
    record here is not their Created event. ``index`` asks for the event index entries
    too (a rebuild of the view alone does without them).
    """
    return fold_events(decoded(records), load, index=index)


def fold_events(
    events: Sequence[Event],
    load: Callable[[list[str]], Mapping[str, Document]],
    *,
    index: bool = True,
) -> Folded:
    """``fold`` of records already decoded (a rebuild decodes each once for every projection)."""
    first_kinds: dict[str, str] = {}
    for _, public_id, _, kind, _ in events:
        first_kinds.setdefault(public_id, kind)
    documents: dict[str, Document | None] = dict(
        load([pid for pid, kind in first_kinds.items() if kind != "Created"])
    )
    versions: dict[str, int] = {}
    folded = Folded(before={pid: documents.get(pid) for pid in first_kinds})
    for position, public_id, version, kind, state in events:
        before = documents.get(public_id)
        documents[public_id] = after = apply(before, public_id, kind, state)
        versions[public_id] = version
        if index:
            project_id = (after or before or {}).get("projectId", "")
            occurred_at = stored_instant(state["timestamp"])
            folded.entries.append(
                (position, public_id, project_id, version, kind, occurred_at, state["actor"])
            )
    folded.rows = {
        public_id: (version, documents[public_id]) for public_id, version in versions.items()
    }
    return folded
