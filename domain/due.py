"""When a milestone is due, and whether it is late: the rules of finding and insights.

A ``dueDate`` is a date (``2026-03-01``) or a date-time with an offset. Its due instant is the
date-time itself, or the date at 00:00:00Z. A milestone is late once its due moment has passed:
for a date-time, any time after it; for a date ``D``, from ``D+1`` 00:00:00Z on, because the
whole due day counts as on time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

# Due instants past the end of the calendar (9999-12-31 and a negative offset, say) are never late.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_DATE_LENGTH = len("2026-03-01")


def is_date_only(due_date: str) -> bool:
    return len(due_date) == _DATE_LENGTH


def due_instant(due_date: str) -> datetime:
    """The instant a due date names, in UTC."""
    if is_date_only(due_date):
        return datetime.combine(date.fromisoformat(due_date), time(), UTC)
    try:
        return datetime.fromisoformat(due_date).astimezone(UTC)
    except OverflowError:  # beyond 9999-12-31T23:59:59Z in UTC
        return END_OF_TIME


def late_from(due_date: str) -> datetime:
    """The first instant at which a milestone due then is late (the end of its due moment).

    For a date-time that is one microsecond after it (finer than any stored instant), for a
    date the next midnight UTC.
    """
    instant = due_instant(due_date)
    step = timedelta(days=1) if is_date_only(due_date) else timedelta(microseconds=1)
    return instant + step if instant <= END_OF_TIME - step else END_OF_TIME


def is_late(due_date: str, at: datetime) -> bool:
    """Whether ``at`` is past the due moment of ``due_date``."""
    return at >= late_from(due_date)
