"""``milestones serve``: the HTTP API under gunicorn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import check_storage
from adapters.cli.common import command, positive
from adapters.server.gunicorn_app import GunicornApp
from adapters.settings import Settings

if TYPE_CHECKING:
    import argparse


def serve(args: argparse.Namespace) -> int:
    check_storage(Settings.from_environ())  # one line naming the path, before gunicorn starts
    if args.no_deliver:
        os.environ["MILESTONES_DELIVER"] = "0"  # read by the gunicorn settings' hooks
    options: dict[str, Any] = {}
    if args.bind:
        options["bind"] = [args.bind]
    if args.workers:
        options["workers"] = args.workers
    GunicornApp(options).run()
    return 0


def add_command(commands: Any) -> None:
    run = command(
        commands,
        "serve",
        "Serve the HTTP API with gunicorn",
        "Each worker opens the storage itself and answers 503 while it cannot; "
        "it connects when the storage answers.",
    )
    run.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:$PORT or :8000)")
    run.add_argument(
        "--workers",
        type=positive,
        help="worker processes, 1 or more (default $WEB_CONCURRENCY or 2)",
    )
    run.add_argument(
        "--no-deliver", action="store_true", help="do not run a webhook deliverer beside it"
    )
    run.set_defaults(handler=serve)
