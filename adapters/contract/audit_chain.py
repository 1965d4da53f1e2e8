"""The hash chain's shapes: its head, a checkpoint, and the checkpoint's query.

Stated like the milestone API's in ``models.py``, and read into ``/openapi.json`` beside them.
"""

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from adapters.contract.fields import Instant, PositionParam
from adapters.contract.models import Query, WireModel
from adapters.contract.validation import ValidationFailed, parse_query

ChainHash = Annotated[
    str,
    Field(
        pattern="^[0-9a-f]{64}$",
        description="Lowercase hex SHA-256 of the previous event's hash followed by the RFC 8785 "
        "form of this event as the history shows it; 64 zeros before the first event.",
    ),
]
ChainPosition = Annotated[int, Field(ge=0)]


class CheckpointQuery(Query):
    position: PositionParam = Field(
        description="A position of the log, at most the chain's head. For a position where no "
        "event is (the log's positions may have gaps), the hash after the last event before it."
    )


def checkpoint_query(params: Mapping[str, str | list[str]]) -> CheckpointQuery:
    """The checkpoint's query, or a 400 naming what is wrong with it."""
    if not params:
        raise ValidationFailed([{"field": "position", "message": "is required"}])
    return parse_query(CheckpointQuery, params)


class ChainHead(WireModel):
    """The latest chained event: its position, the hash after it, and when it occurred.
    On an empty log: position 0, 64 zeros and null. The chain trails the log by at most a
    second."""

    position: ChainPosition
    hash: ChainHash
    occurred_at: Instant | None


class ChainHeadEnvelope(WireModel):
    data: ChainHead


class Checkpoint(WireModel):
    """The chain's hash after every event up to `position`; keep it to prove later, with
    `milestones audit verify --position P --hash H`, that none of them changed."""

    position: ChainPosition
    hash: ChainHash


class CheckpointEnvelope(WireModel):
    data: Checkpoint
