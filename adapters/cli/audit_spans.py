"""``audit verify`` on every core: the chain cut into spans, each checked by a process of
its own on its own connection (``projections.chain_keeper.Span``)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from adapters.bootstrap import audit_chain, open_store
from projections import chain_keeper
from projections.chain_keeper import Span, Verified

if TYPE_CHECKING:
    from adapters.bootstrap import Store
    from adapters.settings import Settings
    from adapters.storage.chain import AuditChain

# Below this many chained events, starting processes costs more than it saves.
PARALLEL_FROM = 100_000
SPANS_PER_WORKER = 4  # shorter spans even out workers that the machine runs at unequal speed

_worker_chain: AuditChain | None = None  # each worker process's own connection to the store
_worker_store: Store | None = None


def verify(settings: Settings, chain: AuditChain, workers: int | None = None) -> Verified:
    """What ``chain_keeper.verify`` finds, found by ``workers`` processes (one per core)."""
    workers = workers or os.cpu_count() or 1
    spans, head = chain_keeper.spans(chain.store, chain.table, workers * SPANS_PER_WORKER)
    if workers == 1 or head < PARALLEL_FROM:
        return chain.verify()
    agreed = 0
    # Forked: the command has no other thread, and a worker needs nothing but the settings.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, context, _open, (settings,)) as pool:
        for found in pool.map(_verify, spans):  # in the chain's order
            agreed += found.agreed
            if found.problem is not None:  # the first one: every span before it agreed
                pool.shutdown(cancel_futures=True)
                return Verified(agreed, 0, found.problem)
    return Verified(agreed, chain_keeper.unchained(chain.store, head), None)


def _open(settings: Settings) -> None:
    global _worker_chain, _worker_store  # noqa: PLW0603 - one per worker process
    _worker_store = open_store(settings)
    _worker_chain = audit_chain(_worker_store.view)


def _verify(span: Span) -> Verified:
    if _worker_chain is None:
        raise RuntimeError("the worker did not open the store")
    return chain_keeper.verify_span(_worker_chain.store, _worker_chain.table, span)
