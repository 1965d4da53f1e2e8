"""The list of projects: each project with live milestones, counted by status, in pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from adapters.contract.insights import ProjectsQuery
from adapters.contract.validation import ValidationFailed, parse_query
from adapters.http.paging import decode_cursor, encode_cursor, next_link
from projections.insights import STATUSES

if TYPE_CHECKING:
    import falcon

    from projections.ports import Reads

_BINDING = b"projects"  # a cursor of another list is refused


class ProjectsResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = parse_query(ProjectsQuery, req.params)
        after = None if query.cursor is None else _after(query.cursor)
        more = None if query.limit is None else query.limit + 1  # one more: is there a next?
        render_projects(req, resp, query.limit, counted(self._reads.projects(after, more)))


def counted(rows: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """The rows of ``Reads.projects`` as the wire's projects, ordered by ``projectId``."""
    by_project: dict[str, dict[str, int]] = {}
    for project_id, status, count in rows:
        by_project.setdefault(project_id, dict.fromkeys(STATUSES, 0))[status] = count
    return [
        {"projectId": project_id, "total": sum(counts.values()), "byStatus": counts}
        for project_id, counts in sorted(by_project.items())
    ]


def render_projects(
    req: falcon.Request, resp: falcon.Response, limit: int | None, projects: list[dict[str, Any]]
) -> None:
    if limit is None:
        resp.data = orjson.dumps({"data": projects, "count": len(projects)})
        return
    page, next_cursor = projects[:limit], None
    if len(projects) > limit:
        next_cursor = encode_cursor(page[-1]["projectId"], _BINDING)
        resp.set_header("Link", next_link(req, "cursor", next_cursor))
    resp.data = orjson.dumps({"data": page, "count": len(page), "next": next_cursor})


def _after(cursor: str) -> str:
    project_id = decode_cursor(cursor, _BINDING)
    if not isinstance(project_id, str):  # a list's cursor cannot pass the binding; be sure
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor of this list"}])
    return project_id
