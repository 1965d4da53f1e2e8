"""Start, watch and stop the services under test, by the PIDs this process started."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterator

HOST = "127.0.0.1"  # the only address anything here listens on or loads
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_READY_TIMEOUT = 60.0  # seconds; the project's arbiter catches its view up before forking
_STOP_TIMEOUT = 20.0  # beyond gunicorn's graceful_timeout, then SIGKILL


class ServiceFailed(RuntimeError):
    """A service did not come up, or died; the message holds the end of its log."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # "project", "limit", "peer", ...
    argv: tuple[str, ...]  # the command, with {bind} where the address goes
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/health"


def milestones_command() -> str:
    """The project's ``milestones`` script: beside this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "milestones"
    if beside.exists():
        return str(beside)
    found = shutil.which("milestones")
    if found is None:
        raise ServiceFailed("no `milestones` command: run `make install` first")
    return found


def database_url(database: Path | str) -> str:
    """A SQLite file as the project's DATABASE_URL; a URL (postgresql://...) as it is."""
    return f"sqlite:///{database.resolve()}" if isinstance(database, Path) else database


def project_spec(
    name: str, database: Path | str, workers: int, env: dict[str, str] | None = None
) -> ServiceSpec:
    """``milestones serve`` on a SQLite file or a database URL, with extra settings in ``env``."""
    argv: tuple[str, ...] = (milestones_command(), "serve", "--bind", "{bind}")
    argv += ("--workers", str(workers))
    if isinstance(database, Path):  # a benchmark's SQLite file may be new: serve makes it
        argv += ("--create",)
    return ServiceSpec(
        name=name, argv=argv, env={"DATABASE_URL": database_url(database), **(env or {})}
    )


def peer_spec(name: str, app: str, workers: int, database: Path | str | None = None) -> ServiceSpec:
    """The limit or the CRUD peer; the peer's database is a SQLite file or a postgresql:// URL."""
    argv = [sys.executable, "-m", "bench.peer_server", app, "--bind", "{bind}"]
    argv += ["--workers", str(workers)]
    if database is not None:
        argv += ["--database", str(database.resolve()) if isinstance(database, Path) else database]
    return ServiceSpec(name=name, argv=tuple(argv))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningService:
    spec: ServiceSpec
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children the arbiter we started forked from itself."""
        return self._children_by_kind()[0]

    def helper_pids(self) -> list[int]:
        """The arbiter's other children: commands of their own (the project's webhook deliverer).

        Kept apart so that the workers' CPU time and memory are the workers' alone.
        """
        return self._children_by_kind()[1]

    def _children_by_kind(self) -> tuple[list[int], list[int]]:
        # A forked worker keeps the arbiter's command line (or, with setproctitle, names
        # itself a gunicorn worker); a helper started with a command of its own does not.
        arbiter = _command_line(self.process.pid)
        workers, helpers = [], []
        for pid in sorted(_children(self.process.pid)):
            command_line = _command_line(pid)
            if command_line is None:
                continue  # gone meanwhile
            if command_line == arbiter or command_line.startswith(b"gunicorn: worker"):
                workers.append(pid)
            else:
                helpers.append(pid)
        return workers, helpers

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            msg = f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
            raise ServiceFailed(msg)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            if _answers_ok(self.port, self.spec.health_path):
                return
            time.sleep(0.1)
        msg = f"{self.name} not ready after {_READY_TIMEOUT:.0f} s:\n{self.log_tail()}"
        raise ServiceFailed(msg)

    def stop(self) -> None:
        """SIGTERM to the arbiter (it stops its workers), SIGKILL if it does not finish."""
        if self.process.poll() is None:
            children = _children(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                # A killed arbiter leaves its children behind; they are ours to end too.
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        self._log.close()


def start(spec: ServiceSpec, log_dir: Path) -> RunningService:
    port = free_port()
    log_path = log_dir / f"{spec.name}.log"
    log = log_path.open("ab")
    argv = [part.replace("{bind}", f"{HOST}:{port}") for part in spec.argv]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        argv,
        cwd=PROJECT_ROOT,
        env={**_inherited_environment(), **spec.env},
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: a Ctrl-C reaches the bench, which then stops it in order.
        start_new_session=True,
    )
    return RunningService(spec, port, process, log_path, log)


@contextlib.contextmanager
def running(spec: ServiceSpec, log_dir: Path) -> Iterator[RunningService]:
    """A started and ready service, stopped on the way out whatever happens."""
    service = start(spec, log_dir)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def _inherited_environment() -> dict[str, str]:
    """Our environment, less what would make two services share state they each own.

    The project's gunicorn settings keep its workers' metrics in a directory named by
    PROMETHEUS_MULTIPROC_DIR, made afresh by each server unless inherited; two services
    sharing one would wipe each other's files.
    """
    return {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}


def call(
    port: int, method: str, path: str, body: object = None, *, timeout: float = 30.0
) -> tuple[int, bytes]:
    """One request to a service on its own connection: the status and the body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _answers_ok(port: int, path: str) -> bool:
    try:
        return call(port, "GET", path, timeout=2)[0] == http.client.OK
    except OSError:
        return False


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _command_line(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _children(parent: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                children.add(int(entry.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_megabytes(pid: int) -> float | None:
    """VmRSS of a process in MB (10^6 bytes), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return None
