"""A project's insights: where it stands now, and how it stood at the end of each interval.

The summary is computed from the live documents of the project's milestones and the due
rules of ``domain.due``; the series from the project's transitions (``projections.progress``)
as a running sum, so its points agree with time travel on every milestone.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from domain.due import due_instant, late_from
from domain.milestone import Status, format_instant

if TYPE_CHECKING:
    from collections.abc import Iterable

    from projections.document import Document

STATUSES = tuple(status.value for status in Status)
MAX_POINTS = 1000
_STEPS = {"day": timedelta(days=1), "week": timedelta(weeks=1)}
# Many milestones share a due date, and a summary meets each one once per milestone.
_due_instant = lru_cache(maxsize=4096)(due_instant)
_late_from = lru_cache(maxsize=4096)(late_from)


def summary(project_id: str, documents: Iterable[Document], now: datetime) -> dict[str, Any]:
    """Counts by status, how many are overdue and how many were reached on time or late,
    and the milestone due next (not reached, not overdue, earliest due instant, then id)."""
    by_status = dict.fromkeys(STATUSES, 0)
    overdue = on_time = late = total = 0
    next_due: tuple[datetime, str, Document] | None = None
    for document in documents:
        total += 1
        status, due_date = document["status"], document["dueDate"]
        by_status[status] += 1
        if due_date is None:
            continue
        if status == Status.REACHED:
            reached_at = document["reachedAt"]
            if reached_at is not None and datetime.fromisoformat(reached_at) >= _late_from(
                due_date
            ):
                late += 1
            else:
                on_time += 1
        elif now >= _late_from(due_date):  # the due rule's is_late, with its bound cached
            overdue += 1
        else:
            candidate = (_due_instant(due_date), document["id"], document)
            if next_due is None or candidate[:2] < next_due[:2]:
                next_due = candidate
    return {
        "projectId": project_id,
        "total": total,
        "byStatus": by_status,
        "overdue": overdue,
        "reachedOnTime": on_time,
        "reachedLate": late,
        "nextDue": None if next_due is None else next_due[2],
    }


def first_end_after(instant: datetime, interval: str) -> datetime:
    """The first interval end strictly after ``instant``: a UTC midnight, for weeks a Monday's."""
    midnight = datetime.combine(instant.astimezone(UTC).date(), time(), UTC)
    if interval == "week":
        midnight -= timedelta(days=midnight.weekday())  # this week's Monday
    return midnight + _STEPS[interval]


def first_end_at_or_after(instant: datetime, interval: str) -> datetime:
    end = first_end_after(instant, interval)
    step = _STEPS[interval]
    return end - step if end - step == instant else end


def interval_ends(since: datetime, until: datetime, interval: str) -> list[datetime] | None:
    """The ends from the first after ``since`` to the first at or after ``until``; None if
    that is more than MAX_POINTS of them."""
    first, last = first_end_after(since, interval), first_end_at_or_after(until, interval)
    step = _STEPS[interval]
    if first > last:
        return []
    if (last - first) // step + 1 > MAX_POINTS:
        return None
    return [first + step * i for i in range((last - first) // step + 1)]


def series(
    days: Iterable[tuple[str, str | None, str | None, int]], ends: list[datetime]
) -> list[dict[str, Any]]:
    """The counts at each end from the transitions counted by day: (the UTC date of their
    occurredAt, status before, status after, how many), in date order.

    Every end is a midnight, so a day's transitions all come before the next midnight,
    and an event at an end itself belongs to the next point: each point is the state one
    millisecond before its end, as time travel shows it.
    """
    counts = dict.fromkeys(STATUSES, 0)
    points: list[dict[str, Any]] = []
    pending = iter(days)
    upcoming = next(pending, None)
    for end in ends:
        date = end.date().isoformat()
        while upcoming is not None and upcoming[0] < date:
            _, before, after, how_many = upcoming
            if before is not None:
                counts[before] -= how_many
            if after is not None:
                counts[after] += how_many
            upcoming = next(pending, None)
        points.append({"at": format_instant(end), "total": sum(counts.values()), **counts})
    return points
