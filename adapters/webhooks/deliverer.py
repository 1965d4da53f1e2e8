"""The delivery process: one leader at a time, one thread per subscription.

A deliverer takes the lease (a row with a holder and an expiry, renewed every second);
while it holds it, each enabled subscription has a thread of its own that delivers the
subscription's events one by one, in log order, each attempt's outcome committed before
the next starts. So a slow or dead receiver only ever holds up its own thread, a crash
repeats at most the attempts in flight, and another deliverer takes over when the lease
runs out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import orjson

from adapters.webhooks import sender
from adapters.webhooks.committer import Committer
from adapters.webhooks.store import WebhookNotFound
from projections.events import feed_document
from projections.ports import EventFilter
from projections.records import Record, event_type

if TYPE_CHECKING:
    import httpx

    from adapters.webhooks.store import Pending, WebhookStore
    from projections.ports import Reads

log = logging.getLogger(__name__)
BATCH = 200  # events read at once for one subscription
REFRESH = 0.25  # seconds a subscription's thread trusts what it last read of it


@dataclass(frozen=True)
class DeliveryConfig:
    retry_seconds: float = 5.0
    give_up_seconds: float = 86_400.0
    allow_private: bool = False
    lease_seconds: float = 3.0  # another deliverer takes over this long after one dies
    poll_seconds: float = 0.02  # how often the leader looks for new events


@dataclass
class _Page:
    """What one subscription's thread keeps between attempts."""

    webhook_id: str
    pending: Pending | None = None
    refreshed: float = 0.0
    project_id: str | None = None
    records: list[Record] = field(default_factory=list)


class DeliveryMetrics:
    """Deliveries by outcome and retries; under gunicorn they join the workers' metrics."""

    def __init__(self) -> None:
        from prometheus_client import Counter  # noqa: PLC0415 - after the directory is set

        self.deliveries = Counter(
            "milestones_webhook_deliveries_total",
            "Webhook delivery attempts by outcome (delivered, failed, refused).",
            ["outcome"],
        )
        self.retries = Counter(
            "milestones_webhook_retries_total", "Webhook attempts that repeated a failed one."
        )

    def count(self, outcome_error: str | None, delivered: bool, attempt: int) -> None:
        kind = "delivered" if delivered else "refused" if (outcome_error or "").startswith(
            "refused"
        ) else "failed"  # fmt: skip
        self.deliveries.labels(kind).inc()
        if attempt > 1:
            self.retries.inc()


class Deliverer:
    def __init__(
        self,
        store: WebhookStore,
        reads: Reads,
        config: DeliveryConfig,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._store = store
        self._reads = reads
        self._config = config
        self._metrics = metrics
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._head = 0
        self._moved = threading.Condition()
        self._leading = threading.Event()
        self._workers: dict[str, threading.Thread] = {}

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set: lead while holding the lease, else wait for it."""
        try:
            while not stop.is_set():
                if self._store.take_lease(self.holder, self._config.lease_seconds):
                    log.info("deliverer %s holds the lease", self.holder)
                    self._lead(stop)
                else:
                    stop.wait(self._config.lease_seconds / 3)
        finally:
            self._leading.clear()
            self._wake()
            for worker in list(self._workers.values()):
                worker.join()
            try:
                self._store.release_lease(self.holder)
            except Exception:
                log.warning("could not release the lease", exc_info=True)

    def _lead(self, stop: threading.Event) -> None:
        self._committer = Committer(
            self._store,
            self.holder,
            retry=self._config.retry_seconds,
            give_up=self._config.give_up_seconds,
        )
        try:
            self._leading_until(stop)
        finally:
            self._committer.stop()

    def _leading_until(self, stop: threading.Event) -> None:
        self._leading.set()
        renewed = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now - renewed >= self._config.lease_seconds / 3:
                if not self._store.take_lease(self.holder, self._config.lease_seconds):
                    log.warning("deliverer %s lost the lease", self.holder)
                    break
                renewed = now
            self._start_workers()
            head = self._reads.lag()[1]
            if head != self._head:
                self._head = head
                self._wake()
            stop.wait(self._config.poll_seconds)
        self._leading.clear()
        self._wake()
        for worker in list(self._workers.values()):
            worker.join()
        self._workers.clear()

    def _wake(self) -> None:
        with self._moved:
            self._moved.notify_all()

    def _wait(self, seconds: float) -> None:
        with self._moved:
            self._moved.wait(seconds)

    def _start_workers(self) -> None:
        for name, worker in list(self._workers.items()):
            if not worker.is_alive():
                del self._workers[name]
        for subscription in self._store.subscriptions():
            if subscription.enabled and subscription.id not in self._workers:
                worker = threading.Thread(
                    target=self._deliver, args=(subscription.id,), name=subscription.id, daemon=True
                )
                self._workers[subscription.id] = worker
                worker.start()

    def _deliver(self, webhook_id: str) -> None:
        """Deliver one subscription's events while leading and while it stays enabled."""
        read = _Page(webhook_id)  # events read ahead, kept while the filter stays the same
        with sender.new_client() as client:
            while self._leading.is_set():
                try:
                    if not self._step(client, read):
                        return
                except WebhookNotFound:
                    return
                except Exception:
                    log.exception("delivery to %s failed; trying again", webhook_id)
                    self._wait(1.0)

    def _step(self, client: httpx.Client, read: _Page) -> bool:
        """One attempt, or a wait for events or for the next try; False to stop the thread.

        ``read`` holds the events read ahead for the subscription's project filter and the
        subscription as last read, which is read afresh at least every ``REFRESH`` seconds
        (so a change, a disable or a delete counts within that time) and after anything
        but a delivery.
        """
        pending = read.pending
        if pending is None or time.monotonic() - read.refreshed > REFRESH:
            pending = read.pending = self._store.pending(read.webhook_id)
            read.refreshed = time.monotonic()
        sub = pending.subscription
        if not sub.enabled:
            return False
        delay = pending.next_try - time.time()
        if delay > 0:
            self._wait(min(delay, 0.5))
            return True
        head = self._head
        records = self._read_ahead(read, sub.position, sub.project_id)
        wanted = [record for record in records if event_type(record[3]) in sub.types]
        read.pending = None
        if not wanted:
            # Every event up to the last one read was looked at; with none read (afresh,
            # after ``head`` was), every event up to the head.
            last = records[-1][0] if records else head
            if last > sub.position:
                self._store.pass_over(self.holder, sub.id, sub.position, last)
            else:
                self._wait(0.5)
            return True
        record = wanted[0]
        body = orjson.dumps(feed_document(record))
        outcome = sender.attempt(
            client, pending, record[0], body, allow_private=self._config.allow_private
        )
        recorded = self._committer.record(pending, outcome)
        if recorded and self._metrics is not None:
            self._metrics.count(outcome.error, outcome.delivered, outcome.attempt)
        if recorded and outcome.delivered:  # the progress this thread just wrote
            moved = replace(sub, position=outcome.position, attempt=0)
            read.pending = replace(pending, subscription=moved, next_try=0.0, failing_since=None)
        return recorded or self._leading.is_set()

    def _read_ahead(self, read: _Page, position: int, project_id: str | None) -> list[Record]:
        """The events after ``position`` (a page of them): from ``read`` while it has some
        for this project filter, else from the log."""
        if read.project_id == project_id:
            read.records = [record for record in read.records if record[0] > position]
            if read.records:
                return read.records
        read.project_id = project_id
        read.records = self._reads.events(position, BATCH, EventFilter(project_id=project_id))
        return read.records
