"""The deliverer beside gunicorn: a child process of the arbiter, restarted if it dies.

A thread of the arbiter starts ``milestones deliver`` and waits for it, while the arbiter's
main thread forks workers. Two things follow from sharing one process with gunicorn:

* ``subprocess.Popen`` reports a failed ``exec`` through a pipe and reads it until every
  write end is closed. The write end is close-on-exec, but a worker forked by the main
  thread at that moment does not exec: it keeps the write end for its whole life, and the
  thread stays in ``Popen`` until that worker exits, never waiting for the deliverer, so a
  killed deliverer is never replaced. Forks of this process therefore wait while a
  deliverer is being started (``_spawning``).
* The arbiter reaps every child it sees exit with ``waitpid(-1)``, the deliverer too. The
  thread reads how the deliverer ended without reaping it (``WNOWAIT``), so it knows even
  when the arbiter takes the exit status first; it restarts the deliverer either way.

What the thread has to say goes to the log it is given: beside ``milestones serve``,
gunicorn's error log, where the operator reads what the arbiter does with its workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

RESTART_SECONDS = 1.0
STOP_SECONDS = 10.0
COMMAND = (sys.executable, "-m", "adapters.cli.main", "deliver")


class Log(Protocol):
    """What the supervisor logs through: gunicorn's ``server.log``, or a ``logging.Logger``."""

    def info(self, msg: str, *args: object) -> None: ...

    def warning(self, msg: str, *args: object) -> None: ...

    def exception(self, msg: str, *args: object) -> None: ...


# Held while a deliverer is being started, and by every fork of this process until the fork
# is done: a process forked meanwhile would inherit Popen's exec-error pipe (see above).
# Re-entrant in case Popen ever forks through os.fork's hooks (it does with preexec_fn).
_spawning = threading.RLock()


def _before_fork() -> None:
    _spawning.acquire()


def _after_fork() -> None:
    # In the child too: the thread that forked holds it, and is the child's only thread.
    _spawning.release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


class DelivererProcess:
    """``milestones deliver`` as a child; a thread restarts it until ``stop``."""

    def __init__(
        self,
        log: Log,
        *,
        command: Sequence[str] = COMMAND,
        restart_seconds: float = RESTART_SECONDS,
    ) -> None:
        self._log = log
        self._command = list(command)
        self._restart_seconds = restart_seconds
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
            try:
                child = self._spawn()
            except Exception:  # noqa: BLE001 - out of processes or files: try again later
                # Whatever goes wrong, the thread goes on: if it ended, nothing would start
                # a deliverer again until the server restarts.
                self._log.exception(
                    "could not start the webhook deliverer; trying again in %g s",
                    self._restart_seconds,
                )
                self._stopping.wait(self._restart_seconds)
                continue
            if child is None:
                return
            self._log.info("webhook deliverer started (pid: %s)", child.pid)
            ended = _wait(child)
            if self._stopping.is_set():
                return
            self._log.warning(
                "webhook deliverer (pid: %s) %s; starting another in %g s",
                child.pid,
                ended,
                self._restart_seconds,
            )
            self._stopping.wait(self._restart_seconds)

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        """A new deliverer, or None once ``stop`` was called."""
        with self._lock:
            if self._stopping.is_set():
                return None
            with _spawning:
                self._child = subprocess.Popen(  # noqa: S603 - the project's own command
                    self._command,
                    env=os.environ | {"MILESTONES_DELIVER_BESIDE": str(os.getpid())},
                    # Out of the server's process group, so that a terminal's Ctrl-C does not
                    # end it before the server stops it (which would start another first).
                    process_group=0,
                )
            return self._child

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


def _wait(child: subprocess.Popen[bytes]) -> str:
    """Wait until the child has ended, reap it, and say how it ended."""
    try:
        # The status is read and the child left unreaped, so gunicorn's waitpid(-1) cannot
        # take it between the two: the status is known unless the arbiter reaped it first.
        ended = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        ended = None
    child.wait()  # if the arbiter reaped it, Popen takes the missing child as an exit code 0
    if ended is None:
        return "ended (the arbiter reaped it; how it ended is in its debug log)"
    if ended.si_code == os.CLD_EXITED:
        return f"exited with code {ended.si_status}"
    try:
        name = signal.Signals(ended.si_status).name
    except ValueError:
        name = f"signal {ended.si_status}"
    return f"was killed by {name}"
