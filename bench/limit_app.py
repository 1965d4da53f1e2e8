"""The framework limit: the least a Falcon app can do to answer the two reads.

Each worker builds the seeded milestones in a dict at start-up (deterministically, so both
workers hold the same ids) and answers GET one and the list of a project from it. No
storage, no validation beyond the route: whatever the project costs above this is its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import falcon
import orjson

from bench.dataset import SEEDED_MILESTONES, seed_milestone

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TOKEN_LENGTH = 26  # the length of the project's public ids, so URLs and bodies match
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _public_id(number: int) -> str:
    digits = []
    for _ in range(_TOKEN_LENGTH):
        digits.append(_CROCKFORD[number & 31])
        number >>= 5
    return "ms_" + "".join(reversed(digits))


def _document(index: int) -> dict[str, Any]:
    fields = seed_milestone(index)
    created_at = (_EPOCH + timedelta(milliseconds=index)).isoformat(timespec="milliseconds")
    return {
        "id": _public_id(0x0190_0000_0000_7000_8000_0000_0000_0000 + index),
        "projectId": fields["projectId"],
        "title": fields["title"],
        "description": fields["description"],
        "status": fields["status"],
        "dueDate": fields["dueDate"],
        "reachedAt": created_at.replace("+00:00", "Z") if fields["status"] == "reached" else None,
        "createdAt": created_at.replace("+00:00", "Z"),
    }


class _Milestones:
    def __init__(self, by_project: dict[str, list[dict[str, Any]]]) -> None:
        self._by_project = by_project

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        project_id = req.get_param("projectId")
        if project_id is None:
            documents = [d for project in self._by_project.values() for d in project]
        else:
            documents = self._by_project.get(project_id, [])
        resp.data = orjson.dumps({"data": documents, "count": len(documents)})


class _Milestone:
    def __init__(self, by_id: dict[str, dict[str, Any]]) -> None:
        self._by_id = by_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        document = self._by_id.get(milestone_id)
        if document is None:
            raise falcon.HTTPNotFound
        # The project sends an ETag too; same header, same bytes on the wire.
        resp.set_header("ETag", '"1"')
        resp.data = orjson.dumps({"data": document})


class _Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = b'{"data":{"status":"ok"}}'


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    documents = [_document(index) for index in range(SEEDED_MILESTONES)]
    by_project: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_project.setdefault(document["projectId"], []).append(document)
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.add_route("/api/milestones", _Milestones(by_project))
    app.add_route("/api/milestones/{milestone_id}", _Milestone({d["id"]: d for d in documents}))
    app.add_route("/health", _Health())
    return app
