"""The HTTP API's shapes, stated once: request bodies, query parameters, response bodies.

From these models come the validation of every request (``validation.py``) and the
``components.schemas`` of ``/openapi.json`` (``openapi.py``). Wire names are the camelCase
aliases; attribute names are the domain's snake_case, so the fields a valid body sets are
a command's keyword arguments as they stand. The field types, each a check and a schema,
are in ``fields.py``.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from adapters.http.fields import (
    Actor,
    ActorFilter,
    AfterParam,
    Count,
    CursorParam,
    Description,
    DueBoundParam,
    DueDate,
    DurationMs,
    EventTypes,
    Flag,
    FlagParam,
    Ignored,
    Instant,
    InstantParam,
    Interval,
    IntervalParam,
    LimitParam,
    LowerBoundParam,
    MilestoneFilter,
    MilestoneId,
    PageParam,
    Position,
    ProjectFilter,
    ProjectId,
    ProjectOrAll,
    ReachedAtInput,
    RequestId,
    SearchParam,
    SortParam,
    StatusFilter,
    Title,
    TypeFilter,
    Version,
    VersionParam,
    WebhookId,
    WebhookUrl,
)
from domain.milestone import Status


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _ignored(why: str) -> Any:
    why = f"Ignored: {why}. The response shows the stored value."
    return Field(None, exclude=True, description=why, json_schema_extra=_drop_default)


def _optional(description: str | None = None) -> Any:
    """A field that may be absent; absent is not null, so the schema states no default."""
    return Field(None, description=description, json_schema_extra=_drop_default)


# --- Request bodies -------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class Incoming(_Model):
    """What a client sends; ``unknown`` is the message for a name the model does not know."""

    unknown: ClassVar[str]


class RequestBody(Incoming):
    unknown: ClassVar[str] = "is not a milestone field"


class CreateMilestone(RequestBody):
    """Any other key is a 400."""

    project_id: ProjectId
    title: Title
    description: Description = ""
    status: Status = Status.PENDING
    due_date: DueDate = None
    id: Ignored = _ignored("ids are assigned by the service")
    created_at: Ignored = _ignored("createdAt is the time of the Created event")
    reached_at: Ignored = _ignored(
        "a milestone created as reached has reachedAt == createdAt, else null"
    )


class UpdateMilestone(RequestBody):
    """Any subset of the fields; a field sent with its current value is no change, and a
    PATCH that changes nothing records nothing. When `status` becomes `reached` and
    `reachedAt` is null, `reachedAt` becomes the time of that StatusChanged event. Any
    other key is a 400.
    """

    # Only the fields a body sets are changes (``model_fields_set``); the rest stay None.
    title: Title = _optional()
    description: Description = _optional()
    status: Status = _optional()
    due_date: DueDate = _optional()
    reached_at: ReachedAtInput = _optional(
        "A correction of when the milestone was reached; one later than now, or one that "
        "leaves a reached milestone without it, is a 400."
    )
    id: Ignored = _ignored("ids never change")
    created_at: Ignored = _ignored("createdAt never changes")
    project_id: Ignored = _ignored("a milestone stays in its project")


# --- Query parameters -----------------------------------------------------------------------


class Query(Incoming):
    """A route's query parameters: each at most once and not empty; any other is a 400."""

    unknown: ClassVar[str] = "is not a query parameter of this route"


class NoQuery(Query):
    """The query of a route that takes no parameters."""


class ListQuery(Query):
    """Filters combine with AND. A milestone's due instant is its `dueDate` if a date-time,
    or that date at 00:00:00Z; one without `dueDate` matches no due condition.
    """

    project_id: ProjectFilter = _optional("Only this project.")
    status: StatusFilter = _optional("Only milestones in this status.")
    due_after: DueBoundParam = _optional("Only milestones due at or after this instant.")
    due_before: DueBoundParam = _optional("Only milestones due before this instant.")
    overdue: FlagParam = _optional(
        "`true`: only milestones not reached whose due moment has passed (for a date, the "
        "whole due day is on time); `false`: every other milestone, those without "
        "`dueDate` included."
    )
    q: SearchParam = _optional(
        "Words (letters and digits) that must each begin a word of the title or the "
        'description, case-insensitively: `beta lau` matches "Beta Launch".'
    )
    sort: SortParam = _optional(
        "The order (default `createdAt`): by `createdAt`, due instant or title (by code "
        "point), `-` for descending; ties by `id` in the same direction. Milestones without "
        "`dueDate` come last in both due orders."
    )
    limit: PageParam = _optional(
        "Page the list: at most this many, and `next` in the body. Without it the whole list "
        "comes at once and `next` is absent."
    )
    cursor: CursorParam = _optional(
        "The `next` of the previous page, with the same other parameters (else a 400)."
    )


class MilestoneQuery(Query):
    version: VersionParam = _optional(
        "The state after this event of the milestone's stream; a version beyond the stream "
        "is a 400."
    )
    as_of: InstantParam = _optional(
        "The state at this instant (inclusive: an event that occurred at it is part of the "
        "state). With `version`: the state after that event, if it had occurred by then "
        "(else 404)."
    )


class EventsQuery(Query):
    after: AfterParam = Field(0, description="Only events after this position.")
    limit: LimitParam = Field(100, description="At most this many events.")
    project_id: ProjectFilter = _optional("Only this project.")
    milestone_id: MilestoneFilter = _optional("Only this milestone.")
    type: TypeFilter = _optional("Only this type of event.")
    since: LowerBoundParam = _optional("Only events that occurred at or after this instant.")
    until: InstantParam = _optional("Only events that occurred at or before this instant.")
    actor: ActorFilter = _optional("Only events recorded by this actor (exact match).")


class ProgressQuery(Query):
    since: InstantParam = _optional(
        "The series starts with the first interval end after this instant. Default: the "
        "project's first event."
    )
    until: InstantParam = _optional(
        "The series ends with the first interval end at or after this instant; not before "
        "`since`. Default: now."
    )
    interval: IntervalParam = Field(
        Interval.DAY,
        description="`day`: points at every UTC midnight; `week`: at every Monday 00:00:00Z.",
    )


# --- Response bodies ------------------------------------------------------------------------


class Milestone(_Model):
    """A milestone: exactly these eight keys, in this order. Its version travels in the
    `ETag` header.
    """

    id: MilestoneId
    project_id: ProjectId
    title: Title
    description: Description
    status: Status
    due_date: DueDate
    reached_at: Instant | None
    created_at: Instant


class MilestoneEnvelope(_Model):
    data: Milestone


class MilestoneList(_Model):
    """`count` is the length of `data`; `next` only with `limit`."""

    data: list[Milestone]
    count: Count
    next: str | None = _optional(
        "With `limit`: the cursor of the next page (pass it as `cursor`), or null on the last."
    )


class Deletion(_Model):
    id: MilestoneId
    deleted: Literal[True]


class DeletedMilestone(_Model):
    data: Deletion


class CreatedPayload(_Model):
    """Every initial field."""

    project_id: ProjectId
    title: Title
    description: Description
    status: Status
    due_date: DueDate
    reached_at: Instant | None


class UpdatedPayload(_Model):
    """Only the changed fields, with their new values."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    title: Title = _optional()
    description: Description = _optional()
    due_date: DueDate = _optional()
    reached_at: Instant | None = _optional()


class StatusChangedPayload(_Model):
    from_: Status = Field(alias="from")
    to: Status
    reached_at: Instant | None


class DeletedPayload(_Model):
    model_config = ConfigDict(json_schema_extra={"maxProperties": 0})


class _Event(_Model):
    milestone_id: MilestoneId
    version: Version
    occurred_at: Instant
    actor: Actor
    request_id: RequestId


class CreatedEvent(_Event):
    type: Literal["Created"]
    payload: CreatedPayload


class UpdatedEvent(_Event):
    type: Literal["Updated"]
    payload: UpdatedPayload


class StatusChangedEvent(_Event):
    type: Literal["StatusChanged"]
    payload: StatusChangedPayload


class DeletedEvent(_Event):
    type: Literal["Deleted"]
    payload: DeletedPayload


class _InFeed(_Model):
    position: Position


class CreatedFeedEvent(CreatedEvent, _InFeed): ...


class UpdatedFeedEvent(UpdatedEvent, _InFeed): ...


class StatusChangedFeedEvent(StatusChangedEvent, _InFeed): ...


class DeletedFeedEvent(DeletedEvent, _InFeed): ...


Event = Annotated[
    CreatedEvent | UpdatedEvent | StatusChangedEvent | DeletedEvent, Field(discriminator="type")
]
FeedEvent = Annotated[
    CreatedFeedEvent | UpdatedFeedEvent | StatusChangedFeedEvent | DeletedFeedEvent,
    Field(discriminator="type"),
]


class History(_Model):
    """A milestone's events, oldest first; `version` counts from 1."""

    data: list[Event]
    count: Count


class EventFeed(_Model):
    """Events in commit order, each with its global `position`; `next` is the `after` of the
    next page, or null at the end.
    """

    data: list[FeedEvent]
    count: Count
    next: Position | None


class StatusCounts(_Model):
    pending: Count
    in_progress: Count = Field(alias="in_progress")
    reached: Count


class ProjectSummary(_Model):
    """Over the project's live milestones, now. `overdue`: not reached and past the due
    moment (a date-time, after it; a date `D`, from `D+1` 00:00:00Z on).
    `reachedOnTime`/`reachedLate`: reached milestones with a `dueDate` whose `reachedAt` is /
    is not within their due moment. `nextDue`: the milestone that is neither reached nor
    overdue with the earliest due instant (ties by `id`), or null.
    """

    project_id: str
    total: Count
    by_status: StatusCounts
    overdue: Count
    reached_on_time: Count
    reached_late: Count
    next_due: Milestone | None


class SummaryEnvelope(_Model):
    data: ProjectSummary


class ProgressPoint(_Model):
    """The project at `at` (events at `at` itself count from the next point on): every
    milestone as it was then, also one deleted later, as `?asOf=` one millisecond before
    `at` shows it.
    """

    at: Instant
    total: Count
    pending: Count
    in_progress: Count = Field(alias="in_progress")
    reached: Count


class ProgressSeries(_Model):
    """One point per interval end, oldest first; `count` is the length of `data`."""

    data: list[ProgressPoint]
    count: Count


class FieldError(_Model):
    field: str = Field(
        description="A body field, a query parameter or a header; empty for the body as a whole."
    )
    message: str


class Problem(_Model):
    """RFC 9457 problem details."""

    type: str = Field(json_schema_extra={"format": "uri-reference"})
    title: str = Field(description="The status code's reason phrase.")
    status: int = Field(ge=400, le=599)
    detail: str


class ValidationProblem(Problem):
    """A request that breaks the contract: `errors` names every bad field."""

    errors: list[FieldError] = Field(min_length=1)


class ReadinessProblem(Problem):
    """Not ready: the storage is unreachable, or the read model is behind the log."""

    position: int = _optional()
    head: int = _optional()
    lag: int = _optional()


class HealthStatus(_Model):
    status: Literal["ok"]


class Health(_Model):
    data: HealthStatus


class ReadinessStatus(_Model):
    status: Literal["ready"]
    position: int = Field(ge=0)
    head: int = Field(ge=0)
    lag: int


class Readiness(_Model):
    data: ReadinessStatus


# --- Webhooks -------------------------------------------------------------------------------


class WebhookBody(Incoming):
    unknown: ClassVar[str] = "is not a webhook field"


class CreateWebhook(WebhookBody):
    """Any other key is a 400."""

    url: WebhookUrl
    types: EventTypes = Field(
        default_factory=lambda: ["Created", "Updated", "StatusChanged", "Deleted"],
        description="The event types to deliver; all four when absent.",
        json_schema_extra=_drop_default,
    )
    project_id: ProjectOrAll = Field(
        None, description="Only this project's events; every project's when absent or null."
    )


class UpdateWebhook(WebhookBody):
    """Any subset of the fields. Enabling a disabled subscription resumes delivery at the
    event where it stopped.
    """

    url: WebhookUrl = _optional()
    types: EventTypes = _optional()
    project_id: ProjectOrAll = _optional("Null: every project's events.")
    enabled: Flag = _optional()


class DeliveriesQuery(Query):
    limit: LimitParam = Field(100, description="At most this many attempts.")


class Webhook(_Model):
    """A subscription; its secret is shown only when it is created."""

    id: WebhookId
    url: WebhookUrl
    types: EventTypes
    project_id: ProjectOrAll
    enabled: bool
    created_at: Instant


class NewWebhook(Webhook):
    secret: str = Field(
        pattern="^whsec_[A-Za-z0-9+/]{32,}={0,2}$",
        description="`whsec_` and base64 of 32 random bytes: the key of `webhook-signature`. "
        "Shown only in this response.",
    )


class NewWebhookEnvelope(_Model):
    data: NewWebhook


class WebhookEnvelope(_Model):
    data: Webhook


class WebhookList(_Model):
    """`count` is the length of `data`."""

    data: list[Webhook]
    count: Count


class WebhookDeletion(_Model):
    id: WebhookId
    deleted: Literal[True]


class DeletedWebhook(_Model):
    data: WebhookDeletion


class Delivery(_Model):
    """One attempt to deliver the event at `position`."""

    position: Position
    attempt: int = Field(ge=1, description="1 for the first attempt at this event.")
    at: Instant
    status: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why the attempt failed; null when it delivered.")
    duration_ms: DurationMs


class DeliveryList(_Model):
    """The latest attempts, newest first."""

    data: list[Delivery]
    count: Count


class OpenApiDocument(BaseModel):
    """The OpenAPI 3.1 document of the API."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
