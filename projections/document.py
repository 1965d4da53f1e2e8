"""A milestone's wire document, defined once and derived from the domain.

The fields are the ``Milestone.Created`` event's, in its order; each one's wire name is
its attribute name in camelCase, and a field typed as a ``datetime`` is an instant in the
service's one text form. So a new field of the aggregate appears in the view, the
history, the feed and the export without an edit here. The document is
``{"id", <the fields>, "createdAt"}``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.ids import to_public_id
from domain.milestone import Milestone, format_instant
from projections.records import stored_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Document = dict[str, Any]


def wire_name(attribute: str) -> str:
    """``due_date`` -> ``dueDate``."""
    first, *rest = attribute.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _own_fields(event_class: type) -> dict[str, Any]:
    """The fields an event class adds to the library's and to what every milestone event
    records (who made it), in their order, with their types."""
    inherited = {
        field.name
        for base in (Aggregate.Created, Milestone.Event)
        for field in dataclasses.fields(base)
    }
    hints = typing.get_type_hints(event_class)
    return {
        field.name: hints[field.name]
        for field in dataclasses.fields(event_class)
        if field.name not in inherited
    }


def _types_of(hint: Any) -> tuple[Any, ...]:
    """``datetime | None`` -> (datetime, NoneType)."""
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


_FIELD_TYPES = _own_fields(Milestone.Created)
# Aggregate attribute names and their names on the wire, in the document's order.
WIRE_NAMES = {name: wire_name(name) for name in _FIELD_TYPES}
ATTRIBUTES = {wire: name for name, wire in WIRE_NAMES.items()}
INSTANTS = frozenset(name for name, hint in _FIELD_TYPES.items() if datetime in _types_of(hint))
# A document's keys in order: what a response model of the milestone states.
DOCUMENT_KEYS = ("id", *WIRE_NAMES.values(), "createdAt")


def instant_text(value: dict[str, str] | datetime | None) -> str | None:
    """An instant, stored (the library's transcoding) or in memory, as the wire shows it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_instant(value)
    return stored_instant(value)


# (attribute, wire name, whether an instant) of each field: the fold's hot loop.
_FIELDS = tuple((name, wire, name in INSTANTS) for name, wire in WIRE_NAMES.items())


def wire_fields(attributes: Mapping[str, Any]) -> Document:
    """The milestone fields among ``attributes`` (stored state or aggregate attributes), by
    wire name, in the order given."""
    return {
        WIRE_NAMES[name]: instant_text(value) if name in INSTANTS else value
        for name, value in attributes.items()
        if name in WIRE_NAMES
    }


def milestone_document(public_id: str, attributes: Mapping[str, Any], created_at: str) -> Document:
    """A milestone as clients see it, from every field's value by attribute name."""
    document: Document = {"id": public_id}
    for name, wire, instant in _FIELDS:
        value = attributes[name]
        document[wire] = instant_text(value) if instant and value is not None else value
    document["createdAt"] = created_at
    return document


def document_of(milestone: Milestone) -> Document:
    """The document of an aggregate, e.g. a milestone as it was at some version."""
    return milestone_document(
        to_public_id(milestone.id), vars(milestone), format_instant(milestone.created_on)
    )


def _domain_value(hint: Any) -> Callable[[Any], Any]:
    kinds = [kind for kind in _types_of(hint) if kind is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind is datetime:
        return lambda value: None if value is None else datetime.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return lambda value: None if value is None else kind(value)
    return lambda value: value


_DOMAIN_VALUES = {name: _domain_value(hint) for name, hint in _FIELD_TYPES.items()}


def attributes_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The domain's attribute values of wire fields (the inverse of ``wire_fields``)."""
    return {
        ATTRIBUTES[wire]: _DOMAIN_VALUES[ATTRIBUTES[wire]](value) for wire, value in fields.items()
    }
