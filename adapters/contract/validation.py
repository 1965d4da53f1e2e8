"""Request validation: the models of ``models.py`` applied, every bad field named.

A body or a query either becomes what the application takes, or a ``ValidationFailed``
whose ``errors`` name each bad field by its wire name, in the contract's messages.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import ValidationError

from adapters.contract.models import CreateMilestone, Incoming, Query, RequestBody, UpdateMilestone

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic_core import ErrorDetails

MAX_BODY_BYTES = 64 * 1024

Q = TypeVar("Q", bound=Query)
M = TypeVar("M", bound=Incoming)
_QUOTED = re.compile(r"'([^']*)'")


class ValidationFailed(Exception):
    """A request that breaks the contract; ``errors`` names each bad field."""

    def __init__(self, errors: list[dict[str, str]], detail: str = "") -> None:
        super().__init__(
            detail or "; ".join(f"{e['field']}: {e['message']}".lstrip(": ") for e in errors)
        )
        self.errors = errors


def parse_create(body: Any) -> dict[str, Any]:
    """The arguments of a create command (id, createdAt and reachedAt are ignored)."""
    return _command(CreateMilestone, body)


def parse_update(body: Any) -> dict[str, Any]:
    """The changes of an update command (id, createdAt and projectId are ignored)."""
    return _command(UpdateMilestone, body)


def parse_body(model: type[Incoming], body: Any, *, partial: bool) -> dict[str, Any]:
    """A body's fields by attribute name: those it sets (``partial``), or all, with defaults."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            [{"field": "", "message": "must be a JSON object"}], "the body must be a JSON object"
        )
    parsed = _validate(model, body)
    given = parsed.__pydantic_fields_set__
    return {name: value for name, value in parsed.__dict__.items() if not partial or name in given}


def parse_query(model: type[Q], params: Mapping[str, str | list[str]]) -> Q:
    """A route's query parameters, as Falcon's ``req.params`` holds them."""
    if not params:
        defaults = _defaults(model)
        if defaults is not None:
            return cast("Q", defaults)
    return _validate(model, params)


@cache
def _defaults(model: type[Q]) -> Q | None:
    """The parameters of a request without any, or None if the route requires one."""
    if any(field.is_required() for field in model.model_fields.values()):
        return None
    # Models are frozen: the parameters of a request without any can be shared.
    return model()


def _command(model: type[RequestBody], body: Any) -> dict[str, Any]:
    """The fields that a body sets, by their attribute names; ignored fields are left out."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            [{"field": "", "message": "must be a JSON object"}], "the body must be a JSON object"
        )
    parsed = _validate(model, body)
    given, values = parsed.__pydantic_fields_set__, parsed.__dict__
    return {name: values[name] for name in _settable(model) if name in given}


@cache
def _settable(model: type[RequestBody]) -> tuple[str, ...]:
    """The fields a client may set, in their order; not those that are accepted and ignored."""
    return tuple(name for name, field in model.model_fields.items() if not field.exclude)


def _validate(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        # The model's validator itself: model_validate adds a layer that costs a third of this.
        return model.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        errors = [_error(detail, model.unknown) for detail in error.errors(include_url=False)]
        raise ValidationFailed(errors) from None


def _error(detail: ErrorDetails, unknown: str) -> dict[str, str]:
    """pydantic's account of one bad field in the contract's words."""
    kind = detail["type"]
    if kind == "extra_forbidden":
        message = unknown
    elif kind == "missing":
        message = "is required"
    elif kind == "enum":  # "'pending', 'in_progress' or 'reached'"
        expected = _QUOTED.findall(detail.get("ctx", {}).get("expected", ""))
        message = f"must be one of {', '.join(expected)}"
    else:  # the checks of fields.py say it in the contract's words already
        message = detail["msg"]
    location = detail["loc"]
    return {"field": str(location[0]) if location else "", "message": message}
