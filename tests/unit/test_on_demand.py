"""Opening the service lazily: refused at once between attempts, opened when it can be."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapters.postgres.pool import (
    LIBRARY_ATTEMPTS,
    LIBRARY_RETRY_WAIT,
    TIMEOUT_MARGIN,
    attempt_timeout,
)
from adapters.server.on_demand import LazyService, lazy_reads
from adapters.storage.faults import StorageUnavailable


class _Opened:
    def __init__(self) -> None:
        self.reads = self
        self.closed = False

    def lag(self) -> tuple[int, int]:
        return 3, 3

    def close(self) -> None:
        self.closed = True


def test_it_opens_on_first_use_and_retries_after_a_pause() -> None:
    attempts: list[float] = []
    outcomes: list[Exception | None] = [ConnectionRefusedError("refused"), None]
    opened = _Opened()
    now = [100.0]

    def open_service() -> Any:
        attempts.append(now[0])
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return opened

    on_open: list[object] = []
    lazy = LazyService(open_service, on_open.append, retry_after=1.0, clock=lambda: now[0])
    with pytest.raises(StorageUnavailable, match="refused"):
        lazy.get()
    now[0] += 0.5  # within the pause: refused at once, without an attempt
    with pytest.raises(StorageUnavailable, match="refused"):
        lazy_reads(lazy).lag()
    assert attempts == [100.0]
    now[0] += 0.6
    assert lazy_reads(lazy).lag() == (3, 3)
    assert attempts == [100.0, 101.1]
    assert on_open == [opened]
    assert cast("object", lazy.get()) is opened  # opened once
    lazy.close()
    assert opened.closed


def test_the_library_attempts_fit_the_storage_timeout() -> None:
    for timeout in (3.0, 5.0, 10.0):
        per_attempt = attempt_timeout(timeout)
        total = LIBRARY_ATTEMPTS * per_attempt + (LIBRARY_ATTEMPTS - 1) * LIBRARY_RETRY_WAIT
        assert total == pytest.approx(timeout - TIMEOUT_MARGIN)
    assert attempt_timeout(0.5) == pytest.approx(0.05)  # never zero: a pool needs some wait
