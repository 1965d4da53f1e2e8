"""Project insights over real HTTP: a write that answered is in the very next summary and
progress point, whichever of the server's workers answers each request.

The rules themselves (due dates, interval ends, the time-travel oracle, every rejection)
are tested in-process on both backends, in tests/integration/test_insights.py.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.client import Client

ROUNDS = 12  # writes, each followed at once by reads that any worker may answer


def _data(client: Client, path: str) -> Any:
    status, _, body = client.request("GET", path)
    assert status == 200, body
    return body["data"]


def test_summary_and_progress_read_every_answered_write(client: Client) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    made: list[str] = []
    for round_ in range(ROUNDS):
        milestone, _ = client.create(projectId=project, title=f"m{round_}", dueDate="2099-01-01")
        made.append(milestone["id"])
        if round_ % 3 == 2:
            status, _, body = client.request(
                "PATCH", f"/api/milestones/{made[-2]}", {"status": "reached"}
            )
            assert status == 200, body
        reached = (round_ + 1) // 3
        summary = _data(client, f"/api/projects/{project}/summary")
        assert summary["total"] == round_ + 1
        assert summary["byStatus"]["reached"] == reached
        assert summary["reachedOnTime"] == reached
        # All due at once, so the lowest id that is not reached: the first, never reached.
        assert summary["nextDue"]["id"] == made[0]
        (today,) = _data(client, f"/api/projects/{project}/progress")
        assert (today["total"], today["reached"]) == (round_ + 1, reached)
        assert today["pending"] == round_ + 1 - reached
