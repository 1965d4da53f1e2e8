"""The hash chain's rows in PostgreSQL (``projections.chain_keeper.ChainTable``)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from projections.chain import GENESIS, Link

if TYPE_CHECKING:
    from collections.abc import Iterator

    from psycopg import Cursor
    from psycopg.rows import DictRow

CHAIN_TABLE = "audit_chain"
# The advisory lock that chain writers take in their transaction ("chai"): event writers
# never wait for it, and of two chain writers the second sees the first one's rows.
CHAIN_LOCK = 0x63686169
# The advisory lock of the process that chains ("chac"), held over its whole catch-up.
CLAIM_LOCK = 0x63686163


class PostgresChainTable:
    def __init__(self, store: Any) -> None:
        self._datastore = store.datastore  # the recorder's: its pool of connections

    @contextmanager
    def claim(self, *, wait: bool) -> Iterator[bool]:
        """A transaction's advisory lock, on a connection held while the context lasts:
        it ends with the transaction, however that ends, and with a connection that dies."""
        with self._datastore.transaction(commit=False) as c:
            if wait:
                c.execute("SELECT pg_advisory_xact_lock(%s)", (CLAIM_LOCK,))
                yield True
                return
            c.execute("SELECT pg_try_advisory_xact_lock(%s) AS claimed", (CLAIM_LOCK,))
            row = c.fetchone()
            yield bool(row and row["claimed"])

    def create(self, c: Cursor[DictRow]) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position BIGINT PRIMARY KEY, "
            "hash TEXT NOT NULL, occurred_at TEXT NOT NULL)"
        )

    def exists(self, c: Cursor[DictRow]) -> bool:
        c.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (CHAIN_TABLE,))
        row = c.fetchone()
        return bool(row and row["found"])

    def serialise(self, c: Cursor[DictRow]) -> None:
        c.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK,))

    def last(self, c: Cursor[DictRow]) -> Link:
        c.execute(
            f"SELECT position, hash, occurred_at FROM {CHAIN_TABLE} "  # noqa: S608
            "ORDER BY position DESC LIMIT 1"
        )
        return _link(c.fetchone())

    def at_or_before(self, c: Cursor[DictRow], position: int) -> Link:
        c.execute(
            f"SELECT position, hash, occurred_at FROM {CHAIN_TABLE} WHERE position <= %s "  # noqa: S608
            "ORDER BY position DESC LIMIT 1",
            (position,),
        )
        return _link(c.fetchone())

    def write(self, c: Cursor[DictRow], chained: list[Link]) -> None:
        c.executemany(
            f"INSERT INTO {CHAIN_TABLE} VALUES (%s, %s, %s)",  # noqa: S608
            [(link.position, link.hash, link.occurred_at) for link in chained],
        )

    def hashes(self, c: Cursor[DictRow], after: int, through: int) -> list[tuple[int, str]]:
        c.execute(
            f"SELECT position, hash FROM {CHAIN_TABLE} WHERE position > %s "  # noqa: S608
            "AND position <= %s ORDER BY position",
            (after, through),
        )
        return [(row["position"], row["hash"]) for row in c.fetchall()]


def _link(row: Any) -> Link:
    return GENESIS if row is None else Link(row["position"], row["hash"], row["occurred_at"])
