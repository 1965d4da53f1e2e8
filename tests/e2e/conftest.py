"""End-to-end fixtures: real ``milestones serve`` processes spoken to over real HTTP.

Every test that takes ``server`` or ``client`` (or ``server_factory``) runs on each backend:
``[sqlite]`` and ``[postgres]``, after ``session_database_url`` of tests/conftest.py. The
session server runs ``milestones serve --workers 2`` on a free 127.0.0.1 port, one per
backend for the whole session (pytest runs the tests of one backend, then the other's),
so two worker processes may answer any two requests. ``server_factory`` starts more
servers of the same backend, on a fresh database or on an existing one; ``launch`` starts
servers on a database the test names (e.g. ``postgres_url``), for backend-specific tests.

The tests named in ``SQLITE_ONLY_TESTS`` below run on SQLite only: their ``[postgres]``
twins are deselected (pytest reports them as such), each for the reason given there.

Each server is started in a session of its own, so its arbiter's PID is also the process
group of its workers. Every process started here is stopped by that PID: SIGTERM, a
bounded wait, then SIGKILL of the group; ``Server.kill`` is the crash: SIGKILL at once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tests.conftest import throwaway_postgres_database

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

HOST = "127.0.0.1"
WORKERS = 2
STARTUP_TIMEOUT = 30.0  # seconds for /health to answer
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL (gunicorn's graceful_timeout is 10)
REQUEST_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0  # seconds for a `milestones` command (export, import, verify...)
MAX_FEED_PAGES = 1000  # a feed followed with limit=1000 ends within a million events

Response = tuple[int, http.client.HTTPMessage, Any]
# A database as the factories take it: an SQLite file's path, or a database URL.
Database = Path | str

# Variables of the test runner's shell that would change what a server or command does.
_CLEARED = {
    "DATABASE_URL",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
    "PROMETHEUS_MULTIPROC_DIR",
}


# Tests (module file::function) whose assertions hold on SQLite only, and why.
_GAPS = (
    "counts events as the growth of /ready's head, which assumes gapless positions (SQLite "
    "rowids); on PostgreSQL a write that loses the optimistic-concurrency race has taken a "
    "sequence number, so positions have gaps, which the contract allows (section 6 promises "
    "every event once, in commit order). tests/e2e/test_scale_out.py checks the same claims "
    "on PostgreSQL, counting events by their versions"
)
SQLITE_ONLY_TESTS = {
    "test_consistency.py::test_concurrent_patches_are_serialised": _GAPS,
    "test_consistency.py::test_two_servers_on_one_database": _GAPS,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``[postgres]`` twins of the tests in ``SQLITE_ONLY_TESTS``."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    here = Path(__file__).parent
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        backend = callspec.params.get("session_database_url") if callspec else None
        sqlite_only = item.path.parent == here and name in SQLITE_ONLY_TESTS
        (drop if sqlite_only and backend == "postgres" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def database_url_of(database: Database) -> str:
    """``sqlite:////absolute/path.db`` for a path; a URL as it is."""
    if isinstance(database, Path):
        return f"sqlite:///{database.resolve()}"
    return database


def backend_of(database: Database) -> str:
    return "sqlite" if database_url_of(database).startswith("sqlite:") else "postgres"


def service_env(database: Database, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server or command: the service's defaults on this database.

    Whatever this shell has set for the service (tokens, CORS, bind, workers...) is cleared.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MILESTONES_") and name not in _CLEARED
    }
    env["DATABASE_URL"] = database_url_of(database)
    env.update(extra or {})
    return env


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

    def history(self, milestone_id: str) -> list[dict[str, Any]]:
        """A milestone's events, oldest first."""
        status, _, response = self.request("GET", f"/api/milestones/{milestone_id}/history")
        assert status == 200, response
        assert response["count"] == len(response["data"]), response
        events: list[dict[str, Any]] = response["data"]
        return events

    def feed(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Every event after ``after``: the pages up to the end (``next`` null), at most 1000."""
        events: list[dict[str, Any]] = []
        for _ in range(MAX_FEED_PAGES):
            status, _, page = self.request("GET", f"/api/events?after={after}&limit={limit}")
            assert status == 200, page
            assert page["count"] == len(page["data"]), page
            events.extend(page["data"])
            if page["next"] is None:
                return events
            assert page["next"] == page["data"][-1]["position"], page["next"]
            after = page["next"]
        pytest.fail(f"the event feed did not end within {MAX_FEED_PAGES} pages")


@dataclass
class Server:
    """A running ``milestones serve`` process: an arbiter, its PID, and its workers."""

    process: subprocess.Popen[bytes]
    port: int
    database_url: str
    log_path: Path
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(HOST, self.port)

    @property
    def database_path(self) -> Database:
        """This server's database as ``server_factory`` takes it, to serve it again or beside.

        The SQLite file's path, or the URL of a PostgreSQL database.
        """
        if backend_of(self.database_url) == "sqlite":
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.database_url

    @property
    def pid(self) -> int:
        """The arbiter's PID, which is also the process group of its workers."""
        return self.process.pid

    def worker_pids(self) -> set[int]:
        """The PIDs of the arbiter's live children (its workers), read from /proc."""
        return _children_of(self.pid)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no server output: {error})"

    def stop(self) -> None:
        """SIGTERM the arbiter this fixture started, wait, SIGKILL its group if it will not go."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> set[int]:
        """A crash: SIGKILL the arbiter and all its workers at once; the PIDs it killed.

        The server runs in a session of its own, so its process group (numbered by the
        arbiter's PID) holds the arbiter and the workers it forked, and nothing else.
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


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _milestones_executable() -> Path:
    executable = Path(sys.executable).parent / "milestones"
    if not executable.exists():
        pytest.fail(f"no milestones executable next to {sys.executable}; run `make install`")
    return executable


def run_milestones(
    database: Database,
    *args: str,
    stdin: bytes | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``milestones ARGS...`` on this database; its exit code, stdout and stderr."""
    return subprocess.run(
        [str(_milestones_executable()), *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=service_env(database),
        timeout=timeout,
        check=False,
    )


def assert_projection_verifies(database: Database) -> None:
    """``milestones projection verify`` on this database exits 0: the view equals a replay."""
    result = run_milestones(database, "projection", "verify")
    assert result.returncode == 0, (result.stdout.decode(), result.stderr.decode())
    assert b"the view equals a replay of the log" in result.stdout, result.stdout


PROBLEM_KEYS = frozenset({"type", "title", "status", "detail"})


def assert_problem(
    response: tuple[int, Any, Any],
    status: int,
    fields: set[str] | None = None,
    *,
    extra_keys: bool = False,
) -> dict[str, Any]:
    """An RFC 9457 problem+json response with this status.

    ``fields``: the bad fields its ``errors`` must name. ``extra_keys``: it may carry
    members beyond the problem's own (as /ready's 503 does).
    """
    code, headers, body = response
    assert code == status, (code, body)
    assert headers.get_content_type() == "application/problem+json", headers["Content-Type"]
    assert isinstance(body, dict), body
    assert PROBLEM_KEYS.issubset(body), body
    if not extra_keys:
        assert set(body) <= PROBLEM_KEYS | {"errors"}, body
    assert body["status"] == status, body
    for key in ("type", "title"):
        assert isinstance(body[key], str), body
        assert body[key], body
    assert isinstance(body["detail"], str), body
    if fields is not None:
        errors = body.get("errors")
        assert isinstance(errors, list), body
        for error in errors:
            assert set(error) == {"field", "message"}, error
            assert isinstance(error["message"], str)
            assert error["message"]
        assert {error["field"] for error in errors} == fields, errors
    return body


def rejected(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    status: int,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """Send a request that must be rejected, and prove that no event was recorded."""
    head = client.head()
    problem = assert_problem(client.request(method, path, body, headers), status, fields)
    assert client.head() == head, "a rejected request recorded an event"
    return problem


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def health_ok(port: int) -> bool:
    try:
        status, _, body = Client(HOST, port).request("GET", "/health")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and isinstance(body, dict) and "data" in body


def spawn_server(
    database: Database,
    log_path: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = WORKERS,
) -> Server:
    """Start ``milestones serve`` on this port and return at once (see ``wait_until_serving``).

    ``database`` is an SQLite file's path or a database URL; ``env`` adds variables to the
    service's defaults.
    """
    server_env = service_env(database, env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(_milestones_executable()),
                "serve",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(workers),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env,
            cwd=log_path.parent,
            start_new_session=True,  # its own process group: see Server.kill
        )
    return Server(process, port, server_env["DATABASE_URL"], log_path)


_HELD_BODY = b"not json"  # a held request's body, sent on release: a 400 that records nothing
_BOOT_FAILED = "Exception in worker process"  # gunicorn's words for a worker that failed to boot


def _hold_a_worker(server: Server, deadline: float) -> socket.socket | None:
    """A request that a worker has taken and now waits on: it holds that worker.

    A sync worker accepts a connection only once it has loaded the app, and answers
    ``Expect: 100-continue`` when it takes the request; until the body comes it takes
    nothing else. None if no worker took the request by the deadline, or if a worker
    failed to boot (the server is going down).
    """
    sock = socket.create_connection((HOST, server.port), timeout=STARTUP_TIMEOUT)
    sock.sendall(
        b"POST /api/milestones HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(_HELD_BODY)
    )
    sock.settimeout(0.1)
    expected, received = b"HTTP/1.1 100 Continue\r\n\r\n", b""
    while len(received) < len(expected) and time.monotonic() < deadline:
        try:
            chunk = sock.recv(len(expected) - len(received))
        except TimeoutError:
            if server.process.poll() is not None or _BOOT_FAILED in server.output():
                break
            continue
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    if received == expected:
        sock.settimeout(STARTUP_TIMEOUT)
        return sock
    sock.close()
    return None


def _release(sock: socket.socket) -> None:
    with sock:
        try:
            sock.sendall(_HELD_BODY)
            while sock.recv(65536):
                pass
        except OSError:
            pass


def _every_worker_loaded(server: Server, workers: int, deadline: float) -> bool:
    """Whether each of the server's workers has loaded the app: each takes one request
    while the others are held."""
    held: list[socket.socket] = []
    try:
        for _ in range(workers):
            sock = _hold_a_worker(server, deadline)
            if sock is None:
                return False
            held.append(sock)
        return True
    finally:
        for sock in held:
            _release(sock)


def wait_until_serving(server: Server, workers: int = WORKERS) -> str | None:
    """Wait until /health answers and every worker has loaded the app; None then, or why
    not (the server is left as it is)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        if health_ok(server.port):
            if _every_worker_loaded(server, workers, deadline) and server.process.poll() is None:
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
    log_path: Path,
    attempts: int = 3,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = WORKERS,
) -> Server:
    """Start ``milestones serve`` and wait until it serves; fail with its output if not.

    ``database`` is an SQLite file's path or a database URL; ``env`` adds variables to the
    service's defaults. A start is tried again (up to ``attempts`` in all) when another
    process took the free port first.
    """
    failure = ""
    for attempt in range(attempts):
        attempt_log = log_path.with_name(f"{log_path.stem}.{attempt}{log_path.suffix}")
        server = spawn_server(database, attempt_log, free_port(), env=env, workers=workers)
        failure = wait_until_serving(server, workers) or ""
        if not failure:
            return server
        server.stop()
        output = server.output()
        # Another process may have taken the free port between probe and bind: try another.
        if "in use" not in output.lower():
            break
    pytest.fail(failure)


@pytest.fixture(scope="session")
def server(session_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session, on that backend's session database."""
    directory = tmp_path_factory.mktemp(f"e2e-server-{backend_of(session_database_url)}")
    running = start_server(session_database_url, directory / "server.log")
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


class Launcher(Protocol):
    def __call__(
        self, database: Database, *, env: Mapping[str, str] | None = None, workers: int = WORKERS
    ) -> Server: ...


class _Servers:
    """Starts servers with logs in one directory; ``stop_all`` stops every one, newest first."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self._directory = directory
        self._prefix = prefix
        self.started: list[Server] = []

    def start(
        self, database: Database, *, env: Mapping[str, str] | None = None, workers: int = WORKERS
    ) -> Server:
        log = self._directory / f"{self._prefix}-{len(self.started)}.log"
        running = start_server(database, log, env=env, workers=workers)
        self.started.append(running)
        return running

    def stop_all(self) -> None:
        for running in reversed(self.started):
            running.stop()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    """``launch(database, env=None, workers=2)``: a server on that database, stopped after the test.

    ``database`` is an SQLite file's path or a database URL (e.g. ``postgres_url``).
    """
    servers = _Servers(tmp_path, "server")
    try:
        yield servers.start
    finally:
        servers.stop_all()


class ServerFactory(Protocol):
    def __call__(self, database_path: Database | None = None) -> Server: ...


@pytest.fixture
def server_factory(session_database_url: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """``server_factory(database_path=None)``: another running server, stopped after the test.

    Without a database it gets a fresh one of the test's backend (an SQLite file, or a
    PostgreSQL database dropped after the test); with one (e.g. ``server.database_path``)
    it serves that database, next to or after the server that wrote it.
    """
    backend = backend_of(session_database_url)
    servers = _Servers(tmp_path, "factory")
    with ExitStack() as databases:  # dropped after the servers stopped

        def start(database_path: Database | None = None) -> Server:
            database = database_path
            if database is None:
                if backend == "sqlite":
                    database = tmp_path / f"factory-{len(servers.started)}.db"
                else:
                    database = databases.enter_context(throwaway_postgres_database())
            return servers.start(database)

        try:
            yield start
        finally:
            servers.stop_all()


# The event log as clients see it, checked against the read model.

KEYS = ("id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt")
Folded = dict[str, tuple[int, dict[str, Any] | None]]  # id -> (last version, document or None)


def fold_events(events: list[dict[str, Any]]) -> Folded:
    """The documents the events make, by the contract's rules, with no code of the service.

    A Created payload holds every initial field and its time is createdAt; Updated holds the
    changed fields; StatusChanged sets status and reachedAt; Deleted removes the milestone.
    Checks on the way that each milestone's versions count 1, 2, 3... in feed order.
    """
    folded: Folded = {}
    for event in events:
        milestone_id, version, payload = event["milestoneId"], event["version"], event["payload"]
        last, document = folded.get(milestone_id, (0, None))
        assert version == last + 1, ("versions out of order", event, last)
        if event["type"] == "Created":
            assert last == 0, event
            fields = {**payload, "id": milestone_id, "createdAt": event["occurredAt"]}
            document = {key: fields[key] for key in KEYS}
        else:
            assert document is not None, ("an event after the milestone was deleted", event)
            if event["type"] == "Updated":
                assert payload, event
                assert set(payload) <= set(KEYS) - {"id", "projectId", "createdAt"}, event
                document = document | payload
            elif event["type"] == "StatusChanged":
                assert payload["from"] == document["status"] != payload["to"], event
                document = document | {"status": payload["to"], "reachedAt": payload["reachedAt"]}
            else:
                assert event["type"] == "Deleted", event
                assert payload == {}, event
                document = None
        folded[milestone_id] = (version, document)
    return folded


def check_feed_against_read_model(clients: list[Client]) -> list[dict[str, Any]]:
    """The feed from after=0 and the read model agree, through every client; the feed.

    The feed has each event once, in strictly increasing positions, the same through every
    client and ending at /ready's head; each milestone's events in it are its history; the
    documents they fold to are what GET answers (ETag: the last version), the deleted ones
    are 404, and the list of milestones holds exactly the live ones.
    """
    feed = clients[0].feed()
    positions = [event["position"] for event in feed]
    assert positions == sorted(set(positions)), "positions not strictly increasing"
    assert len({(e["milestoneId"], e["version"]) for e in feed}) == len(feed)
    folded = fold_events(feed)
    live = {mid: doc for mid, (_, doc) in folded.items() if doc is not None}
    by_milestone: dict[str, list[dict[str, Any]]] = {}
    for event in feed:
        by_milestone.setdefault(event["milestoneId"], []).append(
            {key: value for key, value in event.items() if key != "position"}
        )
    for client in clients:
        assert client.feed() == feed
        ready = client.ready()
        assert ready["lag"] == 0, ready
        assert ready["head"] == (positions[-1] if positions else 0), ready
        status, _, listed = client.request("GET", "/api/milestones")
        assert status == 200, listed
        assert {item["id"]: item for item in listed["data"]} == live
        for milestone_id, (version, document) in folded.items():
            assert client.history(milestone_id) == by_milestone[milestone_id]
            status, headers, body = client.request("GET", f"/api/milestones/{milestone_id}")
            if document is None:
                assert status == 404, body
            else:
                assert (status, headers["ETag"], body) == (200, f'"{version}"', {"data": document})
    return feed
