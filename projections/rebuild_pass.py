"""A rebuild's first pass in one sweep of the log: the final rows of every projection.

The batch-by-batch rebuild (``projections.runner.rebuild_all``) builds each batch's
documents, transitions and due-date rows as the live apply does, and writes every
intermediate state of a milestone that changes across batches. Before the log's head is
reached nothing reads the next rows, so this pass keeps only what the last rows need: a
milestone's last document and version, the position of its Created event (its row in the
search index), its due-date row, and the transitions, which are rows of their own.

It reads stored records as they come from the database (the milestone's id still in hex,
turned into a public id once per milestone) and decodes each state straight from its
JSON, with no per-event object beyond the decoded dict. The documents are those of
``projections.fold.apply`` and the rows those of ``projections.progress.derive_events``
and ``projections.schedule_view.derive``, which the rebuild tests compare byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from domain.ids import public_id_of_hex
from projections.document import INSTANTS, WIRE_NAMES, instant_text, milestone_document
from projections.records import event_class_of, event_type, stored_instant
from projections.runner import Rebuilt
from projections.schedule import due_microseconds

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from contextlib import AbstractContextManager

    from projections.document import Document
    from projections.progress import Transition
    from projections.schedule_view import DueRow

# position, milestone id in hex, version, topic, stored state: a row of the log as read
RawRecord = tuple[int, str, int, str, bytes]

_STATUS, _REACHED_AT = WIRE_NAMES["status"], WIRE_NAMES["reached_at"]
_CREATED, _UPDATED, _STATUS_CHANGED, _DELETED = range(4)
_KINDS = {
    "Created": _CREATED,
    "Updated": _UPDATED,
    "StatusChanged": _STATUS_CHANGED,
    "Deleted": _DELETED,
}


@dataclass(slots=True)
class Milestone:
    """What the last rows need of one milestone met in the pass."""

    public_id: str
    created_at: int  # the position of its Created event: its row in the search index
    version: int
    document: Document | None  # None once deleted


@dataclass
class Swept:
    """The final rows of the records swept: every milestone met, by hex id; transitions in
    log order; due-date rows by public id."""

    milestones: dict[str, Milestone] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    due_rows: dict[str, DueRow] = field(default_factory=dict)
    events: int = 0


def _decoder(topic: str) -> tuple[int, int, Any]:
    """A topic's kind, its class's version and the class (for upcasts); an unknown type
    is a ValueError, as in the fold."""
    kind = event_type(topic)
    if kind not in _KINDS:
        msg = f"unknown milestone event type: {kind}"
        raise ValueError(msg)
    event_class, latest = event_class_of(topic)
    return _KINDS[kind], latest, event_class


# Each topic's decoder, met once per process.
_decoders: dict[str, tuple[int, int, Any]] = {}


def _upcast(state: dict[str, Any], version: int, latest: int, event_class: Any) -> None:
    """``projections.records.decode``'s upcasts, for a state stored by an older class."""
    while version < latest:
        getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
        version += 1


# Due dates repeat across milestones, so their instants are worked out once each.
_due_at = lru_cache(maxsize=1 << 14)(due_microseconds)


class _Moments:
    """``stored_instant`` that remembers the last instant: the events of one transaction
    (a batch of commands, or many aggregates saved at once) often share their timestamp."""

    def __init__(self) -> None:
        self._text, self._moment = "", ""

    def __call__(self, value: dict[str, str]) -> str:
        text = value["_data_"]
        if text != self._text:
            self._text, self._moment = text, stored_instant(value)
        return self._moment


def sweep(records: Iterable[RawRecord], swept: Swept | None = None) -> Swept:  # noqa: C901 - one loop, kept inline for speed
    """Fold records, in log order, into the final rows (into ``swept`` if given: a pass may
    be swept in several runs of records, each after the last)."""
    swept = Swept() if swept is None else swept
    milestones, transitions, due_rows = swept.milestones, swept.transitions, swept.due_rows
    append, loads, decoders = transitions.append, orjson.loads, _decoders
    _moment = _Moments()
    count = 0
    # The hottest loop of a rebuild: what the helpers do is written out inline.
    for position, hex_id, version, topic, stored in records:
        count += 1
        decoder = decoders.get(topic)
        if decoder is None:
            decoder = decoders[topic] = _decoder(topic)
        kind, latest, event_class = decoder
        state = loads(stored)
        if (stored_version := state.pop("class_version", 1)) < latest:
            _upcast(state, stored_version, latest, event_class)
        if kind == _CREATED:
            public_id = public_id_of_hex(hex_id)
            at = _moment(state["timestamp"])
            milestones[hex_id] = Milestone(
                public_id, position, version, milestone_document(public_id, state, at)
            )
            project, status = state["project_id"], state["status"]
            append((position, project, at, public_id, None, status))
            due = state["due_date"]
            due_at = _due_at(due)
            due_rows[public_id] = (public_id, project, due, due, 0, position, due_at, due_at)
            continue
        milestone = milestones.get(hex_id)
        current = None if milestone is None else milestone.document
        if milestone is None or current is None:
            msg = f"event for a milestone that is not in the view: {public_id_of_hex(hex_id)}"
            raise LookupError(msg)
        milestone.version = version
        document = current
        public_id = milestone.public_id
        if kind == _UPDATED:
            changes = state["changes"]
            for name, value in changes.items():  # projections.document.wire_fields
                if (wire := WIRE_NAMES.get(name)) is not None:
                    document[wire] = instant_text(value) if name in INSTANTS else value
            if "due_date" in changes:
                _move(due_rows, public_id, changes["due_date"], position)
        elif kind == _STATUS_CHANGED:
            before, after = document[_STATUS], state["to_status"]
            reached_at = state["reached_at"]
            document[_STATUS] = after
            document[_REACHED_AT] = None if reached_at is None else stored_instant(reached_at)
            at = _moment(state["timestamp"])
            append((position, document["projectId"], at, public_id, before, after))
        else:
            at = _moment(state["timestamp"])
            append((position, document["projectId"], at, public_id, document[_STATUS], None))
            milestone.document = None
    swept.events += count
    return swept


def _move(due_rows: dict[str, DueRow], public_id: str, value: str | None, position: int) -> None:
    """``projections.schedule_view.derive`` for one Updated event that names ``due_date``."""
    _, project_id, original, _, moves, _, original_at, _ = due_rows[public_id]
    at = _due_at(value)
    if original is None:
        original, original_at = value, at
    due_rows[public_id] = (
        public_id,
        project_id,
        original,
        value,
        moves + 1,
        position,
        original_at,
        at,
    )


def live(swept: Swept) -> list[Milestone]:
    """The milestones not deleted, in the order of their public ids (the view's key)."""
    return sorted(
        (m for m in swept.milestones.values() if m.document is not None),
        key=lambda m: m.public_id,
    )


@runtime_checkable
class SweepStore(Protocol):
    """What a swept first pass needs of a backend (``c`` is its cursor)."""

    def read_transaction(self) -> AbstractContextManager[Any]: ...
    def copy_transaction(self) -> AbstractContextManager[Any]: ...
    def sweep_records(self, c: Any, *, upto: int, part: int, parts: int) -> Iterable[RawRecord]:
        """The log up to ``upto`` in order, of the milestones in part ``part`` of ``parts``
        (as ``ViewStore.select_part``), the ids in hex."""

    def write_swept(self, c: Any, swept: Swept, names: Collection[str]) -> dict[str, float]:
        """Insert the named projections' rows into their next copies, which hold none of
        these milestones yet; the seconds each took."""


def fill_swept(
    store: SweepStore, names: Collection[str], *, head: int, part: int = 0, parts: int = 1
) -> Rebuilt:
    """Fill the next copies of the named projections with part ``part`` of the milestones'
    last rows as of ``head``, read in one sweep; how many events that was, and each
    projection's time writing its rows."""
    with store.read_transaction() as c:
        swept = sweep(store.sweep_records(c, upto=head, part=part, parts=parts))
    with store.copy_transaction() as c:
        seconds = store.write_swept(c, swept, names)
    return Rebuilt(swept.events, seconds)
