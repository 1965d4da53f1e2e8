"""Every bad webhook request is a 400 naming its field, and changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from falcon import testing

from adapters.http.app import create_app
from adapters.http.identity import Token
from adapters.http.middleware import BearerAuth

if TYPE_CHECKING:
    from adapters.bootstrap import Service

GOOD = "https://93.184.216.34/hooks"  # a public literal address: checked without any lookup
BAD_BODIES: list[tuple[Any, str, str]] = [
    ({}, "url", "is required"),
    ({"url": 7}, "url", "must be a string"),
    ({"url": "hooks.example.com/x"}, "url", "must be an absolute https:// URL"),
    ({"url": "http://93.184.216.34/x"}, "url", "must be an https:// URL"),
    ({"url": "https://127.0.0.1/x"}, "url", "resolves to a non-public address (127.0.0.1)"),
    ({"url": "https://localhost/x"}, "url", "resolves to a non-public address"),
    ({"url": "https://10.0.0.8/x"}, "url", "resolves to a non-public address (10.0.0.8)"),
    ({"url": "https://169.254.169.254/x"}, "url", "non-public address (169.254.169.254)"),
    ({"url": "https://[ff02::1]/x"}, "url", "non-public address (ff02::1)"),
    ({"url": "https://no-such-name.invalid/x"}, "url", "does not resolve"),
    ({"url": "https://93.184.216.34/\x00"}, "url", "must be an absolute https:// URL"),
    ({"url": GOOD + "a" * 2048}, "url", "must be at most 2048 characters"),
    ({"url": GOOD, "types": []}, "types", "must be a non-empty list of distinct event types"),
    ({"url": GOOD, "types": "Created"}, "types", "must be a non-empty list"),
    ({"url": GOOD, "types": ["Created", "Created"]}, "types", "distinct event types"),
    ({"url": GOOD, "types": ["Reached"]}, "types", "(Created, Deleted, StatusChanged, Updated)"),
    ({"url": GOOD, "projectId": ""}, "projectId", "must not be empty"),
    ({"url": GOOD, "projectId": 5}, "projectId", "must be a string"),
    ({"url": GOOD, "projectId": "x" * 101}, "projectId", "must be at most 100 characters"),
    ({"url": GOOD, "enabled": False}, "enabled", "is not a webhook field"),
    ({"url": GOOD, "secret": "whsec_x"}, "secret", "is not a webhook field"),
    ([GOOD], "", "must be a JSON object"),
]
BAD_PATCHES: list[tuple[Any, str, str]] = [
    ({"url": "http://93.184.216.34/x"}, "url", "must be an https:// URL"),
    ({"url": "https://192.168.0.1/x"}, "url", "non-public address (192.168.0.1)"),
    ({"url": None}, "url", "must be a string"),
    ({"types": None}, "types", "must be a non-empty list"),
    ({"types": ["Updated", "Nope"]}, "types", "distinct event types"),
    ({"projectId": " "}, "projectId", "must not be empty"),
    ({"enabled": "true"}, "enabled", "must be true or false"),
    ({"enabled": 1}, "enabled", "must be true or false"),
    ({"id": "wh_other"}, "id", "is not a webhook field"),
    ("enabled", "", "must be a JSON object"),
]


@pytest.fixture(scope="module")
def client(shared_service: Service) -> testing.TestClient:
    return testing.TestClient(
        create_app(
            shared_service.milestones, shared_service.reads, webhooks=shared_service.webhooks
        )
    )


@pytest.fixture(scope="module")
def webhook(client: testing.TestClient) -> dict[str, Any]:
    result = client.simulate_post("/api/webhooks", json={"url": GOOD, "types": ["Created"]})
    assert result.status_code == 201, result.json
    return result.json["data"]  # type: ignore[no-any-return]


def _rejected(result: testing.Result, field: str, message: str) -> None:
    assert result.status_code == 400, result.text
    assert result.headers["Content-Type"] == "application/problem+json"
    errors = result.json["errors"]
    assert [error["field"] for error in errors] == [field], errors
    assert message in errors[0]["message"], errors


@pytest.mark.parametrize(("body", "field", "message"), BAD_BODIES)
def test_bad_subscriptions(client: testing.TestClient, body: Any, field: str, message: str) -> None:
    before = client.simulate_get("/api/webhooks").json
    _rejected(client.simulate_post("/api/webhooks", json=body), field, message)
    assert client.simulate_get("/api/webhooks").json == before


@pytest.mark.parametrize(("body", "field", "message"), BAD_PATCHES)
def test_bad_changes(
    client: testing.TestClient, webhook: dict[str, Any], body: Any, field: str, message: str
) -> None:
    path = f"/api/webhooks/{webhook['id']}"
    before = client.simulate_get(path).json
    _rejected(client.simulate_patch(path, json=body), field, message)
    assert (
        client.simulate_get(path).json
        == before
        == {"data": {k: v for k, v in webhook.items() if k != "secret"}}
    )


@pytest.mark.parametrize(
    ("method", "suffix", "query"),
    [
        ("GET", "", "limit=5"),
        ("POST", "", "dryRun=1"),
        ("GET", "/{id}", "verbose=1"),
        ("PATCH", "/{id}", "force=1"),
        ("DELETE", "/{id}", "force=1"),
        ("GET", "/{id}/deliveries", "after=0"),
    ],
)
def test_undefined_query_parameters(
    client: testing.TestClient, webhook: dict[str, Any], method: str, suffix: str, query: str
) -> None:
    path = "/api/webhooks" + suffix.replace("{id}", webhook["id"])
    body = {"url": GOOD} if method == "POST" else {} if method == "PATCH" else None
    result = client.simulate_request(method, path, query_string=query, json=body)
    _rejected(result, query.partition("=")[0], "is not a query parameter of this route")


@pytest.mark.parametrize(
    ("query", "message"),
    [("limit=0", "1"), ("limit=1001", "1000"), ("limit=x", "whole number"), ("limit=", "empty")],
)
def test_bad_delivery_log_limits(
    client: testing.TestClient, webhook: dict[str, Any], query: str, message: str
) -> None:
    path = f"/api/webhooks/{webhook['id']}/deliveries"
    _rejected(client.simulate_get(path, query_string=query), "limit", message)


def test_unknown_subscriptions_are_404(client: testing.TestClient) -> None:
    for method, path in [
        ("GET", "/api/webhooks/wh_nope"),
        ("PATCH", "/api/webhooks/wh_nope"),
        ("DELETE", "/api/webhooks/wh_nope"),
        ("GET", "/api/webhooks/wh_nope/deliveries"),
    ]:
        result = client.simulate_request(method, path, json={} if method == "PATCH" else None)
        assert (result.status_code, result.json["detail"]) == (404, "no webhook has this id")


def test_writes_need_a_read_write_token(shared_service: Service) -> None:
    auth = BearerAuth(
        {"rw-token": Token("writer"), "ro-token": Token("reader", read_only=True)},
        protect_metrics=False,
    )
    client = testing.TestClient(
        create_app(
            shared_service.milestones, shared_service.reads,
            webhooks=shared_service.webhooks, auth=auth,
        )
    )  # fmt: skip
    read_only = {"Authorization": "Bearer ro-token"}
    read_write = {"Authorization": "Bearer rw-token"}
    assert client.simulate_get("/api/webhooks").status_code == 401
    assert client.simulate_post("/api/webhooks", json={"url": GOOD}).status_code == 401
    assert client.simulate_get("/api/webhooks", headers=read_only).status_code == 200
    refused = client.simulate_post("/api/webhooks", json={"url": GOOD}, headers=read_only)
    assert refused.status_code == 403
    created = client.simulate_post("/api/webhooks", json={"url": GOOD}, headers=read_write)
    assert created.status_code == 201
    path = f"/api/webhooks/{created.json['data']['id']}"
    for method in ("PATCH", "DELETE"):
        body = {"enabled": False} if method == "PATCH" else None
        result = client.simulate_request(method, path, json=body, headers=read_only)
        assert result.status_code == 403
    assert client.simulate_delete(path, headers=read_write).status_code == 200
