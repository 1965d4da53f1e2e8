"""``milestones projection rebuild|verify|status``: the read models against the log."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import TYPE_CHECKING, Any

from adapters.cli.common import command, on_store, to_json
from adapters.rebuild_workers import swept_fill
from adapters.settings import Settings
from projections import runner

if TYPE_CHECKING:
    from adapters.bootstrap import Store


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
        names = [projection.name for projection in projections]
        fill = swept_fill(Settings.from_environ(), store.view, names, args.workers)
        rebuilt = runner.rebuild_all(store.view, bar, projections, fill=fill)
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


def _positive(text: str) -> int:
    """A number of processes: a whole number, at least one."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"{text!r} is not a whole number of processes, at least 1"
        raise argparse.ArgumentTypeError(msg)
    return number


def _quiet(done: int, total: int) -> None:
    pass


rebuild = on_store(_rebuild, read_only=False)  # it writes, but never creates a store


@on_store
def verify(store: Store, args: argparse.Namespace) -> int:
    failed = False
    for projection in _chosen(args):
        differences = runner.verify(store.view, projection)
        for key, live, replayed in differences:
            print(f"{key}\n  view:   {to_json(live)}\n  replay: {to_json(replayed)}")
        if differences:
            print(
                f"{projection.name}: {len(differences)} {projection.rows} differ between the "
                "view and the log"
            )
            failed = True
        else:
            print(f"{projection.name}: the view equals a replay of the log")
    return 1 if failed else 0


@on_store
def status(store: Store, args: argparse.Namespace) -> int:
    tracked, head = runner.positions(store.view)
    print(f"{'projection':<12}  {'position':>10}  {'lag':>10}")
    for name, position in tracked.items():
        print(f"{name:<12}  {position:>10}  {head - position:>10}")
    print(f"{'log head':<12}  {head:>10}")
    return 0


def add_command(commands: Any) -> None:
    projection = command(
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
        parser_of_tool = command(tools, tool, f"{summary} (one projection, or all)", details)
        parser_of_tool.add_argument("name", nargs="?", choices=names, help="default: all")
        parser_of_tool.set_defaults(handler=handler)
        if tool == "rebuild":
            parser_of_tool.add_argument(
                "--workers",
                type=_positive,
                # One: on two cores shared with other work, two processes were measured
                # slower than one pass (each ran at half speed and read the log again).
                default=1,
                help="processes that share a long log's first pass, a part of the milestones "
                "each (default: 1, none; worth it with cores to spare)",
            )
    command(
        tools,
        "status",
        "Print each projection's position and lag, and the log's head",
        "Read-only.",
    ).set_defaults(handler=status)
