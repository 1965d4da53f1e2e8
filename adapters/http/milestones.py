"""The milestone resources: reads come from the view, writes go through the application."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import falcon
import orjson

from adapters.contract.models import ListQuery, MilestoneQuery, NoQuery
from adapters.contract.unchangeable import refuse_other_values, sends_unchangeable
from adapters.contract.validation import ValidationFailed, parse_create, parse_query, parse_update
from adapters.http.identity import caller_of
from adapters.http.inputs import idempotency_key, if_match, none_match, read_json
from adapters.http.paging import list_find, render
from adapters.http.time_travel import not_then
from domain.ids import from_public_id, to_public_id
from domain.milestone import MilestoneNotFound, VersionBeyondStream
from projections.document import document_of

if TYPE_CHECKING:
    from domain.application import Milestones
    from domain.milestone import Milestone
    from projections.ports import Reads


def _send(resp: falcon.Response, milestone: Milestone, rendering: object = None) -> None:
    """The milestone's document: the view's, as a write's recording made it, if given."""
    resp.set_header("ETag", f'"{milestone.version}"')
    document = rendering if isinstance(rendering, dict) else document_of(milestone)
    resp.data = orjson.dumps({"data": document})


def _send_written(resp: falcon.Response, milestones: Milestones, milestone: Milestone) -> None:
    resp.cache_control = ["no-store"]
    _send(resp, milestone, milestones.rendering(milestone))


class MilestonesResource:
    def __init__(self, milestones: Milestones, reads: Reads, body_timeout: float) -> None:
        self._milestones = milestones
        self._reads = reads
        self._body_timeout = body_timeout

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        find = list_find(parse_query(ListQuery, req.params))
        render(req, resp, find, self._reads.find(find))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        command = parse_create(read_json(req, self._body_timeout))
        key = idempotency_key(req)
        if key is None:
            milestone = self._milestones.create(**command, caller=caller_of(req))
        else:
            milestone = self._milestones.create_once(key, command, caller_of(req))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/milestones/{to_public_id(milestone.id)}"
        _send_written(resp, self._milestones, milestone)


class MilestoneResource:
    def __init__(self, milestones: Milestones, reads: Reads, body_timeout: float) -> None:
        self._milestones = milestones
        self._reads = reads
        self._body_timeout = body_timeout

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        query = parse_query(MilestoneQuery, req.params)
        if query.version is not None or query.as_of is not None:
            _send(resp, self._as_it_was(query, milestone_id))
            return
        row = self._reads.document(milestone_id)
        if row is None:
            raise MilestoneNotFound(milestone_id)
        version, body = row
        resp.set_header("ETag", f'"{version}"')
        if none_match(req, version):
            resp.status = falcon.HTTP_304
            return
        resp.data = b'{"data":%b}' % body

    def on_patch(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        parse_query(NoQuery, req.params)
        body = read_json(req, self._body_timeout)
        changes = parse_update(body)
        self._refuse_unchangeable(milestone_id, body)
        milestone = self._milestones.update(
            from_public_id(milestone_id), changes, if_version=if_match(req), caller=caller_of(req)
        )
        _send_written(resp, self._milestones, milestone)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        parse_query(NoQuery, req.params)
        self._milestones.delete(
            from_public_id(milestone_id), if_version=if_match(req), caller=caller_of(req)
        )
        resp.cache_control = ["no-store"]
        resp.data = orjson.dumps({"data": {"id": milestone_id, "deleted": True}})

    def _refuse_unchangeable(self, milestone_id: str, body: dict[str, Any]) -> None:
        # Those fields never change, so the stored ones read before the write stay true.
        if sends_unchangeable(body):
            milestone = self._milestones.get(from_public_id(milestone_id))
            if not milestone.deleted:  # else the write answers 404
                refuse_other_values(body, document_of(milestone))

    def _as_it_was(self, query: MilestoneQuery, milestone_id: str) -> Milestone:
        as_of = None if query.as_of is None else datetime.fromisoformat(query.as_of)
        try:
            return self._milestones.as_it_was(
                from_public_id(milestone_id), version=query.version, as_of=as_of
            )
        except VersionBeyondStream as error:
            raise ValidationFailed(
                [{"field": "version", "message": f"is beyond the stream ({error.latest})"}]
            ) from None
        except MilestoneNotFound:
            raise not_then(self._reads, milestone_id, query) from None
