"""The SQL of the list of projects: live milestones counted by project and status.

Projects are ordered by code point, as SQLite compares text and as PostgreSQL does under
the "C" collation (``collate``), and paged by key: a page starts after the last project of
the page before, whatever was created or deleted meanwhile.
"""

from __future__ import annotations

from typing import Any


def projects_query(
    table: str, mark: str, after: str | None, limit: int | None, *, collate: str = ""
) -> tuple[str, list[Any]]:
    """(project, status, how many) of the projects after ``after``, at most ``limit`` of
    them (every row of each); the rows come in no particular order."""
    key = f"project_id{collate}"
    counts = f"SELECT project_id, status, COUNT(*) FROM {table}"  # noqa: S608
    group = " GROUP BY project_id, status"
    if limit is None and after is None:
        return counts + group, []
    where, params = ("TRUE", []) if after is None else (f"{key} > {mark}", [after])
    page = f"SELECT DISTINCT {key} FROM {table} WHERE {where} ORDER BY {key}"  # noqa: S608
    if limit is not None:
        page += f" LIMIT {limit:d}"
    return f"{counts} WHERE {key} IN ({page}){group}", params
