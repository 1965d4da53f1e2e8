"""The WSGI application, built from ready parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import orjson

from adapters.http import problems
from adapters.http.audit import EventsResource, HistoryResource
from adapters.http.identity import ActorHeader
from adapters.http.insights import ProgressResource, SummaryResource
from adapters.http.middleware import BearerAuth, RequestContext
from adapters.http.milestones import MilestoneResource, MilestonesResource
from adapters.http.openapi import OpenApiResource
from adapters.http.operations import HealthResource, MetricsResource, ReadyResource
from adapters.http.webhooks import (
    DeliveriesResource,
    WebhookResource,
    Webhooks,
    WebhooksResource,
)
from adapters.storage_faults import FaultEpisodes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from adapters.http.metrics import Metrics
    from adapters.webhooks.store import WebhookStore
    from domain.application import Milestones
    from projections.ports import Reads


_EXPOSED = ["ETag", "Location", "X-Request-Id"]


class _Cors(falcon.CORSMiddleware):  # type: ignore[type-arg]
    """Falcon's CORS, plus ``Vary: Origin``: the answer depends on the caller's origin."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        super().process_response(req, resp, resource, req_succeeded)
        resp.append_header("Vary", "Origin")


def create_app(
    milestones: Milestones,
    reads: Reads,
    *,
    metrics: Metrics | None = None,
    access_log: Callable[[bytes], object] | None = None,
    auth: BearerAuth | None = None,
    cors_origins: Sequence[str] = (),
    body_timeout: float = 10.0,
    faults: FaultEpisodes | None = None,
    actor_header: str | None = None,
    webhooks: WebhookStore | None = None,
    allow_private_webhooks: bool = False,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application over ready-built parts.

    The actor of a request is its token's name under ``auth``; without ``auth``, the value
    of ``actor_header`` (set by an authenticating proxy), if named.
    """
    middleware: list[Any] = [RequestContext(metrics, access_log)]
    if cors_origins:
        middleware.append(_Cors(allow_origins=list(cors_origins), expose_headers=_EXPOSED))
    if auth is not None:
        middleware.append(auth)
    elif actor_header is not None:
        middleware.append(ActorHeader(actor_header))
    app = falcon.App(media_type=falcon.MEDIA_JSON, middleware=middleware)
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    # "status=" is a bad filter, not an absent one.
    app.req_options.keep_blank_qs_values = True
    faults = faults or FaultEpisodes()
    problems.install(app, faults)
    milestone = MilestoneResource(milestones, reads, body_timeout)
    app.add_route("/api/milestones", MilestonesResource(milestones, reads, body_timeout))
    app.add_route("/api/milestones/{milestone_id}", milestone)
    app.add_route("/api/milestones/{milestone_id}/history", HistoryResource(reads))
    app.add_route("/api/events", EventsResource(reads))
    app.add_route("/api/projects/{project_id}/summary", SummaryResource(reads))
    app.add_route("/api/projects/{project_id}/progress", ProgressResource(reads))
    if webhooks is not None:
        hooks = Webhooks(
            webhooks, reads, allow_private=allow_private_webhooks, body_timeout=body_timeout
        )
        app.add_route("/api/webhooks", WebhooksResource(hooks))
        app.add_route("/api/webhooks/{webhook_id}", WebhookResource(hooks))
        app.add_route("/api/webhooks/{webhook_id}/deliveries", DeliveriesResource(hooks))
    app.add_route("/openapi.json", OpenApiResource())
    app.add_route("/health", HealthResource())
    app.add_route("/ready", ReadyResource(reads, faults))
    if metrics is not None:
        app.add_route("/metrics", MetricsResource(metrics))
    return app
