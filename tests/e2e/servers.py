"""Servers started with settings, and the tools the operations, auth and hardening tests share.

``server_factory`` (conftest.py) starts servers with the service's defaults: it clears every
``MILESTONES_*`` variable and takes no others. The tests of optional features need a server
started *with* some (tokens, CORS origins, a short body timeout, a silenced access log), so
``Servers`` starts ``milestones serve --workers 2`` the same way, with extra environment
variables: a free port on 127.0.0.1, a bounded wait for ``/health``, and SIGTERM (then SIGKILL
of its own process group) by PID. Unlike conftest's servers, stdout and stderr go to separate
files, so a test can read the access log from stderr alone. These servers are on SQLite.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import pytest

from tests.e2e.conftest import (
    HOST,
    Client,
    free_port,
    health_ok,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType

WORKERS = 2
STARTUP_TIMEOUT = 30.0  # seconds for /health to answer
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL (gunicorn's graceful_timeout is 10)
LOG_TIMEOUT = 5.0  # seconds for an access log line to reach the file
T = TypeVar("T")

# Variables of the test runner's shell that would change what the server does.
_CLEARED = {
    "DATABASE_URL",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
    "PROMETHEUS_MULTIPROC_DIR",
}


@dataclass
class EnvServer:
    """A running ``milestones serve`` process started with extra environment variables."""

    process: subprocess.Popen[bytes]
    port: int
    database_path: Path
    stdout_path: Path
    stderr_path: Path
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(HOST, self.port)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError as error:
            return f"(no stderr: {error})"

    def stdout(self) -> str:
        try:
            return self.stdout_path.read_text(errors="replace")
        except OSError as error:
            return f"(no stdout: {error})"

    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    def access_log(self) -> list[dict[str, Any]]:
        """Every access log line so far: the stderr lines that are JSON objects.

        Gunicorn's own messages share stderr and are plain text; a line that starts like a
        JSON object but does not parse as one fails the test (two lines run together).
        """
        entries = []
        for line in self.stderr().splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                pytest.fail(f"an access log line is not one JSON object: {line!r}")
            assert isinstance(entry, dict), line
            entries.append(entry)
        return entries

    def log_entry(self, request_id: str, timeout: float = LOG_TIMEOUT) -> dict[str, Any]:
        """The one access log line of the request with this id (waits a bounded time)."""
        entries: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = [e for e in self.access_log() if e.get("request_id") == request_id]
            if entries:
                break
            time.sleep(0.02)
        assert len(entries) == 1, (request_id, entries, self.stderr()[-2000:])
        return entries[0]

    def stop(self) -> None:
        """SIGTERM the arbiter started here (by its PID), wait, and if it will not go, SIGKILL
        its process group: the arbiter runs in a session of its own, so the group numbered by
        its PID holds it and the workers it forked, and nothing else.
        """
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)


def start_env_server(
    directory: Path,
    env: Mapping[str, str] | None = None,
    *,
    database_path: Path | None = None,
    name: str = "server",
    attempts: int = 3,
) -> EnvServer:
    """``milestones serve --workers 2`` with the defaults plus ``env``; waits for /health."""
    executable = Path(sys.executable).parent / "milestones"
    if not executable.exists():
        pytest.fail(f"no milestones executable next to {sys.executable}; run `make install`")
    database = (database_path or directory / f"{name}.db").resolve()
    server_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MILESTONES_") and key not in _CLEARED
    }
    server_env["DATABASE_URL"] = f"sqlite:///{database}"
    server_env.update(env or {})
    failure = ""
    for attempt in range(attempts):
        port = free_port()
        stdout_path = directory / f"{name}.{attempt}.out"
        stderr_path = directory / f"{name}.{attempt}.err"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [str(executable), "serve", "--bind", f"{HOST}:{port}", "--workers", str(WORKERS)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=server_env,
                cwd=directory,
                start_new_session=True,  # its own process group: see EnvServer.stop
            )
        server = EnvServer(process, port, database, stdout_path, stderr_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if health_ok(port):
                return server
            time.sleep(0.05)
        server.stop()
        output = server.output()
        failure = (
            f"milestones serve on port {port} did not answer GET /health within "
            f"{STARTUP_TIMEOUT:.0f} s (exit code {process.returncode}):\n{output}"
        )
        if "in use" not in output.lower():  # another process took the port: try another
            break
    pytest.fail(failure)


def failed_start(
    directory: Path, env: Mapping[str, str], timeout: float = STARTUP_TIMEOUT
) -> tuple[int, str, bool]:
    """Start a server that must refuse to start: its exit code, its output, and whether
    /health ever answered meanwhile. Killed by its PID if it is still running at the end.
    """
    executable = Path(sys.executable).parent / "milestones"
    server_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MILESTONES_") and key not in _CLEARED
    }
    server_env["DATABASE_URL"] = f"sqlite:///{(directory / 'refused.db').resolve()}"
    server_env.update(env)
    port = free_port()
    log_path = directory / "refused.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(executable), "serve", "--bind", f"{HOST}:{port}", "--workers", str(WORKERS)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env,
            cwd=directory,
            start_new_session=True,
        )
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            answered = answered or health_ok(port)
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    return process.returncode, log_path.read_text(errors="replace"), answered


class Servers:
    """Starts servers with extra environment variables and stops every one it started."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._started: list[EnvServer] = []

    def start(
        self, env: Mapping[str, str] | None = None, *, database_path: Path | None = None
    ) -> EnvServer:
        name = f"server-{len(self._started)}"
        running = start_env_server(self._directory, env, database_path=database_path, name=name)
        self._started.append(running)
        return running

    def stop_all(self) -> None:
        for running in reversed(self._started):
            running.stop()
        self._started.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def servers_in(directory: Path) -> Iterator[Servers]:
    """For fixtures: ``yield from servers_in(tmp_path)``."""
    with Servers(directory) as servers:
        yield servers


def read_response(sock: socket.socket) -> tuple[int, http.client.HTTPMessage, Any]:
    """Parse one HTTP response from a socket the test wrote a raw request to."""
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        raw = response.read()
    finally:
        response.close()
    body: Any = raw
    content_type = response.getheader("Content-Type") or ""
    if raw and "json" in content_type:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
    return response.status, response.msg, body


def raw_request(
    port: int, data: bytes, *, timeout: float = 10.0
) -> tuple[int, http.client.HTTPMessage, Any]:
    """Send bytes exactly as given on a fresh connection and read the response."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


class PinnedWorker:
    """A POST whose headers arrived but whose body has not: it holds one sync worker.

    gunicorn answers ``Expect: 100-continue`` when a worker starts on the request (after
    the worker has loaded the app), so the ``100 Continue`` proves that a worker has taken
    it; until ``release`` that worker accepts nothing else, and every other request goes to
    the other worker. The body is read with the server's body timeout (10 s by default),
    and nothing of it touches storage. Not for servers with tokens: a 401 would come first.
    """

    BODY = b"not json"  # released as a 400: nothing is recorded

    def __init__(self, port: int, timeout: float = 15.0) -> None:
        self._sock = socket.create_connection((HOST, port), timeout=timeout)
        self._sock.sendall(
            b"POST /api/milestones HTTP/1.1\r\nHost: e2e\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n"
            b"Expect: 100-continue\r\n\r\n" % len(self.BODY)
        )
        expected = b"HTTP/1.1 100 Continue\r\n\r\n"
        received = b""
        try:
            while len(received) < len(expected):
                chunk = self._sock.recv(len(expected) - len(received))
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            self._sock.close()
            pytest.fail(f"no worker took the request within {timeout} s")
        assert received == expected, received

    def release(self) -> int:
        try:
            self._sock.sendall(self.BODY)
            status, _, _ = read_response(self._sock)
        finally:
            self._sock.close()
        return status


def both_workers_loaded(server: EnvServer) -> None:
    """Return once both workers have loaded the app (each took a request while the other
    was busy). /health answers as soon as the first worker is up; the second may still be
    booting, and a worker that boots later catches the view up and opens storage anew.
    """
    first = PinnedWorker(server.port)
    second = PinnedWorker(server.port)  # the first worker is busy: this is the other one
    assert first.release() == 400
    assert second.release() == 400


def on_each_worker(server: EnvServer, call: Callable[[], T]) -> tuple[T, T]:
    """``call()`` once on each of the two workers, for certain: while one is held, the
    other must serve. Not for servers with tokens (see ``PinnedWorker``).
    """
    first = PinnedWorker(server.port)
    on_the_other = call()
    second = PinnedWorker(server.port)  # the held worker cannot take it
    assert first.release() == 400
    on_the_first = call()
    assert second.release() == 400
    return on_the_other, on_the_first
