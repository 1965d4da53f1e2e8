"""The audit resources: a milestone's history and the global event feed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from adapters.http.inputs import choice_param, instant_param, int_param, text_param
from adapters.http.validation import ValidationFailed
from domain.ids import InvalidMilestoneId, from_public_id
from domain.milestone import MilestoneNotFound
from projections.events import event_document
from projections.ports import EventFilter
from projections.records import EVENT_TYPES

if TYPE_CHECKING:
    import falcon

    from projections.ports import Reads

MAX_PAGE = 1000


class HistoryResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        events = [
            event_document(milestone_id, version, topic, state)
            for version, topic, state in self._reads.history(from_public_id(milestone_id))
        ]
        if not events:
            raise MilestoneNotFound(milestone_id)
        resp.data = orjson.dumps({"data": events, "count": len(events)})


class EventsResource:
    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        after = int_param(req, "after", 0, 0, 2**62)
        limit = int_param(req, "limit", 100, 1, MAX_PAGE)
        only = EventFilter(
            project_id=text_param(req, "projectId"),
            milestone_id=_milestone_param(req),
            type=choice_param(req, "type", EVENT_TYPES),
            since=instant_param(req, "since", round_up=True),
            until=instant_param(req, "until"),
        )
        records = self._reads.events(after, limit, only)
        events = [
            {"position": position} | event_document(public_id, version, topic, state)
            for position, public_id, version, topic, state in records
        ]
        next_after = records[-1][0] if len(records) == limit else None
        resp.data = orjson.dumps({"data": events, "count": len(events), "next": next_after})


def _milestone_param(req: falcon.Request) -> str | None:
    value = text_param(req, "milestoneId")
    if value is not None:
        try:
            from_public_id(value)
        except InvalidMilestoneId:
            raise ValidationFailed(
                [{"field": "milestoneId", "message": "is not a milestone id"}]
            ) from None
    return value
