"""The hash chain under a real server: both workers keep one chain and answer the same head,
and the command line's verification agrees with what they serve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.e2e.harness import on_each_worker, run_milestones
from tests.integration.test_audit_chain import reference_chain

if TYPE_CHECKING:
    from tests.e2e.client import Client
    from tests.e2e.harness import Server


def audit_head(client: Client) -> dict[str, Any]:
    status, _, body = client.request("GET", "/api/audit/head")
    assert status == 200, body
    head: dict[str, Any] = body["data"]
    return head


def test_both_workers_serve_the_chain_of_the_feed(server: Server, client: Client) -> None:
    for number in range(6):  # written by both workers, in turn or at once
        client.create(projectId="proj_chain_e2e", title=f"chained {number}")
    events = client.feed()
    expected = {
        "position": events[-1]["position"],
        "hash": reference_chain(events)[-1],
        "occurredAt": events[-1]["occurredAt"],
    }
    heads = on_each_worker(server, lambda: audit_head(client))
    # Another test may have written since the feed was read: compare at the feed's end.
    for head in heads:
        assert head["position"] >= expected["position"], head
        if head["position"] == expected["position"]:
            assert head == expected
    status, _, body = client.request(
        "GET", f"/api/audit/checkpoint?position={expected['position']}"
    )
    assert (status, body["data"]["hash"]) == (200, expected["hash"]), body
    verified = run_milestones(server.database, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert b"events agree" in verified.stdout
