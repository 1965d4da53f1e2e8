"""The schedule resources: how due dates moved, and what changed between two instants."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from adapters.contract.models import NoQuery
from adapters.contract.schedule import ChangesQuery, ProjectScheduleQuery
from adapters.contract.validation import ValidationFailed, parse_query
from adapters.http.paging import cursor_position, make_cursor, next_link
from domain.milestone import format_instant, utc_now
from projections.schedule import project_schedule
from projections.schedule_queries import Window, changes_page, milestone_due_history

if TYPE_CHECKING:
    import falcon

    from projections.ports import Reads


class MilestoneScheduleResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        parse_query(NoQuery, req.params)
        history = milestone_due_history(self._reads, milestone_id)
        resp.data = orjson.dumps({"data": history.document()})


class ProjectScheduleResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        query = parse_query(ProjectScheduleQuery, req.params)
        rows = project_schedule(self._reads.scheduled(project_id, query.slipped))
        resp.data = orjson.dumps({"data": rows, "count": len(rows)})


class ChangesResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        query = parse_query(ChangesQuery, req.params)
        window = window_of(query, project_id)
        changes, last = changes_page(self._reads, window, query.limit)
        next_cursor = None if last is None else _next_cursor(window, last)
        if next_cursor is not None:
            resp.set_header("Link", next_link(req, "cursor", next_cursor))
        resp.data = orjson.dumps({"data": changes, "count": len(changes), "next": next_cursor})


def _binding(project_id: str, since: str) -> bytes:
    """What a cursor of changes is bound to besides the ``until`` that it carries."""
    return orjson.dumps(["changes", project_id, since])


def _next_cursor(window: Window, last_id: str) -> str:
    return make_cursor((window.until, last_id), _binding(window.project_id, window.since))


def window_of(query: ChangesQuery, project_id: str) -> Window:
    """The window a request asks for: ``until`` as given, else as its cursor carries it, else
    now; a 400 for a window that ends before it starts or a cursor of another window."""
    if query.until is not None and query.since > query.until:
        raise ValidationFailed([{"field": "until", "message": "must not be before since"}])
    if query.cursor is None:
        until, after = query.until or format_instant(utc_now()), ""
    else:
        fixed_until, after = cursor_position(query.cursor, _binding(project_id, query.since))
        if query.until is not None and query.until != fixed_until:
            message = "is a cursor of another window (its until differs)"
            raise ValidationFailed([{"field": "cursor", "message": message}])
        until = str(fixed_until)
    if query.since > until:
        raise ValidationFailed([{"field": "since", "message": "must not be after now"}])
    return Window(project_id, query.since, until, after)
