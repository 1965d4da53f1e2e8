"""The ``milestones`` command: serve the API, and the operator's tools over the event log."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from gunicorn.app.base import BaseApplication

from adapters.backup import StoreNotEmpty, export_lines, import_lines
from adapters.bootstrap import Store, open_service, open_store
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
    # The actor column is as wide as the longest actor; "-" for one the event did not record.
    actors = [event["actor"] or "-" for event in events]
    width = max(len("actor"), *map(len, actors))
    print(f"{'version':>7}  {'occurredAt':<24}  {'type':<13}  {'actor':<{width}}  payload")
    for event, actor in zip(events, actors, strict=True):
        print(
            f"{event['version']:>7}  {event['occurredAt']:<24}  {event['type']:<13}  "
            f"{actor:<{width}}  {_json(event['payload'])}"
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
    run.set_defaults(handler=serve)

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
