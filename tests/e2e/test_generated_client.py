"""A client generated from the OpenAPI document, as a new user would make one, against a real
server: ``openapi-python-client generate`` must print no warning, and the client alone must
create, read, and parse each documented problem (412, 404, 400 with its ``errors``).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from adapters.contract.openapi import openapi_document

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from tests.e2e.harness import Server

PACKAGE = "milestones_api_client"  # from the document's title, "Milestones API"
NEVER_EXISTED = "ms_00000000000000000000000000"
MODULES = [
    "client",
    "models",
    *(f"api.milestones.{name}_milestone" for name in ("create", "get", "update")),
    "api.milestones.list_milestones",
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The generated client's modules, generated once for the module into a temporary folder."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    document.write_bytes(orjson.dumps(openapi_document()))
    bin_dir = Path(sys.executable).parent
    # The generator formats its output with ruff, which it looks for on PATH.
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = ["generate", "--path", str(document), "--output-path", str(folder / "out")]
    done = subprocess.run(
        [bin_dir / "openapi-python-client", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder / "out"))
    try:
        yield {name: importlib.import_module(f"{PACKAGE}.{name}") for name in MODULES}
    finally:
        sys.path.remove(str(folder / "out"))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_the_server_serves_the_document_the_client_was_generated_from(server: Server) -> None:
    status, _, body = server.client.request("GET", "/openapi.json")
    assert status == 200
    assert body == orjson.loads(orjson.dumps(openapi_document()))


def test_a_generated_client_creates_reads_and_parses_problems(
    server: Server, generated: dict[str, Any]
) -> None:
    models = generated["models"]
    api = generated["client"].Client(base_url=f"http://{server.client.host}:{server.port}")
    project = f"proj_{uuid.uuid4().hex[:12]}"
    body = models.CreateMilestone(project_id=project, title="Beta Launch", due_date="2026-03-01")

    created = generated["api.milestones.create_milestone"].sync_detailed(client=api, body=body)
    assert created.status_code == 201
    assert isinstance(created.parsed, models.MilestoneEnvelope)
    milestone = created.parsed.data
    assert (milestone.project_id, milestone.title, milestone.due_date) == (
        project,
        "Beta Launch",
        "2026-03-01",
    )
    assert milestone.status == models.Status.PENDING
    assert isinstance(milestone.created_at, datetime)
    assert milestone.created_at.utcoffset() == timedelta(0)
    assert milestone.reached_at is None
    assert created.headers["ETag"] == '"1"'

    get = generated["api.milestones.get_milestone"]
    read = get.sync_detailed(milestone.id, client=api)
    assert read.status_code == 200
    assert read.parsed.data == milestone
    as_of = get.sync_detailed(milestone.id, client=api, version=1, as_of=milestone.created_at)
    assert as_of.parsed.data == milestone

    update = generated["api.milestones.update_milestone"]
    stale = update.sync_detailed(
        milestone.id, client=api, body=models.UpdateMilestone(title="Launched"), if_match='"7"'
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem)
    assert (stale.parsed.status, stale.parsed.title) == (412, "Precondition Failed")
    assert get.sync(milestone.id, client=api).data == milestone  # nothing changed

    unknown = get.sync_detailed(NEVER_EXISTED, client=api)
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.Problem)
    assert unknown.parsed.detail == "no milestone has this id"

    bad_filter = generated["api.milestones.list_milestones"].sync_detailed(
        client=api, project_id=""
    )
    assert bad_filter.status_code == 400
    assert isinstance(bad_filter.parsed, models.ValidationProblem)
    assert [(e.field, e.message) for e in bad_filter.parsed.errors] == [
        ("projectId", "must not be empty")
    ]
