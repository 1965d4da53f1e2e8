"""Export and import carry the hash chain: an export writes each event's hash, an import
checks every hash before it records anything, and a store restored from an export has the
same chain as the original, on either backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from adapters.bootstrap import open_service
from adapters.settings import Settings
from tests.integration.app_client import AppClient
from tests.integration.test_audit_chain import reference_chain, write_some
from tests.integration.test_backup import export, import_, milestones

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from adapters.bootstrap import Service


def exported_store(
    database_url: str, open_services: Callable[[], Service]
) -> tuple[bytes, list[dict[str, Any]]]:
    """The export of a store with events of every type, and its feed."""
    service = open_services()
    api = AppClient(service)
    write_some(api)
    events = api.feed()
    service.close()
    return export(database_url), events


def test_an_export_carries_each_events_hash(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    log, events = exported_store(database_url, open_services)
    lines = [orjson.loads(line) for line in log.splitlines()]
    assert [line["hash"] for line in lines] == reference_chain(events)


def test_a_restored_store_has_the_same_chain(
    database_url: str,
    open_services: Callable[[], Service],
    sqlite_url: str,
    postgres_url: str,
) -> None:
    """From either backend to both: the same hashes, event by event, at other positions."""
    log, events = exported_store(database_url, open_services)
    for restored in (f"{sqlite_url}.restored", postgres_url):
        import_(restored, log)
        service = open_service(Settings(database_url=restored))
        try:
            status, _, body = AppClient(service).request("GET", "/api/audit/head")
        finally:
            service.close()
        assert status == 200, body
        assert body["data"]["hash"] == reference_chain(events)[-1]
        assert milestones(restored, "audit", "verify").returncode == 0


def test_a_tampered_export_is_refused_and_nothing_is_imported(
    database_url: str, open_services: Callable[[], Service], tmp_path: Path
) -> None:
    log, _ = exported_store(database_url, open_services)
    sqlite_url = f"sqlite:///{tmp_path}/restored.db"
    lines = log.splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"reached"', b'"pending"')
    assert lines[2] != log.splitlines(keepends=True)[2]
    result = milestones(sqlite_url, "import", stdin=b"".join(lines))
    assert result.returncode == 2, result.stderr
    message = result.stderr.decode()
    assert message.count("\n") == 1, message
    assert "line 3: its hash does not follow from the lines before it" in message
    assert "nothing was imported" in message
    # Nothing was: not even the store was created, so an import of the good file works.
    assert milestones(sqlite_url, "audit", "verify").returncode == 2
    import_(sqlite_url, log)


def test_an_older_export_without_hashes_is_imported_and_chained(
    database_url: str, open_services: Callable[[], Service], tmp_path: Path
) -> None:
    log, events = exported_store(database_url, open_services)
    sqlite_url = f"sqlite:///{tmp_path}/restored.db"
    older = b"".join(
        orjson.dumps({k: v for k, v in orjson.loads(line).items() if k != "hash"}) + b"\n"
        for line in log.splitlines()
    )
    import_(sqlite_url, older)
    result = milestones(sqlite_url, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert f"{len(events):,} events agree" in result.stdout.decode()
    assert milestones(sqlite_url, "export").stdout == log
