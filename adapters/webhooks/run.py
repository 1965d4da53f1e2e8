"""``milestones deliver``: one deliverer process, until SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING

from adapters.bootstrap import open_store, open_webhooks
from adapters.settings import Settings
from adapters.webhooks.deliverer import Deliverer, DeliveryConfig, DeliveryMetrics

if TYPE_CHECKING:
    import argparse


def deliver(args: argparse.Namespace) -> int:
    """Deliver webhooks until SIGTERM or SIGINT; one process at a time holds the lease."""
    settings = Settings.from_environ()
    store = open_store(settings)
    webhooks = open_webhooks(settings)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if os.environ.get("MILESTONES_DELIVER_BESIDE") == str(os.getppid()):
        # Started by a server: stop when it is gone, even if it was killed outright.
        threading.Thread(target=_stop_with_parent, args=(stop,), daemon=True).start()
    try:
        Deliverer(webhooks, store.reads, delivery_config(settings), DeliveryMetrics()).run(stop)
    finally:
        webhooks.close()
        store.close()
    return 0


def _stop_with_parent(stop: threading.Event) -> None:
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            stop.set()


def delivery_config(settings: Settings) -> DeliveryConfig:
    return DeliveryConfig(
        retry_seconds=settings.webhook_retry_seconds,
        give_up_seconds=settings.webhook_give_up_seconds,
        allow_private=settings.webhook_allow_private,
    )
