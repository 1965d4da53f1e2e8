"""Gunicorn settings, also for plain gunicorn.

    gunicorn -c python:adapters.server.gunicorn_conf 'adapters.server.wsgi:create_wsgi_app()'

Every worker builds its own application after the fork; the arbiter only prepares the
storage once before forking, so workers never race to create tables.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from adapters.bootstrap import StorageUnwritable, check_storage, open_service
from adapters.server.on_demand import one_line
from adapters.server.wsgi import authentication
from adapters.settings import Settings
from adapters.storage.log_watch import close_all

# Workers write their metrics to files here and a scrape adds them up (prometheus_client's
# multiprocess mode). The arbiter names it in the environment the workers inherit.
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"

bind = [os.environ.get("MILESTONES_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 8000}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# Threads serve requests; idle and kept-alive connections wait in each worker's poller and
# cost no thread, so slow or idle clients cannot take the service from everyone else
# (adapters/server/worker.py adds a deadline for the request head).
worker_class = "adapters.server.worker.Worker"
threads = int(os.environ.get("MILESTONES_THREADS") or 16)
# Live streams and long polls hold a thread each for minutes; at most this share of the
# threads may be theirs (MILESTONES_STREAMS_PER_WORKER), the rest serve ordinary requests.
STREAM_SHARE_OF_THREADS = 0.5
# Seconds a kept-alive connection may idle between requests.
keepalive = 5
preload_app = False
# A worker whose main loop stops answering for this long is stuck; the arbiter replaces it.
timeout = 30
# On SIGTERM a worker stops accepting, serves what it has accepted (requests on kept-alive
# connections get "Connection: close"), and exits within this many seconds: enough for a
# body that stalls up to its own idle limit (MILESTONES_BODY_TIMEOUT, 10 s) to be answered.
graceful_timeout = int(os.environ.get("MILESTONES_GRACEFUL_TIMEOUT") or 20)
# Several instances may run on one host; a shared control socket path would collide.
control_socket_disable = True


# Request lines up to this long reach the app, so odd paths get a problem+json 404.
limit_request_line = 8190


# The project's own log lines (storage faults, unhandled errors) as gunicorn writes its own:
# with the time and the pid of the worker that logs them.
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def on_starting(server: Any) -> None:
    """Before forking: the log format, the metrics afresh, and the storage prepared once."""
    # Warnings and errors, as before: the libraries' info lines would drown the rest.
    logging.basicConfig(format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT, level=logging.WARNING)
    if os.environ.get(METRICS_DIR):
        directory = Path(os.environ[METRICS_DIR])
        shutil.rmtree(directory, ignore_errors=True)  # samples of an earlier run would add up
        directory.mkdir(parents=True)
    else:
        os.environ[METRICS_DIR] = tempfile.mkdtemp(prefix="milestones-metrics-")
    settings = Settings.from_environ()
    try:
        check_storage(settings)
        authentication(settings)  # unusable token settings stop the server before it forks
        _check_stream_slots(settings, server.cfg.threads)
    except (ValueError, StorageUnwritable) as error:
        # gunicorn prints a RuntimeError as one line and exits 1.
        raise RuntimeError(one_line(error)) from error
    try:
        open_service(settings).close()
    except Exception as error:  # noqa: BLE001 - workers open it when it answers
        server.log.warning(
            "storage not ready, workers will connect when it is: %s", one_line(error)
        )


def _check_stream_slots(settings: Settings, request_threads: int) -> None:
    most = int(request_threads * STREAM_SHARE_OF_THREADS)
    if not 0 <= settings.streams_per_worker <= most:
        msg = (
            f"MILESTONES_STREAMS_PER_WORKER must be from 0 to {most} (half of the "
            f"{request_threads} request threads, MILESTONES_THREADS), not "
            f"{settings.streams_per_worker}: streams must leave threads for other requests"
        )
        raise ValueError(msg)


def post_worker_init(worker: Any) -> None:
    """A graceful stop (SIGTERM; a SIGHUP reload stops the old workers so) ends the live
    streams at once: the worker waits for open responses, and a stream lasts minutes."""
    graceful_stop = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: Any) -> None:
        # A thread of its own: a signal handler must not wait for the streams' lock.
        threading.Thread(target=close_all, name="end-streams", daemon=True).start()
        if callable(graceful_stop):
            graceful_stop(signum, frame)

    signal.signal(signal.SIGTERM, stop)


def when_ready(server: Any) -> None:
    """Beside the workers, one webhook deliverer (``milestones serve --no-deliver``: none)."""
    if os.environ.get("MILESTONES_DELIVER", "1") != "0":
        from adapters.server.deliverer_process import DelivererProcess  # noqa: PLC0415

        # Its messages go to gunicorn's error log, beside the arbiter's own about workers.
        server.milestones_deliverer = DelivererProcess(server.log)
        server.milestones_deliverer.start()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess  # noqa: PLC0415 - after the directory is set

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    deliverer = getattr(server, "milestones_deliverer", None)
    if deliverer is not None:
        deliverer.stop()
    shutil.rmtree(os.environ[METRICS_DIR], ignore_errors=True)
