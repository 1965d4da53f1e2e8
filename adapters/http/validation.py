"""Request validation: every bad field is named, and nothing reaches the domain unchecked."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.milestone import Status

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_BODY_BYTES = 64 * 1024

# Every milestone field a client may send; the rest of a body is an error.
MILESTONE_FIELDS = frozenset(
    {"id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)", re.ASCII
)


class ValidationFailed(Exception):
    """A request that breaks the contract; ``errors`` names each bad field."""

    def __init__(self, errors: list[dict[str, str]], detail: str = "") -> None:
        super().__init__(
            detail or "; ".join(f"{e['field']}: {e['message']}".lstrip(": ") for e in errors)
        )
        self.errors = errors


class _Collector:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed(
            [{"field": "", "message": "must be a JSON object"}], "the body must be a JSON object"
        )
    return body


def _unknown(body: dict[str, Any], errors: _Collector) -> None:
    for key in body:
        if key not in MILESTONE_FIELDS:
            errors.add(key, "is not a milestone field")


def _text(
    errors: _Collector, field: str, value: Any, *, max_length: int, multiline: bool = False
) -> Any:
    """A string within its length; a one-line field (every field but the description)
    must not be blank, and no field may hold control characters but tab and line breaks
    in a multi-line one.
    """
    if not isinstance(value, str):
        errors.add(field, "must be a string")
    elif not multiline and not value.strip():
        errors.add(field, "must not be empty")
    elif len(value) > max_length:
        errors.add(field, f"must be at most {max_length} characters")
    elif (_MULTILINE_CONTROL if multiline else _CONTROL).search(value):
        errors.add(field, "must not contain control characters")
    return value


def _status(errors: _Collector, field: str, value: Any) -> Status | None:
    if isinstance(value, str):
        try:
            return Status(value)
        except ValueError:
            pass
    errors.add(field, "must be one of pending, in_progress, reached")
    return None


def _due_date(errors: _Collector, value: Any) -> str | None:
    """A date or a date-time with offset, kept exactly as sent."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            if _DATE.fullmatch(value):
                date.fromisoformat(value)
                return value
            if _DATE_TIME.fullmatch(value):
                datetime.fromisoformat(value)
                return value
        except ValueError:
            pass
    errors.add("dueDate", "must be null, an ISO 8601 date or a date-time with offset")
    return None


def parse_instant(value: Any, *, round_up: bool = False) -> datetime | None:
    """An ISO 8601 date-time with offset, in UTC at millisecond precision; None if invalid.

    Finer digits are cut off, or with ``round_up`` carried to the next millisecond (for a
    lower bound: every stored instant is a whole millisecond).
    """
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return None
    try:
        instant = datetime.fromisoformat(value).astimezone(UTC)
        finer = timedelta(microseconds=instant.microsecond % 1000)
        if round_up and finer:
            return instant - finer + timedelta(milliseconds=1)
    except (ValueError, OverflowError):  # OverflowError: past year 1..9999 in UTC
        return None
    return instant - finer


def _reached_at(errors: _Collector, value: Any) -> datetime | None:
    if value is None:
        return None
    instant = parse_instant(value)
    if instant is None:
        errors.add("reachedAt", "must be null or an ISO 8601 date-time with offset")
    return instant


# Each field a client may set: its command argument and how its value is checked.
_FIELDS: dict[str, tuple[str, Callable[[_Collector, Any], Any]]] = {
    "projectId": ("project_id", lambda e, v: _text(e, "projectId", v, max_length=100)),
    "title": ("title", lambda e, v: _text(e, "title", v, max_length=200)),
    "description": (
        "description",
        lambda e, v: _text(e, "description", v, max_length=10_000, multiline=True),
    ),
    "status": ("status", lambda e, v: _status(e, "status", v)),
    "dueDate": ("due_date", _due_date),
    "reachedAt": ("reached_at", _reached_at),
}


def _parse(body: Any, fields: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    body, errors = _object(body), _Collector()
    _unknown(body, errors)
    for field in required:
        if field not in body:
            errors.add(field, "is required")
    command = {}
    for field in fields:
        if field in body:
            argument, check = _FIELDS[field]
            command[argument] = check(errors, body[field])
    errors.raise_if_any()
    return command


def parse_create(body: Any) -> dict[str, Any]:
    """The arguments of a create command (id, createdAt and reachedAt are ignored)."""
    fields = ("projectId", "title", "description", "status", "dueDate")
    return _parse(body, fields, required=("projectId", "title"))


def parse_update(body: Any) -> dict[str, Any]:
    """The changes of an update command (id, createdAt and projectId are ignored)."""
    return _parse(body, ("title", "description", "status", "dueDate", "reachedAt"))


def parse_status_filter(value: str | None) -> Status | None:
    if value is None:
        return None
    errors = _Collector()
    status = _status(errors, "status", value)
    errors.raise_if_any()
    return status
