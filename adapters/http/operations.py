"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import orjson

from adapters.contract.models import NoQuery
from adapters.contract.validation import parse_query
from adapters.http.metrics import CONTENT_TYPE
from adapters.http.problems import FAULT_TYPES, PROBLEM_JSON, problem_body
from adapters.storage.faults import FaultEpisodes, classify

if TYPE_CHECKING:
    from adapters.http.metrics import Metrics
    from projections.ports import Reads

# The view is written with the events, so any lag means it is being caught up.
MAX_READY_LAG = 0


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        resp.data = b'{"data":{"status":"ok"}}'


class ReadyResource:
    def __init__(self, reads: Reads, faults: FaultEpisodes | None = None) -> None:
        self._reads = reads
        self._faults = faults or FaultEpisodes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        try:
            position, head = self._reads.lag()
        except Exception as error:  # noqa: BLE001 - any storage failure means "not ready"
            resp.status = falcon.HTTP_503
            resp.content_type = PROBLEM_JSON
            cause = classify(error)  # the reason itself goes to the log, not to the world
            resp.data = problem_body(503, cause.value, type=FAULT_TYPES[cause])
            return
        lag = head - position
        body = {"position": position, "head": head, "lag": lag}
        fault = self._faults.check()
        if fault is not None:
            # Reads still work, but a load balancer should send writes elsewhere.
            resp.status = falcon.HTTP_503
            resp.content_type = PROBLEM_JSON
            resp.data = problem_body(503, fault.value, type=FAULT_TYPES[fault], **body)
            return
        if lag > MAX_READY_LAG:
            resp.status = falcon.HTTP_503
            resp.content_type = PROBLEM_JSON
            resp.data = problem_body(503, f"the read model is {lag} events behind", **body)
            return
        resp.data = orjson.dumps({"data": {"status": "ready", **body}})


class MetricsResource:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        resp.content_type = CONTENT_TYPE
        resp.data = self._metrics.exposition()
