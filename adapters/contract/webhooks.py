"""The webhook API's shapes: subscription bodies, the delivery log's query, responses.

Stated like the milestone API's in ``models.py``, and read into ``/openapi.json`` beside them.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from adapters.contract.fields import (
    Count,
    EventType,
    Instant,
    LimitParam,
    Position,
    fail,
    line_check,
    string_schema,
)
from adapters.contract.models import Incoming, Query, WireModel, drop_default, optional_field
from adapters.contract.patterns import CONTROL_CHARACTERS, LINE_PATTERN

MAX_URL = 2048
_EVENT_TYPES = [kind.value for kind in EventType]


def _webhook_url(value: Any) -> str:
    """The URL's text; whether it may receive webhooks depends on the service's settings."""
    if not isinstance(value, str):
        fail("must be a string")
    if (
        not value.startswith(("https://", "http://"))
        or CONTROL_CHARACTERS.search(value)
        or " " in value
    ):
        fail("must be an absolute https:// URL")
    if len(value) > MAX_URL:
        fail(f"must be at most {MAX_URL} characters")
    return value


def _event_types(value: Any) -> list[str]:
    message = f"must be a non-empty list of distinct event types ({', '.join(_EVENT_TYPES)})"
    if (
        not isinstance(value, list)
        or not value
        or any(kind not in _EVENT_TYPES for kind in value)
        or len(set(value)) != len(value)
    ):
        fail(message)
    return list(value)


def _project_or_all(value: Any) -> str | None:
    return None if value is None else line_check(100)(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        fail("must be true or false")
    return value


_PROJECT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": LINE_PATTERN}
WebhookId = Annotated[str, string_schema(pattern=r"^wh_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
WebhookUrl = Annotated[
    str,
    PlainValidator(_webhook_url),
    string_schema(
        minLength=1,
        maxLength=MAX_URL,
        format="uri",
        pattern="^https?://",
        description="An https:// URL whose host resolves to public addresses only (the "
        "operator may allow http and private hosts).",
    ),
]
EventTypes = Annotated[
    list[str],
    PlainValidator(_event_types),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": _EVENT_TYPES},
            "minItems": 1,
            "uniqueItems": True,
        }
    ),
]
ProjectOrAll = Annotated[
    str | None,
    PlainValidator(_project_or_all),
    WithJsonSchema({"anyOf": [_PROJECT_SCHEMA, {"type": "null"}]}),
]
Flag = Annotated[bool, PlainValidator(_boolean), WithJsonSchema({"type": "boolean"})]
DurationMs = Annotated[float, Field(ge=0)]


class WebhookBody(Incoming):
    unknown: ClassVar[str] = "is not a webhook field"


class CreateWebhook(WebhookBody):
    """Any other key is a 400."""

    url: WebhookUrl
    types: EventTypes = Field(
        default_factory=lambda: ["Created", "Updated", "StatusChanged", "Deleted"],
        description="The event types to deliver; all four when absent.",
        json_schema_extra=drop_default,
    )
    project_id: ProjectOrAll = Field(
        None, description="Only this project's events; every project's when absent or null."
    )


class UpdateWebhook(WebhookBody):
    """Any subset of the fields. Enabling a disabled subscription resumes delivery at the
    event where it stopped.
    """

    url: WebhookUrl = optional_field()
    types: EventTypes = optional_field()
    project_id: ProjectOrAll = optional_field("Null: every project's events.")
    enabled: Flag = optional_field()


class DeliveriesQuery(Query):
    limit: LimitParam = Field(100, description="At most this many attempts.")


class Webhook(WireModel):
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


class NewWebhookEnvelope(WireModel):
    data: NewWebhook


class WebhookEnvelope(WireModel):
    data: Webhook


class WebhookList(WireModel):
    """`count` is the length of `data`."""

    data: list[Webhook]
    count: Count


class WebhookDeletion(WireModel):
    id: WebhookId
    deleted: Literal[True]


class DeletedWebhook(WireModel):
    data: WebhookDeletion


class Delivery(WireModel):
    """One attempt to deliver the event at `position`."""

    position: Position
    attempt: int = Field(ge=1, description="1 for the first attempt at this event.")
    at: Instant
    status: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why the attempt failed; null when it delivered.")
    duration_ms: DurationMs


class DeliveryList(WireModel):
    """The latest attempts, newest first."""

    data: list[Delivery]
    count: Count
