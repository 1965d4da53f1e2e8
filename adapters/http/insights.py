"""The project resources: where a project stands now, and how it stood over time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from adapters.contract.insights import ProgressQuery
from adapters.contract.models import NoQuery
from adapters.contract.validation import ValidationFailed, parse_query
from domain.milestone import utc_now
from projections.insights import MAX_POINTS, interval_ends, series, summary

if TYPE_CHECKING:
    import falcon

    from projections.ports import Reads


class SummaryResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        parse_query(NoQuery, req.params)
        documents = orjson.loads(b"[%b]" % b",".join(self._reads.documents(project_id)))
        slipped = {"slipped": self._reads.slipped(project_id)}  # after nextDue
        resp.data = orjson.dumps({"data": summary(project_id, documents, utc_now()) | slipped})


class ProgressResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        query = parse_query(ProgressQuery, req.params)
        days = self._reads.daily_transitions(project_id)
        # The range is checked whether or not the project has events. Without since, the
        # project's first day is the default: the first end after it is the one after its
        # first event. A project that never had an event has no points.
        first_day = f"{days[0][0]}T00:00:00Z" if days else query.since
        ends = [] if first_day is None else _ends(query, first_day)
        points = series(days, ends) if days else []
        resp.data = orjson.dumps({"data": points, "count": len(points)})


def _ends(query: ProgressQuery, first_day: str) -> list[datetime]:
    """The interval ends the query asks for, or a 400 naming the parameter to change."""
    since = datetime.fromisoformat(query.since or first_day)
    until = datetime.fromisoformat(query.until) if query.until else utc_now()
    # The parameters the client gave, the ones to narrow; `since` if it gave neither.
    given = [name for name in ("since", "until") if getattr(query, name) is not None]
    if query.since is not None and until < since:
        if query.until is not None:
            raise ValidationFailed([{"field": "until", "message": "must not be before since"}])
        raise ValidationFailed([{"field": "since", "message": "must not be after now"}])
    try:
        ends = interval_ends(since, until, query.interval)
    except OverflowError:
        raise ValidationFailed(
            [{"field": given[-1] if given else "until", "message": "is too close to 9999-12-31"}]
        ) from None
    if ends is None:
        message = f"gives more than {MAX_POINTS:,} points at interval {query.interval}"
        raise ValidationFailed([{"field": name, "message": message} for name in given or ["since"]])
    return ends
