"""``milestones deliver`` (one deliverer process, until SIGTERM or SIGINT) and
``milestones webhooks`` (each subscription's position and state)."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import open_store, open_webhooks
from adapters.cli.common import command, on_store
from adapters.cli.which_store import say
from adapters.settings import Settings
from adapters.webhooks.deliverer import Deliverer, DeliveryConfig, DeliveryMetrics

if TYPE_CHECKING:
    import argparse

    from adapters.bootstrap import Store


def deliver(args: argparse.Namespace) -> int:
    """Deliver webhooks until SIGTERM or SIGINT; one process at a time holds the lease."""
    settings = Settings.from_environ()
    store = open_store(settings)
    beside_a_server = os.environ.get("MILESTONES_DELIVER_BESIDE") == str(os.getppid())
    if not beside_a_server:  # a server has said which store it serves
        say("deliver", settings.database_url, "existing")
    webhooks = open_webhooks(settings)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if beside_a_server:
        # Stop when the server is gone, even if it was killed outright.
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


@on_store
def webhooks_status(store: Store, args: argparse.Namespace) -> int:
    webhooks = open_webhooks(Settings.from_environ())
    try:
        holder, expires = webhooks.lease()
        subscriptions = webhooks.subscriptions()
    finally:
        webhooks.close()
    head = store.reads.lag()[1]
    live = holder and expires > time.time()
    print(f"deliverer: {holder if live else 'none running'}\nlog head:  {head}")
    print(f"{'id':<29}  {'state':<8}  {'position':>8}  {'behind':>6}  {'attempt':>7}  url")
    for sub in subscriptions:
        state = "failing" if sub.enabled and sub.attempt else "enabled" if sub.enabled else (
            "disabled")  # fmt: skip
        print(
            f"{sub.id:<29}  {state:<8}  {sub.position:>8}  {head - sub.position:>6}  "
            f"{sub.attempt:>7}  {sub.url}"
        )
    return 0


def add_commands(commands: Any) -> None:
    command(
        commands,
        "deliver",
        "Deliver webhooks",
        "One process at a time delivers; the others stand by and take over when it stops.",
    ).set_defaults(handler=deliver)
    command(
        commands, "webhooks", "Print each webhook subscription's position and state", "Read-only."
    ).set_defaults(handler=webhooks_status)
