"""The webhook resources: subscriptions and their delivery log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import orjson

from adapters.contract.models import NoQuery
from adapters.contract.validation import ValidationFailed, parse_body, parse_query
from adapters.contract.webhooks import CreateWebhook, DeliveriesQuery, UpdateWebhook, WebhookBody
from adapters.http.inputs import read_json
from adapters.webhooks import targets
from adapters.webhooks.signing import new_secret

if TYPE_CHECKING:
    from adapters.webhooks.store import WebhookStore
    from projections.ports import Reads


class Webhooks:
    """What the resources share: the store, the log's head, and the operator's URL policy."""

    def __init__(
        self, store: WebhookStore, reads: Reads, *, allow_private: bool, body_timeout: float
    ) -> None:
        self.store = store
        self.reads = reads
        self.allow_private = allow_private
        self.body_timeout = body_timeout

    def changes(self, req: falcon.Request, model: type[WebhookBody]) -> dict[str, Any]:
        changes = parse_body(
            model, read_json(req, self.body_timeout), partial=model is UpdateWebhook
        )
        if "url" in changes:
            try:
                targets.check(changes["url"], allow_private=self.allow_private)
            except targets.UnsafeTarget as refused:
                raise ValidationFailed([{"field": "url", "message": str(refused)}]) from None
        return changes


def _send(resp: falcon.Response, data: object) -> None:
    resp.data = orjson.dumps({"data": data})


class WebhooksResource:
    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        found = [subscription.document() for subscription in self._webhooks.store.subscriptions()]
        resp.data = orjson.dumps({"data": found, "count": len(found)})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        body = self._webhooks.changes(req, CreateWebhook)
        secret = new_secret()
        created = self._webhooks.store.create(
            body["url"], body["types"], body["project_id"], secret, self._webhooks.reads.lag()[1]
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/webhooks/{created.id}"
        resp.cache_control = ["no-store"]
        _send(resp, created.document() | {"secret": secret})


class WebhookResource:
    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        parse_query(NoQuery, req.params)
        _send(resp, self._webhooks.store.get(webhook_id).document())

    def on_patch(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        parse_query(NoQuery, req.params)
        changes = self._webhooks.changes(req, UpdateWebhook)
        resp.cache_control = ["no-store"]
        _send(resp, self._webhooks.store.update(webhook_id, changes).document())

    def on_delete(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        parse_query(NoQuery, req.params)
        self._webhooks.store.delete(webhook_id)
        resp.cache_control = ["no-store"]
        _send(resp, {"id": webhook_id, "deleted": True})


class DeliveriesResource:
    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        query = parse_query(DeliveriesQuery, req.params)
        attempts = self._webhooks.store.deliveries(webhook_id, query.limit)
        resp.data = orjson.dumps({"data": attempts, "count": len(attempts)})
