"""Who over real HTTP (contract section 8): ``milestones serve --workers 2`` on each backend.

Two servers share one database: one with named (and legacy) tokens, which also names a
proxy header that it must ignore; one without tokens that takes the actor from that header.
Then the export of what they recorded, imported into a fresh store, answers the same.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
import pytest

from adapters.http.identity import legacy_name
from tests.api_client import rejected
from tests.conftest import throwaway_postgres_database
from tests.e2e.harness import Servers, failed_start, run_milestones

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tests.e2e.client import Client
    from tests.e2e.harness import Database, Server

HEADER = "X-Forwarded-User"
WRITER = f"w-{secrets.token_urlsafe(18)}"
LEGACY = f"l-{secrets.token_urlsafe(18)}"
READER = f"r-{secrets.token_urlsafe(18)}"
TOKENS = f"# named tokens\n{WRITER} deploy-bot\n{LEGACY}\n{READER} auditor read-only\n"


class Setup(NamedTuple):
    database: Database
    with_tokens: Server
    behind_proxy: Server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    directory = tmp_path_factory.mktemp(f"who-{request.param}")
    with ExitStack() as stack:
        database: Database = (
            directory / "who.db"
            if request.param == "sqlite"
            else stack.enter_context(throwaway_postgres_database())
        )
        servers = stack.enter_context(Servers(directory, "who"))  # stopped before the drop
        tokens = directory / "tokens"
        tokens.write_text(TOKENS)
        with_tokens = servers.start(
            database,
            env={"MILESTONES_API_TOKENS_FILE": str(tokens), "MILESTONES_ACTOR_HEADER": HEADER},
        )
        behind_proxy = servers.start(database, env={"MILESTONES_ACTOR_HEADER": HEADER})
        yield Setup(database, with_tokens, behind_proxy)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lifecycle(client: Client, headers: Mapping[str, str], project: str) -> str:
    status, _, body = client.request(
        "POST", "/api/milestones", {"projectId": project, "title": "Who"}, headers
    )
    assert status == 201, body
    public_id: str = body["data"]["id"]
    path = f"/api/milestones/{public_id}"
    status, _, body = client.request("PATCH", path, {"title": "W", "status": "reached"}, headers)
    assert status == 200, body
    status, _, body = client.request("DELETE", path, None, headers)
    assert status == 200, body
    return public_id


def events_of(client: Client, query: str, headers: Mapping[str, str] | None = None) -> list[Any]:
    status, _, body = client.request("GET", f"/api/events?{query}&limit=1000", None, headers)
    assert status == 200, body
    data: list[Any] = body["data"]
    return data


def test_a_tokens_name_is_the_actor_whatever_the_client_sends(setup: Setup) -> None:
    client = setup.with_tokens.client
    forged = {**bearer(WRITER), HEADER: "mallory", "X-Request-Id": "req-writer"}
    public_id = lifecycle(client, forged, "proj_who_tokens")
    events = events_of(client, f"milestoneId={public_id}", bearer(READER))
    assert [(e["actor"], e["requestId"]) for e in events] == [("deploy-bot", "req-writer")] * 4
    assert events_of(client, "actor=mallory", bearer(READER)) == []
    legacy = lifecycle(client, bearer(LEGACY), "proj_who_tokens")
    events = events_of(client, f"actor={legacy_name(LEGACY)}", bearer(READER))
    assert [e["milestoneId"] for e in events] == [legacy] * 4
    status, _, _ = client.request(
        "POST", "/api/milestones", {"projectId": "p", "title": "t"}, bearer(READER)
    )
    assert status == 403
    assert events_of(client, "actor=auditor", bearer(READER)) == []


def test_behind_a_proxy_its_header_is_the_actor(setup: Setup) -> None:
    client = setup.behind_proxy.client
    name = "Zoë Ops"
    public_id = lifecycle(client, {HEADER: name.encode().decode("latin-1")}, "proj_who_proxy")
    history = client.history(public_id)
    assert {e["actor"] for e in history} == {name}
    assert all(len(e["requestId"]) == 32 for e in history)  # made by the service
    anonymous = lifecycle(client, {}, "proj_who_proxy")
    assert {e["actor"] for e in client.history(anonymous)} == {None}
    # Any worker of either server answers the filter from the same index.
    for _ in range(4):
        assert [e["milestoneId"] for e in events_of(client, "actor=Zo%C3%AB%20Ops")] == [
            public_id
        ] * 4


@pytest.mark.parametrize(
    "value", ["x" * 201, "\xc2\x85", "\xff"], ids=["long", "utf8-c1-control", "not-utf8"]
)
def test_a_bad_proxy_header_is_a_400_that_records_nothing(setup: Setup, value: str) -> None:
    client = setup.behind_proxy.client
    problem = rejected(
        client,
        "POST",
        "/api/milestones",
        {"projectId": "proj_who_proxy", "title": "t"},
        {HEADER: value},
        status=400,
        fields={HEADER},
    )
    assert HEADER in problem["detail"]


def test_history_export_and_import_keep_who(setup: Setup, tmp_path: Path) -> None:
    client = setup.behind_proxy.client
    public_id = lifecycle(client, {HEADER: "heidi", "X-Request-Id": "req-heidi"}, "proj_who_x")
    table = run_milestones(setup.database, "history", public_id)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.decode().splitlines()
    assert header.split() == ["version", "occurredAt", "type", "actor", "payload"]
    assert all(row.split()[3] == "heidi" for row in rows)
    exported = run_milestones(setup.database, "export")
    assert exported.returncode == 0, exported.stderr
    restored = tmp_path / "restored.db"
    imported = run_milestones(restored, "import", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    again = run_milestones(restored, "export")
    assert again.stdout == exported.stdout
    lines = [orjson.loads(line) for line in again.stdout.splitlines()]
    assert [(e["actor"], e["requestId"]) for e in lines if e["milestoneId"] == public_id] == [
        ("heidi", "req-heidi")
    ] * 4


def test_a_malformed_token_line_stops_the_server_naming_its_line(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{WRITER} deploy-bot\n\n{LEGACY} bad/name\n")
    code, output, answered = failed_start(tmp_path, {"MILESTONES_API_TOKENS_FILE": str(tokens)})
    assert code not in {0, None}, output
    assert not answered
    assert "token line 3" in output
    assert WRITER not in output
    assert LEGACY not in output
