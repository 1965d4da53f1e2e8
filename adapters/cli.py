"""The ``milestones`` command: serve the API, and the operator's tools over the event log."""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import orjson
from eventsourcing.persistence import PersistenceError
from gunicorn.app.base import BaseApplication

from adapters.backup import StoreNotEmpty, export_lines, import_lines
from adapters.bootstrap import (
    StorageUnwritable,
    Store,
    StoreMissing,
    check_storage,
    open_service,
    open_store,
    open_webhooks,
)
from adapters.lazy_service import one_line
from adapters.settings import Settings
from adapters.webhooks.run import deliver
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
    check_storage(Settings.from_environ())  # one line naming the path, before gunicorn starts
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


def _on_store(tool: Tool, *, read_only: bool = True) -> Callable[[argparse.Namespace], int]:
    """Run a tool on the storage named by the environment, closed afterwards.

    Only the storage is opened: no application is built and the view is left as it is,
    so a rebuild does not first catch up the view it is about to replace.
    """

    def run(args: argparse.Namespace) -> int:
        store = open_store(Settings.from_environ(), read_only=read_only)
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


def _chosen(args: argparse.Namespace) -> list[runner.Projection]:
    """The projection the operator named, or every one."""
    if args.name is None:
        return list(runner.PROJECTIONS.values())
    return [runner.PROJECTIONS[args.name]]


def _rebuild(store: Store, args: argparse.Namespace) -> int:
    projections = _chosen(args)
    bar = _progress_bar if sys.stderr.isatty() else _quiet
    started = time.perf_counter()
    # A rebuild keeps hundreds of thousands of documents and states alive, none of them in
    # a reference cycle: the cyclic collector would walk them again and again for nothing
    # (a third of the time), so it rests until the rebuild is done.
    gc.disable()
    try:
        rebuilt = runner.rebuild_all(store.view, bar, projections)
    finally:
        gc.enable()
    seconds = time.perf_counter() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)
    events = rebuilt.events
    if len(projections) == 1:
        rebuilt.seconds = {projections[0].name: seconds}  # all of it was this projection's
    for name, own in rebuilt.seconds.items():
        print(
            f"{name}: rebuilt the view from {events:,} events in {own:.2f} s "
            f"({_rate(events, own)} events/s)"
        )
    if len(projections) > 1:
        # The lines above count each projection's own work; this one also the reading and
        # decoding of the log, which they share.
        print(
            f"all: rebuilt {len(projections)} projections in one pass over {events:,} events "
            f"in {seconds:.2f} s ({_rate(events, seconds)} events/s)"
        )
    return 0


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds if seconds else 0.0:,.0f}"


def _quiet(done: int, total: int) -> None:
    pass


rebuild = _on_store(_rebuild, read_only=False)  # it writes, but never creates a store


@_on_store
def verify(store: Store, args: argparse.Namespace) -> int:
    failed = False
    for projection in _chosen(args):
        differences = runner.verify(store.view, projection)
        for key, live, replayed in differences:
            print(f"{key}\n  view:   {_json(live)}\n  replay: {_json(replayed)}")
        if differences:
            print(
                f"{projection.name}: {len(differences)} {projection.rows} differ between the "
                "view and the log"
            )
            failed = True
        else:
            print(f"{projection.name}: the view equals a replay of the log")
    return 1 if failed else 0


@_on_store
def status(store: Store, args: argparse.Namespace) -> int:
    tracked, head = runner.positions(store.view)
    print(f"{'projection':<12}  {'position':>10}  {'lag':>10}")
    for name, position in tracked.items():
        print(f"{name:<12}  {position:>10}  {head - position:>10}")
    print(f"{'log head':<12}  {head:>10}")
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
    settings = Settings.from_environ()
    check_storage(settings)
    service = open_service(settings)
    try:
        count = import_lines(service, sys.stdin.buffer)
    except StoreNotEmpty:
        print("the store already holds events; import goes into an empty one", file=sys.stderr)
        return 1
    finally:
        service.close()
    print(f"imported {count:,} events", file=sys.stderr)
    return 0


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


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        msg = f"must be 1 or more, not {number}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _command(commands: Any, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=f"{summary}. {details}".strip()
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestones",
        description="An event-sourced Milestones service. DATABASE_URL selects the storage.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('milestones')}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = _command(
        commands,
        "serve",
        "Serve the HTTP API with gunicorn",
        "Each worker opens the storage itself and answers 503 while it cannot; "
        "it connects when the storage answers.",
    )
    run.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:$PORT or :8000)")
    run.add_argument(
        "--workers",
        type=_positive,
        help="worker processes, 1 or more (default $WEB_CONCURRENCY or 2)",
    )
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

    projection = _command(
        commands, "projection", "Inspect, verify or rebuild the projections (the read models)"
    )
    tools = projection.add_subparsers(dest="tool", required=True)
    names = list(runner.PROJECTIONS)
    for tool, handler, summary, details in (
        (
            "rebuild",
            rebuild,
            "Rebuild from the log beside the live rows and swap, while serving",
            "",
        ),
        (
            "verify",
            verify,
            "Replay the log and compare with the stored rows",
            "Read-only. Exit status 0: they are equal; 1: they differ; 2: it could not run.",
        ),
    ):
        parser_of_tool = _command(tools, tool, f"{summary} (one projection, or all)", details)
        parser_of_tool.add_argument("name", nargs="?", choices=names, help="default: all")
        parser_of_tool.set_defaults(handler=handler)
    _command(
        tools,
        "status",
        "Print each projection's position and lag, and the log's head",
        "Read-only.",
    ).set_defaults(handler=status)

    show = _command(commands, "history", "Print a milestone's events, oldest first", "Read-only.")
    show.add_argument("milestone_id", metavar="ms_…")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=history)

    _command(
        commands,
        "export",
        "Write the whole event log to stdout as JSON Lines",
        "Read-only; a consistent copy, also of a database that cannot be written.",
    ).set_defaults(handler=export)
    _command(
        commands,
        "import",
        "Replay an exported log from stdin into an empty store",
        "A malformed line stops the import with its line number.",
    ).set_defaults(handler=import_)
    return parser


# Exit status of a command that could not run (argparse's usage errors are 2 as well).
COULD_NOT_RUN = 2


def _expected_failures() -> tuple[type[Exception], ...]:
    """Failures an operator meets in ordinary use: a one-line message, not a traceback."""
    failures: list[type[Exception]] = [
        ValueError,  # a bad DATABASE_URL or setting, a malformed import line
        OSError,
        StoreMissing,
        StorageUnwritable,
        PersistenceError,
        sqlite3.Error,
    ]
    try:
        import psycopg  # noqa: PLC0415 - only with the [postgres] extra
    except ImportError:  # pragma: no cover - the tests install it
        pass
    else:
        failures.append(psycopg.Error)
    return tuple(failures)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except _expected_failures() as error:
        command = " ".join(filter(None, [args.command, getattr(args, "tool", None)]))
        print(f"milestones {command}: {_describe(error)}", file=sys.stderr)
        return COULD_NOT_RUN


def _describe(error: BaseException) -> str:
    if isinstance(error, PersistenceError) or type(error).__module__.startswith("psycopg"):
        return f"the database cannot be used: {one_line(error)}"
    return one_line(error)


if __name__ == "__main__":
    sys.exit(main())
