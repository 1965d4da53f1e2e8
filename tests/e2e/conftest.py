"""End-to-end fixtures: a real ``milestones serve`` process spoken to over real HTTP.

The session server runs ``milestones serve --workers 2`` on a free 127.0.0.1 port with its own
SQLite file, so two worker processes may answer any two requests. ``server_factory`` starts
more servers (on a fresh database or on an existing one) for the tests that need them.
Every process started here is stopped by its PID: SIGTERM, a bounded wait, then SIGKILL.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

HOST = "127.0.0.1"
WORKERS = 2
STARTUP_TIMEOUT = 30.0  # seconds for /health to answer
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL (gunicorn's graceful_timeout is 10)
REQUEST_TIMEOUT = 30.0

Response = tuple[int, http.client.HTTPMessage, Any]


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


@dataclass(frozen=True)
class Client:
    """A tiny HTTP client: one fresh connection per request, JSON in and out."""

    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """``(status, headers, body)``; the body is parsed when the response says it is JSON.

        A ``dict`` or ``list`` body is sent as JSON with ``Content-Type: application/json``
        (unless ``headers`` name another one); ``bytes`` or ``str`` go out exactly as given,
        with no Content-Type unless ``headers`` has one.
        """
        send_headers = dict(headers or {})
        payload: bytes | None
        if body is None:
            payload = None
        elif isinstance(body, bytes | bytearray):
            payload = bytes(body)
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()
            if not any(name.lower() == "content-type" for name in send_headers):
                send_headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=send_headers)
            response = connection.getresponse()
            raw = response.read()
            parsed: Any = raw
            if raw and _is_json(response.getheader("Content-Type")):
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = raw  # left as bytes: the test that looks at it will fail
            return response.status, response.msg, parsed
        finally:
            connection.close()

    # Small conveniences over ``request``.

    def ready(self) -> dict[str, Any]:
        status, _, body = self.request("GET", "/ready")
        assert status == 200, body
        data: dict[str, Any] = body["data"]
        return data

    def head(self) -> int:
        """The number of the last event in the log."""
        head = self.ready()["head"]
        assert isinstance(head, int)
        return head

    def create(self, **fields: Any) -> tuple[dict[str, Any], str]:
        """POST a milestone (projectId and title defaulted); its document and ETag."""
        body = {"projectId": "proj_e2e", "title": "A milestone", **fields}
        status, headers, response = self.request("POST", "/api/milestones", body)
        assert status == 201, response
        return response["data"], headers["ETag"]

    def get(self, milestone_id: str) -> tuple[dict[str, Any], str]:
        status, headers, response = self.request("GET", f"/api/milestones/{milestone_id}")
        assert status == 200, response
        return response["data"], headers["ETag"]


@dataclass
class Server:
    """A running ``milestones serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    database_path: Path
    log_path: Path
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(HOST, self.port)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_path}"

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no server output: {error})"

    def stop(self) -> None:
        """SIGTERM the process this fixture started, wait, SIGKILL if it will not go."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def _milestones_executable() -> Path:
    executable = Path(sys.executable).parent / "milestones"
    if not executable.exists():
        pytest.fail(f"no milestones executable next to {sys.executable}; run `make install`")
    return executable


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _health_ok(port: int) -> bool:
    try:
        status, _, body = Client(HOST, port).request("GET", "/health")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and isinstance(body, dict) and "data" in body


def start_server(database_path: Path, log_path: Path, attempts: int = 3) -> Server:
    """Start ``milestones serve`` and wait until /health answers; fail with its output if not."""
    executable = _milestones_executable()
    # The service's defaults, whatever this shell has set (tokens, CORS, bind, workers...).
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MILESTONES_")
        and name not in {"DATABASE_URL", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"}
    }
    env["DATABASE_URL"] = f"sqlite:///{database_path.resolve()}"
    failure = ""
    for attempt in range(attempts):
        port = _free_port()
        attempt_log = log_path.with_name(f"{log_path.stem}.{attempt}{log_path.suffix}")
        with attempt_log.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(executable),
                    "serve",
                    "--bind",
                    f"{HOST}:{port}",
                    "--workers",
                    str(WORKERS),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=database_path.parent,
            )
        server = Server(process, port, database_path.resolve(), attempt_log)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _health_ok(port):
                return server
            time.sleep(0.05)
        server.stop()
        output = server.output()
        failure = (
            f"milestones serve on port {port} did not answer GET /health within "
            f"{STARTUP_TIMEOUT:.0f} s (exit code {process.returncode}); its output:\n{output}"
        )
        # Another process may have taken the free port between probe and bind: try another.
        if "in use" not in output.lower():
            break
    pytest.fail(failure)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("e2e-server")
    running = start_server(directory / "milestones.db", directory / "server.log")
    try:
        yield running
    finally:
        code = running.process.poll()
        running.stop()
    if code is not None:
        pytest.fail(f"the server exited during the tests (code {code}):\n{running.output()}")


@pytest.fixture(scope="session")
def client(server: Server) -> Client:
    return server.client


class ServerFactory(Protocol):
    def __call__(self, database_path: Path | None = None) -> Server: ...


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """``server_factory(database_path=None)``: another running server, stopped after the test.

    Without a path it gets a fresh database; with one (e.g. ``server.database_path``) it
    serves that database, next to or after the server that wrote it.
    """
    started: list[Server] = []

    def start(database_path: Path | None = None) -> Server:
        index = len(started)
        path = database_path or tmp_path / f"factory-{index}.db"
        running = start_server(path, tmp_path / f"factory-{index}.log")
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in reversed(started):
            running.stop()
