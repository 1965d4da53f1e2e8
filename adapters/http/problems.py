"""RFC 9457 problem details: the one mapping from errors to HTTP responses."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import falcon
import orjson
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InterfaceError,
    OperationalError,
)

from adapters.contract.validation import ValidationFailed
from adapters.http.time_travel import MilestoneNotThen
from adapters.storage.faults import (
    Fault,
    FaultEpisodes,
    StorageFull,
    StorageUnavailable,
    StorageUnwritable,
    classify,
)
from adapters.webhooks.store import WebhookNotFound
from domain.ids import InvalidMilestoneId
from domain.milestone import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    InvalidReachedAt,
    MilestoneNotFound,
    VersionMismatch,
)
from domain.writes import DeadlinePassed

if TYPE_CHECKING:
    from collections.abc import Callable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


def problem_body(status: int, detail: str, **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "type": extra.pop("type", "about:blank"),
            "title": falcon.code_to_http_status(status).partition(" ")[2],
            "status": status,
            "detail": detail,
            **extra,
        }
    )


def _respond(resp: falcon.Response, status: int, detail: str, **extra: Any) -> None:
    resp.status = status
    resp.content_type = PROBLEM_JSON
    resp.data = problem_body(status, detail, **extra)


def _serialize_http_error(
    req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError
) -> None:
    """Falcon's own errors (404 route, 405, 413, ...) as problem details."""
    detail = error.description or error.title or ""
    _respond(resp, error.status_code, detail)
    resp.set_headers(error.headers or {})


def _handler(status: int, detail: Callable[[Exception], str]) -> Any:
    def handle(
        req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
    ) -> None:
        extra = {"errors": error.errors} if isinstance(error, ValidationFailed) else {}
        _respond(resp, status, detail(error), **extra)

    return handle


def _invalid_reached_at(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    errors = [{"field": "reachedAt", "message": str(error)}]
    _respond(resp, 400, f"reachedAt: {error}", errors=errors)


def _unexpected(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    log.error("unhandled error in %s %s", req.method, req.path, exc_info=error)
    _respond(resp, 500, "the server failed to handle this request")


def install(
    app: falcon.App[falcon.Request, falcon.Response], faults: FaultEpisodes | None = None
) -> None:
    """Map every error to a problem response; the handler of the nearest class wins."""
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(ValidationFailed, _handler(400, str))
    app.add_error_handler(InvalidReachedAt, _invalid_reached_at)
    not_found = _handler(404, lambda _: "no milestone has this id")
    app.add_error_handler(MilestoneNotFound, not_found)
    app.add_error_handler(MilestoneNotThen, _handler(404, str))
    app.add_error_handler(InvalidMilestoneId, not_found)
    app.add_error_handler(WebhookNotFound, _handler(404, lambda _: "no webhook has this id"))
    app.add_error_handler(
        VersionMismatch,
        _handler(412, lambda e: f"If-Match does not match the current version {e.actual}"),  # type: ignore[attr-defined]
    )
    app.add_error_handler(
        ConcurrentUpdate,
        _handler(409, lambda _: "the milestone kept changing under this write; try again"),
    )
    reused = "this Idempotency-Key was used with a different request body"
    app.add_error_handler(IdempotencyKeyReused, _handler(409, lambda _: reused))
    storage = _storage_fault(faults or FaultEpisodes())
    app.add_error_handler(OperationalError, storage)
    app.add_error_handler(InterfaceError, storage)
    app.add_error_handler(sqlite3.DatabaseError, storage)  # SQLite reads go direct
    app.add_error_handler(StorageUnavailable, storage)
    app.add_error_handler(DeadlinePassed, storage)
    app.add_error_handler(StorageUnwritable, storage)
    app.add_error_handler(StorageFull, storage)
    app.add_error_handler(ConnectionPoolClosedError, storage)


# The problem types of the storage's faults; docs/operations.md says what each means.
FAULT_TYPES = {
    Fault.FULL: "urn:milestones:problem:storage-full",
    Fault.UNWRITABLE: "urn:milestones:problem:storage-unwritable",
    Fault.UNREACHABLE: "urn:milestones:problem:storage-unavailable",
    Fault.OUTCOME_UNKNOWN: "urn:milestones:problem:commit-outcome-unknown",
}
FAULT_DETAILS = {
    Fault.FULL: "the storage is full; writes resume when space is freed",
    Fault.UNWRITABLE: "the storage is read-only or cannot be opened for writing",
    Fault.UNREACHABLE: "the storage is busy or unreachable; try again shortly",
    Fault.OUTCOME_UNKNOWN: (
        "the connection to the database broke while this write committed, so it may or may "
        "not have been recorded; read the resource, or retry (with the same Idempotency-Key "
        "for a POST)"
    ),
}


# Seconds a client should wait before trying again: an unreachable server is often back in
# a moment; a full disk or a read-only file waits for an operator to act. (A write of unknown
# outcome is read back or retried by its key, not waited out.)
RETRY_AFTER = {Fault.UNREACHABLE: "1", Fault.FULL: "60", Fault.UNWRITABLE: "60"}


def _storage_fault(faults: FaultEpisodes) -> Any:
    def handle(
        req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
    ) -> None:
        fault = classify(error)
        if isinstance(error, ConnectionPoolClosedError) and faults.current is not None:
            # The storage was closed under this request, before it wrote anything, to be
            # reopened for the fault that just began: the request met that fault.
            fault = faults.current
        faults.failed(fault, getattr(req.context, "started", None))
        status = 507 if fault is Fault.FULL else 503
        _respond(resp, status, FAULT_DETAILS[fault], type=FAULT_TYPES[fault])
        if fault in RETRY_AFTER:
            resp.set_header("Retry-After", RETRY_AFTER[fault])

    return handle
