"""The deliverer beside gunicorn: a child process of the arbiter, restarted if it dies."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger(__name__)
RESTART_SECONDS = 1.0
STOP_SECONDS = 10.0


class DelivererProcess:
    """``milestones deliver`` as a child; a thread restarts it until ``stop``."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watch = threading.Thread(target=self._supervise, name="deliverer", daemon=True)

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    def start(self) -> None:
        self._watch.start()

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "adapters.cli", "deliver"],
                    env=os.environ | {"MILESTONES_DELIVER_BESIDE": str(os.getpid())},
                )
            code = self._child.wait()
            if not self._stopping.is_set():
                log.warning("the webhook deliverer exited (%s); restarting it", code)
                self._stopping.wait(RESTART_SECONDS)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
