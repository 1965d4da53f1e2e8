"""The log's hash chain on both backends: kept beside the log, served over HTTP, and checked
by ``milestones audit verify`` against tampering done directly in the database.

The reference computation here uses the ``rfc8785`` library and ``hashlib`` on the event
objects the feed serves, independently of the service's own hashing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from contextlib import closing
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import pytest
import rfc8785

from adapters.postgres.recorder import EVENTS_TABLE
from adapters.settings import sqlite_path
from tests.api_client import assert_problem, rejected
from tests.integration.app_client import AppClient
from tests.integration.conftest import backend_of
from tests.integration.test_backup import milestones

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service

ZERO = "0" * 64
HASHED = ("milestoneId", "version", "type", "occurredAt", "actor", "requestId", "payload")
TRAILS_BY_AT_MOST = 1.0  # seconds


def reference_chain(events: list[dict[str, Any]]) -> list[str]:
    """h(p) of each event of the feed, computed from the contract's definition alone."""
    previous, hashes = ZERO, []
    for event in events:
        hashed = {key: event[key] for key in HASHED}
        previous = hashlib.sha256(previous.encode("ascii") + rfc8785.dumps(hashed)).hexdigest()
        hashes.append(previous)
    return hashes


def write_some(api: AppClient) -> None:
    """Events of every type, with text that JSON must escape and characters beyond ASCII."""
    first, tag = api.create(title='Ship \u00e9t\u00e9 \u2028 \U0001f680 "quoted" \\ \u00ff')
    second, _ = api.create(title="Second", description="line\nbreak\ttab\r", dueDate="2026-09-30")
    path = f"/api/milestones/{first['id']}"
    assert api.request("PATCH", path, {"status": "reached"}, {"If-Match": tag})[0] == 200
    assert api.request("PATCH", path, {"title": "Renamed"})[0] == 200
    assert api.request("DELETE", f"/api/milestones/{second['id']}")[0] == 200


def checkpoint(api: AppClient, position: int) -> str:
    status, _, body = api.request("GET", f"/api/audit/checkpoint?position={position}")
    assert status == 200, body
    assert body == {"data": {"position": position, "hash": body["data"]["hash"]}}
    hash_: str = body["data"]["hash"]
    return hash_


def test_the_chain_equals_an_independent_computation_from_the_feed(service: Service) -> None:
    api = AppClient(service)
    write_some(api)
    events = api.feed()
    expected = reference_chain(events)
    assert [checkpoint(api, event["position"]) for event in events] == expected
    status, _, body = api.request("GET", "/api/audit/head")
    assert status == 200, body
    assert body == {
        "data": {
            "position": events[-1]["position"],
            "hash": expected[-1],
            "occurredAt": events[-1]["occurredAt"],
        }
    }
    assert checkpoint(api, 0) == ZERO


def test_an_empty_log_has_the_zero_hash_at_position_0(service: Service) -> None:
    api = AppClient(service)
    status, _, body = api.request("GET", "/api/audit/head")
    assert (status, body) == (200, {"data": {"position": 0, "hash": ZERO, "occurredAt": None}})
    assert checkpoint(api, 0) == ZERO
    assert_problem(api.request("GET", "/api/audit/checkpoint?position=1"), 404)


def test_checkpoint_rejections_name_the_parameter_and_record_nothing(service: Service) -> None:
    api = AppClient(service)
    api.create()
    for query in ("", "?position=", "?position=abc", "?position=-1", "?position=1.5",
                  "?position=1&position=1", f"?position={2**62 + 1}"):  # fmt: skip
        rejected(api, "GET", f"/api/audit/checkpoint{query}", status=400, fields={"position"})
    rejected(api, "GET", "/api/audit/checkpoint?position=1&at=2", status=400, fields={"at"})
    rejected(api, "GET", "/api/audit/head?position=1", status=400, fields={"position"})
    problem = assert_problem(api.request("GET", "/api/audit/checkpoint?position=2"), 404)
    assert "position 2" in problem["detail"]


def test_the_chain_trails_the_log_by_at_most_a_second(service: Service) -> None:
    api = AppClient(service)
    for _ in range(3):
        api.create()
        head = api.head()
        deadline = time.monotonic() + TRAILS_BY_AT_MOST
        assert service.chain is not None
        # Read without catching up (as the HTTP reads do): the keeper thread alone chains.
        while service.chain.head().position != head:
            assert time.monotonic() < deadline, "the chain trailed the log by over a second"
            time.sleep(0.02)


def test_services_chaining_at_once_keep_one_chain(
    open_services: Callable[[], Service],
) -> None:
    apis = [AppClient(open_services()) for _ in range(3)]
    for round_ in range(20):
        apis[round_ % 3].create(title=f"round {round_}")
    events = apis[0].feed()
    assert [checkpoint(api, events[-1]["position"]) for api in apis] == [
        reference_chain(events)[-1]
    ] * 3


# --- audit verify, and tampering done directly in the database ------------------------------


def verify(database_url: str, *args: str) -> tuple[int, str]:
    result = milestones(database_url, "audit", "verify", *args)
    return result.returncode, (result.stdout + result.stderr).decode()


def chained_store(open_services: Callable[[], Service]) -> tuple[Service, list[dict[str, Any]]]:
    """A store with events of every type, all chained; the service is closed."""
    service = open_services()
    api = AppClient(service)
    write_some(api)
    api.create(title="The last one")
    events = api.feed()
    assert service.chain is not None
    service.chain.catch_up()
    service.close()
    return service, events


def run_sql(database_url: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Statements in one transaction, straight on the database (the tamperer's way in)."""
    if backend_of(database_url) == "sqlite":
        with closing(sqlite3.connect(sqlite_path(database_url))) as connection, connection:
            for sql, params in statements:
                connection.execute(sql, params)
        return
    with psycopg.connect(database_url) as postgres:
        for sql, params in statements:
            postgres.execute(sql.replace("?", "%s"), params)


def events_table(database_url: str) -> tuple[str, str]:
    """The events table and its position column on this backend."""
    if backend_of(database_url) == "sqlite":
        return "stored_events", "rowid"
    return EVENTS_TABLE, "notification_id"


def stored_state(database_url: str, position: int) -> bytes:
    table, column = events_table(database_url)
    sql = f"SELECT state FROM {table} WHERE {column} = ?"  # noqa: S608
    if backend_of(database_url) == "sqlite":
        with closing(sqlite3.connect(sqlite_path(database_url))) as connection:
            return bytes(connection.execute(sql, (position,)).fetchone()[0])
    with psycopg.connect(database_url) as connection:
        row = connection.execute(sql.replace("?", "%s"), (position,)).fetchone()
        assert row is not None
        return bytes(row[0])


def test_an_untouched_log_verifies(database_url: str, open_services: Callable[[], Service]) -> None:
    _, events = chained_store(open_services)
    code, output = verify(database_url)
    assert code == 0, output
    assert f"{len(events):,} events agree" in output


def test_a_changed_payload_is_caught_at_its_position(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    _, events = chained_store(open_services)
    target = events[2]["position"]  # an update in the middle of the log
    table, column = events_table(database_url)
    state = orjson.loads(stored_state(database_url, target))
    state["to_status"] = "pending"  # reached, says the log; someone wants it otherwise
    run_sql(
        database_url,
        (f"UPDATE {table} SET state = ? WHERE {column} = ?", (orjson.dumps(state), target)),  # noqa: S608
    )
    code, output = verify(database_url)
    assert code == 1, output
    assert f"position {target}: the event no longer hashes as recorded" in output


def test_a_deleted_last_event_is_caught_at_its_position(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    _, events = chained_store(open_services)
    last = events[-1]["position"]
    table, column = events_table(database_url)
    run_sql(database_url, (f"DELETE FROM {table} WHERE {column} = ?", (last,)))  # noqa: S608
    code, output = verify(database_url)
    assert code == 1, output
    assert f"position {last}: the chain holds an event there that the log no longer has" in output


def test_an_inserted_event_is_caught_at_its_position(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    """The forged event goes in after the second, the later ones moved up a position."""
    _, events = chained_store(open_services)
    after = events[1]["position"]
    table, column = events_table(database_url)
    # A second "Created" of the first milestone, as version 99, in the freed position.
    forge = (
        f"INSERT INTO {table} ({column}, originator_id, originator_version, topic, state) "  # noqa: S608
        f"SELECT ?, originator_id, 99, topic, state FROM {table} WHERE {column} = ?"
    )
    run_sql(
        database_url,
        # In two steps: a position is unique at every row of an UPDATE.
        (f"UPDATE {table} SET {column} = -{column} WHERE {column} > ?", (after,)),  # noqa: S608
        (f"UPDATE {table} SET {column} = 1 - {column} WHERE {column} < 0", ()),  # noqa: S608
        (forge, (after + 1, events[0]["position"])),
    )
    code, output = verify(database_url)
    assert code == 1, output
    assert f"position {after + 1}: the event no longer hashes as recorded" in output


@pytest.mark.postgres
def test_an_event_inserted_into_a_gap_of_positions_is_caught_as_inserted(
    postgres_url: str,
) -> None:
    """PostgreSQL's positions have gaps (a rolled-back write takes a number for good)."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    service = open_service(Settings(database_url=postgres_url))
    api = AppClient(service)
    first, _ = api.create(title="before the gap")
    with psycopg.connect(postgres_url) as connection:  # the number a failed write took
        connection.execute(
            f"SELECT nextval(pg_get_serial_sequence('{EVENTS_TABLE}', 'notification_id'))"
        )
    api.create(title="after the gap")
    events = api.feed()
    assert events[1]["position"] == events[0]["position"] + 2
    gap = events[0]["position"] + 1
    # The checkpoint of a position without an event: the hash after the event before it.
    assert checkpoint(api, gap) == checkpoint(api, events[0]["position"])
    assert service.chain is not None
    service.chain.catch_up()
    service.close()
    forge = (
        f"INSERT INTO {EVENTS_TABLE} (notification_id, originator_id, originator_version, "  # noqa: S608
        f"topic, state) SELECT ?, originator_id, 2, topic, state FROM {EVENTS_TABLE} "
        "WHERE notification_id = ?"
    )
    run_sql(postgres_url, (forge, (gap, events[0]["position"])))
    code, output = verify(postgres_url)
    assert code == 1, output
    assert f"position {gap}: the log holds an event there that the chain never had" in output
    assert first["id"] == events[0]["milestoneId"]


def test_a_kept_checkpoint_proves_the_log_up_to_it(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    _, events = chained_store(open_services)
    expected = reference_chain(events)
    position, kept = events[-1]["position"], expected[-1]
    assert verify(database_url, "--position", str(position), "--hash", kept)[0] == 0
    # Between events (positions may have gaps): the hash after the last event before it.
    assert verify(database_url, "--position", str(position + 5), "--hash", kept)[0] == 0
    # Someone rewrote the log and the whole stored chain after the event: the chain agrees
    # with itself, the hash kept elsewhere does not.
    table, column = events_table(database_url)
    run_sql(database_url, (f"DELETE FROM {table} WHERE {column} = ?", (position,)))  # noqa: S608
    run_sql(database_url, ("DELETE FROM audit_chain WHERE position = ?", (position,)))
    code, output = verify(database_url, "--position", str(position), "--hash", kept)
    assert code == 1, output
    assert "the log matches its hash chain" in output
    assert f"h({position}) differs from the kept hash" in output


def test_verify_says_in_one_line_why_it_cannot_run(
    database_url: str, open_services: Callable[[], Service], tmp_path: Any
) -> None:
    chained_store(open_services)
    for args in (
        ("--position", "1"),
        ("--hash", ZERO),
        ("--position", "-1", "--hash", ZERO),
        ("--position", "1", "--hash", "ABC"),
        ("--position", "1", "--hash", "A" * 64),
    ):
        code, output = verify(database_url, *args)
        assert code == 2, (args, output)
    code, output = verify(f"sqlite:///{tmp_path}/none.db")
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1, output
    run_sql(database_url, ("DROP TABLE audit_chain", ()))
    code, output = verify(database_url)
    # The line naming the store it opened, then the one saying why it cannot run.
    assert (code, output.count("\n")) == (2, 2), output
    assert "(existing)" in output.splitlines()[0]
    assert "no hash chain yet" in output.splitlines()[1]


def test_events_recorded_before_the_chain_existed_are_chained_at_start(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    _, events = chained_store(open_services)
    run_sql(database_url, ("DROP TABLE audit_chain", ()))  # as a store from before the chain
    service = open_services()
    assert service.chain is not None
    # Read at once, without catching up: opening the service chained the whole log.
    assert service.chain.head().hash == reference_chain(events)[-1]
    assert service.chain.head().position == events[-1]["position"]
    assert verify(database_url)[0] == 0
