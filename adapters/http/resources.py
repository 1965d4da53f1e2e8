"""The REST resources: reads come from the view, writes go through the application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import falcon
import orjson

from adapters.http.validation import (
    MAX_BODY_BYTES,
    ValidationFailed,
    parse_create,
    parse_status_filter,
    parse_update,
)
from domain.ids import from_public_id, to_public_id
from projections.milestones import document_of

if TYPE_CHECKING:
    from domain.application import Milestones
    from domain.milestone import Milestone

JSON_TYPES = frozenset({"application/json"})


class MilestoneView(Protocol):
    def get(self, public_id: str) -> tuple[int, bytes] | None: ...
    def list(self, project_id: str | None = None, status: str | None = None) -> list[bytes]: ...
    def lag(self) -> tuple[int, int]: ...


def read_json(req: falcon.Request) -> Any:
    """The request body as JSON: 415 for other media types, 413 past 64 KiB, 400 if malformed."""
    media_type = (req.content_type or "application/json").partition(";")[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise falcon.HTTPUnsupportedMediaType(description="the body must be application/json")
    if (req.content_length or 0) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description="the body must be at most 64 KiB")
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description="the body must be at most 64 KiB")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValidationFailed(
            [{"field": "", "message": "is not valid JSON"}], f"malformed JSON: {error}"
        ) from None


def if_match(req: falcon.Request) -> set[int] | None:
    """The versions an If-Match header accepts; None when any version will do."""
    header = req.get_header("If-Match")
    if header is None:
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return None
        # Weak tags never match under If-Match's strong comparison; nor do unknown ones.
        value = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""  # noqa: PLR2004
        if value.isdigit():
            versions.add(int(value))
    return versions


def _single_param(req: falcon.Request, name: str) -> str | None:
    value = req.params.get(name)
    if isinstance(value, list):
        raise ValidationFailed([{"field": name, "message": "must be given at most once"}])
    return value


def _send_milestone(resp: falcon.Response, milestone: Milestone) -> None:
    resp.set_header("ETag", f'"{milestone.version}"')
    resp.data = orjson.dumps({"data": document_of(milestone)})


class MilestonesResource:
    def __init__(self, milestones: Milestones, view: MilestoneView) -> None:
        self._milestones = milestones
        self._view = view

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        project_id = _single_param(req, "projectId")
        if project_id == "":
            raise ValidationFailed([{"field": "projectId", "message": "must not be empty"}])
        status = parse_status_filter(_single_param(req, "status"))
        bodies = self._view.list(project_id, status)
        resp.data = b'{"data":[%b],"count":%d}' % (b",".join(bodies), len(bodies))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        milestone = self._milestones.create(**parse_create(read_json(req)))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/milestones/{to_public_id(milestone.id)}"
        resp.cache_control = ["no-store"]
        _send_milestone(resp, milestone)


class MilestoneResource:
    def __init__(self, milestones: Milestones, view: MilestoneView) -> None:
        self._milestones = milestones
        self._view = view

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        row = self._view.get(milestone_id)
        if row is None:
            raise falcon.HTTPNotFound(description="no milestone has this id")
        version, body = row
        resp.set_header("ETag", f'"{version}"')
        resp.data = b'{"data":%b}' % body

    def on_patch(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        changes = parse_update(read_json(req))
        milestone = self._milestones.update(
            from_public_id(milestone_id), changes, if_version=if_match(req)
        )
        resp.cache_control = ["no-store"]
        _send_milestone(resp, milestone)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        self._milestones.delete(from_public_id(milestone_id), if_version=if_match(req))
        resp.cache_control = ["no-store"]
        resp.data = orjson.dumps({"data": {"id": milestone_id, "deleted": True}})


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = b'{"data":{"status":"ok"}}'


class ReadyResource:
    def __init__(self, view: MilestoneView) -> None:
        self._view = view

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        position, head = self._view.lag()
        resp.data = orjson.dumps(
            {"data": {"status": "ready", "position": position, "head": head, "lag": head - position}}
        )
