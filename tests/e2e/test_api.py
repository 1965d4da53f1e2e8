"""What a real server adds to the API: bodies sent in chunks, and ids minted by two workers.

Everything the app decides about a valid request is tested in-process, in
tests/integration/test_http_api.py and test_http_app.py; these need gunicorn: it reads a
chunked body off the socket for the app, and its two worker processes each make ids.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.e2e.read_model import assert_one_created

if TYPE_CHECKING:
    from tests.e2e.client import Client

ID = re.compile(r"^ms_[0-9A-HJKMNP-TV-Z]{26}$", re.ASCII)


def path_of(milestone_id: str) -> str:
    return f"/api/milestones/{milestone_id}"


@pytest.fixture
def project() -> str:
    """A project id no other test uses, so list filters see only this test's milestones."""
    return f"proj_{uuid.uuid4().hex[:12]}"


def test_create_with_a_chunked_body(client: Client, project: str) -> None:
    head = client.head()
    payload = json.dumps({"projectId": project, "title": "Sent in chunks"}).encode()
    connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/milestones",
            body=iter([payload[:10], payload[10:]]),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()
    assert status == 201, raw
    document = json.loads(raw)["data"]
    assert document["title"] == "Sent in chunks"
    assert_one_created(client, head, document["id"])


# Ids


def test_ids_sort_in_creation_order(client: Client, project: str) -> None:
    ids = []
    for index in range(6):
        document, _ = client.create(projectId=project, title=f"#{index}")
        ids.append(document["id"])
        time.sleep(0.003)  # a few milliseconds apart
    assert all(ID.fullmatch(milestone_id) for milestone_id in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.sqlite_only(
    reason="ids are minted by the worker before storage is touched, so the backend changes "
    "only how long each create takes; one backend shows the ordering, and the slower "
    "commits of PostgreSQL make same-millisecond pairs rarer still"
)
def test_ids_sort_in_creation_order_back_to_back(client: Client, project: str) -> None:
    """Each POST is sent only after the previous one was answered, so creation order is clear.

    The next connection is opened before the current request goes out, so the other
    (idle) worker has already accepted it: consecutive creates alternate between the two
    workers and follow each other as closely as HTTP allows. Only a pair created within one
    millisecond can come out of order (the id's time part orders the rest), so this goes
    on until it has seen SAME_MILLISECOND such pairs, or skips as inconclusive if the host
    is too slow to produce them within the time budget. It skips as soon as the rate seen
    so far (after a first sample of a few seconds) would give less than a third of them
    by the end of the budget: running on could not make it conclusive.
    """
    same_millisecond = 24  # all in order by chance: 2**-24 if the order were random
    budget = 15.0  # seconds
    sample = 3.0  # seconds before the rate so far may end the test as inconclusive
    body = json.dumps({"projectId": project, "title": "back to back"}).encode()
    headers = {"Content-Type": "application/json"}

    def connect() -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(client.host, client.port, timeout=30)
        connection.connect()
        return connection

    previous = {"id": "", "createdAt": ""}
    pairs = creates = 0
    started = time.monotonic()
    deadline = started + budget
    following = connect()
    try:
        while pairs < same_millisecond and (now := time.monotonic()) < deadline:
            if now - started >= sample and pairs * budget / (now - started) < same_millisecond / 3:
                break  # hopeless at this rate: inconclusive, see below
            current, following = following, connect()
            try:
                current.request("POST", "/api/milestones", body=body, headers=headers)
                response = current.getresponse()
                status, raw = response.status, response.read()
            finally:
                current.close()
            assert status == 201, raw
            document = json.loads(raw)["data"]
            creates += 1
            assert document["id"] > previous["id"], (
                f"create #{creates} at {document['createdAt']}: {document['id']} sorts before "
                f"{previous['id']}, created before it at {previous['createdAt']}"
            )
            pairs += document["createdAt"] == previous["createdAt"]
            previous = document
    finally:
        following.close()
    if pairs < same_millisecond:
        pytest.skip(
            f"inconclusive: {pairs} of {creates} back-to-back creates shared a millisecond "
            f"in {time.monotonic() - started:.1f} s"
        )
