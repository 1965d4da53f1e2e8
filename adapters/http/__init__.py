"""The Falcon HTTP adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import orjson

from adapters.http import problems
from adapters.http.audit import EventsResource, HistoryResource
from adapters.http.milestones import MilestoneResource, MilestonesResource
from adapters.http.operations import HealthResource, ReadyResource

if TYPE_CHECKING:
    from adapters.storage import Reads
    from domain.application import Milestones


def create_app(milestones: Milestones, reads: Reads) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application over ready-built parts."""
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    # "status=" is a bad filter, not an absent one.
    app.req_options.keep_blank_qs_values = True
    problems.install(app)
    app.add_route("/api/milestones", MilestonesResource(milestones, reads))
    app.add_route("/api/milestones/{milestone_id}", MilestoneResource(milestones, reads))
    app.add_route("/api/milestones/{milestone_id}/history", HistoryResource(reads))
    app.add_route("/api/events", EventsResource(reads))
    app.add_route("/health", HealthResource())
    app.add_route("/ready", ReadyResource(reads))
    return app
