"""What the commands promise a newcomer: each names the store it opened (an absolute path,
or a URL without its password) and whether it just made it; ``serve`` makes no SQLite store
unless asked; every expected failure is one line and exit 2, at once; a reader that stops
reading, or Ctrl-C, ends a command quietly; every command explains itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.bootstrap import open_service
from adapters.cli.main import build_parser
from adapters.cli.which_store import postgres_state, store_name
from adapters.settings import Settings
from domain.ids import to_public_id
from tests.e2e.harness import start_server

if TYPE_CHECKING:
    from collections.abc import Iterator

MILESTONES = Path(sys.executable).with_name("milestones")
TIMEOUT = 60
COULD_NOT_RUN = 2


def run(
    *args: str, database_url: str | None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and "MILESTONES_" not in k
    }
    if database_url is not None:
        environ["DATABASE_URL"] = database_url
    result = subprocess.run(
        [str(MILESTONES), *args],
        input=b"",
        capture_output=True,
        env=environ | (env or {}),
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def one_line_failure(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == COULD_NOT_RUN, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    """A store made in ``tmp_path/var/m.db``, and the id of a milestone in it."""
    path = tmp_path / "var" / "m.db"
    service = open_service(Settings(database_url=f"sqlite:///{path}"))
    try:
        made = service.milestones.create(project_id="proj_cli", title="there")
        service.milestones.update(made.id, {"title": "renamed"})
    finally:
        service.close()
    return path, to_public_id(made.id)


# --- the store said out loud -----------------------------------------------------------------


def test_every_tool_names_the_store_it_opened_by_its_absolute_path(
    store: tuple[Path, str], tmp_path: Path
) -> None:
    path, milestone_id = store
    for args in [("export",), ("history", milestone_id), ("projection", "status"), ("webhooks",)]:
        # A relative URL, as the default is: the line says which file that was.
        result = run(*args, database_url="sqlite:///var/m.db", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        command = " ".join(args[:2] if args[0] == "projection" else args[:1])
        assert f"milestones {command}: store {path} (existing)\n" in result.stderr, result.stderr


def test_import_creates_its_store_and_says_so(store: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = store
    exported = subprocess.run(
        [str(MILESTONES), "export"],
        capture_output=True,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{path}"},
        timeout=TIMEOUT,
        check=True,
    ).stdout
    target = tmp_path / "restored" / "m.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{target}"}
    imported = subprocess.run(
        [str(MILESTONES), "import"], input=exported, capture_output=True, env=env, check=False
    )
    assert imported.returncode == 0, imported.stderr
    assert f"milestones import: store {target} (created now)\n".encode() in imported.stderr
    again = subprocess.run(
        [str(MILESTONES), "import"], input=exported, capture_output=True, env=env, check=False
    )
    assert again.returncode == COULD_NOT_RUN
    assert f"store {target} (existing)".encode() in again.stderr
    assert b"already holds events" in again.stderr
    assert b"Traceback" not in again.stderr


def test_a_postgres_store_is_named_without_its_password() -> None:
    named = store_name("postgresql://milestones:s3cret@db.internal:5433/milestones")
    assert named == "postgresql://milestones@db.internal:5433/milestones"
    assert store_name("postgresql://db.internal/m") == "postgresql://db.internal/m"


# --- serve makes no SQLite store unless asked ------------------------------------------------


def test_serve_from_a_folder_without_the_store_refuses_and_creates_nothing(tmp_path: Path) -> None:
    result = run("serve", database_url=None, cwd=tmp_path)
    one_line_failure(result, f"no store at {tmp_path / 'var' / 'milestones.db'}", "--create")
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_file_that_holds_no_store_refuses(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"")
    one_line_failure(run("serve", database_url=f"sqlite:///{path}"), f"no store at {path}")
    assert path.read_bytes() == b""


def test_serve_with_create_makes_the_store_and_says_so(tmp_path: Path) -> None:
    server = start_server(tmp_path / "new.db", tmp_path, workers=1)
    try:
        assert server.client.request("GET", "/api/milestones")[0] == 200
    finally:
        server.stop()
    assert f"milestones serve: store {tmp_path / 'new.db'} (created now)" in server.stderr()
    again = start_server(tmp_path / "new.db", tmp_path, "again", workers=1)
    again.stop()
    assert f"milestones serve: store {tmp_path / 'new.db'} (existing)" in again.stderr()


@pytest.mark.postgres
def test_serve_on_a_postgres_database_that_does_not_exist_stops_at_once(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/milestones_no_such_database"
    result = run("serve", "--bind", "127.0.0.1:0", database_url=missing)
    one_line_failure(result, "milestones_no_such_database", "does not exist")


# --- one line and exit 2, at once ------------------------------------------------------------


def test_serve_on_a_busy_port_fails_at_once(store: tuple[Path, str]) -> None:
    path, _ = store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run("serve", "--bind", address, database_url=f"sqlite:///{path}")
    one_line_failure(result, address, "in use")
    # Refused before gunicorn started: it would have retried for seconds ("Retrying in 1
    # second") and then exited 1.
    assert "Retrying" not in result.stderr


@pytest.mark.parametrize(
    ("tokens", "words"),
    [("secret-token-0123456789 bad/name", ["token line 1"]), ("  ", ["holds no token"])],
)
def test_serve_with_a_bad_tokens_line_fails_in_one_line(
    store: tuple[Path, str], tokens: str, words: list[str]
) -> None:
    path, _ = store
    env = {"MILESTONES_API_TOKENS": tokens}
    result = run("serve", "--bind", "127.0.0.1:0", database_url=f"sqlite:///{path}", env=env)
    one_line_failure(result, *words)
    assert "secret-token" not in result.stderr


# --- quiet endings ---------------------------------------------------------------------------


def test_a_reader_that_stops_reading_ends_the_command_quietly(store: tuple[Path, str]) -> None:
    path, milestone_id = store
    for args in [("history", milestone_id), ("export",)]:
        process = subprocess.Popen(
            [str(MILESTONES), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{path}"},
        )
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # as `| head` does once it has read enough
        stderr = process.stderr.read().decode()
        assert process.wait(TIMEOUT) == 128 + signal.SIGPIPE, stderr
        assert "Broken pipe" not in stderr
        assert "Traceback" not in stderr


def test_ctrl_c_stops_a_server_without_restarting_its_deliverer(tmp_path: Path) -> None:
    server = start_server(tmp_path / "m.db", tmp_path, workers=1, deliver=True)
    deadline = time.monotonic() + TIMEOUT
    while not server.deliverer_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.deliverer_pids(), server.output()
    os.killpg(server.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    server.process.wait(TIMEOUT)
    assert "starting another" not in server.stderr(), server.stderr()
    assert "Traceback" not in server.stderr(), server.stderr()


# --- help ------------------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, path: str = "milestones"
) -> Iterator[tuple[str, str]]:
    yield path, parser.description or ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{path} {name}")


def test_every_command_has_a_description() -> None:
    described = dict(_commands(build_parser()))
    assert len(described) > 8
    assert [path for path, description in described.items() if len(description) < 20] == []


@pytest.mark.postgres
def test_serve_says_whether_a_postgres_store_exists_or_is_reachable(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, connect_timeout=2)
    assert postgres_state(settings) == "empty: tables created now"
    open_service(settings).close()
    assert postgres_state(settings) == "existing"
    # Port 1 on the loopback: nothing listens there, which is not a configuration error.
    unreachable = Settings(database_url="postgresql://postgres@127.0.0.1:1/m", connect_timeout=2)
    assert postgres_state(unreachable).startswith("not reachable yet")
