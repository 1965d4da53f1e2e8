"""Reads that go on while the database cannot be written.

The service opens its storage for writing; while the SQLite file is read-only (a read-only
mount, permissions, an immutable file) that open fails, and every request needing the
storage would be a 503. Reads need no writing: until the service opens again, they come
from the store opened read-only, as the operator's tools open it. Writes meanwhile get the
storage's 503, and ``/ready`` says the same.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from adapters.storage.faults import StorageUnavailable, StorageUnwritable

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Store
    from adapters.server.on_demand import LazyService

log = logging.getLogger(__name__)


class ReadsWhileUnwritable:
    """Stands for ``Service.reads``: the service's own reads when it opens, else those of
    the store opened read-only, as long as the service fails to open for want of writing."""

    def __init__(self, lazy: LazyService, open_read_only: Callable[[], Store]) -> None:
        self._lazy = lazy
        self._open_read_only = open_read_only
        self._lock = threading.Lock()
        self._store: Store | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reads(), name)

    def _reads(self) -> Any:
        try:
            service = self._lazy.get()
        except StorageUnavailable as error:
            if not isinstance(error.__cause__, StorageUnwritable):
                raise
            return self._read_only().reads
        if self._store is not None:
            self._close_read_only()
        return service.reads

    def _read_only(self) -> Store:
        with self._lock:
            if self._store is None:
                try:
                    self._store = self._open_read_only()
                except Exception as error:
                    raise StorageUnavailable(str(error)) from error
                log.warning("the storage cannot be written: reads come from it read-only")
            return self._store

    def _close_read_only(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
