"""How far each subscription is behind the log, read from storage at scrape time."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from projections.events import feed_document
from projections.ports import EventFilter

if TYPE_CHECKING:
    from collections.abc import Iterator

    from adapters.webhooks.store import WebhookStore
    from projections.ports import Reads


class WebhookLag:
    """``milestones_webhook_lag_events`` and ``_seconds`` (the age of the oldest event not yet
    delivered), by subscription; correct whichever process or host delivers."""

    def __init__(self, webhooks: WebhookStore, reads: Reads) -> None:
        self._webhooks = webhooks
        self._reads = reads

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        try:
            head = self._reads.lag()[1]
            subscriptions = self._webhooks.subscriptions()
        except Exception:  # noqa: BLE001 - the other metrics still matter without storage
            return
        events = GaugeMetricFamily(
            "milestones_webhook_lag_events",
            "Events in the log after a subscription's position.",
            labels=["webhook", "enabled"],
        )
        seconds = GaugeMetricFamily(
            "milestones_webhook_lag_seconds",
            "Age of the first event after a subscription's position; 0 when none is.",
            labels=["webhook", "enabled"],
        )
        for sub in subscriptions:
            labels = [sub.id, str(sub.enabled).lower()]
            events.add_metric(labels, head - sub.position)
            age = 0.0
            if head > sub.position:
                following = self._reads.events(sub.position, 1, EventFilter())
                if following:
                    occurred = feed_document(following[0])["occurredAt"]
                    age = max(0.0, time.time() - datetime.fromisoformat(occurred).timestamp())
            seconds.add_metric(labels, age)
        yield events
        yield seconds
