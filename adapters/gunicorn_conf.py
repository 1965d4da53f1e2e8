"""Gunicorn settings, also for plain gunicorn.

    gunicorn -c python:adapters.gunicorn_conf 'adapters.bootstrap:create_wsgi_app()'

Every worker builds its own application after the fork; the arbiter only prepares the
storage once before forking, so workers never race to create tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from adapters.bootstrap import open_service
from adapters.settings import Settings

# Workers write their metrics here and a scrape adds them up (prometheus_client's
# multiprocess mode); set before any worker imports prometheus_client.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="milestones-metrics-"))

bind = [os.environ.get("MILESTONES_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 8000}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "sync"
preload_app = False
# A request that takes longer than this is stuck; the arbiter replaces its worker.
timeout = 30
graceful_timeout = 10
# Several instances may run on one host; a shared control socket path would collide.
control_socket_disable = True


# Request lines up to this long reach the app, so odd paths get a problem+json 404.
limit_request_line = 8190


def on_starting(server: Any) -> None:
    """Prepare the storage once, before forking, and start the metrics afresh."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    open_service(Settings.from_environ()).close()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
