"""The CRUD peer: what a user would write instead of an event-sourced service.

Falcon and ``sqlite3`` (or ``psycopg`` on PostgreSQL: ``bench.peer_storage``), the
seed's five endpoints, one row per milestone updated in place. On SQLite it carries the
same durability as the project (WAL, ``synchronous=FULL``: an acknowledged write is on
disk); on PostgreSQL, the server's default. Its validation is of about the same weight
(required fields, types and lengths, the status enum, dates), and it answers
201/200/404/400 like the seed.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, date, datetime
from typing import Any

import falcon
import orjson

from bench.peer_storage import Store

MAX_BODY_BYTES = 64 * 1024
STATUSES = frozenset({"pending", "in_progress", "reached"})
FIELDS = frozenset(
    {"id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"}
)
COLUMNS = "id, project_id, title, description, status, due_date, reached_at, created_at"
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?")
# The fields a PATCH may change, in the order of the UPDATE statement's columns.
_EDITABLE = ("title", "description", "status", "dueDate", "reachedAt")
_SELECT_ONE = f"SELECT {COLUMNS} FROM milestones WHERE id = ?"  # noqa: S608 - fixed names
_UPDATE = (
    "UPDATE milestones SET title = ?, description = ?, status = ?, due_date = ?, reached_at = ? "
    "WHERE id = ?"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    # Time-ordered like the project's ids, and as long (26 characters after the prefix).
    return f"ms_{time.time_ns():016x}{secrets.token_hex(5)}"


def _document(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "projectId": row[1],
        "title": row[2],
        "description": row[3],
        "status": row[4],
        "dueDate": row[5],
        "reachedAt": row[6],
        "createdAt": row[7],
    }


class _Invalid(falcon.HTTPBadRequest):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(description="; ".join(errors))


def _read_object(req: falcon.Request) -> dict[str, Any]:
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _Invalid(["malformed JSON"]) from None
    if not isinstance(body, dict):
        raise _Invalid(["the body must be an object"])
    unknown = [f"{key}: unknown field" for key in body if key not in FIELDS]
    if unknown:
        raise _Invalid(unknown)
    return body


def _check_text(
    errors: list[str], body: dict[str, Any], name: str, limit: int, *, empty: bool
) -> None:
    value = body[name]
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        errors.append(f"{name}: must be a string of at most {limit} characters")


def _check_instant(errors: list[str], body: dict[str, Any], name: str) -> None:
    value = body[name]
    if value is None:
        return
    message = f"{name}: must be null or an ISO 8601 date or date-time"
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        errors.append(message)
        return
    try:
        if len(value) == len("2026-03-01"):
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        errors.append(message)


def _check(body: dict[str, Any], *, creating: bool) -> None:
    """Every bad field of a POST (``creating``) or PATCH body, as one 400."""
    errors = []
    if creating:
        errors += [f"{name}: is required" for name in ("projectId", "title") if name not in body]
        if "projectId" in body:
            _check_text(errors, body, "projectId", 100, empty=False)
    if "title" in body:
        _check_text(errors, body, "title", 200, empty=False)
    if "description" in body:
        _check_text(errors, body, "description", 10_000, empty=True)
    if "status" in body and body["status"] not in STATUSES:
        errors.append("status: must be one of pending, in_progress, reached")
    for name in ("dueDate", "reachedAt") if not creating else ("dueDate",):
        if name in body:
            _check_instant(errors, body, name)
    if errors:
        raise _Invalid(errors)


class _Milestones:
    def __init__(self, store: Store) -> None:
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        where, params = [], []
        project_id = req.get_param("projectId")
        if project_id is not None:
            where.append("project_id = ?")
            params.append(project_id)
        status = req.get_param("status")
        if status is not None:
            if status not in STATUSES:
                raise _Invalid(["status: must be one of pending, in_progress, reached"])
            where.append("status = ?")
            params.append(status)
        sql = f"SELECT {COLUMNS} FROM milestones"  # noqa: S608 - fixed column names
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._store.execute(sql + " ORDER BY created_at, id", params)
        documents = [_document(row) for row in rows]
        resp.data = orjson.dumps({"data": documents, "count": len(documents)})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _read_object(req)
        _check(body, creating=True)
        status = body.get("status", "pending")
        created_at = _now()
        row = (
            _new_id(),
            body["projectId"],
            body["title"],
            body.get("description", ""),
            status,
            body.get("dueDate"),
            created_at if status == "reached" else None,
            created_at,
        )
        self._store.execute("INSERT INTO milestones VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/milestones/{row[0]}"
        resp.data = orjson.dumps({"data": _document(row)})


class _Milestone:
    def __init__(self, store: Store) -> None:
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        row = self._store.execute(_SELECT_ONE, (milestone_id,)).fetchone()
        if row is None:
            raise falcon.HTTPNotFound
        resp.data = orjson.dumps({"data": _document(row)})

    def on_patch(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        body = _read_object(req)
        _check(body, creating=False)
        # Read and write in one transaction, so the reachedAt rule sees the current status.
        with self._store.transaction() as transaction:
            row = transaction.execute(
                _SELECT_ONE + transaction.dialect.lock_row, (milestone_id,)
            ).fetchone()
            if row is None:
                raise falcon.HTTPNotFound
            document = _document(row)
            document.update((name, body[name]) for name in _EDITABLE if name in body)
            if document["status"] == "reached" and document["reachedAt"] is None:
                document["reachedAt"] = _now()
            transaction.execute(_UPDATE, (*(document[name] for name in _EDITABLE), milestone_id))
        resp.data = orjson.dumps({"data": document})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, milestone_id: str) -> None:
        cursor = self._store.execute("DELETE FROM milestones WHERE id = ?", (milestone_id,))
        if cursor.rowcount == 0:
            raise falcon.HTTPNotFound
        resp.data = orjson.dumps({"data": {"id": milestone_id, "deleted": True}})


class _Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = b'{"data":{"status":"ok"}}'


def create_app(database: str) -> falcon.App[falcon.Request, falcon.Response]:
    """The peer on a SQLite file's path or a postgresql:// URL."""
    store = Store(database)
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.add_route("/api/milestones", _Milestones(store))
    app.add_route("/api/milestones/{milestone_id}", _Milestone(store))
    app.add_route("/health", _Health())
    return app
