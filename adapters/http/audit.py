"""The audit resources: a milestone's history and the global event feed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from adapters.contract.models import EventsQuery, NoQuery
from adapters.contract.validation import parse_query
from adapters.http.paging import next_link
from domain.ids import from_public_id
from domain.milestone import MilestoneNotFound
from projections.events import event_document, feed_document
from projections.ports import EventFilter

if TYPE_CHECKING:
    import falcon

    from adapters.http.live_tail import LiveTail
    from projections.ports import Reads


class HistoryResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        parse_query(NoQuery, req.params)
        events = [
            event_document(milestone_id, version, topic, state)
            for version, topic, state in self._reads.history(from_public_id(milestone_id))
        ]
        if not events:
            raise MilestoneNotFound(milestone_id)
        resp.data = orjson.dumps({"data": events, "count": len(events)})


class EventsResource:
    def __init__(self, reads: Reads, tail: LiveTail | None = None) -> None:
        self._reads = reads
        self._tail = tail

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = parse_query(EventsQuery, req.params)
        only = EventFilter(
            project_id=query.project_id,
            milestone_id=query.milestone_id,
            type=query.type,
            since=query.since,
            until=query.until,
            actor=query.actor,
        )
        records = self._reads.events(query.after, query.limit, only)
        if not records and query.wait is not None and self._tail is not None:
            records = self._tail.long_poll(query.after, query.limit, only, query.wait)
        events = [feed_document(record) for record in records]
        next_after = records[-1][0] if len(records) == query.limit else None
        if next_after is not None:
            resp.set_header("Link", next_link(req, "after", str(next_after)))
        resp.data = orjson.dumps({"data": events, "count": len(events), "next": next_after})
