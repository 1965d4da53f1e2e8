"""Group commit: the outcomes of every subscription's attempts, a few to a transaction.

Each subscription's thread waits until its attempt is recorded before it starts the next,
so at most one attempt per subscription is ever unrecorded, as without grouping; but ten
busy subscriptions take SQLite's write lock about once where they would take it ten times,
and writers of events wait that much less.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.webhooks.store import Outcome, Pending, WebhookStore

MAX_GROUP = 64


class Committer:
    def __init__(self, store: WebhookStore, holder: str, *, retry: float, give_up: float) -> None:
        self._store = store
        self._holder = holder
        self._retry = retry
        self._give_up = give_up
        self._queue: list[tuple[Pending, Outcome, Future[bool]]] = []
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def record(self, pending: Pending, outcome: Outcome) -> bool:
        """Whether the attempt was recorded (False: the lease or the progress moved on)."""
        done: Future[bool] = Future()
        with self._ready:
            if self._stopping:
                return False
            self._queue.append((pending, outcome, done))
            self._ready.notify()
        return done.result()

    def stop(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                if not group and self._stopping:
                    return
            try:
                recorded = self._store.record_many(
                    self._holder,
                    [(pending, outcome) for pending, outcome, _ in group],
                    retry=self._retry,
                    give_up=self._give_up,
                )
            except Exception as error:  # noqa: BLE001 - each waiting thread gets to handle it
                for _, _, done in group:
                    done.set_exception(error)
                continue
            for (_, _, done), ok in zip(group, recorded, strict=True):
                done.set_result(ok)
