"""Idempotent create (contract section 5) over real HTTP, on each backend.

``POST /api/milestones`` with an ``Idempotency-Key``: the same key and the same body answer
the first milestone again (201, same id) and record nothing; the same key with another
body is a 409 problem that records nothing. This holds through another instance on the
same database, after a restart, and when several clients use a new key at the same time.
A key that is not 1 to 255 printable ASCII characters is a 400.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.api_client import assert_problem
from tests.e2e.client import HOST, REQUEST_TIMEOUT

if TYPE_CHECKING:
    from tests.api_client import Response
    from tests.e2e.client import Client
    from tests.e2e.conftest import ServerFactory
    from tests.e2e.harness import Server

THREADS = 8
THREAD_TIMEOUT = 60.0


@pytest.fixture
def project() -> str:
    return f"proj_{uuid.uuid4().hex[:12]}"


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


def post(client: Client, body: Any, key: str | None) -> Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.request("POST", "/api/milestones", body, headers)


def created(response: Response) -> dict[str, Any]:
    """The milestone of a 201 answer, checked against its Location and ETag headers."""
    status, headers, body = response
    assert status == 201, body
    document: dict[str, Any] = body["data"]
    assert headers["Location"] == f"/api/milestones/{document['id']}"
    assert headers["ETag"] == '"1"'
    return document


def milestones_of(client: Client, project: str) -> list[dict[str, Any]]:
    status, _, listed = client.request("GET", f"/api/milestones?projectId={project}")
    assert status == 200, listed
    items: list[dict[str, Any]] = listed["data"]
    return items


def log_state(client: Client) -> tuple[int, int]:
    """The head of the log and the number of events in it (both, as PostgreSQL may skip)."""
    return client.head(), len(client.feed())


def test_same_key_and_body_is_the_first_milestone_again(client: Client, project: str) -> None:
    key = new_key()
    body = {"projectId": project, "title": "Beta", "description": "d", "dueDate": "2026-03-01"}
    first = created(post(client, body, key))
    before = log_state(client)
    for _ in range(3):
        assert created(post(client, body, key)) == first
    # The same JSON in another key order and spacing is the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    assert created(client.request("POST", "/api/milestones", reordered, headers)) == first
    assert log_state(client) == before
    assert milestones_of(client, project) == [first]
    assert [event["type"] for event in client.history(first["id"])] == ["Created"]


def test_same_key_and_another_body_is_a_409_that_records_nothing(
    client: Client, project: str
) -> None:
    key = new_key()
    first = created(post(client, {"projectId": project, "title": "Beta"}, key))
    before = log_state(client)
    for other in (
        {"projectId": project, "title": "Gamma"},
        {"projectId": project, "title": "Beta", "status": "reached"},
        {"projectId": f"{project}_other", "title": "Beta"},
    ):
        assert_problem(post(client, other, key), 409)
    assert log_state(client) == before
    assert milestones_of(client, project) == [first]
    assert milestones_of(client, f"{project}_other") == []
    # The key still answers its first request.
    assert created(post(client, {"projectId": project, "title": "Beta"}, key)) == first


def test_keys_are_independent_and_posts_without_one_are_not_deduplicated(
    client: Client, project: str
) -> None:
    body = {"projectId": project, "title": "same body"}
    one, two = new_key(), new_key()
    first, second = created(post(client, body, one)), created(post(client, body, two))
    third, fourth = created(post(client, body, None)), created(post(client, body, None))
    assert len({first["id"], second["id"], third["id"], fourth["id"]}) == 4
    assert created(post(client, body, one)) == first
    assert created(post(client, body, two)) == second
    assert len(milestones_of(client, project)) == 4


def test_a_rejected_post_does_not_use_up_its_key(client: Client, project: str) -> None:
    key = new_key()
    before = log_state(client)
    assert_problem(post(client, {"projectId": project, "title": ""}, key), 400)
    assert log_state(client) == before
    first = created(post(client, {"projectId": project, "title": "valid"}, key))
    assert created(post(client, {"projectId": project, "title": "valid"}, key)) == first


def test_the_first_milestone_is_answered_even_after_it_changed(
    client: Client, project: str
) -> None:
    key = new_key()
    body = {"projectId": project, "title": "original"}
    first = created(post(client, body, key))
    status, _, patched = client.request(
        "PATCH", f"/api/milestones/{first['id']}", {"title": "changed"}
    )
    assert status == 200, patched
    before = log_state(client)
    again = created(post(client, body, key))
    assert again["id"] == first["id"]
    assert log_state(client) == before
    assert milestones_of(client, project) == [patched["data"]]


def test_across_two_instances(
    server: Server, client: Client, server_factory: ServerFactory, project: str
) -> None:
    other = server_factory(server.database).client
    key, body = new_key(), {"projectId": project, "title": "two instances"}
    first = created(post(client, body, key))
    before = log_state(client)
    assert created(post(other, body, key)) == first
    assert_problem(post(other, {"projectId": project, "title": "changed"}, key), 409)
    # And the other way round, with a key first used on the other instance.
    second_key = new_key()
    second = created(post(other, body, second_key))
    assert second["id"] != first["id"]
    assert created(post(client, body, second_key)) == second
    assert_problem(post(client, {"projectId": project, "title": "changed"}, second_key), 409)
    assert log_state(other)[1] == before[1] + 1
    assert milestones_of(client, project) == [first, second]


def test_across_a_restart(server_factory: ServerFactory, project: str) -> None:
    first_server = server_factory()
    key, body = new_key(), {"projectId": project, "title": "before restart"}
    first = created(post(first_server.client, body, key))
    before = log_state(first_server.client)
    first_server.stop()
    assert first_server.process.returncode is not None

    restarted = server_factory(first_server.database).client
    assert created(post(restarted, body, key)) == first
    assert_problem(post(restarted, {"projectId": project, "title": "after"}, key), 409)
    assert log_state(restarted) == before
    assert milestones_of(restarted, project) == [first]


def _post_at_once(
    targets: list[Client], bodies: list[dict[str, Any]], key: str
) -> list[tuple[dict[str, Any], Response]]:
    """One POST per body, all under ``key``, sent at once from threads over ``targets``."""
    answers: list[tuple[dict[str, Any], Response]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(bodies))

    def run(number: int) -> None:
        try:
            start.wait(timeout=30)
            response = post(targets[number % len(targets)], bodies[number], key)
            with lock:
                answers.append((bodies[number], response))
        except BaseException as error:  # noqa: BLE001 - reported by the test
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + THREAD_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "POST threads hung"
    assert not failures, failures
    assert len(answers) == len(bodies)
    return answers


@pytest.fixture
def two_clients(server: Server, client: Client, server_factory: ServerFactory) -> list[Client]:
    """The session server and another instance on its database."""
    return [client, server_factory(server.database).client]


def test_concurrent_first_use_of_a_key_creates_one_milestone(
    two_clients: list[Client], project: str
) -> None:
    """8 clients over two instances send one body under one new key at once: all get it."""
    for round_number in range(3):
        key = new_key()
        body = {"projectId": project, "title": f"raced {round_number}"}
        before = log_state(two_clients[0])
        documents = [
            created(response) for _, response in _post_at_once(two_clients, [body] * THREADS, key)
        ]
        assert len({document["id"] for document in documents}) == 1, documents
        assert all(document == documents[0] for document in documents)
        assert log_state(two_clients[0])[1] == before[1] + 1
        history = two_clients[1].history(documents[0]["id"])
        assert [event["type"] for event in history] == ["Created"]
    assert len(milestones_of(two_clients[0], project)) == 3


def test_concurrent_first_use_of_a_key_with_two_bodies(
    two_clients: list[Client], project: str
) -> None:
    """Half of 8 clients send one body, half another, under one new key at once.

    One body wins: every client that sent it gets 201 and the one milestone; every client
    that sent the other gets a 409 problem; one event is recorded.
    """
    for round_number in range(3):
        key = new_key()
        bodies = [
            {"projectId": project, "title": f"round {round_number} body {n % 2}"}
            for n in range(THREADS)
        ]
        before = log_state(two_clients[0])
        answers = _post_at_once(two_clients, bodies, key)
        assert {status for _, (status, _, _) in answers} <= {201, 409}, answers
        winners = [created(response) for _, response in answers if response[0] == 201]
        assert winners, answers
        winner = winners[0]
        for body, response in answers:
            if body["title"] == winner["title"]:
                assert created(response) == winner
            else:
                assert_problem(response, 409)
        assert log_state(two_clients[0])[1] == before[1] + 1
        listed = [
            m
            for m in milestones_of(two_clients[1], project)
            if m["title"] in (bodies[0]["title"], bodies[1]["title"])
        ]
        assert listed == [winner]


def _post_with_raw_key(client: Client, key: bytes, body: dict[str, Any]) -> Response:
    """A POST whose Idempotency-Key header goes out as exactly these bytes."""
    connection = http.client.HTTPConnection(HOST, client.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.putrequest("POST", "/api/milestones")
        payload = json.dumps(body).encode()
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(payload)))
        connection.putheader("Idempotency-Key", key)
        connection.endheaders(payload)
        response = connection.getresponse()
        raw = response.read()
        if raw and response.msg.get_content_type().endswith("json"):
            return response.status, response.msg, json.loads(raw)
        return response.status, response.msg, raw
    finally:
        connection.close()


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"k" * 256, id="256-chars"),
        pytest.param(b"x" * 4000, id="4000-chars"),
        pytest.param("clé".encode(), id="utf8-non-ascii"),
        pytest.param("clé".encode("latin-1"), id="latin1-non-ascii"),
        pytest.param("🔑".encode(), id="emoji"),
    ],
)
def test_an_invalid_key_is_a_400_that_records_nothing(
    client: Client, project: str, key: bytes
) -> None:
    before = log_state(client)
    body = {"projectId": project, "title": "invalid key"}
    problem = assert_problem(_post_with_raw_key(client, key, body), 400)
    assert [error["field"] for error in problem.get("errors", [])] == ["Idempotency-Key"], problem
    assert log_state(client) == before
    assert milestones_of(client, project) == []


@pytest.mark.parametrize("key", [b"key\x01", b"key\x7f", b"\x00"], ids=["soh", "del", "nul"])
def test_a_key_with_a_control_character_is_a_400_that_records_nothing(
    client: Client, project: str, key: bytes
) -> None:
    """A control character makes the header invalid HTTP (RFC 9110 section 5.5).

    Gunicorn answers such a request itself, with a 400 of its own before the application
    sees it, so the body is not checked here: only that it is refused and records nothing.
    """
    before = log_state(client)
    status, _, body = _post_with_raw_key(client, key, {"projectId": project, "title": "ctl"})
    assert status == 400, body
    assert log_state(client) == before
    assert milestones_of(client, project) == []


@pytest.mark.parametrize(
    "key",
    [
        # One character: this test alone uses keys that short, once per session database.
        pytest.param(uuid.uuid4().hex[0], id="one-char"),
        pytest.param(uuid.uuid4().hex.ljust(255, "k"), id="255-chars"),
        pytest.param(f"{uuid.uuid4().hex} with spaces ~!@#$%^&*()[]{{}}<>?/|", id="printable"),
    ],
)
def test_a_valid_key_at_the_limits(client: Client, project: str, key: str) -> None:
    body = {"projectId": project, "title": "valid key"}
    first = created(post(client, body, key))
    assert created(post(client, body, key)) == first
    assert milestones_of(client, project) == [first]
