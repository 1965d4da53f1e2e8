"""Webhooks over the app in-process and a deliverer thread, to real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from falcon import testing

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.settings import Settings
from adapters.webhooks.deliverer import Deliverer, DeliveryConfig
from tests.webhook_receiver import Receiver, verify

if TYPE_CHECKING:
    from collections.abc import Iterator

    from adapters.bootstrap import Service

FAST = DeliveryConfig(
    retry_seconds=0.05, give_up_seconds=60, allow_private=True, lease_seconds=1.0,
    poll_seconds=0.01,
)  # fmt: skip
ALL_TYPES = ["Created", "Updated", "StatusChanged", "Deleted"]


class Hooks:
    """The API with private targets allowed, and deliverers started on demand."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.client = testing.TestClient(
            create_app(
                service.milestones, service.reads, webhooks=service.webhooks,
                allow_private_webhooks=True,
            )
        )  # fmt: skip

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        result = self.client.simulate_request(method, path, json=body)
        return result.status_code, result.json if result.content else None

    def subscribe(self, url: str, **fields: Any) -> dict[str, Any]:
        status, body = self.call("POST", "/api/webhooks", {"url": url, **fields})
        assert status == 201, body
        return body["data"]  # type: ignore[no-any-return]

    def create(self, project: str = "proj_hooks", title: str = "Beta") -> str:
        status, body = self.call("POST", "/api/milestones", {"projectId": project, "title": title})
        assert status == 201, body
        return body["data"]["id"]  # type: ignore[no-any-return]

    def feed(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/events?limit=1000")[1]["data"]  # type: ignore[no-any-return]

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        status, body = self.call("GET", f"/api/webhooks/{webhook_id}/deliveries")
        assert status == 200, body
        return body["data"]  # type: ignore[no-any-return]

    @contextmanager
    def deliverer(self, config: DeliveryConfig = FAST) -> Iterator[Deliverer]:
        deliverer = Deliverer(self.service.webhooks, self.service.reads, config)
        stop = threading.Event()
        thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
        thread.start()
        try:
            yield deliverer
        finally:
            stop.set()
            thread.join(10)
            assert not thread.is_alive()


@pytest.fixture
def hooks(database_url: str) -> Iterator[Hooks]:
    service = open_service(Settings(database_url=database_url))
    yield Hooks(service)
    service.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_each_event_arrives_signed_as_the_feed_shows_it(hooks: Hooks, receiver: Receiver) -> None:
    webhook = hooks.subscribe(receiver.url)
    assert webhook["secret"].startswith("whsec_")
    milestone = hooks.create()
    assert hooks.call("PATCH", f"/api/milestones/{milestone}", {"status": "reached"})[0] == 200
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 2)
    feed = hooks.feed()
    assert [verify(webhook["secret"], r) for r in receiver.requests] == feed
    assert [r.event["position"] for r in receiver.requests] == [e["position"] for e in feed]
    for received in receiver.requests:
        assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60
        assert received.headers["webhook-signature"].startswith("v1,")
    assert len(set(receiver.ids())) == 2
    log = hooks.deliveries(webhook["id"])
    assert [(d["position"], d["attempt"], d["status"], d["error"]) for d in log] == [
        (feed[1]["position"], 1, 204, None),
        (feed[0]["position"], 1, 204, None),
    ]


def test_events_before_the_subscription_are_not_sent(hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(title="Before")
    hooks.subscribe(receiver.url)
    after = hooks.create(title="After")
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 1)
        time.sleep(0.2)
    assert [r.event["milestoneId"] for r in receiver.requests] == [after]


def test_each_subscription_signs_with_its_own_secret(hooks: Hooks, receiver: Receiver) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError  # noqa: PLC0415

    secrets = {
        "/hooks/a": hooks.subscribe(receiver.url + "/a")["secret"],
        "/hooks/b": hooks.subscribe(receiver.url + "/b")["secret"],
    }
    hooks.create()
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 2)
    assert sorted(r.path for r in receiver.requests) == ["/hooks/a", "/hooks/b"]
    for received in receiver.requests:
        assert verify(secrets[received.path], received)["type"] == "Created"
        other = secrets["/hooks/b" if received.path == "/hooks/a" else "/hooks/a"]
        with pytest.raises(WebhookVerificationError):
            verify(other, received)
    first = receiver.requests[0]
    tampered = type(first)(first.path, first.headers, first.body.replace(b"Beta", b"Beto"), 0)
    with pytest.raises(WebhookVerificationError):
        verify(secrets[first.path], tampered)


def test_types_and_project_filter_what_is_delivered(hooks: Hooks, receiver: Receiver) -> None:
    hooks.subscribe(receiver.url + "/status", types=["StatusChanged"])
    hooks.subscribe(receiver.url + "/mine", projectId="proj_mine")
    hooks.subscribe(receiver.url + "/both", types=["Deleted"], projectId="proj_mine")
    mine, other = hooks.create("proj_mine"), hooks.create("proj_other")
    for milestone in (mine, other):
        hooks.call("PATCH", f"/api/milestones/{milestone}", {"status": "reached"})
        hooks.call("DELETE", f"/api/milestones/{milestone}")
    last = hooks.create("proj_last")  # every subscription is past it when the test looks
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 6)
        time.sleep(0.3)
    by_path: dict[str, list[tuple[str, str]]] = {}
    for received in receiver.requests:
        event = received.event
        by_path.setdefault(received.path, []).append((event["milestoneId"], event["type"]))
    assert by_path == {
        "/hooks/status": [(mine, "StatusChanged"), (other, "StatusChanged")],
        "/hooks/mine": [(mine, "Created"), (mine, "StatusChanged"), (mine, "Deleted")],
        "/hooks/both": [(mine, "Deleted")],
    }
    assert last not in {pair[0] for pairs in by_path.values() for pair in pairs}
    head = hooks.feed()[-1]["position"]
    assert {sub.position for sub in hooks.service.webhooks.subscriptions()} == {head}


def test_failures_are_retried_in_order_with_the_same_id(hooks: Hooks, receiver: Receiver) -> None:
    failures: dict[str, int] = {}

    def flaky(received: Any) -> int:
        failures[received.id] = failures.get(received.id, 0) + 1
        return 503 if failures[received.id] <= 2 else 200

    receiver.answer = flaky
    webhook = hooks.subscribe(receiver.url)
    milestones = [hooks.create(title=f"M{n}") for n in range(4)]
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 12)
    ids = receiver.ids()
    # Three attempts at each event, all of one event before any of the next.
    assert ids == [ident for ident in dict.fromkeys(ids) for _ in range(3)]
    assert [e["milestoneId"] for e in receiver.delivered()] == milestones
    log = hooks.deliveries(webhook["id"])
    assert [(d["attempt"], d["status"]) for d in log[:3]] == [(3, 200), (2, 503), (1, 503)]
    assert log[1]["error"] == "HTTP 503"
    assert all(d["durationMs"] >= 0 for d in log)


def test_backoff_doubles(hooks: Hooks, receiver: Receiver) -> None:
    receiver.answer = lambda received: 500
    hooks.subscribe(receiver.url)
    hooks.create()
    config = DeliveryConfig(retry_seconds=0.2, give_up_seconds=60, allow_private=True,
                            lease_seconds=1.0, poll_seconds=0.01)  # fmt: skip
    with hooks.deliverer(config):
        receiver.wait_for(lambda got: len(got) >= 4)
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    for gap, expected in zip(gaps, (0.2, 0.4, 0.8), strict=False):
        assert expected - 0.05 <= gap <= expected + 0.3, gaps


def test_give_up_disables_and_enabling_resumes(hooks: Hooks, receiver: Receiver) -> None:
    receiver.answer = lambda received: 500
    webhook = hooks.subscribe(receiver.url)
    first, second = hooks.create(title="First"), hooks.create(title="Second")
    config = DeliveryConfig(retry_seconds=0.05, give_up_seconds=0.3, allow_private=True,
                            lease_seconds=1.0, poll_seconds=0.01)  # fmt: skip
    path = f"/api/webhooks/{webhook['id']}"
    with hooks.deliverer(config):
        deadline = time.monotonic() + 10
        while hooks.call("GET", path)[1]["data"]["enabled"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        tried = len(receiver.requests)
        time.sleep(0.3)
        assert len(receiver.requests) == tried  # disabled: nothing more is tried
        assert {r.event["milestoneId"] for r in receiver.requests} == {first}
        receiver.answer = lambda received: 200
        status, body = hooks.call("PATCH", path, {"enabled": True})
        assert (status, body["data"]["enabled"]) == (200, True)
        receiver.wait_for(lambda got: len(receiver.delivered()) >= 2)
    assert [e["milestoneId"] for e in receiver.delivered()] == [first, second]
    assert hooks.deliveries(webhook["id"])[1]["attempt"] == 1  # a fresh start at the event


def test_a_slow_receiver_does_not_delay_the_others(hooks: Hooks, receiver: Receiver) -> None:
    slow = Receiver(delay=2.0).start()
    try:
        hooks.subscribe(slow.url)
        hooks.subscribe(receiver.url)
        with hooks.deliverer():
            started = time.monotonic()
            for n in range(5):
                hooks.create(title=f"M{n}")
            receiver.wait_for(lambda got: len(got) >= 5, timeout=1.5)
            assert time.monotonic() - started < 1.5
            assert len(slow.requests) <= 1
    finally:
        slow.stop()


def test_a_restarted_deliverer_goes_on_where_the_last_stopped(
    hooks: Hooks, receiver: Receiver
) -> None:
    hooks.subscribe(receiver.url)
    created = [hooks.create(title="A")]
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 1)
    created += [hooks.create(title=f"B{n}") for n in range(3)]
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 4)
        time.sleep(0.2)
    assert [e["milestoneId"] for e in receiver.delivered()] == created


def test_two_deliverers_deliver_once_and_one_takes_over(hooks: Hooks, receiver: Receiver) -> None:
    hooks.subscribe(receiver.url)
    with hooks.deliverer() as first, hooks.deliverer() as second:
        created = [hooks.create(title=f"M{n}") for n in range(5)]
        receiver.wait_for(lambda got: len(got) >= 5)
        holder = hooks.service.webhooks.lease()[0]
        assert holder in {first.holder, second.holder}
    with hooks.deliverer() as leader:
        created += [hooks.create(title="Later")]
        receiver.wait_for(lambda got: len(got) >= 6, timeout=5)
        assert hooks.service.webhooks.lease()[0] == leader.holder
    assert receiver.ids() == list(dict.fromkeys(receiver.ids()))  # none twice
    assert [e["milestoneId"] for e in receiver.delivered()] == created


def test_a_stalled_leader_is_replaced_when_its_lease_runs_out(
    hooks: Hooks, receiver: Receiver
) -> None:
    webhooks = hooks.service.webhooks
    assert webhooks.take_lease("crashed-host:1", 1.0)  # a deliverer that then died
    hooks.subscribe(receiver.url)
    hooks.create()
    started = time.monotonic()
    with hooks.deliverer() as deliverer:
        receiver.wait_for(lambda got: len(got) >= 1, timeout=5)
        assert webhooks.lease()[0] == deliverer.holder
    assert 0.5 <= receiver.requests[0].at - started <= 3.0
    # The old holder can no longer record progress.
    pending = webhooks.pending(webhooks.subscriptions()[0].id)
    from adapters.webhooks.store import Outcome  # noqa: PLC0415

    outcome = Outcome(pending.subscription.position + 1, 1, time.time(), 200, None, 1.0)
    assert not webhooks.record("crashed-host:1", pending, outcome, retry=1, give_up=10)


def test_delivery_checks_the_address_again(hooks: Hooks, receiver: Receiver) -> None:
    """Allowed when it was made, refused when delivered: no request leaves for it."""
    webhook = hooks.subscribe(receiver.url)
    hooks.create()
    strict = DeliveryConfig(retry_seconds=0.05, give_up_seconds=60, allow_private=False,
                            lease_seconds=1.0, poll_seconds=0.01)  # fmt: skip
    with hooks.deliverer(strict):
        deadline = time.monotonic() + 5
        while not hooks.deliveries(webhook["id"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    attempt = hooks.deliveries(webhook["id"])[-1]
    assert attempt["status"] is None
    assert attempt["error"].startswith("refused: must be an https:// URL")
    assert receiver.requests == []


def test_the_secret_is_shown_once(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.subscribe(receiver.url, types=["Created"])
    secret = created.pop("secret")
    hooks.create()
    with hooks.deliverer():
        receiver.wait_for(lambda got: len(got) >= 1)
    path = f"/api/webhooks/{created['id']}"
    shown = [
        hooks.call("GET", path)[1],
        hooks.call("GET", "/api/webhooks")[1],
        hooks.call("PATCH", path, {"types": ["Created", "Deleted"]})[1],
        hooks.call("GET", f"{path}/deliveries")[1],
    ]
    assert shown[0] == {"data": created}
    assert shown[1] == {"data": [created], "count": 1}
    assert shown[2] == {"data": created | {"types": ["Created", "Deleted"]}}
    assert secret not in repr(shown)
    assert secret.encode() not in receiver.requests[0].body
    assert all(secret not in value for value in receiver.requests[0].headers.values())


def test_patch_and_delete(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.subscribe(receiver.url)
    path = f"/api/webhooks/{created['id']}"
    status, body = hooks.call(
        "PATCH", path, {"url": receiver.url + "/2", "projectId": "proj_x", "enabled": False}
    )
    assert status == 200
    assert body["data"] == {k: v for k, v in created.items() if k != "secret"} | {
        "url": receiver.url + "/2", "projectId": "proj_x", "enabled": False,
    }  # fmt: skip
    assert hooks.call("PATCH", path, {"projectId": None})[1]["data"]["projectId"] is None
    assert hooks.call("DELETE", path) == (200, {"data": {"id": created["id"], "deleted": True}})
    for method in ("GET", "PATCH", "DELETE"):
        status, body = hooks.call(method, path, {} if method == "PATCH" else None)
        assert (status, body["detail"]) == (404, "no webhook has this id")
    assert hooks.call("GET", f"{path}/deliveries")[0] == 404
    assert hooks.call("GET", "/api/webhooks")[1] == {"data": [], "count": 0}


def test_subscriptions_stay_out_of_the_export(hooks: Hooks, receiver: Receiver) -> None:
    """They are configuration with a secret, not history: a restore subscribes afresh."""
    from adapters.backup import export_lines  # noqa: PLC0415

    secret = hooks.subscribe(receiver.url)["secret"]
    hooks.create()
    exported = b"".join(export_lines(hooks.service.store))
    assert exported.count(b"\n") == 1
    assert secret.encode() not in exported
    assert receiver.url.encode() not in exported
