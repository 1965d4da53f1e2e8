"""The field types of the HTTP API: each one a check and a JSON Schema, side by side.

The checks are plain functions rather than pydantic's own constraints: they keep the
contract's messages and their order (blank before too long before control characters),
and they match the very patterns that the document publishes, so the two cannot drift
apart. A failed check raises pydantic's ``PydanticCustomError`` with the message a client
reads; ``validation.py`` turns those into the problem's ``errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, NoReturn

from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from adapters.contract.patterns import (
    CONTROL_CHARACTERS,
    DATE_LENGTH,
    DATE_ONLY,
    DATE_PATTERN,
    DATE_TIME_INPUT,
    DUE_DATE_PATTERN,
    INSTANT_PATTERN,
    LINE_PATTERN,
    MILESTONE_ID_PATTERN,
    MINUTES_PATTERN,
    MULTILINE_CONTROL,
    MULTILINE_PATTERN,
    RFC3339_PATTERN,
)
from domain.ids import InvalidMilestoneId, from_public_id
from domain.milestone import Status, format_instant

MAX_POSITION = 2**62
MAX_PAGE = 1000
MAX_WAIT = 30  # seconds a long poll of the feed may wait
MAX_DESCRIPTION = 10_000
MAX_ACTOR = 200  # a token's name is at most 64; a proxy's header value at most this
_MAX_DIGITS = 19  # every whole number here fits in 63 bits


class Sort(StrEnum):
    CREATED_AT = "createdAt"
    CREATED_AT_DESCENDING = "-createdAt"
    DUE_DATE = "dueDate"
    DUE_DATE_DESCENDING = "-dueDate"
    TITLE = "title"
    TITLE_DESCENDING = "-title"


MAX_SEARCH = 1000
MAX_CURSOR = 2000


class EventType(StrEnum):
    # In the order in which a bad value's message names them.
    CREATED = "Created"
    DELETED = "Deleted"
    STATUS_CHANGED = "StatusChanged"
    UPDATED = "Updated"


class Interval(StrEnum):
    """The length of a progress series' intervals."""

    DAY = "day"
    WEEK = "week"


# --- Checks ---------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    raise PydanticCustomError("contract", message)


def parse_instant(value: Any, *, round_up: bool = False) -> datetime | None:
    """An ISO 8601 date-time with offset, in UTC at millisecond precision; None if invalid.

    Finer digits are cut off, or with ``round_up`` carried to the next millisecond (for a
    lower bound: every stored instant is a whole millisecond).
    """
    if not isinstance(value, str) or not DATE_TIME_INPUT.fullmatch(value):
        return None
    try:
        instant = datetime.fromisoformat(value).astimezone(UTC)
        finer = timedelta(microseconds=instant.microsecond % 1000)
        if round_up and finer:
            return instant - finer + timedelta(milliseconds=1)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59.9999Z rounded up
        return None
    return instant - finer


def _line(max_length: int) -> PlainValidator:
    """A one-line text: not blank, within its length, no control characters."""
    return PlainValidator(line_check(max_length))


def line_check(max_length: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            fail("must be a string")
        if not value.strip():
            fail("must not be empty")
        if len(value) > max_length:
            fail(f"must be at most {max_length} characters")
        if CONTROL_CHARACTERS.search(value):
            fail("must not contain control characters")
        return value

    return check


def _multiline(value: Any) -> str:
    """A text that may be blank and hold tabs and line breaks."""
    if not isinstance(value, str):
        fail("must be a string")
    if len(value) > MAX_DESCRIPTION:
        fail(f"must be at most {MAX_DESCRIPTION} characters")
    if MULTILINE_CONTROL.search(value):
        fail("must not contain control characters")
    return value


def _due_date(value: Any) -> str | None:
    """A date or a date-time with offset, kept exactly as sent."""
    if value is None:
        return None
    if isinstance(value, str):
        pattern = DATE_ONLY if len(value) == DATE_LENGTH else DATE_TIME_INPUT
        if pattern.fullmatch(value):
            return value
    fail("must be null, an ISO 8601 date or a date-time with offset")


def _reached_at(value: Any) -> datetime | None:
    if value is None:
        return None
    instant = parse_instant(value)
    if instant is None:
        fail("must be null or an ISO 8601 date-time with offset")
    return instant


def _single(value: Any) -> str:
    """A query parameter given once, with a value: ``status=`` is a bad filter, not none."""
    if isinstance(value, list):
        fail("must be given at most once")
    if value == "":
        fail("must not be empty")
    return str(value)


single_parameter = _single  # for the field types of other modules


def _whole(lowest: int, highest: int) -> PlainValidator:
    def check(value: Any) -> int:
        text = _single(value)
        # Length first: int() of thousands of digits is slow, and refused past 4,300.
        digits = text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS
        if not digits or not lowest <= int(text) <= highest:
            fail(f"must be a whole number from {lowest} to {highest}")
        return int(text)

    return PlainValidator(check)


def _date_time_failure(text: str, message: str) -> NoReturn:
    # A `+` that a client did not encode arrives as a space (form encoding): say so.
    if " " in text and not text.endswith(" "):
        message += " (a `+` in a query string must be encoded as %2B)"
    fail(message)


def _instant_param(*, round_up: bool) -> PlainValidator:
    """A date-time parameter in the canonical form that stored instants compare in."""

    def check(value: Any) -> str:
        text = _single(value)
        instant = parse_instant(text, round_up=round_up)
        if instant is None:
            _date_time_failure(text, "must be an ISO 8601 date-time with offset")
        return format_instant(instant)

    return PlainValidator(check)


def _due_bound(value: Any) -> str:
    """A bound of the due instant: a date (its 00:00:00Z) or a date-time with offset."""
    text = _single(value)
    pattern = DATE_ONLY if len(text) == DATE_LENGTH else DATE_TIME_INPUT
    if not pattern.fullmatch(text):
        _date_time_failure(text, "must be an ISO 8601 date or a date-time with offset")
    return text


def _flag(value: Any) -> bool:
    text = _single(value)
    if text not in {"true", "false"}:
        fail("must be true or false")
    return text == "true"


def _search(value: Any) -> str:
    text = _single(value)
    if len(text) > MAX_SEARCH:
        fail(f"must be at most {MAX_SEARCH} characters")
    return text


def _cursor(value: Any) -> str:
    text = _single(value)
    if len(text) > MAX_CURSOR:
        fail("is not a cursor of this list")
    return text


def _choice(kind: type[StrEnum]) -> PlainValidator:
    message = f"must be one of {', '.join(kind)}"

    def check(value: Any) -> StrEnum:
        text = _single(value)
        try:
            return kind(text)
        except ValueError:
            fail(message)

    return PlainValidator(check, json_schema_input_type=kind)


def _milestone_id(value: Any) -> str:
    text = _single(value)
    try:
        from_public_id(text)
    except InvalidMilestoneId:
        fail("is not a milestone id")
    return text


def _actor_filter(value: Any) -> str:
    text = _single(value)
    if len(text) > MAX_ACTOR:
        fail(f"must be at most {MAX_ACTOR} characters")
    return text


# --- Field types ----------------------------------------------------------------------------


def string_schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **schema})


def _whole_schema(lowest: int, highest: int, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "integer", "minimum": lowest, "maximum": highest, **extra})


_LINE = "not all white space, no control characters"
_DATE_TIME_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN},
        {"type": "string", "pattern": MINUTES_PATTERN},
    ],
    "description": "An ISO 8601 date-time with an offset or `Z`; seconds and fraction "
    "optional. In year 1 the offset may not be east of UTC, in year 9999 not west of it.",
}
_DUE_DATE_SCHEMA = {
    "anyOf": [{"type": "string", "pattern": DUE_DATE_PATTERN}, {"type": "null"}],
    "description": "An ISO 8601 date, or a date-time with an offset or `Z` (as `reachedAt` "
    "takes it), or null. Echoed back exactly as sent.",
}
_WRITTEN = "A time the service wrote: UTC, millisecond precision, `Z`."

# Bodies (and, unchecked, the responses that show the same fields).
MilestoneId = Annotated[str, string_schema(pattern=MILESTONE_ID_PATTERN)]
ProjectId = Annotated[
    str,
    _line(100),
    string_schema(
        minLength=1, maxLength=100, pattern=LINE_PATTERN, description=f"1-100 chars, {_LINE}."
    ),
]
Title = Annotated[
    str,
    _line(200),
    string_schema(
        minLength=1, maxLength=200, pattern=LINE_PATTERN, description=f"1-200 chars, {_LINE}."
    ),
]
Description = Annotated[
    str,
    PlainValidator(_multiline),
    string_schema(
        maxLength=MAX_DESCRIPTION,
        pattern=MULTILINE_PATTERN,
        description="Up to 10,000 characters; no control characters but tab, line feed and "
        "carriage return.",
    ),
]
DueDate = Annotated[str | None, PlainValidator(_due_date), WithJsonSchema(_DUE_DATE_SCHEMA)]
ReachedAtInput = Annotated[
    datetime | None,
    PlainValidator(_reached_at),
    WithJsonSchema(_DATE_TIME_SCHEMA | {"anyOf": [*_DATE_TIME_SCHEMA["anyOf"], {"type": "null"}]}),
]
Instant = Annotated[
    str, string_schema(format="date-time", pattern=INSTANT_PATTERN, description=_WRITTEN)
]
Version = Annotated[int, Field(ge=1, le=MAX_POSITION)]
Position = Annotated[int, Field(ge=1, le=MAX_POSITION)]
Count = Annotated[int, Field(ge=0)]
Actor = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_ACTOR}, {"type": "null"}],
            "description": "Who recorded the event: the bearer token's name, or the value of "
            "the header the operator's authenticating proxy sets; null when the service did "
            "not know (no tokens, no such header) and for events recorded before actors were.",
        }
    ),
]
RequestId = Annotated[
    str | None,
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}],
            "description": "The `X-Request-Id` of the request that recorded the event; null "
            "for events recorded before request ids were.",
        }
    ),
]
# Accepted and dropped, whatever the value, so that a client can send back a whole milestone.
Ignored = Annotated[Any, WithJsonSchema({})]

# Query parameters: each given at most once, never empty.
ProjectFilter = Annotated[str, PlainValidator(_single), string_schema(minLength=1)]
StatusFilter = Annotated[Status, _choice(Status)]
TypeFilter = Annotated[EventType, _choice(EventType)]
IntervalParam = Annotated[Interval, _choice(Interval)]
ActorFilter = Annotated[
    str, PlainValidator(_actor_filter), string_schema(minLength=1, maxLength=MAX_ACTOR)
]
MilestoneFilter = Annotated[
    str, PlainValidator(_milestone_id), string_schema(pattern=MILESTONE_ID_PATTERN)
]
VersionParam = Annotated[int, _whole(1, MAX_POSITION), _whole_schema(1, MAX_POSITION)]
AfterParam = Annotated[int, _whole(0, MAX_POSITION), _whole_schema(0, MAX_POSITION, default=0)]
PositionParam = Annotated[int, _whole(0, MAX_POSITION), _whole_schema(0, MAX_POSITION)]
LimitParam = Annotated[int, _whole(1, MAX_PAGE), _whole_schema(1, MAX_PAGE, default=100)]
InstantParam = Annotated[str, _instant_param(round_up=False), WithJsonSchema(_DATE_TIME_SCHEMA)]
DueBoundParam = Annotated[
    str,
    PlainValidator(_due_bound),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                *_DATE_TIME_SCHEMA["anyOf"],
            ],
            "description": "An ISO 8601 date (meaning its 00:00:00Z) or a date-time with an "
            "offset or `Z`.",
        }
    ),
]
FlagParam = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]
SearchParam = Annotated[
    str, PlainValidator(_search), string_schema(minLength=1, maxLength=MAX_SEARCH)
]
SortParam = Annotated[Sort, _choice(Sort)]
PageParam = Annotated[int, _whole(1, MAX_PAGE), _whole_schema(1, MAX_PAGE)]
WaitParam = Annotated[int, _whole(1, MAX_WAIT), _whole_schema(1, MAX_WAIT)]
CursorParam = Annotated[
    str, PlainValidator(_cursor), string_schema(minLength=1, maxLength=MAX_CURSOR)
]
# A lower bound: finer digits than a millisecond round up, as no stored instant has them.
LowerBoundParam = Annotated[str, _instant_param(round_up=True), WithJsonSchema(_DATE_TIME_SCHEMA)]
