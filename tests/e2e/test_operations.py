"""The operational surface over real HTTP against ``milestones serve --workers 2``.

Health and readiness, Prometheus metrics summed across both worker processes, the
structured access log and request ids, and response hygiene: nosniff, no-store on writes,
conditional GET and CORS.
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from projections.runner import VIEW_TRACKING
from tests.api_client import assert_problem
from tests.e2e.harness import PinnedWorker, on_each_worker

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.client import Client
    from tests.e2e.harness import Server, Servers

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", re.ASCII)
ALLOWED_ORIGIN = "https://app.example"
OTHER_ALLOWED_ORIGIN = "https://admin.example"
LOG_FIELDS = {"time", "method", "route", "status", "duration_ms", "request_id"}


@pytest.fixture(scope="module")
def ops(module_servers: Servers) -> Server:
    """A server with the service's defaults (no CORS, no tokens, access log on)."""
    return module_servers.start()


@pytest.fixture(scope="module")
def cors(module_servers: Servers) -> Server:
    # A space after the comma: the list is trimmed.
    return module_servers.start(
        env={"MILESTONES_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, {OTHER_ALLOWED_ORIGIN}"}
    )


def _milestone(client: Client) -> tuple[dict[str, Any], str]:
    return client.create(projectId=f"proj_{uuid.uuid4().hex[:12]}", title="Operations")


# Health and readiness


def test_health_answers_without_touching_storage(ops: Server) -> None:
    status, headers, body = ops.client.request("GET", "/health")
    assert status == 200
    assert headers.get_content_type() == "application/json"
    assert body == {"data": {"status": "ok"}}


def test_ready_reports_position_head_and_lag(ops: Server) -> None:
    client = ops.client
    before = client.ready()
    assert before["status"] == "ready"
    assert before["lag"] == 0
    assert before["position"] == before["head"]
    document, _ = _milestone(client)
    client.request("PATCH", f"/api/milestones/{document['id']}", {"status": "reached"})
    after = client.ready()
    # Created, StatusChanged: two events, and the view is at the head of the log.
    assert after == {
        "status": "ready",
        "position": before["head"] + 2,
        "head": before["head"] + 2,
        "lag": 0,
    }


def test_ready_is_503_when_the_view_is_behind_the_log(servers: Servers) -> None:
    server = servers.start()
    _milestone(server.client)
    _milestone(server.client)
    assert server.client.ready()["head"] == 2
    # Put the view's tracking position one event back, as if it were being caught up.
    with sqlite3.connect(server.sqlite_file, timeout=10) as connection:
        updated = connection.execute(
            "UPDATE tracking SET notification_id = notification_id - 1 WHERE application_name = ?",
            (VIEW_TRACKING,),
        ).rowcount
    connection.close()
    assert updated == 1
    for response in on_each_worker(server, lambda: server.client.request("GET", "/ready")):
        problem = assert_problem(response, 503, extra_keys=True)
        assert problem["position"] == 1
        assert problem["head"] == 2
        assert problem["lag"] == 1
    assert server.client.request("GET", "/health")[0] == 200


def test_ready_is_503_when_storage_is_unreachable(servers: Servers, tmp_path: Path) -> None:
    """The database's directory is removed before any worker opened its read connection.

    SQLite keeps working on a file it already has open (an unlinked inode stays readable),
    so this is only reliable while no request has touched storage: the start-up probe asks
    /health, which does not. A worker then opens its read connection on the first /ready
    and cannot.
    """
    store = tmp_path / "store"
    store.mkdir()
    server = servers.start(store / "milestones.db")
    shutil.rmtree(store)
    for response in on_each_worker(server, lambda: server.client.request("GET", "/ready")):
        problem = assert_problem(response, 503, extra_keys=True)
        assert "storage" in problem["detail"]
    # Liveness is not readiness: the process still answers.
    assert server.client.request("GET", "/health")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/milestones",
        "/api/milestones/ms_00000000000000000000000000",
        "/api/milestones/ms_00000000000000000000000000/history",
        "/api/events",
    ],
)
def test_reads_are_503_when_storage_is_unreachable(
    servers: Servers, tmp_path: Path, path: str
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = servers.start(store / "milestones.db")
    shutil.rmtree(store)
    for response in on_each_worker(server, lambda: server.client.request("GET", path)):
        assert_problem(response, 503, extra_keys=True)


def test_metrics_still_serve_counters_when_storage_is_unreachable(
    servers: Servers, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = servers.start(store / "milestones.db")
    shutil.rmtree(store)
    status, _, body = server.client.request("GET", "/metrics")
    assert status == 200, body
    assert b"milestones_http_requests_total" in body


def test_ready_notices_a_removed_database_after_it_was_used(
    servers: Servers, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = servers.start(store / "milestones.db")
    ready = on_each_worker(server, lambda: server.client.request("GET", "/ready"))
    assert [status for status, _, _ in ready] == [200, 200]  # both have their connection
    shutil.rmtree(store)
    for response in on_each_worker(server, lambda: server.client.request("GET", "/ready")):
        assert_problem(response, 503, extra_keys=True)


# Metrics


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _params(content_type: str) -> dict[str, str]:
    message = Message()
    message["Content-Type"] = content_type
    return {name.lower(): value for name, value in (message.get_params() or [])[1:]}


def scrape(client: Client) -> Samples:
    status, _, body = client.request("GET", "/metrics")
    assert status == 200, body
    assert isinstance(body, bytes)
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_prometheus_text(ops: Server) -> None:
    ops.client.request("GET", "/health")
    status, headers, body = ops.client.request("GET", "/metrics")
    assert status == 200
    assert headers.get_content_type() == "text/plain"
    params = _params(headers["Content-Type"])
    assert params.get("version") == "0.0.4", headers["Content-Type"]
    assert params.get("charset", "").lower() == "utf-8", headers["Content-Type"]
    families = {
        family.name: family.type for family in text_string_to_metric_families(body.decode())
    }
    assert families["milestones_http_requests"] == "counter"
    assert families["milestones_http_request_duration_seconds"] == "histogram"
    assert families["milestones_view_position"] == "gauge"
    assert families["milestones_log_head"] == "gauge"
    assert families["milestones_view_lag_events"] == "gauge"


def test_request_counters_add_up_across_both_workers(ops: Server) -> None:
    client = ops.client
    labels = {"route": "/health", "method": "GET", "status": "200"}
    first, second = 7, 5  # different, so a scrape of one worker's share cannot pass
    before = scrape(client)

    pinned_a = PinnedWorker.pin(ops)  # worker A is busy...
    for _ in range(first):  # ...so worker B serves these
        assert client.request("GET", "/health")[0] == 200
    pinned_b = PinnedWorker.pin(ops)  # only B was free to take it: B is busy now
    assert pinned_a.release() == 400  # A is free again...
    for _ in range(second):  # ...and serves these
        assert client.request("GET", "/health")[0] == 200
    assert pinned_b.release() == 400

    after = scrape(client)
    name = "milestones_http_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == first + second
    rejected = {"route": "/api/milestones", "method": "POST", "status": "400"}
    assert value(after, name, **rejected) - value(before, name, **rejected) == 2

    histogram = "milestones_http_request_duration_seconds"
    route = {"route": "/health", "method": "GET"}
    count = value(after, f"{histogram}_count", **route) - value(
        before, f"{histogram}_count", **route
    )
    assert count == first + second
    infinite = value(after, f"{histogram}_bucket", **route, le="+Inf")
    assert infinite == value(after, f"{histogram}_count", **route)
    assert value(after, f"{histogram}_sum", **route) > 0


def test_latency_histogram_buckets(ops: Server) -> None:
    for _ in range(3):
        ops.client.request("GET", "/api/milestones")
    samples = scrape(ops.client)
    name = "milestones_http_request_duration_seconds_bucket"
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (sample, labels), count in samples.items()
        if sample == name
        and dict(labels).get("route") == "/api/milestones"
        and dict(labels).get("method") == "GET"
    )
    assert len(buckets) >= 5, buckets
    assert buckets[-1][0] == float("inf")
    counts = [count for _, count in buckets]
    assert counts == sorted(counts), "cumulative buckets never decrease"
    assert counts[-1] >= 3


def test_unknown_paths_share_one_route_label(ops: Server) -> None:
    marker = uuid.uuid4().hex
    assert ops.client.request("GET", f"/nowhere-{marker}")[0] == 404
    samples = scrape(ops.client)
    assert not any(marker in text for _, labels in samples for pair in labels for text in pair)
    name = "milestones_http_requests_total"
    assert value(samples, name, route="unmatched", method="GET", status="404") >= 1


def test_method_label_is_bounded(ops: Server) -> None:
    methods = [f"X{uuid.uuid4().hex[:10].upper()}" for _ in range(3)]
    for method in methods:
        status = ops.client.request(method, "/api/milestones")[0]
        assert 400 <= status < 500
    samples = scrape(ops.client)
    labelled = {dict(labels).get("method") for _, labels in samples}
    assert not labelled & set(methods), labelled


def test_events_appended_by_type(ops: Server) -> None:
    client = ops.client
    name = "milestones_events_appended_total"
    before = scrape(client)
    first, _ = _milestone(client)
    second, _ = _milestone(client)
    path = f"/api/milestones/{first['id']}"
    assert client.request("PATCH", path, {"title": "Renamed"})[0] == 200
    assert client.request("PATCH", path, {"status": "reached"})[0] == 200
    assert client.request("PATCH", path, {"status": "reached"})[0] == 200  # no change
    assert client.request("DELETE", f"/api/milestones/{second['id']}")[0] == 200
    assert client.request("POST", "/api/milestones", {"title": "no project"})[0] == 400
    after = scrape(client)
    expected = {"Created": 2, "Updated": 1, "StatusChanged": 1, "Deleted": 1}
    for kind, count in expected.items():
        assert value(after, name, type=kind) - value(before, name, type=kind) == count, kind


def test_view_gauges_match_ready(ops: Server) -> None:
    _milestone(ops.client)
    ready = ops.client.ready()
    samples = scrape(ops.client)
    assert value(samples, "milestones_view_position") == ready["position"]
    assert value(samples, "milestones_log_head") == ready["head"]
    assert value(samples, "milestones_view_lag_events") == ready["lag"] == 0


# Access log and request ids


def test_access_log_line_for_a_request(ops: Server) -> None:
    document, _ = _milestone(ops.client)
    request_id = f"e2e-{uuid.uuid4()}"
    started = datetime.now(UTC)
    status, headers, _ = ops.client.request(
        "GET", f"/api/milestones/{document['id']}", headers={"X-Request-Id": request_id}
    )
    finished = datetime.now(UTC)
    assert status == 200
    assert headers["X-Request-Id"] == request_id
    entry = ops.log_entry(request_id)
    assert set(entry) >= LOG_FIELDS, entry
    assert entry["method"] == "GET"
    assert entry["route"] == "/api/milestones/{milestone_id}"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], int | float)
    assert 0 <= entry["duration_ms"] < 10_000
    assert TIMESTAMP.fullmatch(entry["time"]), entry["time"]
    logged = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    slack = timedelta(seconds=2)
    assert started - slack <= logged <= finished + slack


def test_access_log_names_problem_responses(ops: Server) -> None:
    request_id = f"e2e-{uuid.uuid4()}"
    response = ops.client.request(
        "POST", "/api/milestones", {"title": ""}, {"X-Request-Id": request_id}
    )
    assert_problem(response, 400)
    entry = ops.log_entry(request_id)
    assert (entry["method"], entry["route"], entry["status"]) == ("POST", "/api/milestones", 400)


def test_access_log_goes_to_stderr_only(ops: Server) -> None:
    request_id = f"e2e-{uuid.uuid4()}"
    ops.client.request("GET", "/health", headers={"X-Request-Id": request_id})
    ops.log_entry(request_id)
    assert request_id not in ops.stdout()


def test_request_ids_are_generated_and_unique(ops: Server) -> None:
    ids = []
    for _ in range(20):
        status, headers, _ = ops.client.request("GET", "/health")
        assert status == 200
        ids.append(headers["X-Request-Id"])
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids
    for request_id in ids[:3]:
        assert ops.log_entry(request_id)["route"] == "/health"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("x" * 129, id="too-long"),
        pytest.param("caf\u00e9", id="not-ascii"),
        pytest.param("", id="empty"),
    ],
)
def test_unusable_request_ids_are_replaced(ops: Server, sent: str) -> None:
    status, headers, _ = ops.client.request(
        "GET", "/health", headers={"X-Request-Id": sent.encode().decode("latin-1")}
    )
    assert status == 200
    generated = headers["X-Request-Id"]
    assert generated
    assert generated != sent
    assert ops.log_entry(generated)["route"] == "/health"


def test_request_id_cannot_forge_log_fields(ops: Server) -> None:
    sent = f'{uuid.uuid4().hex}","status":999,"route":"/forged'
    status, headers, _ = ops.client.request("GET", "/health", headers={"X-Request-Id": sent})
    assert status == 200
    assert headers["X-Request-Id"] == sent
    entry = ops.log_entry(sent)
    assert entry["status"] == 200
    assert entry["route"] == "/health"


def test_concurrent_requests_log_one_line_each(ops: Server) -> None:
    ids = [f"e2e-{uuid.uuid4()}" for _ in range(40)]

    def send(request_id: str) -> int:
        return ops.client.request("GET", "/api/events", headers={"X-Request-Id": request_id})[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(send, ids)) == [200] * len(ids)
    for request_id in ids:  # each exactly once, each a whole JSON object (access_log checks)
        assert ops.log_entry(request_id)["route"] == "/api/events"


def test_access_log_can_be_switched_off(servers: Servers) -> None:
    quiet = servers.start(env={"MILESTONES_ACCESS_LOG": "0"})
    request_id = f"e2e-{uuid.uuid4()}"
    for _ in range(4):
        assert quiet.client.request("GET", "/health")[0] == 200
    document, _ = _milestone(quiet.client)
    status, headers, _ = quiet.client.request(
        "GET", f"/api/milestones/{document['id']}", headers={"X-Request-Id": request_id}
    )
    assert status == 200
    assert headers["X-Request-Id"] == request_id  # ids still travel
    # A log line is written before the response leaves; give a stray one a moment anyway.
    time.sleep(0.2)
    assert quiet.access_log() == []
    assert request_id not in quiet.stderr() + quiet.stdout()
    # The process logs nothing per request, but gunicorn's own lines still arrive.
    assert "Booting worker" in quiet.stderr()


# Response hygiene


def _hygiene_cases(client: Client) -> list[tuple[str, str, Any, dict[str, str], int]]:
    document, etag = _milestone(client)
    one = f"/api/milestones/{document['id']}"
    doomed, _ = _milestone(client)
    json_type = {"Content-Type": "application/json"}
    return [
        ("GET", "/health", None, {}, 200),
        ("GET", "/ready", None, {}, 200),
        ("GET", "/metrics", None, {}, 200),
        ("GET", "/api/milestones", None, {}, 200),
        ("GET", one, None, {}, 200),
        ("GET", one, None, {"If-None-Match": etag}, 304),
        ("GET", f"{one}/history", None, {}, 200),
        ("GET", "/api/events", None, {}, 200),
        ("POST", "/api/milestones", {"projectId": "proj_nosniff", "title": "t"}, {}, 201),
        ("PATCH", one, {"title": "Sniffed"}, {}, 200),
        ("DELETE", f"/api/milestones/{doomed['id']}", None, {}, 200),
        ("OPTIONS", "/api/milestones", None, {}, 204),
        ("POST", "/api/milestones", b"{", json_type, 400),
        ("GET", "/api/milestones?status=bogus", None, {}, 400),
        ("GET", "/nowhere", None, {}, 404),
        ("GET", "/api/milestones/ms_00000000000000000000000000", None, {}, 404),
        ("PUT", one, {"title": "x"}, {}, 405),
        ("PATCH", one, {"title": "y"}, {"If-Match": '"99"'}, 412),
        ("POST", "/api/milestones", b" " * (64 * 1024 + 1), json_type, 413),
        ("POST", "/api/milestones", "<m/>", {"Content-Type": "application/xml"}, 415),
    ]


def test_nosniff_and_request_id_on_every_response(ops: Server) -> None:
    for method, path, body, headers, expected in _hygiene_cases(ops.client):
        status, response_headers, response = ops.client.request(method, path, body, headers)
        assert status == expected, (method, path, response)
        assert response_headers["X-Content-Type-Options"] == "nosniff", (method, path, status)
        assert response_headers["X-Request-Id"], (method, path, status)
        if status >= 400:
            assert response_headers.get_content_type() == "application/problem+json"


def test_writes_are_not_stored_by_caches(ops: Server) -> None:
    client = ops.client
    key = uuid.uuid4().hex
    body = {"projectId": f"proj_{key[:12]}", "title": "Cache me not"}
    responses = {}
    responses["POST"] = client.request("POST", "/api/milestones", body, {"Idempotency-Key": key})
    responses["POST again"] = client.request(
        "POST", "/api/milestones", body, {"Idempotency-Key": key}
    )
    path = responses["POST"][1]["Location"]
    responses["PATCH"] = client.request("PATCH", path, {"title": "Changed"})
    responses["PATCH no-op"] = client.request("PATCH", path, {"title": "Changed"})
    responses["DELETE"] = client.request("DELETE", path)
    expected = {"POST": 201, "POST again": 201, "PATCH": 200, "PATCH no-op": 200, "DELETE": 200}
    for name, (status, headers, response) in responses.items():
        assert status == expected[name], (name, response)
        directives = {part.strip().lower() for part in (headers["Cache-Control"] or "").split(",")}
        assert "no-store" in directives, (name, headers["Cache-Control"])


def test_conditional_get(ops: Server) -> None:
    client = ops.client
    document, etag = _milestone(client)
    path = f"/api/milestones/{document['id']}"
    assert etag == '"1"'

    for tags in (etag, f'"7", {etag}', f"W/{etag}", "*"):
        status, headers, body = client.request("GET", path, headers={"If-None-Match": tags})
        assert status == 304, (tags, body)
        assert body == b"", tags
        assert headers["ETag"] == etag
        assert headers.get_content_type() != "application/problem+json"

    status, headers, body = client.request("GET", path, headers={"If-None-Match": '"2"'})
    assert status == 200
    assert body["data"] == document

    assert client.request("PATCH", path, {"title": "Newer"})[0] == 200
    status, headers, body = client.request("GET", path, headers={"If-None-Match": etag})
    assert status == 200, "a stale tag gets the current representation"
    assert headers["ETag"] == '"2"'
    assert body["data"]["title"] == "Newer"
    status, _, body = client.request("GET", path, headers={"If-None-Match": '"2"'})
    assert (status, body) == (304, b"")

    assert client.request("DELETE", path)[0] == 200
    assert_problem(client.request("GET", path, headers={"If-None-Match": '"2"'}), 404)


def _access_control(headers: Any) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower().startswith("access-control-")
    }


def _tokens(header: str | None) -> set[str]:
    return {part.strip().lower() for part in (header or "").split(",") if part.strip()}


def test_cors_is_off_by_default(ops: Server) -> None:
    document, _ = _milestone(ops.client)
    origin = {"Origin": ALLOWED_ORIGIN}
    for method, path in (
        ("GET", "/api/milestones"),
        ("GET", f"/api/milestones/{document['id']}"),
        ("GET", "/nowhere"),
    ):
        status, headers, _ = ops.client.request(method, path, headers=origin)
        assert status in {200, 404}
        assert _access_control(headers) == {}, (path, headers.items())
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    status, headers, _ = ops.client.request("OPTIONS", "/api/milestones", headers=preflight)
    assert _access_control(headers) == {}, headers.items()


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, OTHER_ALLOWED_ORIGIN])
def test_cors_allows_a_configured_origin(cors: Server, origin: str) -> None:
    client = cors.client
    status, headers, body = client.request(
        "POST", "/api/milestones", {"projectId": "proj_cors", "title": "t"}, {"Origin": origin}
    )
    assert status == 201, body
    assert headers["Access-Control-Allow-Origin"] == origin
    assert {"etag", "location"} <= _tokens(headers["Access-Control-Expose-Headers"])
    path = headers["Location"]

    status, headers, _ = client.request("GET", path, headers={"Origin": origin})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin
    assert {"etag", "location"} <= _tokens(headers["Access-Control-Expose-Headers"])

    # A browser client can read the problems too.
    status, headers, _ = client.request(
        "GET", "/api/milestones?status=bogus", None, {"Origin": origin}
    )
    assert status == 400
    assert headers["Access-Control-Allow-Origin"] == origin


def test_cors_preflight_for_a_configured_origin(cors: Server) -> None:
    document, _ = _milestone(cors.client)
    headers = {
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type, if-match",
    }
    status, response, body = cors.client.request(
        "OPTIONS", f"/api/milestones/{document['id']}", headers=headers
    )
    assert status in {200, 204}, body
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert {"get", "patch", "delete"} <= _tokens(response["Access-Control-Allow-Methods"])
    assert {"content-type", "if-match"} <= _tokens(response["Access-Control-Allow-Headers"])


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://app.example",
        "https://app.example:8443",
        "https://app.example.evil.example",
        "https://APP.example.evil",
        "null",
    ],
)
def test_cors_ignores_other_origins(cors: Server, origin: str) -> None:
    document, _ = _milestone(cors.client)
    status, headers, _ = cors.client.request(
        "GET", f"/api/milestones/{document['id']}", headers={"Origin": origin}
    )
    assert status == 200
    assert _access_control(headers) == {}, headers.items()
    preflight = {"Origin": origin, "Access-Control-Request-Method": "DELETE"}
    _, headers, _ = cors.client.request(
        "OPTIONS", f"/api/milestones/{document['id']}", headers=preflight
    )
    assert "access-control-allow-origin" not in _access_control(headers)


def test_cors_without_origin_sends_no_cors_headers(cors: Server) -> None:
    status, headers, _ = cors.client.request("GET", "/api/milestones")
    assert status == 200
    assert _access_control(headers) == {}


def test_cors_responses_vary_by_origin(cors: Server) -> None:
    document, _ = _milestone(cors.client)
    path = f"/api/milestones/{document['id']}"
    for origin in (ALLOWED_ORIGIN, "https://evil.example"):
        _, headers, _ = cors.client.request("GET", path, headers={"Origin": origin})
        vary = _tokens(", ".join(headers.get_all("Vary") or []))
        assert "origin" in vary or "*" in vary, (origin, headers.items())


def test_json_bodies_are_json_and_metrics_declare_charset(ops: Server) -> None:
    """Content types: JSON has no charset parameter (RFC 8259: UTF-8 always); text has one."""
    for path in ("/health", "/ready", "/api/milestones", "/api/events"):
        status, headers, body = ops.client.request("GET", path)
        assert status == 200
        assert headers.get_content_type() == "application/json", path
        charset = _params(headers["Content-Type"]).get("charset")
        assert charset in {None, "utf-8", "UTF-8"}, headers["Content-Type"]
        assert isinstance(body, dict), path
    status, headers, _ = ops.client.request("GET", "/metrics")
    assert _params(headers["Content-Type"]).get("charset", "").lower() == "utf-8"
