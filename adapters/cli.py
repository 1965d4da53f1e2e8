"""The ``milestones`` command."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from adapters import gunicorn_conf


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with the project's settings; each worker builds the app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestones",
        description="An event-sourced Milestones service. DATABASE_URL selects the storage.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the HTTP API with gunicorn")
    run.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:$PORT or :8000)")
    run.add_argument(
        "--workers", type=int, help="worker processes (default $WEB_CONCURRENCY or 2)"
    )
    run.set_defaults(handler=serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
