"""The ``milestones`` command: serve the API, and the operator's tools over the event log."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from gunicorn.app.base import BaseApplication

from adapters.backup import StoreNotEmpty, export_lines, import_lines
from adapters.bootstrap import Store, open_service, open_store, open_webhooks
from adapters.settings import Settings
from domain.ids import InvalidMilestoneId, from_public_id
from projections import runner
from projections.events import event_document


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with the project's settings; each worker builds the app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        from adapters import gunicorn_conf  # noqa: PLC0415 - it prepares the metrics directory

        settings = {
            name: value
            for name, value in vars(gunicorn_conf).items()
            if name in self.cfg.settings and value is not None
        }
        settings.update(self._options)
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from adapters.bootstrap import create_wsgi_app  # noqa: PLC0415 - built in the worker

        return create_wsgi_app()


def serve(args: argparse.Namespace) -> int:
    if args.no_deliver:
        os.environ["MILESTONES_DELIVER"] = "0"  # read by the gunicorn settings' hooks
    options: dict[str, Any] = {}
    if args.bind:
        options["bind"] = [args.bind]
    if args.workers:
        options["workers"] = args.workers
    _Gunicorn(options).run()
    return 0


Tool = Callable[[Store, argparse.Namespace], int]


def _on_store(tool: Tool) -> Callable[[argparse.Namespace], int]:
    """Run a tool on the storage named by the environment, closed afterwards.

    Only the storage is opened: no application is built and the view is left as it is,
    so a rebuild does not first catch up the view it is about to replace.
    """

    def run(args: argparse.Namespace) -> int:
        store = open_store(Settings.from_environ())
        try:
            return tool(store, args)
        finally:
            store.close()

    return run


def _progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // total if total else width
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} events",
        end="",
        file=sys.stderr,
    )


@_on_store
def rebuild(store: Store, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    events = runner.rebuild(store.view, _progress_bar if sys.stderr.isatty() else _quiet)
    seconds = time.perf_counter() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)
    rate = events / seconds if seconds else 0.0
    print(f"rebuilt the view from {events:,} events in {seconds:.2f} s ({rate:,.0f} events/s)")
    return 0


def _quiet(done: int, total: int) -> None:
    pass


@_on_store
def verify(store: Store, args: argparse.Namespace) -> int:
    differences = runner.verify(store.view)
    for public_id, live, replayed in differences:
        print(f"{public_id}\n  view:   {_json(live)}\n  replay: {_json(replayed)}")
    if differences:
        print(f"{len(differences)} milestones differ between the view and the log")
        return 1
    print("the view equals a replay of the log")
    return 0


@_on_store
def status(store: Store, args: argparse.Namespace) -> int:
    position, head = store.reads.lag()
    print(f"view position: {position}\nlog head:      {head}\nlag:           {head - position}")
    return 0


@_on_store
def history(store: Store, args: argparse.Namespace) -> int:
    try:
        milestone_id = from_public_id(args.milestone_id)
    except InvalidMilestoneId:
        print(f"not a milestone id: {args.milestone_id}", file=sys.stderr)
        return 2
    events = [
        event_document(args.milestone_id, version, topic, state)
        for version, topic, state in store.reads.history(milestone_id)
    ]
    if not events:
        print(f"no milestone has the id {args.milestone_id}", file=sys.stderr)
        return 1
    if args.json:
        print(_json(events))
        return 0
    print(f"{'version':>7}  {'occurredAt':<24}  {'type':<13}  payload")
    for event in events:
        print(
            f"{event['version']:>7}  {event['occurredAt']:<24}  {event['type']:<13}  "
            f"{_json(event['payload'])}"
        )
    return 0


@_on_store
def export(store: Store, args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for line in export_lines(store.view):
        out.write(line)
    out.flush()
    return 0


def import_(args: argparse.Namespace) -> int:
    # Import records events, so it goes through the application.
    service = open_service(Settings.from_environ())
    try:
        count = import_lines(service, sys.stdin.buffer)
    except StoreNotEmpty:
        print("the store already holds events; import goes into an empty one", file=sys.stderr)
        return 1
    finally:
        service.close()
    print(f"imported {count:,} events", file=sys.stderr)
    return 0


def deliver(args: argparse.Namespace) -> int:
    """Deliver webhooks until SIGTERM or SIGINT; one process at a time holds the lease."""
    from adapters.webhooks.deliverer import Deliverer, DeliveryMetrics  # noqa: PLC0415

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


def delivery_config(settings: Settings) -> Any:
    from adapters.webhooks.deliverer import DeliveryConfig  # noqa: PLC0415

    return DeliveryConfig(
        retry_seconds=settings.webhook_retry_seconds,
        give_up_seconds=settings.webhook_give_up_seconds,
        allow_private=settings.webhook_allow_private,
    )


@_on_store
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


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestones",
        description="An event-sourced Milestones service. DATABASE_URL selects the storage.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="serve the HTTP API with gunicorn")
    run.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:$PORT or :8000)")
    run.add_argument("--workers", type=int, help="worker processes (default $WEB_CONCURRENCY or 2)")
    run.add_argument(
        "--no-deliver", action="store_true", help="do not run a webhook deliverer beside it"
    )
    run.set_defaults(handler=serve)
    commands.add_parser(
        "deliver", help="deliver webhooks (one process at a time delivers; others stand by)"
    ).set_defaults(handler=deliver)
    commands.add_parser(
        "webhooks", help="each webhook subscription's position and state"
    ).set_defaults(handler=webhooks_status)

    projection = commands.add_parser("projection", help="inspect, verify or rebuild the view")
    tools = projection.add_subparsers(dest="tool", required=True)
    tools.add_parser(
        "rebuild",
        help="rebuild the view from the log beside the live one and swap, while serving",
    ).set_defaults(handler=rebuild)
    tools.add_parser(
        "verify", help="replay the log and compare with the view; exit 1 if they differ"
    ).set_defaults(handler=verify)
    tools.add_parser("status", help="the view's position, the log's head and the lag").set_defaults(
        handler=status
    )

    show = commands.add_parser("history", help="a milestone's events, oldest first")
    show.add_argument("milestone_id", metavar="ms_…")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=history)

    commands.add_parser(
        "export", help="write the whole event log to stdout as JSON Lines"
    ).set_defaults(handler=export)
    commands.add_parser(
        "import", help="replay an exported log from stdin into an empty store"
    ).set_defaults(handler=import_)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
