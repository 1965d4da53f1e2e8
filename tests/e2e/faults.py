"""What the fault tests break: a PostgreSQL cluster of their own, a small file system, and
a load of writers that counts what the service acknowledged.

Everything is on the loopback and made by the tests: the cluster runs on a free port
beside the main server (which is never touched) and is dropped at the end; the file
system is a tmpfs mounted on a temporary directory and unmounted at the end. Where the
privilege to make them is missing the tests skip with the reason, except in CI.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import psycopg
import pytest

from tests.e2e.client import HOST, Client

if TYPE_CHECKING:
    from collections.abc import Iterator

COMMAND_TIMEOUT = 60


def unavailable(reason: str) -> None:
    """Skip for want of a privilege or a tool, but fail in CI, where both are given."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster of the installed major version, on its own port."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}"

    def _ctl(self, action: str) -> None:
        result = _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action)
        assert result.returncode == 0, (action, result.stderr)

    def start(self) -> None:
        self._ctl("start")
        deadline = time.monotonic() + 30
        while _run("pg_isready", "-q", "-h", HOST, "-p", str(self.port)).returncode != 0:
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.1)

    def stop(self) -> None:
        self._ctl("stop")  # fast: open sessions are cut, as in a crash of the server

    def create_database(self) -> str:
        name = f"faults_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"


@contextmanager
def make_cluster(port: int) -> Iterator[Cluster]:
    """A cluster made, started, and dropped on leaving."""
    if shutil.which("pg_createcluster") is None or not Path("/etc/postgresql").is_dir():
        unavailable("PostgreSQL's cluster tools (pg_createcluster) are not installed")
    version = max((p.name for p in Path("/etc/postgresql").iterdir()), key=int)
    name = f"faults{os.getpid()}"
    made = _run("pg_createcluster", version, name, "-p", str(port), "--", "--auth=trust")
    if made.returncode != 0:
        unavailable(f"pg_createcluster failed (it needs root): {made.stderr.strip()}")
    cluster = Cluster(version, name, port)
    try:
        cluster.start()
        yield cluster
    finally:
        _run("pg_dropcluster", "--stop", version, name)


@contextmanager
def mount_tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` on ``directory``, unmounted on leaving."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory))
    if mounted.returncode != 0:
        unavailable(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        _run("umount", "--lazy", str(directory))


def fill(directory: Path) -> Path:
    """A file that takes every free byte of the file system under ``directory``."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        size = 1 << 16
        while size:
            try:
                os.write(descriptor, b"\0" * size)
            except OSError:
                size //= 2  # what is left is smaller than this
    finally:
        os.close(descriptor)
    return filler


@dataclass
class Answer:
    status: int  # 0: the connection broke before an answer
    seconds: float
    body: Any
    key: str
    body_title: str


@dataclass
class Writers:
    """Threads that create milestones until stopped, each POST with an Idempotency-Key;
    every answer is kept, with how long it took."""

    client: Client
    threads: int = 2
    pause: float = 0.02
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Self:
        for number in range(self.threads):
            thread = threading.Thread(target=self._write, args=(number,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=60)

    def _write(self, number: int) -> None:
        while not self._stop.is_set():
            key, title = uuid.uuid4().hex, f"writer {number}"
            started = time.monotonic()
            try:
                status, _, body = self.client.request(
                    "POST",
                    "/api/milestones",
                    {"projectId": "proj_faults", "title": title},
                    {"Idempotency-Key": key},
                )
            except (OSError, http.client.HTTPException) as error:
                status, body = 0, repr(error)
            with self._lock:
                self.answers.append(Answer(status, time.monotonic() - started, body, key, title))
            time.sleep(self.pause)

    def acknowledged(self) -> list[str]:
        return [a.body["data"]["id"] for a in self.answers if a.status == 201]
