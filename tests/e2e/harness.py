"""Real ``milestones serve`` processes for the end-to-end tests: start, wait, pin, stop.

A server is started on a free 127.0.0.1 port with the service's defaults on the database it
is given (every ``MILESTONES_*`` variable of the test runner's shell is cleared) plus the
variables a test adds (tokens, CORS origins, a short body timeout...), and without the
webhook deliverer beside it unless the test asks for one. Its stdout and stderr
go to separate files, so a test can read the access log from stderr alone. A start counts
as done once ``/health`` answers and every worker has loaded the app (each one has taken a
request while the others were held): a worker that boots later would catch the view up and
open storage anew behind the test's back.

Each server runs in a session of its own, so its arbiter's PID is also the process group
of its workers. Every process started here is stopped by that PID: SIGTERM, a bounded
wait, then SIGKILL of the group; ``Server.kill`` is the crash: SIGKILL at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import pytest

from tests.cli_in_process import run_milestones_in_process
from tests.e2e.client import HOST, Client, health_ok, read_response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from types import TracebackType

WORKERS = 2
STARTUP_TIMEOUT = 30.0  # seconds for /health to answer and every worker to load the app
STOP_TIMEOUT = 25.0  # seconds between SIGTERM and SIGKILL (gunicorn_conf graceful_timeout is 20)
LOG_TIMEOUT = 5.0  # seconds for an access log line to reach the file
PIN_TIMEOUT = 15.0  # seconds for a worker to take a pinning request
T = TypeVar("T")

# A database as the harness takes it: an SQLite file's path, or a database URL.
Database = Path | str

# Variables of the test runner's shell that would change what a server or command does.
_CLEARED = {
    "DATABASE_URL",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
    "PROMETHEUS_MULTIPROC_DIR",
}


def database_url_of(database: Database) -> str:
    """``sqlite:////absolute/path.db`` for a path; a URL as it is."""
    if isinstance(database, Path):
        return f"sqlite:///{database.resolve()}"
    return database


def backend_of(database: Database) -> str:
    return "sqlite" if database_url_of(database).startswith("sqlite:") else "postgres"


def service_env(database: Database, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server or command: the service's defaults on this database,
    plus ``extra``. Whatever this shell has set for the service is cleared."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MILESTONES_") and name not in _CLEARED
    }
    env["DATABASE_URL"] = database_url_of(database)
    env.update(extra or {})
    return env


def _milestones_executable() -> Path:
    executable = Path(sys.executable).parent / "milestones"
    if not executable.exists():
        pytest.fail(f"no milestones executable next to {sys.executable}; run `make install`")
    return executable


def run_milestones(
    database: Database, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the operator's tool ``milestones ARGS...`` on this database; its exit code,
    stdout and stderr. It runs in this process (tests/cli_in_process.py): what is under
    test beside it are the servers, which are processes of their own."""
    return run_milestones_in_process(args, service_env(database), stdin=stdin or b"")


def assert_projection_verifies(database: Database) -> None:
    """``milestones projection verify`` on this database exits 0: the view equals a replay."""
    result = run_milestones(database, "projection", "verify")
    assert result.returncode == 0, (result.stdout.decode(), result.stderr.decode())
    assert b"the view equals a replay of the log" in result.stdout, result.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as error:
        return f"(nothing to read in {path.name}: {error})"


@dataclass
class Server:
    """A running ``milestones serve`` process: an arbiter, its PID, its workers, its output."""

    process: subprocess.Popen[bytes]
    port: int
    database_url: str
    stdout_path: Path
    stderr_path: Path
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(HOST, self.port)

    @property
    def database(self) -> Database:
        """This server's database as ``start_server`` takes it, to serve it again or beside."""
        if backend_of(self.database_url) == "sqlite":
            return self.sqlite_file
        return self.database_url

    @property
    def sqlite_file(self) -> Path:
        """The SQLite file this server serves (for tests that open it themselves)."""
        assert backend_of(self.database_url) == "sqlite", self.database_url
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def pid(self) -> int:
        """The arbiter's PID, which is also the process group of its workers."""
        return self.process.pid

    def worker_pids(self) -> set[int]:
        """The PIDs of the arbiter's live workers: its children in /proc that gunicorn's
        log names as workers.

        Telling workers apart by what they are not (the deliverer) miscounts: a deliverer
        being restarted is, between its fork and its exec, a child with no command line of
        its own. A worker forked but not yet logged is not counted until it logs.
        """
        booted = {int(pid) for pid in _BOOTED.findall(self.stderr())}
        return _children_of(self.pid) & booted

    def deliverer_pids(self) -> set[int]:
        """The webhook deliverer the arbiter runs beside its workers (none with --no-deliver)."""
        return {
            pid for pid in _children_of(self.pid) if b"adapters.cli.main\0deliver" in _cmdline(pid)
        }

    def stdout(self) -> str:
        return _read(self.stdout_path)

    def stderr(self) -> str:
        return _read(self.stderr_path)

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
        """SIGTERM the arbiter (by its PID), wait, and SIGKILL its group if it will not go."""
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM the arbiter (by its PID) if it runs; ``wait_stopped`` waits for the end."""
        if self.process.poll() is None:
            self.process.terminate()

    def wait_stopped(self) -> None:
        """Wait for a terminated server to exit; SIGKILL its group if it will not go."""
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> set[int]:
        """A crash: SIGKILL the arbiter and all its workers at once; the PIDs it killed.

        The process group numbered by the arbiter's PID holds the arbiter and the workers
        it forked, and nothing else.
        """
        victims = {self.pid, *self.worker_pids()}
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while (alive := {pid for pid in victims if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive, f"processes of the killed server are still running: {alive}"
        return victims


def stop_servers(servers: Sequence[Server]) -> None:
    """Stop these servers together: SIGTERM to each, then wait for each (``Server.stop``).

    A graceful stop takes about a second, most of it waiting; together they wait once.
    """
    for running in servers:
        running.terminate()
    for running in servers:
        running.wait_stopped()


# Servers on an SQLite file of a finished test, SIGTERMed and still shutting down: the next
# server starts meanwhile, and ``finish_stopping`` waits for them once it serves (so no test
# runs beside a server shutting down), or at the end of the session.
_stopping: list[Server] = []


def finish_stopping() -> None:
    """Wait for the servers still shutting down (``Servers.stop_all``) to be gone."""
    while _stopping:
        _stopping.pop().wait_stopped()


def _children_of(parent: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (command) state ppid ...": the command may hold spaces and parentheses.
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            children.add(int(entry.name))
    return children


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def spawn_server(
    database: Database,
    directory: Path,
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = WORKERS,
    serve_args: Sequence[str] = (),
    port: int | None = None,
    deliver: bool = False,
) -> Server:
    """Start ``milestones serve`` on ``port`` (by default a free one) and return at once
    (see ``wait_until_serving``); its output goes to ``NAME.out`` and ``NAME.err`` in
    ``directory``, which is also its working directory.

    The server runs a webhook deliverer beside its workers only with ``deliver``: an idle
    deliverer polls the database all the time, a cost that only the tests of deliveries
    should pay.
    """
    if not deliver and "--no-deliver" not in serve_args:
        serve_args = [*serve_args, "--no-deliver"]
    server_env = service_env(database, env)
    port = port or free_port()
    stdout_path, stderr_path = directory / f"{name}.out", directory / f"{name}.err"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [
                str(_milestones_executable()),
                *("serve", "--bind", f"{HOST}:{port}", "--workers", str(workers)),
                "--create",  # as `make run` does: a test's database is new
                *serve_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=server_env,
            cwd=directory,
            start_new_session=True,  # its own process group: see Server.kill
        )
    return Server(process, port, server_env["DATABASE_URL"], stdout_path, stderr_path)


_BOOTED = re.compile(r"Booting worker with pid: (\d+)")  # logged by each forked worker
_BOOT_FAILED = "Exception in worker process"  # gunicorn's words for a worker that failed to boot


class PinnedWorker:
    """A POST whose headers arrived but whose body has not: it holds one sync worker.

    A sync worker accepts a connection only once it has loaded the app, and gunicorn
    answers ``Expect: 100-continue`` when the worker takes the request, before the app
    sees it; so the ``100 Continue`` proves that a worker has taken it, and until
    ``release`` that worker accepts nothing else: every other request goes to another
    worker. The body is read with the server's body timeout (10 s by default); on release
    it is answered 400 (401 on a server with tokens), and nothing of it touches storage.
    """

    BODY = b"not json"

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def take(cls, server: Server, deadline: float) -> PinnedWorker | None:
        """A worker pinned, or None if none took the request by the deadline, or if the
        server is going down (it exited, or a worker failed to boot)."""
        sock = socket.create_connection((HOST, server.port), timeout=STARTUP_TIMEOUT)
        sock.sendall(
            b"POST /api/milestones HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(cls.BODY)
        )
        sock.settimeout(0.1)
        expected, received = b"HTTP/1.1 100 Continue\r\n\r\n", b""
        while len(received) < len(expected) and time.monotonic() < deadline:
            try:
                chunk = sock.recv(len(expected) - len(received))
            except TimeoutError:
                if server.process.poll() is not None or _BOOT_FAILED in server.stderr():
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        if received == expected:
            sock.settimeout(STARTUP_TIMEOUT)
            return cls(sock)
        sock.close()
        return None

    @classmethod
    def pin(cls, server: Server, timeout: float = PIN_TIMEOUT) -> PinnedWorker:
        """A worker pinned; the test fails if none takes the request within ``timeout``."""
        pinned = cls.take(server, time.monotonic() + timeout)
        if pinned is None:
            pytest.fail(f"no worker took the request within {timeout} s:\n{server.output()}")
        return pinned

    def release(self) -> int | None:
        """Send the body and read the answer: its status, or None if the connection broke."""
        try:
            self._sock.sendall(self.BODY)
            status, _, _ = read_response(self._sock)
        except (OSError, http.client.HTTPException):
            return None
        finally:
            self._sock.close()
        return status


def _every_worker_loaded(server: Server, workers: int, deadline: float) -> bool:
    """Whether each worker has loaded the app: each takes a request while the others are held."""
    held: list[PinnedWorker] = []
    try:
        for _ in range(workers):
            pinned = PinnedWorker.take(server, deadline)
            if pinned is None:
                return False
            held.append(pinned)
        return True
    finally:
        for pinned in held:
            pinned.release()


def wait_until_serving(server: Server, workers: int = WORKERS) -> str | None:
    """Wait until /health answers and every worker has loaded the app; None then, or why
    not (the server is left as it is)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        if health_ok(server.port):
            if _every_worker_loaded(server, workers, deadline) and server.process.poll() is None:
                finish_stopping()  # servers of an earlier test: gone before this one is used
                return None
            break
        time.sleep(0.05)
    time.sleep(0.2)  # a server going down: let it say why
    return (
        f"milestones serve on port {server.port} did not start serving within "
        f"{STARTUP_TIMEOUT:.0f} s (exit code {server.process.poll()}); its output:\n"
        f"{server.output()}"
    )


def start_server(
    database: Database,
    directory: Path,
    name: str = "server",
    *,
    env: Mapping[str, str] | None = None,
    workers: int = WORKERS,
    attempts: int = 3,
    serve_args: Sequence[str] = (),
    deliver: bool = False,
) -> Server:
    """Start ``milestones serve`` and wait until it serves; fail with its output if not.

    A start is tried again (up to ``attempts`` in all) when another process took the free
    port between the probe and the bind.
    """
    failure = ""
    for attempt in range(attempts):
        server = spawn_server(
            database, directory, f"{name}.{attempt}", env=env, workers=workers,
            serve_args=serve_args, deliver=deliver,
        )  # fmt: skip
        failure = wait_until_serving(server, workers) or ""
        if not failure:
            return server
        server.stop()
        if "in use" not in server.output().lower():
            break
    pytest.fail(failure)


def failed_start(
    directory: Path, env: Mapping[str, str], timeout: float = STARTUP_TIMEOUT
) -> tuple[int, str, bool]:
    """Start a server that must refuse to start: its exit code, its output, and whether
    /health ever answered meanwhile. Killed by its PID if it is still running at the end.
    """
    server = spawn_server(directory / "refused.db", directory, "refused", env=env)
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while server.process.poll() is None and time.monotonic() < deadline:
            answered = answered or health_ok(server.port)
            time.sleep(0.05)
    finally:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
        server.process.wait(timeout=STOP_TIMEOUT)
    return server.process.returncode, server.output(), answered


class Servers:
    """Starts servers with their output in one directory and stops every one it started."""

    def __init__(self, directory: Path, prefix: str = "server") -> None:
        self._directory = directory
        self._prefix = prefix
        self.started: list[Server] = []

    def start(
        self,
        database: Database | None = None,
        *,
        env: Mapping[str, str] | None = None,
        workers: int = WORKERS,
        serve_args: Sequence[str] = (),
        deliver: bool = False,
    ) -> Server:
        """A server on ``database``, or on a fresh SQLite file when none is given (with a
        webhook deliverer beside it only if ``deliver``)."""
        name = f"{self._prefix}-{len(self.started)}"
        running = start_server(
            database or self._directory / f"{name}.db",
            self._directory,
            name,
            env=env,
            workers=workers,
            serve_args=serve_args,
            deliver=deliver,
        )
        self.started.append(running)
        return running

    def stop_all(self) -> None:
        """Stop every server started here: SIGTERM to all of them at once, then the waits.

        A server on an SQLite file (nothing but its own files to release) is only sent its
        SIGTERM here: it finishes shutting down while the next server starts (see
        ``finish_stopping``). One on PostgreSQL is waited for, as its database may be dropped
        next.
        """
        for running in self.started:
            running.terminate()
        for running in reversed(self.started):
            if running.process.poll() is None and backend_of(running.database_url) == "sqlite":
                _stopping.append(running)
            else:
                running.wait_stopped()
        self.started.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def servers_in(directory: Path, prefix: str = "server") -> Iterator[Servers]:
    """For fixtures: ``yield from servers_in(tmp_path)``."""
    with Servers(directory, prefix) as servers:
        yield servers


def on_each_worker(server: Server, call: Callable[[], T]) -> tuple[T, T]:
    """``call()`` once on each of the two workers, for certain: while one is held, the
    other must serve. Not for servers with tokens (a held request is answered 401)."""
    first = PinnedWorker.pin(server)
    on_the_other = call()
    second = PinnedWorker.pin(server)  # the held worker cannot take it
    assert first.release() == 400
    on_the_first = call()
    assert second.release() == 400
    return on_the_other, on_the_first
