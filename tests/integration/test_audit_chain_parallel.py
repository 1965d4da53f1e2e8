"""``audit verify`` shared among processes finds what one process finds: the first position
where the log and the chain part ways, whichever span it falls in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest

from adapters.bootstrap import audit_chain, open_store
from adapters.cli import audit_spans
from adapters.settings import Settings
from tests.integration.app_client import AppClient
from tests.integration.conftest import read_log
from tests.integration.test_audit_chain import events_table, run_sql, stored_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service
    from projections.chain_keeper import Verified

EVENTS = 40
WORKERS = 3


@pytest.fixture
def chained(database_url: str, open_services: Callable[[], Service]) -> None:
    """A store of ``EVENTS`` events, all chained; the service is closed."""
    service = open_services()
    api = AppClient(service)
    for number in range(EVENTS):
        api.create(title=f"milestone {number}")
    assert service.chain is not None
    service.chain.catch_up()
    service.close()


def verified(database_url: str, monkeypatch: pytest.MonkeyPatch, workers: int) -> Verified:
    monkeypatch.setattr(audit_spans, "PARALLEL_FROM", 0)  # processes even for a short log
    settings = Settings(database_url=database_url)
    store = open_store(settings)
    try:
        return audit_spans.verify(settings, audit_chain(store.view), workers)
    finally:
        store.close()


@pytest.mark.usefixtures("chained")
def test_shared_and_single_verification_agree_on_an_untouched_log(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, single = (verified(database_url, monkeypatch, n) for n in (WORKERS, 1))
    assert shared == single
    assert (shared.agreed, shared.unchained, shared.problem) == (EVENTS, 0, None)


@pytest.mark.usefixtures("chained")
def test_shared_verification_names_the_first_tampered_position(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, column = events_table(database_url)
    positions = [record[0] for record in read_log(database_url)]
    # Two changes in different spans, and the last event removed: the first one is named.
    for position in (positions[32], positions[16]):
        state = orjson.loads(stored_state(database_url, position))
        state["title"] = "rewritten"
        sql = f"UPDATE {table} SET state = ? WHERE {column} = ?"  # noqa: S608
        run_sql(database_url, (sql, (orjson.dumps(state), position)))
    last = (f"DELETE FROM {table} WHERE {column} = ?", (positions[-1],))  # noqa: S608
    run_sql(database_url, last)
    shared, single = (verified(database_url, monkeypatch, n) for n in (WORKERS, 1))
    assert shared == single
    assert shared.agreed == 16
    assert shared.problem is not None
    assert shared.problem.startswith(
        f"position {positions[16]}: the event no longer hashes as recorded"
    )
