"""Prometheus metrics, correct across gunicorn's worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the gunicorn settings set it before any worker
starts) every worker writes its samples to files there and a scrape adds them up; without
it, as in tests, the process's own registry serves. prometheus_client decides between the
two when it is first imported, hence the imports inside the functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from eventsourcing.persistence import Recording

    from adapters.webhooks.store import WebhookStore
    from projections.ports import Reads

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Commands in one batch: at most the write queue's 64.
BATCH_SIZE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# A batch's hold of the writer lock: well under a millisecond is the aim.
LOCK_HOLD_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128)


class Metrics:
    def __init__(self, reads: Reads, webhooks: WebhookStore | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram  # noqa: PLC0415

        from adapters.webhooks.lag import WebhookLag  # noqa: PLC0415

        self._lag = _ViewLag(reads)
        self._webhook_lag = None if webhooks is None else WebhookLag(webhooks, reads)
        self._own_registry = CollectorRegistry()
        self._own_registry.register(self._lag)
        if self._webhook_lag is not None:
            self._own_registry.register(self._webhook_lag)
        self.requests = Counter(
            "milestones_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self._own_registry,
        )
        self.latency = Histogram(
            "milestones_http_request_duration_seconds",
            "Time from request to response, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self._own_registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.batch_size = Histogram(
            "milestones_write_batch_size",
            "Write commands decided and recorded together in one transaction.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=self._own_registry,
        )
        self.lock_hold = Histogram(
            "milestones_writer_lock_hold_seconds",
            "Time a batch of writes held the writer lock: deciding, recording, committing.",
            buckets=LOCK_HOLD_BUCKETS,
            registry=self._own_registry,
        )
        self.events = Counter(
            "milestones_events_appended_total",
            "Events appended to the log by this service, by type.",
            ["type"],
            registry=self._own_registry,
        )
        self.streams_open = Gauge(
            "milestones_streams_open",
            "Live streams and long polls of the event feed open now.",
            multiprocess_mode="livesum",
            registry=self._own_registry,
        )
        self.stream_events = Counter(
            "milestones_stream_events_sent_total",
            "Events sent on live streams of the event feed.",
            registry=self._own_registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # Label lookups cost more than the increments; each combination is looked up once.
        # Methods are the client's words: only known ones become label values.
        method = method if method in KNOWN_METHODS else "other"
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, commands: int, held_seconds: float) -> None:
        self.batch_size.observe(commands)
        self.lock_hold.observe(held_seconds)

    def count_events(self, recordings: list[Recording[Any]]) -> None:
        for recording in recordings:
            self.events.labels(type(recording.domain_event).__name__).inc()

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest  # noqa: PLC0415
        from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

        registry = self._own_registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Every worker's samples, added up, and the lag as seen by this one.
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self._lag)
            if self._webhook_lag is not None:
                registry.register(self._webhook_lag)
        return generate_latest(registry)


class _ViewLag:
    """The read model's position and lag, read from storage at scrape time."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        try:
            position, head = self._reads.lag()
        except Exception:  # noqa: BLE001 - the request counters still matter without storage
            return
        yield GaugeMetricFamily(
            "milestones_view_position", "Position of the last event in the view.", position
        )
        yield GaugeMetricFamily("milestones_log_head", "Position of the log's last event.", head)
        yield GaugeMetricFamily(
            "milestones_view_lag_events", "Events in the log not yet in the view.", head - position
        )
