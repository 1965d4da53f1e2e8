"""The fields a PATCH may send back but not change: ``id``, ``projectId`` and ``createdAt``.

Sent with the stored value they are ignored, so that a client can send back a whole
milestone; sent with another value they are a 400 naming each, so that a client never
believes it moved a milestone to another project (or id, or creation time) when it did not.
``createdAt`` is compared as an instant: ``2026-02-19T11:30:00+01:00`` is the same as
``2026-02-19T10:30:00.000Z``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.contract.fields import parse_instant
from adapters.contract.validation import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Mapping

UNCHANGEABLE = ("id", "projectId", "createdAt")
MESSAGE = "cannot be changed"


def sends_unchangeable(body: Mapping[str, Any]) -> bool:
    """Whether the body names any of the fields, so that the stored ones need reading."""
    return any(name in body for name in UNCHANGEABLE)


def refuse_other_values(body: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """A 400 naming each unchangeable field that ``body`` sends with another value than the
    stored document ``stored`` has."""
    errors = [
        {"field": name, "message": f"{MESSAGE} (it is {stored[name]})"}
        for name in UNCHANGEABLE
        if name in body and not _same(name, body[name], stored[name])
    ]
    if errors:
        raise ValidationFailed(errors)


def _same(name: str, sent: Any, stored: Any) -> bool:
    if name == "createdAt":
        return parse_instant(sent) == parse_instant(stored)
    return bool(sent == stored)
