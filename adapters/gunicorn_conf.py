"""Gunicorn settings, also for plain gunicorn.

    gunicorn -c python:adapters.gunicorn_conf 'adapters.bootstrap:create_wsgi_app()'

Every worker builds its own application after the fork; the arbiter only prepares the
storage once before forking, so workers never race to create tables.
"""

from __future__ import annotations

import os
from typing import Any

from adapters.bootstrap import open_service
from adapters.settings import Settings

bind = [os.environ.get("MILESTONES_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 8000}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "sync"
preload_app = False
# A request that takes longer than this is stuck; the arbiter replaces its worker.
timeout = 30
graceful_timeout = 10
# Several instances may run on one host; a shared control socket path would collide.
control_socket_disable = True


def on_starting(server: Any) -> None:
    open_service(Settings.from_environ()).close()
