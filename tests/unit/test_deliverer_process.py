"""The thread that keeps a webhook deliverer running beside gunicorn, with stand-in children.

The children are tiny Python processes, not ``milestones deliver``: what is under test is
how the thread starts, waits for and replaces a child in a process that also forks (as
gunicorn's arbiter forks workers) and whose other threads reap children (as the arbiter's
``waitpid(-1)`` does).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from adapters.server.deliverer_process import DelivererProcess, _wait

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

QUICK = (sys.executable, "-S", "-c", "")  # a child that ends at once
SLEEPER = (sys.executable, "-S", "-c", "import time; time.sleep(60)")
TIMEOUT = 10.0


class RecordingLog:
    """A ``Log`` that keeps each message as its level and its text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lines: list[tuple[str, str]] = []

    def _add(self, level: str, msg: str, args: tuple[object, ...]) -> None:
        with self._lock:
            self.lines.append((level, msg % args))

    def info(self, msg: str, *args: object) -> None:
        self._add("info", msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._add("warning", msg, args)

    def exception(self, msg: str, *args: object) -> None:
        self._add("exception", msg, args)

    def started(self) -> int:
        with self._lock:
            return sum("started" in text for _, text in self.lines)


def _eventually(
    condition: Callable[[], object], timeout: float = TIMEOUT, why: str = "not in time"
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, why
        time.sleep(0.01)


@contextlib.contextmanager
def _supervising(log: RecordingLog, *command: str, restart: float) -> Iterator[DelivererProcess]:
    supervisor = DelivererProcess(log, command=command, restart_seconds=restart)
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()
        supervisor._watch.join(TIMEOUT)
        assert not supervisor._watch.is_alive()


def _fork_a_worker() -> int:
    """A child of this process that, like a gunicorn worker, never execs: it keeps every
    descriptor it inherited until it is killed."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            time.sleep(60)
        finally:
            os._exit(0)
    return pid


def test_workers_forked_while_a_deliverer_starts_do_not_hold_up_the_supervisor() -> None:
    # The bug: a worker forked while Popen waited for the child's exec kept the write end of
    # Popen's error pipe, and the thread stayed in Popen for as long as that worker lived.
    log = RecordingLog()
    workers: list[int] = []
    with _supervising(log, *QUICK, restart=0):
        try:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                workers.append(_fork_a_worker())
                time.sleep(0.005)
            so_far = log.started()
            _eventually(
                lambda: log.started() >= so_far + 3,
                timeout=5,
                why=f"the supervisor stopped starting children: {log.lines[-3:]}",
            )
        finally:
            # Before the supervisor stops: a thread held up in Popen would hold up stop too.
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    assert len(workers) > 50, "too few forks to meet the supervisor starting a child"


def test_a_killed_deliverer_is_replaced_and_the_log_says_so() -> None:
    log = RecordingLog()
    with _supervising(log, *SLEEPER, restart=0.05) as supervisor:
        _eventually(lambda: supervisor.pid is not None)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _eventually(lambda: log.started() >= 2)
        assert supervisor.pid != first
    assert ("info", f"webhook deliverer started (pid: {first})") in log.lines
    assert (
        "warning",
        f"webhook deliverer (pid: {first}) was killed by SIGKILL; starting another in 0.05 s",
    ) in log.lines


def test_a_deliverer_reaped_by_another_thread_is_replaced() -> None:
    # Gunicorn's arbiter reaps every child that exits, the deliverer included.
    log = RecordingLog()
    with _supervising(log, *SLEEPER, restart=0.05) as supervisor:
        _eventually(lambda: supervisor.pid is not None)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)

        def reaped() -> bool:
            try:
                return os.waitpid(first, os.WNOHANG)[0] == first
            except ChildProcessError:
                return True  # the supervisor reaped it first

        _eventually(reaped)
        _eventually(lambda: log.started() >= 2)
    warned = [text for level, text in log.lines if level == "warning"]
    assert len(warned) == 1, log.lines
    assert warned[0].startswith(f"webhook deliverer (pid: {first}) "), warned


def test_stop_ends_the_deliverer_without_a_warning() -> None:
    log = RecordingLog()
    with _supervising(log, *SLEEPER, restart=0.05) as supervisor:
        _eventually(lambda: supervisor.pid is not None)
        child = supervisor._child
    assert child is not None
    assert child.returncode == -signal.SIGTERM
    assert [level for level, _ in log.lines] == ["info"]


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-S", "-c", code])


def test_wait_says_how_the_child_ended() -> None:
    exited = _child("raise SystemExit(3)")
    assert _wait(exited) == "exited with code 3"
    assert exited.returncode == 3  # reaped, by Popen
    killed = _child("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert _wait(killed) == "was killed by SIGKILL"
    assert killed.returncode == -signal.SIGKILL


def test_wait_returns_when_another_reaped_the_child_first() -> None:
    reaped = _child("raise SystemExit(3)")
    os.waitpid(reaped.pid, 0)  # as the arbiter's waitpid(-1) would
    assert _wait(reaped) == "ended (the arbiter reaped it; how it ended is in its debug log)"
    assert reaped.returncode is not None
