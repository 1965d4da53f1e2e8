"""A service that opens its storage on first use, and again after each failure to open.

So a worker boots while the database is down: ``/health`` answers, every request that
needs the storage is a 503 until the storage answers, and the first request after that
opens it. Nothing needs a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service

from adapters.storage.faults import StorageUnavailable, StorageUnwritable

log = logging.getLogger(__name__)

# Seconds between attempts to open: a flood of requests during an outage costs the
# database one connection attempt a second per worker, not one per request.
RETRY_AFTER = 1.0


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class LazyService:
    """Opens the service when first needed; until it opens, each use raises
    StorageUnavailable (at once, between attempts)."""

    def __init__(
        self,
        open_service: Callable[[], Service],
        on_open: Callable[[Service], None] = lambda service: None,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open = open_service
        self._clock = clock
        self._on_open = on_open
        self._retry_after = retry_after
        self._service: Service | None = None
        self._lock = threading.Lock()
        self._next_attempt = 0.0
        self._reason = ""
        self._error: Exception | None = None  # why the last attempt failed

    def get(self) -> Service:
        service = self._service
        if service is not None:
            return service
        with self._lock:
            if self._service is None:
                self._service = self._attempt()
            return self._service

    def _attempt(self) -> Service:
        now = self._clock()
        # A file that cannot be written is seen without asking the database: looked at
        # again on every use, so that every worker writes again as soon as it can.
        if now < self._next_attempt and not isinstance(self._error, StorageUnwritable):
            raise StorageUnavailable(self._reason) from self._error
        try:
            service = self._open()
        except Exception as error:
            self._next_attempt = now + self._retry_after
            reason = one_line(error)
            if reason != self._reason:  # once per outage, not once a second
                log.warning("the storage cannot be opened yet: %s", reason)
            self._reason, self._error = reason, error
            raise StorageUnavailable(reason) from error
        if self._reason:
            log.warning("the storage is open again")
        self._on_open(service)
        return service

    def reset(self) -> None:
        """Close the service, so that the next use opens it afresh: after its file became
        unwritable, connections opened meanwhile stay read-only until they are reopened."""
        with self._lock:
            service, self._service = self._service, None
            self._next_attempt = 0.0  # not a failure to open: no wait before the next
        if service is not None:
            try:
                service.close()
            except Exception as error:  # noqa: BLE001 - it is being thrown away
                log.warning("closing the storage failed: %s", one_line(error))

    def close(self) -> None:
        if self._service is not None:
            self._service.close()


class _Forward:
    """Forwards every attribute to one part of the service, opened when first used."""

    def __init__(self, lazy: LazyService, part: Callable[[Service], object]) -> None:
        self._lazy = lazy
        self._part = part

    def __getattr__(self, name: str) -> Any:
        return getattr(self._part(self._lazy.get()), name)


def lazy_application(lazy: LazyService) -> Any:
    """Stands for ``Service.milestones``."""
    return _Forward(lazy, lambda service: service.milestones)


def lazy_reads(lazy: LazyService) -> Any:
    """Stands for ``Service.reads``."""
    return _Forward(lazy, lambda service: service.reads)


def lazy_webhooks(lazy: LazyService) -> Any:
    """Stands for ``Service.webhooks``."""
    return _Forward(lazy, lambda service: service.webhooks)


def lazy_chain(lazy: LazyService) -> Any:
    """Stands for ``Service.chain``."""
    return _Forward(lazy, lambda service: service.chain)
