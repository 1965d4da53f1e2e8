"""The ``status`` filter of lists: one status, or several separated by commas.

``status=pending,in_progress`` asks for the milestones not reached yet in one request.
"""

from typing import Annotated, Any

from pydantic import PlainValidator

from adapters.contract.fields import fail, single_parameter, string_schema
from domain.milestone import Status

_ANY = "|".join(Status)
_NAMES = frozenset(Status)


def _statuses(text: str) -> tuple[Status, ...]:
    """One status or several separated by commas: sorted, without repeats, so that lists
    naming the same statuses are the same filter (and cursors made for one fit the other)."""
    members = text.split(",")
    unknown = [member for member in members if member not in _NAMES]
    if len(members) == 1 and unknown:
        fail(f"must be one of {', '.join(Status)}")
    if unknown:
        fail(f"must be statuses separated by commas, each one of {', '.join(Status)} "
             f"({unknown[0]!r} is not)")  # fmt: skip
    return tuple(sorted({Status(member) for member in members}))


def _check(value: Any) -> tuple[Status, ...]:
    return _statuses(single_parameter(value))


StatusesFilter = Annotated[
    tuple[Status, ...],
    PlainValidator(_check),
    string_schema(pattern=f"^({_ANY})(,({_ANY}))*$"),
]
