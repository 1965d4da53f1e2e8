"""The hash chain's resources: its head, and the hash at a position (a checkpoint)."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

import falcon
import orjson
from eventsourcing.persistence import OperationalError

from adapters.contract.audit_chain import checkpoint_query
from adapters.contract.models import NoQuery
from adapters.contract.validation import parse_query

if TYPE_CHECKING:
    from adapters.storage.chain import AuditChain


def _caught_up(chain: AuditChain) -> AuditChain:
    """The chain with every event committed so far in it. A store that cannot be written
    (a read-only file, a full disk) still answers with the chain as far as it was kept."""
    with suppress(OperationalError):
        chain.catch_up()
    return chain


class ChainHeadResource:
    def __init__(self, chain: AuditChain) -> None:
        self._chain = chain

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parse_query(NoQuery, req.params)
        head = _caught_up(self._chain).head()
        data = {"position": head.position, "hash": head.hash, "occurredAt": head.occurred_at}
        resp.data = orjson.dumps({"data": data})


class CheckpointResource:
    def __init__(self, chain: AuditChain) -> None:
        self._chain = chain

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        position = checkpoint_query(req.params).position
        link = _caught_up(self._chain).checkpoint(position)
        if link is None:
            raise falcon.HTTPNotFound(description=f"the chain does not reach position {position}")
        resp.data = orjson.dumps({"data": {"position": position, "hash": link.hash}})
