"""Subscriptions, their delivery progress, the delivery log and the deliverer's lease, in SQL.

The tables live in the service's database, beside the events, on SQLite and PostgreSQL
alike. Every change of progress is one transaction that also checks the lease and the
progress it started from, so a deliverer that lost its lease, or a second one, can never
move a subscription backwards or skip an event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from adapters.webhooks.connections import Connections
from domain.ids import to_public_id
from domain.milestone import format_instant

if TYPE_CHECKING:
    from collections.abc import Sequence

LEASE = "deliver"
KEPT_DELIVERIES = 1000  # log rows kept per subscription; older ones are pruned as new ones come
_SETUP_LOCK = 0x77686B73  # "whks": one process at a time creates the tables

_TABLES = [
    (
        "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, "
        "types TEXT NOT NULL, project_id TEXT, enabled INTEGER NOT NULL, secret TEXT NOT NULL, "
        "created_at TEXT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS webhook_progress (webhook_id TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL, attempt INTEGER NOT NULL, next_try DOUBLE PRECISION NOT NULL, "
        "failing_since DOUBLE PRECISION)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS webhook_deliveries (id {serial} PRIMARY KEY, "
        "webhook_id TEXT NOT NULL, position BIGINT NOT NULL, attempt INTEGER NOT NULL, "
        "at TEXT NOT NULL, status INTEGER, error TEXT, duration_ms DOUBLE PRECISION NOT NULL)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_by_webhook ON webhook_deliveries "
        "(webhook_id, id)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS webhook_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
        "expires DOUBLE PRECISION NOT NULL)"
    ),
    "INSERT INTO webhook_lease VALUES ('deliver', '', 0) ON CONFLICT (name) DO NOTHING",
]
_COLUMNS = "w.id, w.url, w.types, w.project_id, w.enabled, w.created_at, p.position, p.attempt"


class WebhookNotFound(LookupError):
    """No subscription has this id."""


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    types: tuple[str, ...]
    project_id: str | None
    enabled: bool
    created_at: str
    position: int  # the last event delivered, or passed over as not matching
    attempt: int  # failed attempts at the event after ``position``

    def document(self) -> dict[str, Any]:
        """What the API shows: never the secret."""
        return {
            "id": self.id,
            "url": self.url,
            "types": list(self.types),
            "projectId": self.project_id,
            "enabled": self.enabled,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True)
class Pending:
    """What a deliverer needs to deliver the next event of one subscription."""

    subscription: Subscription
    secret: str
    next_try: float
    failing_since: float | None


@dataclass(frozen=True)
class Outcome:
    """One attempt: ``status`` is the HTTP status, None when no response came."""

    position: int
    attempt: int
    at: float
    status: int | None
    error: str | None
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300  # noqa: PLR2004


def _subscription(row: Sequence[Any]) -> Subscription:
    return Subscription(
        id=row[0],
        url=row[1],
        types=tuple(orjson.loads(row[2])),
        project_id=row[3],
        enabled=bool(row[4]),
        created_at=row[5],
        position=int(row[6]),
        attempt=int(row[7]),
    )


def new_webhook_id() -> str:
    """``wh_`` and a UUIDv7 in Crockford base32, as milestone ids are: sortable by creation."""
    from domain.ids import new_milestone_uuid  # noqa: PLC0415

    return "wh_" + to_public_id(new_milestone_uuid(time.time_ns()))[3:]


class WebhookStore:
    """The webhook tables over one database, through its connections (one per thread)."""

    def __init__(
        self, database_url: str, *, lock_timeout: float = 15, connect_timeout: int = 5
    ) -> None:
        self._db = Connections(
            database_url, lock_timeout=lock_timeout, connect_timeout=connect_timeout
        )
        self._create_tables()

    def close(self) -> None:
        self._db.close()

    def _create_tables(self) -> None:
        serial = "BIGSERIAL" if self._db.postgres else "INTEGER"
        with self._db.transaction() as c:
            if self._db.postgres:
                c.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK,))
            for statement in _TABLES:
                c.execute(statement.replace("{serial}", serial))

    # --- subscriptions --------------------------------------------------------------------

    def create(
        self, url: str, types: Sequence[str], project_id: str | None, secret: str, head: int
    ) -> Subscription:
        """A subscription to the events after ``head`` (the log's head when it is made)."""
        webhook_id = new_webhook_id()
        created_at = format_instant(datetime.now(UTC))
        with self._db.transaction() as c:
            self._db.execute(
                c,
                "INSERT INTO webhooks VALUES (?, ?, ?, ?, 1, ?, ?)",
                (webhook_id, url, orjson.dumps(list(types)).decode(), project_id, secret,
                 created_at),
            )  # fmt: skip
            self._db.execute(
                c, "INSERT INTO webhook_progress VALUES (?, ?, 0, 0, NULL)", (webhook_id, head)
            )
        return self.get(webhook_id)

    def subscriptions(self) -> list[Subscription]:
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM webhooks w JOIN webhook_progress p "  # noqa: S608
            "ON p.webhook_id = w.id ORDER BY w.id"
        )
        return [_subscription(row) for row in rows]

    def get(self, webhook_id: str) -> Subscription:
        return self.pending(webhook_id).subscription

    def pending(self, webhook_id: str) -> Pending:
        rows = self._db.rows(
            f"SELECT {_COLUMNS}, w.secret, p.next_try, p.failing_since FROM webhooks w "  # noqa: S608
            "JOIN webhook_progress p ON p.webhook_id = w.id WHERE w.id = ?",
            (webhook_id,),
        )
        if not rows:
            raise WebhookNotFound(webhook_id)
        row = rows[0]
        return Pending(_subscription(row), row[8], float(row[9]), row[10])

    def update(self, webhook_id: str, changes: dict[str, Any]) -> Subscription:
        """Change url, types, project_id or enabled; enabling resumes where delivery stopped."""
        columns = {
            "url": changes.get("url"),
            "types": None if "types" not in changes else orjson.dumps(changes["types"]).decode(),
            "project_id": changes.get("project_id"),
            "enabled": None if "enabled" not in changes else int(changes["enabled"]),
        }
        sets = [name for name in columns if name in changes]
        with self._db.transaction() as c:
            found = self._db.execute(c, "SELECT enabled FROM webhooks WHERE id = ?", (webhook_id,))
            row = found.fetchone()
            if row is None:
                raise WebhookNotFound(webhook_id)
            if sets:
                assignments = ", ".join(f"{name} = ?" for name in sets)
                self._db.execute(
                    c,
                    f"UPDATE webhooks SET {assignments} WHERE id = ?",  # noqa: S608
                    [columns[name] for name in sets] + [webhook_id],
                )
            if changes.get("enabled") and not row[0]:
                # A fresh start at the event where it stopped: no backoff, no give-up clock.
                self._db.execute(
                    c,
                    "UPDATE webhook_progress SET attempt = 0, next_try = 0, failing_since = NULL "
                    "WHERE webhook_id = ?",
                    (webhook_id,),
                )
        return self.get(webhook_id)

    def delete(self, webhook_id: str) -> None:
        with self._db.transaction() as c:
            deleted = self._db.execute(c, "DELETE FROM webhooks WHERE id = ?", (webhook_id,))
            if deleted.rowcount == 0:
                raise WebhookNotFound(webhook_id)
            of_it = (webhook_id,)
            self._db.execute(c, "DELETE FROM webhook_progress WHERE webhook_id = ?", of_it)
            self._db.execute(c, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", of_it)

    def deliveries(self, webhook_id: str, limit: int) -> list[dict[str, Any]]:
        """The latest attempts, newest first."""
        self.get(webhook_id)
        rows = self._db.rows(
            "SELECT position, attempt, at, status, error, duration_ms FROM webhook_deliveries "
            "WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
            (webhook_id, limit),
        )
        return [
            {"position": int(row[0]), "attempt": int(row[1]), "at": row[2],
             "status": row[3], "error": row[4], "durationMs": round(float(row[5]), 3)}
            for row in rows
        ]  # fmt: skip

    # --- delivery progress ----------------------------------------------------------------

    def _holds(self, holder: str) -> tuple[str, tuple[Any, ...]]:
        return (
            "EXISTS (SELECT 1 FROM webhook_lease WHERE name = ? AND holder = ? AND expires > ?)",
            (LEASE, holder, time.time()),
        )

    def pass_over(self, holder: str, webhook_id: str, start: int, to: int) -> bool:
        """Move past events that do not match the subscription; False if another moved it."""
        holds, held = self._holds(holder)
        with self._db.transaction() as c:
            moved = self._db.execute(
                c,
                f"UPDATE webhook_progress SET position = ? WHERE webhook_id = ? "  # noqa: S608
                f"AND position = ? AND {holds}",
                (to, webhook_id, start, *held),
            )
            return bool(moved.rowcount == 1)

    def record(
        self, holder: str, pending: Pending, outcome: Outcome, *, retry: float, give_up: float
    ) -> bool:
        """One attempt's outcome; see ``record_many``."""
        return self.record_many(holder, [(pending, outcome)], retry=retry, give_up=give_up)[0]

    def record_many(
        self,
        holder: str,
        attempts: Sequence[tuple[Pending, Outcome]],
        *,
        retry: float,
        give_up: float,
    ) -> list[bool]:
        """Attempts' log rows and the progress they make, in one transaction.

        Delivered: the position moves to the event. Failed: the next try waits twice as
        long as the one before (from ``retry``, at most an hour); after ``give_up`` seconds
        of failing the subscription is disabled. An attempt is not recorded (False) if the
        lease was lost meanwhile or another deliverer moved that progress.
        """
        holds, held = self._holds(holder)
        with self._db.transaction() as c:
            return [
                self._record(c, (holds, held), pending, outcome, retry=retry, give_up=give_up)
                for pending, outcome in attempts
            ]

    def _record(
        self,
        c: Any,
        lease: tuple[str, tuple[Any, ...]],
        pending: Pending,
        outcome: Outcome,
        *,
        retry: float,
        give_up: float,
    ) -> bool:
        holds, held = lease
        sub = pending.subscription
        progress: tuple[int, int, float, float | None]
        if outcome.delivered:
            progress = (outcome.position, 0, 0.0, None)
        else:
            since = pending.failing_since or outcome.at
            wait = min(retry * 2 ** (outcome.attempt - 1), 3600.0)
            progress = (sub.position, outcome.attempt, outcome.at + wait, since)
        moved = self._db.execute(
            c,
            "UPDATE webhook_progress SET position = ?, attempt = ?, next_try = ?, "  # noqa: S608
            f"failing_since = ? WHERE webhook_id = ? AND position = ? AND attempt = ? "
            f"AND {holds}",
            (*progress, sub.id, sub.position, sub.attempt, *held),
        )
        if moved.rowcount != 1:
            return False
        at = format_instant(datetime.fromtimestamp(outcome.at, UTC))
        self._db.execute(
            c,
            "INSERT INTO webhook_deliveries (webhook_id, position, attempt, at, status, "
            "error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sub.id, outcome.position, outcome.attempt, at, outcome.status, outcome.error,
             outcome.duration_ms),
        )  # fmt: skip
        if (outcome.position + outcome.attempt) % 64 == 0:  # now and then, not every time
            self._prune(c, sub.id)
        failing_since = progress[3]
        if failing_since is not None and outcome.at - failing_since >= give_up:
            self._db.execute(c, "UPDATE webhooks SET enabled = 0 WHERE id = ?", (sub.id,))
        return True

    def _prune(self, c: Any, webhook_id: str) -> None:
        self._db.execute(
            c,
            "DELETE FROM webhook_deliveries WHERE webhook_id = ? AND id < (SELECT id FROM "
            "webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (webhook_id, webhook_id, KEPT_DELIVERIES - 1),
        )

    # --- the lease ------------------------------------------------------------------------

    def take_lease(self, holder: str, seconds: float) -> bool:
        """Take or renew the one lease to deliver; True while this holder has it."""
        now = time.time()
        with self._db.transaction() as c:
            taken = self._db.execute(
                c,
                "UPDATE webhook_lease SET holder = ?, expires = ? "
                "WHERE name = ? AND (holder = ? OR expires < ?)",
                (holder, now + seconds, LEASE, holder, now),
            )
            return bool(taken.rowcount == 1)

    def release_lease(self, holder: str) -> None:
        with self._db.transaction() as c:
            self._db.execute(
                c, "UPDATE webhook_lease SET expires = 0 WHERE name = ? AND holder = ?",
                (LEASE, holder),
            )  # fmt: skip

    def lease(self) -> tuple[str, float]:
        """Who holds the lease and until when (Unix seconds)."""
        row = self._db.rows("SELECT holder, expires FROM webhook_lease WHERE name = ?", (LEASE,))[0]
        return str(row[0]), float(row[1])
