"""A write answers with the document its recording put in the view, on both backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from adapters.bootstrap import Service


def _view_document(service: Service, public_id: str) -> object:
    row = service.reads.document(public_id)
    assert row is not None
    return orjson.loads(row[1])


def test_a_create_answers_with_the_view_document_it_wrote(service: Service) -> None:
    milestone = service.milestones.create(project_id="p", title="Launch", due_date="2031-02-03")
    rendering = service.milestones.rendering(milestone)
    assert isinstance(rendering, dict)
    assert rendering == _view_document(service, rendering["id"])


def test_a_change_answers_with_the_view_document_it_wrote(service: Service) -> None:
    made = service.milestones.create(project_id="p", title="Launch")
    changed = service.milestones.update(made.id, {"status": "reached"})
    rendering = service.milestones.rendering(changed)
    assert isinstance(rendering, dict)
    assert rendering["status"] == "reached"
    assert rendering["reachedAt"] is not None
    assert rendering == _view_document(service, rendering["id"])
    # Another milestone object, e.g. the create's, gets no rendering of this write.
    assert service.milestones.rendering(made) is None


def test_post_and_patch_answer_what_a_get_then_reads(service: Service) -> None:
    api = AppClient(service)
    status, _, created = api.request("POST", "/api/milestones", {"projectId": "p", "title": "A"})
    assert status == 201
    path = f"/api/milestones/{created['data']['id']}"
    assert api.request("GET", path)[2] == created
    status, headers, patched = api.request("PATCH", path, {"title": "B", "dueDate": "2031-01-01"})
    assert status == 200
    assert patched["data"]["title"] == "B"
    status, read_headers, read = api.request("GET", path)
    assert (status, read) == (200, patched)
    assert headers["ETag"] == read_headers["ETag"]
