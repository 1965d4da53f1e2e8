"""The README's example session, run as a newcomer pastes it: bash, against a real server on
a fresh store. Every request must succeed (curl fails the script on an error status), and
the answers must be the ones the session's comments promise.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import start_server

README = Path(__file__).parents[2] / "README.md"
SESSION_TIMEOUT = 120.0  # seconds for the whole session (a dozen requests)
# curl exits non-zero on an error status, so any failed request stops the session.
PREAMBLE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n'


def example_session() -> str:
    """The fenced block after the README's ``<!-- example-session -->`` marker."""
    found = re.search(r"<!-- example-session -->\n```sh\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert found is not None, "the README has no example session"
    return found.group(1)


def bodies(output: str) -> list[Any]:
    """Every JSON object the session printed, in order (headers and ids are skipped).
    curl adds no newline after a body, so one line may hold several."""
    decoder, found = json.JSONDecoder(), []
    for line in output.splitlines():
        rest = line
        while rest.startswith("{"):
            body, end = decoder.raw_decode(rest)
            found.append(body)
            rest = rest[end:]
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_example_session_runs_as_pasted_on_a_fresh_store(tmp_path: Path) -> None:
    session = example_session()
    assert "API=http://127.0.0.1:8000\n" in session
    server = start_server(tmp_path / "fresh.db", tmp_path, workers=1)
    try:
        script = PREAMBLE + session.replace(
            "API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{server.port}"
        )
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=SESSION_TIMEOUT,
            check=False,
        )
    finally:
        server.stop()
    assert result.returncode == 0, (result.stdout, result.stderr)
    milestone_id = result.stdout.splitlines()[0]
    assert re.fullmatch(r"ms_[0-9A-Z]{26}", milestone_id), result.stdout
    assert re.search(r'^etag: "1"$', result.stdout, re.IGNORECASE | re.MULTILINE), result.stdout
    printed = bodies(result.stdout)
    lists = [body["data"] for body in printed if isinstance(body["data"], list)]
    milestone_lists = [data for data in lists if data and "title" in data[0]]
    # The open milestones of proj_demo: the one in progress, not the one reached.
    assert [(m["title"], m["status"]) for m in milestone_lists[0]] == [
        ("Beta Launch", "in_progress")
    ]
    projects = next(data for data in lists if data and "byStatus" in data[0])
    assert [(p["projectId"], p["total"]) for p in projects] == [("proj_demo", 2), ("proj_other", 1)]
    # As read first, after event 1 and as of its creation: pending, all three.
    as_it_was = [
        body["data"]["status"]
        for body in printed
        if isinstance(body["data"], dict)
        and body["data"].get("id") == milestone_id
        and "status" in body["data"]
    ]
    assert as_it_was == ["pending", "in_progress", "pending", "pending"], as_it_was
    assert {"data": {"id": milestone_id, "deleted": True}} in printed
    history = printed[-1]["data"]
    assert [event["type"] for event in history] == ["Created", "StatusChanged", "Deleted"]
