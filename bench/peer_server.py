"""Serve the framework limit or the CRUD peer under gunicorn with the project's settings.

``python -m bench.peer_server limit|peer --bind 127.0.0.1:PORT --workers 2 [--database PATH|URL]``
``python -m bench.peer_server settings`` prints the shared settings as JSON.

The settings are read from ``adapters.server.gunicorn_conf`` exactly as ``milestones serve``
reads them (worker class, timeouts, ...), so all three services differ only in the app.
Its hooks are left out: they prepare the project's storage, which the peers do not use.

Importing that module has side effects on the process (it makes a metrics directory and
names it in the environment), so only this short-lived process imports it, never the
bench itself, whose environment every service inherits.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
from types import ModuleType
from typing import Any

import orjson
from gunicorn.app.base import BaseApplication
from gunicorn.config import Config

from bench import crud_peer, limit_app, peer_storage

_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Given per service on the command line, or naming something one service alone may own.
_PER_SERVICE = frozenset({"bind", "workers", "pidfile", "wsgi_app"})


def _project_settings_module() -> ModuleType:
    inherited = os.environ.get(_METRICS_DIR)
    from adapters.server import gunicorn_conf  # noqa: PLC0415 - see the module docstring

    made = os.environ.get(_METRICS_DIR)
    if made and made != inherited:
        # A directory for the project's metrics, which the peers do not keep: remove it.
        atexit.register(shutil.rmtree, made, ignore_errors=True)
    return gunicorn_conf


def shared_settings() -> dict[str, Any]:
    """The project's gunicorn settings that apply to any app: values, not hooks."""
    known = Config().settings
    return {
        name: value
        for name, value in vars(_project_settings_module()).items()
        if name in known and name not in _PER_SERVICE and value is not None and not callable(value)
    }


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app_name: str, database: str | None, options: dict[str, Any]) -> None:
        self._app_name = app_name
        self._database = database
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        settings = shared_settings()
        settings.update(self._options)
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        # Built in each worker after the fork (preload_app is the project's choice, off).
        if self._app_name == "limit":
            return limit_app.create_app()
        if self._database is None:
            raise SystemExit("the peer needs --database")
        return crud_peer.create_app(self._database)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer_server")
    parser.add_argument("app", choices=("limit", "peer", "settings"))
    parser.add_argument("--bind")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--database", help="the peer's SQLite file, or a postgresql:// URL")
    args = parser.parse_args(argv)
    if args.app == "settings":
        sys.stdout.write(orjson.dumps(shared_settings(), default=str).decode() + "\n")
        return 0
    if args.bind is None or args.workers is None:
        parser.error("serving needs --bind and --workers")
    if args.app == "peer":
        if args.database is None:
            parser.error("the peer needs --database")
        peer_storage.prepare(args.database)
    options = {"bind": [args.bind], "workers": args.workers}
    _Gunicorn(args.app, args.database, options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
