"""While the database cannot be written: reads from the store opened read-only, an unwritable
file looked at again on every use, and writes refused alike before each batch."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapters.server.on_demand import LazyService
from adapters.server.read_only import ReadsWhileUnwritable
from adapters.storage.faults import (
    Fault,
    FaultEpisodes,
    StorageFull,
    StorageUnavailable,
    StorageUnwritable,
    checked_turn,
    classify,
)


class _Part:
    """A service or a store: its reads answer with its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reads = self
        self.closed = False

    def lag(self) -> str:
        return self.name

    def close(self) -> None:
        self.closed = True


def test_reads_come_from_the_read_only_store_until_the_service_opens() -> None:
    writable = [False]
    service, store = _Part("service"), _Part("read-only store")

    def open_service() -> Any:
        if not writable[0]:
            raise StorageUnwritable("the database file m.db is not writable")
        return service

    lazy = LazyService(open_service, retry_after=60.0)
    reads = ReadsWhileUnwritable(lazy, lambda: cast("Any", store))
    assert reads.lag() == "read-only store"
    assert reads.lag() == "read-only store"  # no pause: the file is looked at on every use
    writable[0] = True
    assert reads.lag() == "service"  # at once, although the pause is a minute
    assert store.closed


def test_other_failures_to_open_are_not_read_around() -> None:
    def open_service() -> Any:
        raise ConnectionRefusedError("refused")

    reads = ReadsWhileUnwritable(LazyService(open_service), lambda: pytest.fail("not opened"))
    with pytest.raises(StorageUnavailable, match="refused"):
        reads.lag()


@pytest.mark.parametrize(
    ("seen", "refusal"), [(Fault.UNWRITABLE, StorageUnwritable), (Fault.FULL, StorageFull)]
)
def test_a_batch_is_refused_while_the_probe_sees_a_fault(
    seen: Fault, refusal: type[Exception]
) -> None:
    fault: list[Fault | None] = [seen]
    faults = FaultEpisodes(lambda _: fault[0])
    turns: list[str] = []

    class _Turn:
        def __enter__(self) -> None:
            turns.append("taken")

        def __exit__(self, *_: object) -> None:
            return None

    turn = checked_turn(faults, _Turn)
    with pytest.raises(refusal) as refused:
        turn()
    assert classify(refused.value) is seen
    assert faults.current is seen
    assert turns == []
    fault[0] = None
    with turn():
        pass
    assert turns == ["taken"]
    assert faults.current is seen  # only a commit ends the episode
    faults.succeeded()
    assert faults.current is None
