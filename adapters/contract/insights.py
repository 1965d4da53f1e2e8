"""The project insights' shapes: the projects, the progress query, the summary and the series.

Stated like the milestone API's in ``models.py``, and read into ``/openapi.json`` beside them.
"""

from pydantic import Field

from adapters.contract.fields import (
    Count,
    CursorParam,
    Instant,
    InstantParam,
    Interval,
    IntervalParam,
    PageParam,
    ProjectId,
)
from adapters.contract.models import Milestone, Query, WireModel, optional_field


class ProgressQuery(Query):
    since: InstantParam = optional_field(
        "The series starts with the first interval end after this instant. Default: the "
        "project's first event."
    )
    until: InstantParam = optional_field(
        "The series ends with the first interval end at or after this instant; not before "
        "`since`. Default: now."
    )
    interval: IntervalParam = Field(
        Interval.DAY,
        description="`day`: points at every UTC midnight; `week`: at every Monday 00:00:00Z.",
    )


class StatusCounts(WireModel):
    pending: Count
    in_progress: Count = Field(alias="in_progress")
    reached: Count


class ProjectSummary(WireModel):
    """Over the project's live milestones, now. `overdue`: not reached and past the due
    moment (a date-time, after it; a date `D`, from `D+1` 00:00:00Z on).
    `reachedOnTime`/`reachedLate`: reached milestones with a `dueDate` whose `reachedAt` is /
    is not within their due moment. `nextDue`: the milestone that is neither reached nor
    overdue with the earliest due instant (ties by `id`), or null. `slipped`: how many have
    a due date later than their first one (a total slip above 0, as the project's schedule
    tells it).
    """

    project_id: str
    total: Count
    by_status: StatusCounts
    overdue: Count
    reached_on_time: Count
    reached_late: Count
    next_due: Milestone | None
    slipped: Count


class SummaryEnvelope(WireModel):
    data: ProjectSummary


class ProgressPoint(WireModel):
    """The project at `at` (events at `at` itself count from the next point on): every
    milestone as it was then, also one deleted later, as `?asOf=` one millisecond before
    `at` shows it.
    """

    at: Instant
    total: Count
    pending: Count
    in_progress: Count = Field(alias="in_progress")
    reached: Count


class ProgressSeries(WireModel):
    """One point per interval end, oldest first; `count` is the length of `data`."""

    data: list[ProgressPoint]
    count: Count


class ProjectsQuery(Query):
    limit: PageParam = optional_field(
        "Page the list: at most this many projects, and `next` in the body. Without it every "
        "project comes at once and `next` is absent."
    )
    cursor: CursorParam = optional_field("The `next` of the previous page (else a 400).")


class ProjectCounts(WireModel):
    """A project and its live milestones counted by status."""

    project_id: ProjectId
    total: Count
    by_status: StatusCounts


class ProjectList(WireModel):
    """Every project with live milestones, ordered by `projectId` (by code point); `count`
    is the length of `data`, `next` only with `limit`."""

    data: list[ProjectCounts]
    count: Count
    next: str | None = optional_field(
        "With `limit`: the cursor of the next page (pass it as `cursor`), or null on the last."
    )
