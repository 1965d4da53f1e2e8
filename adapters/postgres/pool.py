"""The library's PostgreSQL factory with bounded waits, so an outage is a prompt 503."""

from __future__ import annotations

import time
from typing import Any, cast

from eventsourcing.postgres import PostgresFactory

from domain.writes import DeadlinePassed, recording_deadline

# The library retries a failed statement this many times, this many seconds apart
# (eventsourcing.postgres); each attempt may wait for a pooled connection.
LIBRARY_ATTEMPTS = 10
LIBRARY_RETRY_WAIT = 0.2
STORAGE_TIMEOUT = "MILESTONES_STORAGE_TIMEOUT"
RECONNECT_TIMEOUT = 1.0
DEFAULT_STORAGE_TIMEOUT = 5.0


# Seconds of the storage timeout kept for the statements themselves and the jitter of
# the library's pauses.
TIMEOUT_MARGIN = 0.3


def attempt_timeout(storage_timeout: float) -> float:
    """How long one attempt may wait for a connection, so that all of the library's
    attempts together end within ``storage_timeout`` seconds."""
    waits = (LIBRARY_ATTEMPTS - 1) * LIBRARY_RETRY_WAIT + TIMEOUT_MARGIN
    return max(0.05, (storage_timeout - waits) / LIBRARY_ATTEMPTS)


class BoundedPostgresFactory(PostgresFactory):
    """The library's factory with bounded waits for the database.

    Its pool waits for a connection as long as its connect timeout (whole seconds), ten
    times over; during an outage a request would hang past the worker timeout. Here each
    attempt waits a share of ``MILESTONES_STORAGE_TIMEOUT``, so a request meets an outage
    with a 503 within that time, and connecting gives up after that time too.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        timeout = float(self.env.get(STORAGE_TIMEOUT) or DEFAULT_STORAGE_TIMEOUT)
        pool = self.datastore.pool
        pool.timeout = attempt_timeout(timeout)
        # The pool retries a lost connection with a growing backoff for as long as this
        # (the library's five minutes): after an outage it could still be waiting while the
        # server answers again. Given up after a second, the next request tries afresh.
        pool.reconnect_timeout = RECONNECT_TIMEOUT
        # The library builds the pool with a dict of connection arguments.
        cast("dict[str, Any]", pool.kwargs)["connect_timeout"] = max(1, round(timeout))
        bound_by_write_deadlines(pool)


def bound_by_write_deadlines(pool: Any) -> None:
    """While a batch of writes is recorded, no wait for a connection ends after its earliest
    deadline, and none begins once it has passed: ``DeadlinePassed`` is no error the library
    retries, so a batch during an outage ends by the deadline of its oldest write."""
    getconn = pool.getconn

    def bounded_getconn(timeout: float | None = None) -> Any:
        deadline = recording_deadline()
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlinePassed
            timeout = min(pool.timeout if timeout is None else timeout, remaining)
        return getconn(timeout)

    pool.getconn = bounded_getconn
