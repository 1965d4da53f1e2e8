"""What the commands share: opening the store for a tool, and the shapes of their output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import orjson

from adapters.bootstrap import Store, open_store
from adapters.cli.which_store import say
from adapters.settings import Settings

Tool = Callable[[Store, argparse.Namespace], int]
# Exit status of a command that could not run (argparse's usage errors are 2 as well).
COULD_NOT_RUN = 2


def on_store(tool: Tool, *, read_only: bool = True) -> Callable[[argparse.Namespace], int]:
    """Run a tool on the storage named by the environment, closed afterwards.

    Only the storage is opened: no application is built and the view is left as it is,
    so a rebuild does not first catch up the view it is about to replace.
    """

    def run(args: argparse.Namespace) -> int:
        settings = Settings.from_environ()
        store = open_store(settings, read_only=read_only)
        say(command_name(args), settings.database_url, "existing")
        try:
            return tool(store, args)
        finally:
            store.close()

    return run


def command_name(args: argparse.Namespace) -> str:
    """``projection rebuild``: the command and its tool, as the operator typed them."""
    return " ".join(filter(None, [args.command, getattr(args, "tool", None)]))


def to_json(value: object) -> str:
    return orjson.dumps(value).decode()


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        msg = f"must be 1 or more, not {number}"
        raise argparse.ArgumentTypeError(msg)
    return number


def command(commands: Any, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=f"{summary}. {details}".strip()
    )
    return parser
