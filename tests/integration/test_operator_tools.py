"""The operator's tools without surprises: they never create a store, read a read-only one,
and fail in one line (no traceback) with an exit status that says what happened.

The tools run in this process (tests/cli_in_process.py: the command's own main, its exit
status, stdout and stderr), where an uncaught error fails the test as a traceback would.
``serve`` and the tests of a process's own exit status and stderr run real processes.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from adapters.bootstrap import open_service
from adapters.settings import Settings, sqlite_path
from domain.ids import to_public_id
from tests.cli_in_process import run_milestones_in_process

if TYPE_CHECKING:
    from collections.abc import Iterator

MILESTONES = Path(sys.executable).with_name("milestones")
TIMEOUT = 60
READ_TOOLS = [
    ("export",),
    ("history", "ms_" + "0" * 26),
    ("projection", "status"),
    ("projection", "verify"),
    ("audit", "verify"),
]
STORE_TOOLS = [*READ_TOOLS, ("projection", "rebuild")]
COULD_NOT_RUN = 2
STORE_LINE = re.compile(r"^milestones [a-z ]+: store .+ \((existing|created now)\)$")


def _environment(database_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def _decoded(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def run(
    *args: str, database_url: str | None, cwd: Path | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """``milestones ARGS...`` in this process."""
    env = _environment(database_url)
    return _decoded(run_milestones_in_process(args, env, stdin=stdin, cwd=cwd))


def run_process(*args: str, database_url: str | None) -> subprocess.CompletedProcess[str]:
    """``milestones ARGS...`` as a process of its own."""
    result = subprocess.run(
        [str(MILESTONES), *args],
        capture_output=True,
        env=_environment(database_url),
        timeout=TIMEOUT,
        check=False,
    )
    return _decoded(result)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == COULD_NOT_RUN, result
    assert "Traceback" not in result.stderr, result.stderr
    # The line naming the store a command opened is not part of the failure.
    lines = [line for line in result.stderr.splitlines() if not STORE_LINE.match(line)]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert result.stdout == "", result.stdout


def filled(database_url: str) -> list[str]:
    service = open_service(Settings(database_url=database_url))
    try:
        made = [service.milestones.create(project_id="proj_tools", title=f"m{n}") for n in range(3)]
        service.milestones.update(made[0].id, {"title": "renamed"})
    finally:
        service.close()
    return [to_public_id(milestone.id) for milestone in made]


# --- never create a store --------------------------------------------------------------------


def test_tools_on_a_missing_sqlite_database_fail_and_create_nothing(tmp_path: Path) -> None:
    # The default URL is relative to the working directory: run from an empty one.
    for args in STORE_TOOLS:
        result = run(*args, database_url=None, cwd=tmp_path)
        assert_one_line_failure(result, "no database at", str(tmp_path / "var/milestones.db"))
        absolute = tmp_path / "elsewhere" / "m.db"
        result = run(*args, database_url=f"sqlite:///{absolute}")
        assert_one_line_failure(result, "no database at", str(absolute))
    assert list(tmp_path.iterdir()) == []


def test_tools_on_a_file_without_a_store_fail_and_leave_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE unrelated (x)")
        connection.commit()
    before = path.read_bytes()
    for args in STORE_TOOLS:
        result = run(*args, database_url=f"sqlite:///{path}")
        assert_one_line_failure(result, str(path), "holds no milestones store")
    assert path.read_bytes() == before


@pytest.mark.postgres
def test_tools_on_an_empty_or_missing_postgres_database_fail_and_create_nothing(
    postgres_url: str,
) -> None:
    for args in STORE_TOOLS:
        assert_one_line_failure(run(*args, database_url=postgres_url), "holds no milestones store")
        missing = postgres_url.rsplit("/", 1)[0] + "/milestones_no_such_database"
        assert_one_line_failure(
            run(*args, database_url=missing), "milestones_no_such_database", "does not exist"
        )
    import psycopg  # noqa: PLC0415

    with psycopg.connect(postgres_url) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)


# --- one-line errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_url", "words"),
    [
        ("mysql://localhost/db", ["DATABASE_URL must start with"]),
        ("sqlite://relative.db", ["not an SQLite URL"]),
        ("postgresql://postgres@127.0.0.1:notaport/db", ["DATABASE_URL has a bad port"]),
        # Port 1 on the loopback: nothing listens there.
        ("postgresql://postgres@127.0.0.1:1/db", ["cannot be used", "port 1", "refused"]),
    ],
)
def test_a_bad_url_or_an_unreachable_server_is_one_line(bad_url: str, words: list[str]) -> None:
    for args in [*STORE_TOOLS, ("import",)]:
        assert_one_line_failure(run(*args, database_url=bad_url), *words)


@pytest.mark.parametrize(
    ("args", "bad_url", "words"),
    [
        (("export",), "sqlite:///{tmp_path}/none.db", ["no database at"]),
        (("projection", "verify"), "postgresql://postgres@127.0.0.1:1/db", ["port 1", "refused"]),
        (("import",), "mysql://localhost/db", ["DATABASE_URL must start with"]),
    ],
    ids=["missing-sqlite-file", "unreachable-postgres", "bad-url"],
)
def test_a_failing_tool_exits_2_in_one_line_as_a_process(
    args: tuple[str, ...], bad_url: str, words: list[str], tmp_path: Path
) -> None:
    """What an operator's shell sees: the process's exit status and its whole stderr."""
    result = run_process(*args, database_url=bad_url.format(tmp_path=tmp_path))
    assert_one_line_failure(result, *words)


def test_a_malformed_import_line_is_named_by_its_number(sqlite_url: str, tmp_path: Path) -> None:
    filled(sqlite_url)
    exported = run("export", database_url=sqlite_url)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    cases = {
        "not JSON": b"{not json",
        "no field": orjson.dumps({"position": 9}),
        "unknown type": orjson.dumps({**orjson.loads(lines[0]), "type": "Renamed"}),
    }
    for name, bad in cases.items():
        log = "\n".join(lines[:2]).encode() + b"\n\n" + bad + b"\n" + lines[2].encode()
        target = f"sqlite:///{tmp_path}/{name.replace(' ', '_')}.db"
        result = run("import", database_url=target, stdin=log)
        assert_one_line_failure(result, "line 4 is not an exported event")


def test_serve_on_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_process("serve", "--create", database_url=f"sqlite:///{blocker}/sub/m.db")
    assert_one_line_failure(result, str(blocker / "sub"), "cannot create the directory")


# --- flags and help --------------------------------------------------------------------------


def test_version_and_worker_count() -> None:
    version = run("--version", database_url=None)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "milestones 0.1.0"
    for workers in ("0", "-1"):
        refused = run_process("serve", "--workers", workers, database_url=None)
        assert refused.returncode == COULD_NOT_RUN
        assert "--workers: must be 1 or more" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_every_help_explains_its_command() -> None:
    for args, words in [
        (("serve",), ["Serve the HTTP API", "503"]),
        (("projection",), ["Inspect, verify or rebuild"]),
        (("projection", "verify"), ["1: they differ", "2: it could not run"]),
        (("projection", "status"), ["lag", "Read-only"]),
        (("projection", "rebuild"), ["Rebuild from the log", "one projection, or all"]),
        (("history",), ["events, oldest first"]),
        (("export",), ["JSON Lines", "Read-only"]),
        (("import",), ["empty store", "line number"]),
    ]:
        result = run(*args, "--help", database_url=None)
        assert result.returncode == 0, result.stderr
        description = result.stdout.split("\n\n")[1]
        for word in words:
            assert word in " ".join(description.split()), (args, word, result.stdout)


# --- a read-only database --------------------------------------------------------------------


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A store on a read-only bind mount of its directory (root may write any file, but no
    one may write a read-only file system)."""
    writable, read_only = tmp_path / "rw", tmp_path / "ro"
    writable.mkdir()
    read_only.mkdir()
    ids = filled(f"sqlite:///{writable}/m.db")
    mounted = subprocess.run(
        ["mount", "--bind", str(writable), str(read_only)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        reason = f"a read-only bind mount needs root: {mounted.stderr.decode().strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(read_only)], capture_output=True, check=True
        )
        yield f"sqlite:///{read_only}/m.db", ids
    finally:
        subprocess.run(["umount", str(read_only)], capture_output=True, check=True)


def test_a_read_only_database_can_be_exported_and_verified(
    read_only_copy: tuple[str, list[str]],
) -> None:
    url, ids = read_only_copy
    path = Path(sqlite_path(url))
    with pytest.raises(OSError, match="Read-only file system"):
        (path.parent / "probe").write_text("")
    exported = run("export", database_url=url)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 4
    verified = run("projection", "verify", database_url=url)
    assert verified.returncode == 0, verified.stderr
    assert "equals a replay" in verified.stdout
    audited = run("audit", "verify", database_url=url)
    assert audited.returncode == 0, audited.stderr
    assert "4 events agree" in audited.stdout
    status = run("projection", "status", database_url=url)
    assert status.returncode == 0, status.stderr
    assert status.stdout.split("\n")[1].split() == ["milestones", "4", "0"]
    history = run("history", ids[0], "--json", database_url=url)
    assert history.returncode == 0, history.stderr
    assert [event["type"] for event in orjson.loads(history.stdout)] == ["Created", "Updated"]
    # Rebuild writes: it says so in one line.
    assert_one_line_failure(
        run("projection", "rebuild", database_url=url), "cannot open", "for writing"
    )
