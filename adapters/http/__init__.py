"""The Falcon HTTP adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import orjson

from adapters.http import problems
from adapters.http.resources import (
    HealthResource,
    MilestoneResource,
    MilestonesResource,
    MilestoneView,
    ReadyResource,
)

if TYPE_CHECKING:
    from domain.application import Milestones


def create_app(milestones: Milestones, view: MilestoneView) -> falcon.App:
    """The WSGI application over ready-built parts."""
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    # "status=" is a bad filter, not an absent one.
    app.req_options.keep_blank_qs_values = True
    problems.install(app)
    app.add_route("/api/milestones", MilestonesResource(milestones, view))
    app.add_route("/api/milestones/{milestone_id}", MilestoneResource(milestones, view))
    app.add_route("/health", HealthResource())
    app.add_route("/ready", ReadyResource(view))
    return app
