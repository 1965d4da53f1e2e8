"""The WSGI application, built from ready parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import orjson

from adapters.contract.docs import DOCS_ASSETS
from adapters.contract.models import NoQuery
from adapters.contract.openapi import OpenApiResource
from adapters.contract.validation import parse_query
from adapters.http import live_tail, problems
from adapters.http.audit import EventsResource, HistoryResource
from adapters.http.audit_chain import ChainHeadResource, CheckpointResource
from adapters.http.docs import DocsAssetResource, DocsResource, RootResource
from adapters.http.identity import ActorHeader
from adapters.http.insights import ProgressResource, SummaryResource
from adapters.http.middleware import BearerAuth, RequestContext
from adapters.http.milestones import MilestoneResource, MilestonesResource
from adapters.http.operations import HealthResource, MetricsResource, ReadyResource
from adapters.http.projects import ProjectsResource
from adapters.http.schedule import (
    ChangesResource,
    MilestoneScheduleResource,
    ProjectScheduleResource,
)
from adapters.http.webhooks import (
    DeliveriesResource,
    WebhookResource,
    Webhooks,
    WebhooksResource,
)
from adapters.storage.faults import FaultEpisodes
from domain.ids import from_public_id

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from adapters.http.metrics import Metrics
    from adapters.storage.chain import AuditChain
    from adapters.webhooks.store import WebhookStore
    from domain.application import Milestones
    from projections.ports import Reads


_EXPOSED = ["ETag", "Location", "X-Request-Id"]
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _add_route(app: falcon.App[falcon.Request, falcon.Response], path: str, resource: Any) -> None:
    """A route that answers HEAD as it answers GET (Falcon sends no body for HEAD), and
    OPTIONS with a 204 whose ``Allow`` is the 405's (contract section 12)."""
    if hasattr(resource, "on_get"):
        resource.on_head = resource.on_get
    # Falcon's 405 lists every method the resource has a responder for, sorted.
    allowed = ", ".join(
        m for m in _METHODS if m == "OPTIONS" or hasattr(resource, f"on_{m.lower()}")
    )

    def on_options(req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        parse_query(NoQuery, req.params)
        if "milestone_id" in params:
            from_public_id(params["milestone_id"])  # no such path for a malformed id: a 404
        if params.get("asset", next(iter(DOCS_ASSETS))) not in DOCS_ASSETS:
            raise falcon.HTTPNotFound(description="the reference page has no such file")
        resp.status = falcon.HTTP_204
        resp.set_header("Allow", allowed)

    resource.on_options = on_options
    app.add_route(path, resource)


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
    tail: live_tail.LiveTail | None = None,
    chain: AuditChain | None = None,
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
    live_tail.install(app)
    tail = tail or live_tail.polling_tail(reads, metrics=metrics)
    routes: dict[str, Any] = {
        "/api/milestones": MilestonesResource(milestones, reads, body_timeout),
        "/api/milestones/{milestone_id}": MilestoneResource(milestones, reads, body_timeout),
        "/api/milestones/{milestone_id}/history": HistoryResource(reads),
        "/api/events": EventsResource(reads, tail),
        "/api/events/stream": live_tail.StreamResource(tail),
        "/api/projects": ProjectsResource(reads),
        "/api/projects/{project_id}/summary": SummaryResource(reads),
        "/api/projects/{project_id}/progress": ProgressResource(reads),
        "/api/milestones/{milestone_id}/schedule": MilestoneScheduleResource(reads),
        "/api/projects/{project_id}/schedule": ProjectScheduleResource(reads),
        "/api/projects/{project_id}/changes": ChangesResource(reads),
        "/openapi.json": OpenApiResource(),
        "/docs": DocsResource(),
        "/docs/{asset}": DocsAssetResource(),
        "/": RootResource(),
        "/health": HealthResource(),
        "/ready": ReadyResource(reads, faults),
    }
    if webhooks is not None:
        hooks = Webhooks(
            webhooks, reads, allow_private=allow_private_webhooks, body_timeout=body_timeout
        )
        routes["/api/webhooks"] = WebhooksResource(hooks)
        routes["/api/webhooks/{webhook_id}"] = WebhookResource(hooks)
        routes["/api/webhooks/{webhook_id}/deliveries"] = DeliveriesResource(hooks)
    if chain is not None:
        routes["/api/audit/head"] = ChainHeadResource(chain)
        routes["/api/audit/checkpoint"] = CheckpointResource(chain)
    if metrics is not None:
        routes["/metrics"] = MetricsResource(metrics)
    for path, resource in routes.items():
        _add_route(app, path, resource)
    return app
