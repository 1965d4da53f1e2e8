"""The SQL of a project's schedule, the same on both backends but for the placeholder."""

from __future__ import annotations

from projections.runner import VIEW_TABLE
from projections.schedule_view import DUE_TABLE

_SLIP = "(d.due_at - d.original_at)"  # the total slip in microseconds, null without one
_FROM = (
    f"FROM {DUE_TABLE} d JOIN {VIEW_TABLE} v ON v.id = d.milestone_id "
    "WHERE d.project_id = {mark} AND d.original_due IS NOT NULL"
)


def scheduled_sql(mark: str, slipped: bool | None) -> str:
    """The project's live milestones that have or had a due date (``mark``: the project),
    the most slipped first, those without a slip to tell last, ties by id."""
    where = {None: "", True: f" AND {_SLIP} > 0", False: f" AND ({_SLIP} IS NULL OR {_SLIP} <= 0)"}
    return (
        f"SELECT d.milestone_id, v.title, v.status, d.original_due, d.due, d.moves, {_SLIP} "
        + _FROM.format(mark=mark)
        + where[slipped]
        + f" ORDER BY {_SLIP} IS NULL, {_SLIP} DESC, d.milestone_id"
    )


def slipped_sql(mark: str) -> str:
    """How many of the project's live milestones slipped (a total slip above 0)."""
    return f"SELECT COUNT(*) AS n {_FROM.format(mark=mark)} AND {_SLIP} > 0"
