"""The HTTP API's shapes, stated once: request bodies, query parameters, response bodies.

From these models come the validation of every request (``validation.py``) and the
``components.schemas`` of ``/openapi.json`` (``openapi.py``). Wire names are the camelCase
aliases; attribute names are the domain's snake_case, so the fields a valid body sets are
a command's keyword arguments as they stand. The field types, each a check and a schema,
are in ``fields.py``; the insights' and the webhooks' shapes, built on the same bases, in
``insight_models.py`` and ``webhook_models.py``.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from adapters.contract.fields import (
    Actor,
    ActorFilter,
    AfterParam,
    Count,
    CursorParam,
    Description,
    DueBoundParam,
    DueDate,
    FlagParam,
    Ignored,
    Instant,
    InstantParam,
    LimitParam,
    LowerBoundParam,
    MilestoneFilter,
    MilestoneId,
    PageParam,
    Position,
    ProjectFilter,
    ProjectId,
    ReachedAtInput,
    RequestId,
    SearchParam,
    SortParam,
    Title,
    TypeFilter,
    Version,
    VersionParam,
    WaitParam,
)
from adapters.contract.statuses import StatusesFilter
from domain.milestone import Status


def drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _ignored(why: str) -> Any:
    why = f"Ignored: {why}. The response shows the stored value."
    return Field(None, exclude=True, description=why, json_schema_extra=drop_default)


def _unchangeable(why: str) -> Any:
    why = f"Accepted with the stored value, and ignored: {why}. Any other value is a 400."
    return Field(None, exclude=True, description=why, json_schema_extra=drop_default)


def optional_field(description: str | None = None) -> Any:
    """A field that may be absent; absent is not null, so the schema states no default."""
    return Field(None, description=description, json_schema_extra=drop_default)


# --- Request bodies -------------------------------------------------------------------------


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class Incoming(WireModel):
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
    title: Title = optional_field()
    description: Description = optional_field()
    status: Status = optional_field()
    due_date: DueDate = optional_field()
    reached_at: ReachedAtInput = optional_field(
        "A correction of when the milestone was reached; one later than now, or one that "
        "leaves a reached milestone without it, is a 400."
    )
    id: Ignored = _unchangeable("ids never change")
    created_at: Ignored = _unchangeable("createdAt never changes (the same instant in any offset)")
    project_id: Ignored = _unchangeable("a milestone stays in its project")


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

    project_id: ProjectFilter = optional_field("Only this project.")
    status: StatusesFilter = optional_field(
        "Only milestones in this status, or in any of several separated by commas "
        "(`pending,in_progress`: those not reached yet)."
    )
    due_after: DueBoundParam = optional_field("Only milestones due at or after this instant.")
    due_before: DueBoundParam = optional_field("Only milestones due before this instant.")
    overdue: FlagParam = optional_field(
        "`true`: only milestones not reached whose due moment has passed (for a date, the "
        "whole due day is on time); `false`: every other milestone, those without "
        "`dueDate` included."
    )
    q: SearchParam = optional_field(
        "Words (letters and digits) that must each begin a word of the title or the "
        'description, case-insensitively: `beta lau` matches "Beta Launch".'
    )
    sort: SortParam = optional_field(
        "The order (default `createdAt`): by `createdAt`, due instant or title (by code "
        "point), `-` for descending; ties by `id` in the same direction. Milestones without "
        "`dueDate` come last in both due orders."
    )
    limit: PageParam = optional_field(
        "Page the list: at most this many, and `next` in the body. Without it the whole list "
        "comes at once and `next` is absent."
    )
    cursor: CursorParam = optional_field(
        "The `next` of the previous page, with the same other parameters (else a 400)."
    )


class MilestoneQuery(Query):
    version: VersionParam = optional_field(
        "The state after this event of the milestone's stream; a version beyond the stream "
        "is a 400."
    )
    as_of: InstantParam = optional_field(
        "The state at this instant (inclusive: an event that occurred at it is part of the "
        "state). With `version`: the state after that event, if it had occurred by then "
        "(else 404)."
    )


class EventsQuery(Query):
    after: AfterParam = Field(0, description="Only events after this position.")
    limit: LimitParam = Field(100, description="At most this many events.")
    project_id: ProjectFilter = optional_field("Only this project.")
    milestone_id: MilestoneFilter = optional_field("Only this milestone.")
    type: TypeFilter = optional_field("Only this type of event.")
    since: LowerBoundParam = optional_field("Only events that occurred at or after this instant.")
    until: InstantParam = optional_field("Only events that occurred at or before this instant.")
    actor: ActorFilter = optional_field("Only events recorded by this actor (exact match).")
    wait: WaitParam = optional_field(
        "Long polling: when the page would be empty, wait up to this many seconds for a "
        "first matching event before answering."
    )


# --- Response bodies ------------------------------------------------------------------------


class Milestone(WireModel):
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


class MilestoneEnvelope(WireModel):
    data: Milestone


class MilestoneList(WireModel):
    """`count` is the length of `data`; `next` only with `limit`."""

    data: list[Milestone]
    count: Count
    next: str | None = optional_field(
        "With `limit`: the cursor of the next page (pass it as `cursor`), or null on the last."
    )


class Deletion(WireModel):
    id: MilestoneId
    deleted: Literal[True]


class DeletedMilestone(WireModel):
    data: Deletion


class CreatedPayload(WireModel):
    """Every initial field."""

    project_id: ProjectId
    title: Title
    description: Description
    status: Status
    due_date: DueDate
    reached_at: Instant | None


class UpdatedPayload(WireModel):
    """Only the changed fields, with their new values."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    title: Title = optional_field()
    description: Description = optional_field()
    due_date: DueDate = optional_field()
    reached_at: Instant | None = optional_field()


class StatusChangedPayload(WireModel):
    from_: Status = Field(alias="from")
    to: Status
    reached_at: Instant | None


class DeletedPayload(WireModel):
    model_config = ConfigDict(json_schema_extra={"maxProperties": 0})


class _Event(WireModel):
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


class _InFeed(WireModel):
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


class History(WireModel):
    """A milestone's events, oldest first; `version` counts from 1."""

    data: list[Event]
    count: Count


class EventFeed(WireModel):
    """Events in commit order, each with its global `position`; `next` is the `after` of the
    next page, or null at the end.
    """

    data: list[FeedEvent]
    count: Count
    next: Position | None


class FieldError(WireModel):
    field: str = Field(
        description="A body field, a query parameter or a header; empty for the body as a whole."
    )
    message: str


class Problem(WireModel):
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

    position: int = optional_field()
    head: int = optional_field()
    lag: int = optional_field()


class HealthStatus(WireModel):
    status: Literal["ok"]


class Health(WireModel):
    data: HealthStatus


class ReadinessStatus(WireModel):
    status: Literal["ready"]
    position: int = Field(ge=0)
    head: int = Field(ge=0)
    lag: int


class Readiness(WireModel):
    data: ReadinessStatus


class OpenApiDocument(BaseModel):
    """The OpenAPI 3.1 document of the API."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
