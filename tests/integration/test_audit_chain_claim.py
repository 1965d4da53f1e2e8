"""One process chains at a time: a service that starts while another process is chaining
(its claim held, here from other connections as another process would hold it) hashes
nothing itself and reads the rows the other one writes; once the claim is free its keeper
chains again."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import audit_chain, open_service, open_store
from adapters.settings import Settings
from projections.chain import GENESIS
from projections.chain_keeper import KEEP_INTERVAL
from tests.integration.app_client import AppClient
from tests.integration.test_audit_chain import chained_store, reference_chain, run_sql

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from adapters.bootstrap import Service, Store


@contextmanager
def unchained_beside_another_process(
    database_url: str, open_services: Callable[[], Service]
) -> Iterator[tuple[list[dict[str, Any]], Store]]:
    """A log of events with no chain, and a store of another process's connections on it:
    the events and that store."""
    _, events = chained_store(open_services)
    run_sql(database_url, ("DROP TABLE audit_chain", ()))  # the whole log unchained
    other = open_store(Settings(database_url=database_url), read_only=False)
    try:
        yield events, other
    finally:
        other.close()


def test_a_service_starting_while_another_process_chains_leaves_the_work_to_it(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    with unchained_beside_another_process(database_url, open_services) as (events, other):
        chaining = audit_chain(other.view)
        with chaining.table.claim(wait=True) as claimed:
            assert claimed
            service = open_services()
            assert service.chain is not None
            assert service.chain.head() == GENESIS  # it hashed nothing at start
            assert service.chain.catch_up(wait=False) == 0  # refused: another one chains
            time.sleep(KEEP_INTERVAL * 3)
            assert service.chain.head() == GENESIS  # nor did its keeper's turns
            assert chaining.catch_up(wait=False) == 0  # not even a second claim of its own
        # Chained by the other process (or the service's keeper, should its turn come
        # first): the service reads those rows.
        chaining.catch_up()
        assert service.chain.head().hash == reference_chain(events)[-1]


def test_a_keeper_chains_again_once_the_claim_is_free(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    with unchained_beside_another_process(database_url, open_services) as (events, other):
        with audit_chain(other.view).table.claim(wait=True):
            service = open_services()
            assert service.chain is not None
            assert service.chain.head() == GENESIS
        deadline = time.monotonic() + KEEP_INTERVAL * 4
        while service.chain.head().position != events[-1]["position"]:
            assert time.monotonic() < deadline, "the keeper did not chain after the claim"
            time.sleep(0.02)
        assert service.chain.head().hash == reference_chain(events)[-1]


def test_a_catch_up_that_must_chain_waits_for_the_claim(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    with unchained_beside_another_process(database_url, open_services) as (events, other):
        chain = audit_chain(other.view)
        chain.create()
        chained: list[int] = []
        with audit_chain(other.view).table.claim(wait=True):
            waiting = threading.Thread(target=lambda: chained.append(chain.catch_up()))
            waiting.start()
            waiting.join(KEEP_INTERVAL)
            assert waiting.is_alive()  # it waits while the claim is held
            assert chain.head() == GENESIS
        waiting.join(10)
        assert chained == [len(events)]
        assert chain.head().hash == reference_chain(events)[-1]


def test_only_a_sqlite_service_opens_connections_for_its_keeper(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    """On PostgreSQL the pages are the server's: a pool of the keeper's own would only take
    more of the connections the server allows."""
    service = open_services()
    assert (service.keeper_store is not None) == database_url.startswith("sqlite")
    assert service.chain_keeper is not None


def test_the_keeper_chains_on_connections_of_its_own(sqlite_url: str) -> None:
    """A keeper on the service's pool made the pool hold a second connection, and requests
    then took turns between two connections, each with a page cache the other's writes
    had made stale."""
    service = open_service(Settings(database_url=sqlite_url))
    try:
        assert service.keeper_store is not None
        assert service.keeper_store.view is not service.store
        api = AppClient(service)
        for round_ in range(3):
            for _ in range(5):
                api.create(title=f"round {round_}")
            head = api.head()
            deadline = time.monotonic() + KEEP_INTERVAL * 4
            assert service.chain is not None
            while service.chain.head().position != head:  # the keeper's turn came
                assert time.monotonic() < deadline, "the keeper did not chain"
                time.sleep(0.02)
        # The keeper's turns used its own pool; the requests, one connection of theirs.
        assert service.keeper_store.view.datastore.pool.num_in_pool >= 1  # type: ignore[attr-defined]
        assert service.store.datastore.pool.num_in_pool == 1  # type: ignore[attr-defined]
    finally:
        service.close()
