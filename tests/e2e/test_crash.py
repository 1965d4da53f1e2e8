"""Crash safety on each backend: SIGKILL a serving instance mid-load, restart it, lose nothing.

A few client threads POST and PATCH milestones of their own through one instance; once the
load is running, the instance's arbiter and all its workers are killed at once with SIGKILL
(its process group, which holds only them), while requests are in flight. A new instance
is started on the same database, and then every write that got a 2xx before the crash
must be in the history and in the read model, the read model must equal a replay of the
log (``milestones projection verify``), and the feed must agree with every GET. Three rounds:
each restarted instance is loaded and killed in its turn.

A write whose answer the crash cut off may or may not have been recorded; either is fine,
as long as it is all or nothing, which the feed-against-read-model check would show.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.e2e.harness import assert_projection_verifies
from tests.e2e.read_model import check_feed_against_read_model

if TYPE_CHECKING:
    from tests.e2e.client import Client
    from tests.e2e.conftest import ServerFactory
    from tests.e2e.harness import Server

WRITERS = 4
ROUNDS = 3
ACKED_BEFORE_KILL = 80  # 2xx answers to wait for before the kill, so the load is running
LOAD_TIMEOUT = 30.0  # seconds to reach them
AFTER_KILL = 0.3  # seconds the writers go on sending into the dead instance
MAX_WRITES_PER_WRITER = 2000  # a bound on each writer's loop, whatever the clock does
THREAD_TIMEOUT = 60.0
STATUSES = ("pending", "in_progress", "reached")


@dataclass
class Acked:
    """What the writers were told: every 2xx, per milestone, in the order it was answered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    # milestone id -> [(version, document the 2xx answered)]
    writes: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    count: int = 0
    errors: list[str] = field(default_factory=list)  # what the crash did to the others

    def record(self, document: dict[str, Any], etag: str) -> None:
        with self.lock:
            self.writes.setdefault(document["id"], []).append((int(etag.strip('"')), document))
            self.count += 1


def _write_until_stopped(
    client: Client, project: str, number: int, acked: Acked, stop: threading.Event
) -> None:
    """Create a milestone, patch it a few times, create the next... until told to stop.

    A connection error or a 5xx (the instance is dying) is noted and the writer goes on;
    anything else that is not a 2xx fails the test through ``acked.errors``.
    """
    current: dict[str, Any] | None = None  # the milestone being patched, as last answered
    etag = ""
    for step in itertools.count():
        if stop.is_set() or step >= MAX_WRITES_PER_WRITER:
            return
        if current is None or step % 5 == 0:
            method, path = "POST", "/api/milestones"
            body: dict[str, Any] = {"projectId": project, "title": f"w{number} s{step}"}
            headers: dict[str, str] = {}
        else:
            method, path = "PATCH", f"/api/milestones/{current['id']}"
            # Every PATCH changes something, so every 2xx is one more version.
            body = (
                {"status": STATUSES[(STATUSES.index(current["status"]) + 1) % 3]}
                if step % 2
                else {"title": f"w{number} s{step}", "description": f"step {step}"}
            )
            # The milestone is this writer's alone: its version moves only by our writes.
            headers = {"If-Match": etag}
        try:
            status, response_headers, response = client.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            with acked.lock:
                acked.errors.append(f"{method}: {type(error).__name__}")
            current = None  # the last write may or may not be recorded: start afresh
            time.sleep(0.01)
            continue
        if status in {200, 201}:
            current, etag = response["data"], response_headers["ETag"]
            acked.record(current, etag)
        elif status >= 500:  # a dying instance may answer so
            with acked.lock:
                acked.errors.append(f"{method}: {status}")
            current = None
        else:
            with acked.lock:
                acked.errors.append(f"unexpected {status} to {method} {path} {body}: {response}")
            stop.set()


def _load_and_kill(victim: Server, project: str, acked: Acked) -> set[int]:
    """Run the writers against ``victim``, SIGKILL it mid-load; the PIDs killed."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_write_until_stopped,
            args=(victim.client, project, number, acked, stop),
            daemon=True,
        )
        for number in range(WRITERS)
    ]
    start = acked.count
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT
        while acked.count - start < ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.005)
        assert acked.count - start >= ACKED_BEFORE_KILL, (acked.count, acked.errors)
        workers = victim.worker_pids()
        assert workers, "the instance has no workers to kill"
        killed = victim.kill()
        assert workers | {victim.pid} <= killed
        time.sleep(AFTER_KILL)
    finally:
        stop.set()
        deadline = time.monotonic() + THREAD_TIMEOUT
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "writers hung"
    unexpected = [error for error in acked.errors if error.startswith("unexpected")]
    assert not unexpected, unexpected
    return killed


def _check_nothing_acked_was_lost(client: Client, acked: Acked) -> None:
    """Every 2xx: in the history, in time travel to its version, and in the read model."""
    assert acked.writes
    for milestone_id, writes in acked.writes.items():
        versions = [version for version, _ in writes]
        assert versions == sorted(set(versions)), (milestone_id, versions)
        history = client.history(milestone_id)
        assert [event["version"] for event in history] == list(range(1, len(history) + 1))
        assert history[0]["type"] == "Created"
        for version, document in writes:
            assert version <= len(history), (milestone_id, version, "not in the history")
            status, headers, state = client.request(
                "GET", f"/api/milestones/{milestone_id}?version={version}"
            )
            assert (status, headers["ETag"]) == (200, f'"{version}"'), state
            assert state["data"] == document, (milestone_id, version)
        last_version, last_document = writes[-1]
        document, etag = client.get(milestone_id)
        # At most one more write, answered by no one, may have been recorded after the last
        # acknowledged one: the one in flight when the instance died.
        assert etag in {f'"{last_version}"', f'"{last_version + 1}"'}, (etag, last_version)
        if etag == f'"{last_version}"':
            assert document == last_document
        assert len(history) == int(etag.strip('"'))


def test_writes_acknowledged_before_a_sigkill_survive_it(server_factory: ServerFactory) -> None:
    project = f"proj_{uuid.uuid4().hex[:12]}"
    acked = Acked()
    victim = server_factory()
    for _ in range(ROUNDS):
        killed = _load_and_kill(victim, project, acked)
        assert victim.process.returncode is not None
        assert not any(pid in victim.worker_pids() for pid in killed)
        # The crash cut some requests off: the load was running when it came.
        assert any(not error.startswith("unexpected") for error in acked.errors), acked.errors
        victim = server_factory(victim.database)  # a restart on the same database
        _check_nothing_acked_was_lost(victim.client, acked)
        check_feed_against_read_model([victim.client])
        assert_projection_verifies(victim.database_url)
    status, _, listed = victim.client.request("GET", f"/api/milestones?projectId={project}")
    assert status == 200, listed
    assert set(acked.writes) <= {item["id"] for item in listed["data"]}
