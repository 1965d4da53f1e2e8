"""The ``milestones`` command as an operator runs it, with DATABASE_URL set, on a database
the application filled (SQLite and PostgreSQL).

The commands run in this process (tests/cli_in_process.py): the same parser and code, their
exit status, stdout and stderr, without a second of interpreter start each. That a real
process exits with these statuses, in one line and no traceback, is shown here for the
usage errors and in test_operator_tools.py for the failures.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import pytest
from falcon import testing

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.settings import Settings, sqlite_path
from projections.chain import chain_of
from tests.cli_in_process import run_milestones_in_process

if TYPE_CHECKING:
    from collections.abc import Iterator

    from adapters.bootstrap import Service

MILESTONES = Path(sys.executable).with_name("milestones")
TIMEOUT = 60  # seconds any one command may take
UNKNOWN_ID = "ms_" + "0" * 26
REBUILT = re.compile(
    r"^(?P<name>\w+): rebuilt the view from (?P<events>[\d,]+) events in (?P<seconds>\d+\.\d\d) s "
    r"\((?P<rate>[\d,]+) events/s\)$",
    re.MULTILINE,
)
REBUILT_ALL = re.compile(
    r"all: rebuilt 3 projections in one pass over 8 events in \d+\.\d\d s \([\d,]+ events/s\)"
)
HISTORY_ROW = re.compile(
    r" *(?P<version>\d+)  (?P<occurredAt>\S+) +(?P<type>Created|Updated|StatusChanged|Deleted)"
    r" +(?P<actor>\S+) +(?P<payload>\{.*\})"
)


def _environment(database_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def run(
    *args: str, database_url: str | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """``milestones ARGS...`` in this process."""
    return run_milestones_in_process(args, _environment(database_url), stdin=stdin)


def run_process(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``milestones ARGS...`` as a process of its own, without DATABASE_URL."""
    return subprocess.run(
        [str(MILESTONES), *args],
        capture_output=True,
        env=_environment(None),
        timeout=TIMEOUT,
        check=False,
    )


@dataclass
class Populated:
    url: str
    service: Service
    client: testing.TestClient
    ids: dict[str, str]

    def cli(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return run(*args, database_url=self.url, stdin=stdin)

    def history(self, name: str) -> list[dict[str, Any]]:
        result = self.client.simulate_get(f"/api/milestones/{self.ids[name]}/history")
        assert result.status_code == 200, result.text
        data: list[dict[str, Any]] = result.json["data"]
        return data


@pytest.fixture
def populated(database_url: str) -> Iterator[Populated]:
    """Three milestones made over HTTP: one patched and reached, one left alone, one deleted;
    the actor named by a proxy's header, except on the second PATCH, which names none."""
    service = open_service(Settings(database_url=database_url))
    app = create_app(service.milestones, service.reads, actor_header="X-Forwarded-User")
    client = testing.TestClient(app)
    ids = {}
    for name in ("busy", "quiet", "gone"):
        result = client.simulate_post(
            "/api/milestones",
            json={"projectId": "proj_cli", "title": f"{name} milestone", "dueDate": "2026-03-01"},
            headers={"X-Forwarded-User": "creator@example.com"},
        )
        assert result.status_code == 201, result.text
        ids[name] = result.json["data"]["id"]
    for body, who in (
        (
            {"title": "Busy, renamed", "description": 'with "quotes" and spaces'},
            {"X-Forwarded-User": "editor"},
        ),
        ({"status": "in_progress"}, {}),
        ({"status": "reached", "dueDate": None}, {"X-Forwarded-User": "a-much-longer-actor-name"}),
    ):
        patched = client.simulate_patch(f"/api/milestones/{ids['busy']}", json=body, headers=who)
        assert patched.status_code == 200
    assert client.simulate_delete(f"/api/milestones/{ids['gone']}").status_code == 200
    yield Populated(database_url, service, client, ids)
    service.close()


def corrupt_view(database_url: str, changed: str, removed: str) -> None:
    """With the backend's plain driver: change one view row's title, delete another row."""
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            (body,) = lite.execute(
                "SELECT body FROM milestones WHERE id = ?", (changed,)
            ).fetchone()
            bad = orjson.dumps(orjson.loads(body) | {"title": "tampered"})
            lite.execute("UPDATE milestones SET body = ? WHERE id = ?", (bad, changed))
            lite.execute("DELETE FROM milestones WHERE id = ?", (removed,))
    else:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT body FROM milestones WHERE id = %s", (changed,)
            ).fetchone()
            assert row is not None
            bad = orjson.dumps(orjson.loads(row[0]) | {"title": "tampered"})
            connection.execute("UPDATE milestones SET body = %s WHERE id = %s", (bad, changed))
            connection.execute("DELETE FROM milestones WHERE id = %s", (removed,))


# --- help ---------------------------------------------------------------------------------

COMMANDS = [
    [],
    ["serve"],
    ["projection"],
    ["projection", "rebuild"],
    ["projection", "verify"],
    ["projection", "status"],
    ["history"],
    ["export"],
    ["import"],
    ["audit"],
    ["audit", "verify"],
]


def test_every_command_has_help(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/never-opened.db"
    for command in COMMANDS:
        name = " ".join(command)
        result = run(*command, "--help", database_url=database_url)
        assert result.returncode == 0, (name, result.stderr)
        text = result.stdout.decode()
        assert text.startswith(f"usage: milestones {name}".rstrip()), (name, text)
        assert "-h, --help" in text, name
    assert not (tmp_path / "never-opened.db").exists(), "--help opened the database"


def test_a_missing_or_unknown_command_is_a_usage_error() -> None:
    for args in ([], ["bogus"], ["projection"], ["projection", "bogus"], ["history"]):
        result = run(*args)
        assert result.returncode == 2, (args, result)
        assert b"usage: milestones" in result.stderr, args
    # The same from a process of its own: its exit status, and no traceback.
    process = run_process("projection", "bogus")
    assert process.returncode == 2, process
    assert process.stderr.startswith(b"usage: milestones projection"), process.stderr
    assert b"Traceback" not in process.stderr


# --- projection status, verify, rebuild ---------------------------------------------------


def test_status_reports_numbers(populated: Populated) -> None:
    result = populated.cli("projection", "status")
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    rows = [line.split() for line in text.splitlines()]
    assert rows[0] == ["projection", "position", "lag"]
    position, head = populated.service.reads.lag()
    assert head == 8  # 3 Created; Updated, StatusChanged, Updated, StatusChanged; Deleted
    assert rows[1:] == [
        ["milestones", str(position), "0"],
        ["progress", str(head), "0"],
        ["schedule", str(head), "0"],
        ["log", "head", str(head)],
    ]


def test_verify_finds_a_corrupted_view_and_rebuild_repairs_it(populated: Populated) -> None:
    verified = populated.cli("projection", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert b"the view equals a replay of the log" in verified.stdout

    busy, quiet = populated.ids["busy"], populated.ids["quiet"]
    before = {
        name: populated.client.simulate_get(f"/api/milestones/{i}").json
        for name, i in populated.ids.items()
        if name != "gone"
    }
    corrupt_view(populated.url, changed=busy, removed=quiet)
    verified = populated.cli("projection", "verify")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    report = verified.stdout.decode()
    assert busy in report
    assert quiet in report
    assert populated.ids["gone"] not in report
    assert "tampered" in report
    assert "2 milestones differ" in report

    rebuilt = populated.cli("projection", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    match = REBUILT.search(rebuilt.stdout.decode())
    assert match is not None, rebuilt.stdout
    assert int(match["events"].replace(",", "")) == populated.service.reads.lag()[1] == 8
    assert float(match["seconds"]) >= 0
    assert int(match["rate"].replace(",", "")) > 0
    # Every projection, in one pass over the log: a line each, and one for the whole.
    *each, total = rebuilt.stdout.decode().splitlines()
    assert [line.split(":")[0] for line in each] == ["milestones", "progress", "schedule"]
    assert all(REBUILT.fullmatch(line) for line in each), each
    assert REBUILT_ALL.fullmatch(total), total

    verified = populated.cli("projection", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    after = {
        name: populated.client.simulate_get(f"/api/milestones/{i}").json
        for name, i in populated.ids.items()
        if name != "gone"
    }
    assert after == before


# --- history --------------------------------------------------------------------------------


def test_history_as_json_is_the_http_history(populated: Populated) -> None:
    # Also of a deleted milestone.
    for name in ("busy", "quiet", "gone"):
        result = populated.cli("history", populated.ids[name], "--json")
        assert result.returncode == 0, result.stderr
        assert orjson.loads(result.stdout) == populated.history(name), name


def test_history_as_a_table(populated: Populated) -> None:
    result = populated.cli("history", populated.ids["busy"])
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.decode().splitlines()
    assert header.split() == ["version", "occurredAt", "type", "actor", "payload"]
    parsed = []
    for row in rows:
        match = HISTORY_ROW.fullmatch(row)
        assert match is not None, row
        parsed.append(
            {
                "version": int(match["version"]),
                "occurredAt": match["occurredAt"],
                "type": match["type"],
                "actor": None if match["actor"] == "-" else match["actor"],
                "payload": orjson.loads(match["payload"]),
            }
        )
    expected = [
        {key: event[key] for key in ("version", "occurredAt", "type", "actor", "payload")}
        for event in populated.history("busy")
    ]
    assert parsed == expected
    assert len(parsed) == 5
    # Created, Updated, StatusChanged (no actor), Updated and StatusChanged of one PATCH.
    assert [event["actor"] for event in parsed] == [
        "creator@example.com", "editor", None, "a-much-longer-actor-name",
        "a-much-longer-actor-name",
    ]  # fmt: skip


def test_history_moves_as_json_are_the_http_schedule(populated: Populated) -> None:
    # Also of a deleted milestone, and of one whose due date never moved.
    for name in ("busy", "quiet", "gone"):
        result = populated.cli("history", populated.ids[name], "--moves", "--json")
        assert result.returncode == 0, result.stderr
        expected = populated.client.simulate_get(f"/api/milestones/{populated.ids[name]}/schedule")
        assert orjson.loads(result.stdout) == expected.json["data"], name


def test_history_moves_as_a_table(populated: Populated) -> None:
    # The busy milestone's third PATCH cleared its due date: one move, to null.
    result = populated.cli("history", populated.ids["busy"], "--moves")
    assert result.returncode == 0, result.stderr
    header, row, summary = result.stdout.decode().splitlines()
    assert header.split() == ["version", "occurredAt", "actor", "from", "to", "slipSeconds"]
    (move,) = [event for event in populated.history("busy") if event["version"] == 4]
    assert row.split() == [
        "4",
        move["occurredAt"],
        "a-much-longer-actor-name",
        "2026-03-01",
        "-",
        "-",
    ]
    assert summary == "original 2026-03-01, now -: 1 move, total slip -"
    quiet = populated.cli("history", populated.ids["quiet"], "--moves").stdout.decode()
    assert quiet.splitlines()[1:] == [
        "original 2026-03-01, now 2026-03-01: 0 moves, total slip 0 s"
    ]


def test_history_of_a_bad_or_unknown_id_fails(populated: Populated) -> None:
    cases = [
        (("ms_bogus",), "not a milestone id"),
        (("not-an-id", "--json"), "not a milestone id"),
        ((UNKNOWN_ID,), "no milestone has the id"),
        ((UNKNOWN_ID, "--json"), "no milestone has the id"),
        (("ms_bogus", "--moves"), "not a milestone id"),
        ((UNKNOWN_ID, "--moves"), "no milestone has the id"),
        ((UNKNOWN_ID, "--moves", "--json"), "no milestone has the id"),
    ]
    for args, message in cases:
        result = populated.cli("history", *args)
        assert result.returncode == 2, args
        assert result.stdout == b"", args
        error = result.stderr.decode()
        assert message in error, args
        assert args[0] in error, args


# --- export and import ----------------------------------------------------------------------


def test_export_then_import_into_an_empty_store(populated: Populated, tmp_path: Path) -> None:
    exported = populated.cli("export")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert len(lines) == 8
    feed = populated.client.simulate_get("/api/events").json["data"]
    # The feed's events, each with its hash in the log's chain.
    exported_events = [orjson.loads(line) for line in lines]
    assert [event["hash"] for event in exported_events] == chain_of(feed)
    assert [{k: v for k, v in e.items() if k != "hash"} for e in exported_events] == feed

    restored_url = f"sqlite:///{tmp_path}/restored.db"
    imported = run("import", database_url=restored_url, stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert b"imported 8 events" in imported.stderr
    assert run("projection", "verify", database_url=restored_url).returncode == 0
    again = run("export", database_url=restored_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout == exported.stdout

    # Import only goes into an empty store.
    refused = populated.cli("import", stdin=exported.stdout)
    assert refused.returncode == 2
    assert b"empty" in refused.stderr
    assert populated.service.reads.lag() == (8, 8)


def _drop_transitions_of(database_url: str, milestone_id: str) -> None:
    """With the backend's plain driver: forget the progress projection's rows of a milestone."""
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(database_url))) as lite, lite:
            lite.execute("DELETE FROM status_transitions WHERE milestone_id = ?", (milestone_id,))
    else:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            connection.execute(
                "DELETE FROM status_transitions WHERE milestone_id = %s", (milestone_id,)
            )


def test_the_tools_take_a_projection_by_name(populated: Populated) -> None:
    _drop_transitions_of(populated.url, populated.ids["busy"])
    verified = populated.cli("projection", "verify", "progress")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    report = verified.stdout.decode()
    # busy's Created and two StatusChanged events are missing from the transitions.
    assert "progress: 3 transitions differ between the view and the log" in report
    assert "milestones:" not in report, "only the projection named is verified"
    assert populated.cli("projection", "verify", "milestones").returncode == 0

    rebuilt = populated.cli("projection", "rebuild", "progress")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    match = REBUILT.search(rebuilt.stdout.decode())
    assert match is not None, rebuilt.stdout
    assert match["name"] == "progress"
    assert "milestones:" not in rebuilt.stdout.decode()
    verified = populated.cli("projection", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.decode().splitlines() == [
        "milestones: the view equals a replay of the log",
        "progress: the view equals a replay of the log",
        "schedule: the view equals a replay of the log",
    ]
    progress = populated.client.simulate_get("/api/projects/proj_cli/progress")
    assert progress.status_code == 200, progress.text
    assert progress.json["data"][-1]["reached"] == 1


def test_an_unknown_projection_is_a_usage_error(populated: Populated) -> None:
    for tool in ("verify", "rebuild"):
        result = populated.cli("projection", tool, "bogus")
        assert result.returncode == 2, result
        assert b"invalid choice: 'bogus'" in result.stderr
