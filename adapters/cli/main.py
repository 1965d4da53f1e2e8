"""The ``milestones`` command: serve the API, and the operator's tools over the event log."""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from importlib.metadata import version

from eventsourcing.persistence import PersistenceError

from adapters.bootstrap import StorageUnwritable, StoreMissing
from adapters.cli import audit, deliver, log, projection, serve
from adapters.cli.common import COULD_NOT_RUN, command_name
from adapters.server.on_demand import one_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestones",
        description="An event-sourced Milestones service. DATABASE_URL selects the storage.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('milestones')}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_command(commands)
    deliver.add_commands(commands)
    projection.add_command(commands)
    log.add_commands(commands)
    audit.add_command(commands)
    return parser


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


# A reader that stopped reading (``milestones history ... | head``): ended quietly, with the
# status of a tool that SIGPIPE ended, as scripts under ``set -o pipefail`` expect.
READER_GONE = 128 + signal.SIGPIPE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # Output still buffered would fail again at exit: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return READER_GONE
    except KeyboardInterrupt:
        return 128 + signal.SIGINT  # Ctrl-C: no traceback
    except _expected_failures() as error:
        print(f"milestones {command_name(args)}: {_describe(error)}", file=sys.stderr)
        return COULD_NOT_RUN


def _describe(error: BaseException) -> str:
    if isinstance(error, PersistenceError) or type(error).__module__.startswith("psycopg"):
        return f"the database cannot be used: {one_line(error)}"
    return one_line(error)


if __name__ == "__main__":
    sys.exit(main())
