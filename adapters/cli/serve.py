"""``milestones serve``: the HTTP API under gunicorn."""

from __future__ import annotations

import errno
import os
import socket
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import StoreMissing, check_storage
from adapters.cli.common import command, positive
from adapters.cli.which_store import postgres_state, say, sqlite_store_exists, store_name
from adapters.server.wsgi import authentication
from adapters.settings import Settings

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


class AddressInUse(OSError):
    """The address to serve on is taken: one line, exit 2 (an OSError, as the CLI expects)."""


def serve(args: argparse.Namespace) -> int:
    from adapters.server import gunicorn_conf  # noqa: PLC0415 - it prepares the metrics directory
    from adapters.server.gunicorn_app import GunicornApp  # noqa: PLC0415

    settings = Settings.from_environ()
    # What would stop gunicorn after its start, said in one line before it: bad tokens, a
    # busy address, a store that is not there.
    authentication(settings)
    options: dict[str, Any] = {"bind": [args.bind] if args.bind else gunicorn_conf.bind}
    refuse_busy_addresses(options["bind"])
    say("serve", settings.database_url, _store_state(settings, create=args.create))
    if args.no_deliver:
        os.environ["MILESTONES_DELIVER"] = "0"  # read by the gunicorn settings' hooks
    if args.workers:
        options["workers"] = args.workers
    GunicornApp(options).run()
    return 0


def _store_state(settings: Settings, *, create: bool) -> str:
    """What serving will find, said before gunicorn starts; StoreMissing for a store that
    is not there and is not to be made (an SQLite file without --create, a PostgreSQL
    database that does not exist)."""
    is_sqlite = settings.database_url.startswith("sqlite:")
    if is_sqlite and not sqlite_store_exists(settings.database_url) and not create:
        msg = (
            f"no store at {store_name(settings.database_url)}; run from the folder that holds "
            "it, set DATABASE_URL to it, or pass --create to start a new, empty one there"
        )
        raise StoreMissing(msg)
    check_storage(settings)  # a bad URL or an unwritable path: one line, before gunicorn
    if is_sqlite:
        return "existing" if sqlite_store_exists(settings.database_url) else "created now"
    return postgres_state(settings)


def refuse_busy_addresses(binds: Sequence[str]) -> None:
    """An address another process listens on, refused at once (gunicorn would retry it
    for seconds, then exit 1)."""
    for bind in binds:
        if bind.startswith(("unix:", "fd://")):
            continue
        host, _, port = bind.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - gunicorn's reading of ":PORT"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                probe.bind((host, int(port)))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                msg = f"{bind} is in use by another process; choose another with --bind or PORT"
                raise AddressInUse(msg) from None


def add_command(commands: Any) -> None:
    run = command(
        commands,
        "serve",
        "Serve the HTTP API with gunicorn",
        "Says on start which store it serves. An SQLite store that does not exist is made "
        "only with --create; a PostgreSQL database must exist (its tables are made). Each "
        "worker opens the storage itself and answers 503 while it cannot; it connects when "
        "the storage answers.",
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
    run.add_argument(
        "--create",
        action="store_true",
        help="create the SQLite store if there is none at DATABASE_URL (else serve refuses)",
    )
    run.set_defaults(handler=serve)
