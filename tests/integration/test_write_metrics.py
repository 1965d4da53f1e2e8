"""The write path's metrics: how many commands each batch held and how long it held the
writer lock, as histograms in ``/metrics``, through the server's own wiring."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from adapters.server.wsgi import create_wsgi_app

if TYPE_CHECKING:
    import pytest

WRITERS = 6


def _histograms(client: testing.TestClient) -> dict[str, dict[str, float]]:
    body = client.simulate_get("/metrics").text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(body):
        if family.type == "histogram":
            samples = found.setdefault(family.name, {})
            for sample in family.samples:
                suffix = sample.name.removeprefix(family.name)
                samples[suffix + sample.labels.get("le", "")] = sample.value
    return found


def test_each_batch_is_counted_with_its_size_and_its_hold_of_the_writer_lock(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    client = testing.TestClient(create_wsgi_app())
    before = _histograms(client)
    assert before["milestones_write_batch_size"]["_count"] == 0
    assert before["milestones_writer_lock_hold_seconds"]["_count"] == 0

    def write(number: int) -> None:
        answer = client.simulate_post(
            "/api/milestones", json={"projectId": "p", "title": f"m{number}"}
        )
        assert answer.status_code == 201, answer.text

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    after = _histograms(client)
    sizes = after["milestones_write_batch_size"]
    holds = after["milestones_writer_lock_hold_seconds"]
    # Every command was in exactly one batch; batches may have shared commands.
    assert sizes["_sum"] == WRITERS
    assert 1 <= sizes["_count"] <= WRITERS
    assert sizes["_bucket64.0"] == sizes["_count"]
    assert holds["_count"] == sizes["_count"]
    assert 0 < holds["_sum"] < 60
