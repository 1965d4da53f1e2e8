"""The hash chain of a store: its table on the store's backend, kept by a thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from projections import chain_keeper
from projections.chain_keeper import ChainKeeper, ChainTable, Verified

if TYPE_CHECKING:
    from projections.chain import Link
    from projections.ports import ViewStore


@dataclass
class AuditChain:
    """The log's hash chain in one store: what the service and the tools ask of it."""

    store: ViewStore
    table: ChainTable

    def create(self) -> None:
        chain_keeper.create(self.store, self.table)

    def catch_up(self, *, wait: bool = True) -> int:
        return chain_keeper.catch_up(self.store, self.table, wait=wait)

    def head(self) -> Link:
        return chain_keeper.head(self.store, self.table)

    def checkpoint(self, position: int) -> Link | None:
        return chain_keeper.checkpoint(self.store, self.table, position)

    def exists(self) -> bool:
        with self.store.read_transaction() as c:
            return self.table.exists(c)

    def verify(self) -> Verified:
        return chain_keeper.verify(self.store, self.table)

    def keeper(self) -> ChainKeeper:
        return ChainKeeper(self.store, self.table)
