"""The shapes of the schedule (how due dates moved) and of the changes between two instants.

Stated like the milestone API's in ``models.py``, and read into ``/openapi.json`` beside them.
Every response object lists its keys in the order the service writes them.
"""

from typing import Annotated, Literal

from pydantic import Field

from adapters.contract.fields import (
    Actor,
    Count,
    CursorParam,
    DueDate,
    FlagParam,
    Instant,
    InstantParam,
    LimitParam,
    MilestoneId,
    RequestId,
    Title,
    Version,
)
from adapters.contract.models import Milestone, Query, WireModel, optional_field
from domain.milestone import Status

SlipSeconds = Annotated[
    int | float | None,
    Field(
        description="The due instant of the later value minus that of the earlier one, in "
        "seconds (a date is its 00:00:00Z): negative when pulled in, 0 for the same instant "
        "written another way, a fraction only when an instant has one; null when either "
        "side is null."
    ),
]
MilestoneKey = Literal[
    "id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"
]


class ProjectScheduleQuery(Query):
    slipped: FlagParam = optional_field(
        "`true`: only milestones whose due date moved later in total (`totalSlipSeconds` "
        "above 0); `false`: the others (a total slip of 0 or below, or null)."
    )


class ChangesQuery(Query):
    since: InstantParam = Field(
        description="The window starts after this instant (an event at it is not in the "
        "window, but in `before`)."
    )
    until: InstantParam = optional_field(
        "The window ends at this instant, inclusive; not before `since`. Default: the time of "
        "the first page's request, which its cursor carries to the next pages."
    )
    limit: LimitParam = Field(100, description="At most this many milestones a page.")
    cursor: CursorParam = optional_field(
        "The `next` of the previous page, with the same `since` (and `until`, if given); a "
        "cursor of another project or window is a 400."
    )


class Move(WireModel):
    """One event that changed `dueDate`: `from` and `to` exactly as stored."""

    version: Version
    occurred_at: Instant
    actor: Actor
    request_id: RequestId
    from_: DueDate = Field(alias="from")
    to: DueDate
    slip_seconds: SlipSeconds


class MilestoneSchedule(WireModel):
    """`originalDueDate`: the first non-null `dueDate` the milestone had; `dueDate`: its
    latest (after a delete, the one it had). `changes` is the number of moves;
    `totalSlipSeconds` the slip from `originalDueDate` to `dueDate`.
    """

    milestone_id: MilestoneId
    original_due_date: DueDate
    due_date: DueDate
    changes: Count
    total_slip_seconds: SlipSeconds
    moves: list[Move]


class ScheduleEnvelope(WireModel):
    data: MilestoneSchedule


class ScheduledMilestone(WireModel):
    """A live milestone that has or had a due date, and how far that date moved."""

    milestone_id: MilestoneId
    title: Title
    status: Status
    original_due_date: DueDate
    due_date: DueDate
    changes: Count
    total_slip_seconds: SlipSeconds


class ProjectSchedule(WireModel):
    """The most slipped first (null last), ties by `milestoneId`; `count` is the length of
    `data`."""

    data: list[ScheduledMilestone]
    count: Count


class Change(WireModel):
    """What happened to one milestone in the window. `before`/`after`: the milestone as
    `?asOf=since` / `?asOf=until` shows it, or null. `kind`: `added` (before null),
    `removed` (after null), `changed` (some key differs), `unchanged` (equal again),
    `transient` (created and deleted inside the window). `fields`: the keys that differ.
    `events`: its events in the window; `actors`: their distinct non-null actors, in the
    order they first acted.
    """

    milestone_id: MilestoneId
    kind: Literal["added", "removed", "changed", "unchanged", "transient"]
    fields: list[MilestoneKey]
    before: Milestone | None
    after: Milestone | None
    events: Count = Field(ge=1)
    actors: list[Annotated[str, Field(min_length=1, max_length=200)]]


class ChangeList(WireModel):
    """Ordered by `milestoneId`; `next` is the cursor of the next page, or null on the last."""

    data: list[Change]
    count: Count
    next: str | None
