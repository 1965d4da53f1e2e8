"""The PostgreSQL queries behind every read: the view, the event index, the log, projections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL

from adapters.postgres.read_connections import ReadConnections
from adapters.postgres.recorder import EVENTS_TABLE
from adapters.postgres.schema import record_of
from adapters.storage.projects import projects_query
from adapters.storage.schedule_sql import scheduled_sql, slipped_sql
from adapters.storage.sql import (
    find_queries,
    sql_conditions,
    words_table,
)
from domain.ids import from_public_id, to_public_id
from projections.finding import prefix_end
from projections.progress import TRANSITIONS_TABLE
from projections.runner import VIEW_TABLE, VIEW_TRACKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from uuid import UUID

    from eventsourcing.postgres import PostgresDatastore
    from psycopg.rows import DictRow

    from projections.finding import Find
    from projections.ports import EventFilter, IndexKeys, StreamRow
    from projections.records import Record
    from projections.schedule import ScheduledRow

FEW_WORDS = 2_000  # as on SQLite: a search term this rare leads the query
# A page's milestones' entries in the event index and their records, each milestone looked
# up by itself (LATERAL, kept apart by OFFSET 0) by its own index.
_STREAM_ENTRIES = (
    "SELECT p.id AS milestone_id, i.version, i.occurred_at, i.actor "
    "FROM unnest(%s::text[]) WITH ORDINALITY AS p(id, n) CROSS JOIN LATERAL "
    "(SELECT version, occurred_at, actor, position FROM event_index "
    "WHERE milestone_id = p.id OFFSET 0) i ORDER BY p.n, i.position"
)
_STREAM_RECORDS = (
    "SELECT e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
    "FROM unnest(%s::uuid[]) AS p(id) CROSS JOIN LATERAL "
    f"(SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
    "WHERE originator_id = p.id OFFSET 0) e"
)


class PostgresReads:
    """The queries behind every read, on the application's connection pool."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._hot = ReadConnections(datastore)

    def _rows(self, query: str | SQL, params: Sequence[Any] = ()) -> list[DictRow]:
        with self._datastore.get_connection() as connection:
            return connection.execute(query, params, prepare=True).fetchall()

    def document(self, public_id: str) -> tuple[int, bytes] | None:
        sql = f"SELECT version, body FROM {VIEW_TABLE} WHERE id = %s"  # noqa: S608
        rows = self._hot.rows(sql, (public_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def documents(self, project_id: str | None = None, status: str | None = None) -> list[bytes]:
        where, params = sql_conditions(("project_id = %s", project_id), ("status = %s", status))
        sql = f"SELECT body FROM {VIEW_TABLE} WHERE {where} ORDER BY created_at, id"  # noqa: S608
        return [row["body"] for row in self._rows(sql, params)]

    def projects(self, after: str | None, limit: int | None) -> list[tuple[str, str, int]]:
        sql, params = projects_query(VIEW_TABLE, "%s", after, limit, collate=' COLLATE "C"')
        return [tuple(row.values()) for row in self._rows(sql, params)]

    def find(self, find: Find) -> list[tuple[str | None, str, bytes]]:
        """(sort key, id, body) of the matches in order; with a limit, up to one more."""
        lead = bool(find.terms) and self._few_words(find.terms[0])
        rows: list[tuple[str | None, str, bytes]] = []
        for sql, params in find_queries(find, VIEW_TABLE, "%s", lead_with_words=lead):
            # The sort key's column is the first of the SELECT, whichever it is.
            rows += self._hot.rows(sql, params)
            if find.limit is not None and len(rows) > find.limit:
                return rows[: find.limit + 1]
        return rows

    def _few_words(self, term: str) -> bool:
        rows = self._rows(
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {words_table(VIEW_TABLE)} "  # noqa: S608
            "WHERE word >= %s AND word < %s LIMIT %s) AS few",
            (term, prefix_end(term), FEW_WORDS),
        )
        return bool(rows[0]["n"] < FEW_WORDS)

    def lag(self) -> tuple[int, int]:
        rows = self._rows(
            f"SELECT (SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}) AS head, "  # noqa: S608
            "(SELECT notification_id FROM milestones_tracking "
            "WHERE application_name = %s) AS position",
            (VIEW_TRACKING,),
        )
        return rows[0]["position"] or 0, rows[0]["head"]

    def request(self, key: str) -> tuple[str, str] | None:
        rows = self._rows(
            "SELECT fingerprint, milestone_id FROM idempotency_keys WHERE key = %s", (key,)
        )
        return (rows[0]["fingerprint"], rows[0]["milestone_id"]) if rows else None

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        if not versions:
            return []
        rows = self._rows(
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
            f"FROM {EVENTS_TABLE} e JOIN unnest(%s::uuid[], %s::bigint[]) AS c(id, version) "
            "ON e.originator_id = c.id AND e.originator_version > c.version "
            "ORDER BY e.originator_id, e.originator_version",
            (list(versions), list(versions.values())),
        )
        return [
            StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
            )
            for row in rows
        ]

    def history(self, milestone_id: UUID) -> list[tuple[int, str, bytes]]:
        rows = self._rows(
            f"SELECT originator_version, topic, state FROM {EVENTS_TABLE} "  # noqa: S608
            "WHERE originator_id = %s ORDER BY originator_version",
            (milestone_id,),
        )
        return [(row["originator_version"], row["topic"], bytes(row["state"])) for row in rows]

    def version_at(self, public_id: str, instant: str) -> int | None:
        rows = self._rows(
            "SELECT MAX(version) AS version FROM event_index "
            "WHERE milestone_id = %s AND occurred_at <= %s",
            (public_id, instant),
        )
        version = rows[0]["version"]
        return int(version) if version is not None else None

    def events(self, after: int, limit: int, only: EventFilter) -> list[Record]:
        where, params = sql_conditions(
            ("i.project_id = %s", only.project_id),
            ("i.milestone_id = %s", only.milestone_id),
            ("i.type = %s", only.type),
            ("i.occurred_at >= %s", only.since),
            ("i.occurred_at <= %s", only.until),
            ("i.actor = %s", only.actor),
        )
        if params:
            sql = (
                "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "  # noqa: S608
                f"FROM event_index i JOIN {EVENTS_TABLE} e ON e.notification_id = i.position "
                f"WHERE {where} AND i.position > %s ORDER BY i.position LIMIT %s"
            )
        else:
            sql = (
                "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
                f"FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            )
        return [record_of(row) for row in self._rows(sql, [*params, after, limit])]

    def events_indexed(self, after: int, limit: int) -> list[tuple[Record, IndexKeys | None]]:
        rows = self._rows(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "  # noqa: S608
            "e.state, i.milestone_id, i.project_id, i.type, i.occurred_at, i.actor "
            f"FROM {EVENTS_TABLE} e LEFT JOIN event_index i ON i.position = e.notification_id "
            "WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
            (after, limit),
        )
        return [
            (
                record_of(row),
                None
                if row["milestone_id"] is None
                else (
                    row["milestone_id"],
                    row["project_id"],
                    row["type"],
                    row["occurred_at"],
                    row["actor"],
                ),
            )
            for row in rows
        ]

    def daily_transitions(self, project_id: str) -> list[tuple[str, str | None, str | None, int]]:
        rows = self._rows(
            "SELECT substr(occurred_at, 1, 10) AS day, from_status, to_status, "  # noqa: S608
            f"COUNT(*) AS n FROM {TRANSITIONS_TABLE} WHERE project_id = %s "
            "GROUP BY day, from_status, to_status ORDER BY day",
            (project_id,),
        )
        return [(row["day"], row["from_status"], row["to_status"], row["n"]) for row in rows]

    def _serial(self, *queries: tuple[str, Sequence[Any]]) -> list[list[DictRow]]:
        """The rows of each query, run in one transaction without parallel workers or JIT.

        The schedule's and the changes' reads touch a few thousand rows by index; the
        planner's estimates (far off on a store just loaded, before an ANALYZE) made them
        start workers (about 8 ms before the first row) or compile them (JIT, up to 85 ms),
        each far more than the reads themselves.
        """
        with self._datastore.get_connection() as connection, connection.transaction():
            connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            connection.execute("SET LOCAL jit = off")
            return [
                connection.execute(query, params, prepare=True).fetchall()
                for query, params in queries
            ]

    def scheduled(self, project_id: str, slipped: bool | None = None) -> list[ScheduledRow]:
        (rows,) = self._serial((scheduled_sql("%s", slipped), (project_id,)))
        return [tuple(row.values()) for row in rows]

    def slipped(self, project_id: str) -> int:
        (rows,) = self._serial((slipped_sql("%s"), (project_id,)))
        return int(rows[0]["n"])

    def window_milestones(
        self, project_id: str, since: str, until: str, after: str, limit: int
    ) -> list[str]:
        # Ids compare by their bytes, as the view's do (its "C" collation) and as on SQLite.
        rows = self._rows(
            'SELECT DISTINCT milestone_id COLLATE "C" AS id FROM event_index '
            "WHERE project_id = %s AND occurred_at > %s AND occurred_at <= %s "
            'AND milestone_id COLLATE "C" > %s ORDER BY 1 LIMIT %s',
            (project_id, since, until, after, limit),
        )
        return [row["id"] for row in rows]

    def streams(self, public_ids: list[str]) -> list[StreamRow]:
        # Each milestone looked up by itself (LATERAL, kept apart by OFFSET 0), by its own
        # index, whatever the planner's statistics say: with none (a store just loaded,
        # before an ANALYZE) it guessed that a hundred ids match a quarter of the log and
        # read all of it. The entries and the records come in two steps: joined, the
        # planner would read the whole log rather than look up the few records of a
        # page's milestones.
        uuids = [from_public_id(public_id) for public_id in public_ids]
        entries, records = self._serial(
            (_STREAM_ENTRIES, (public_ids,)), (_STREAM_RECORDS, (uuids,))
        )
        stored = {
            (to_public_id(row["originator_id"]), row["originator_version"]): (
                row["topic"],
                bytes(row["state"]),
            )
            for row in records
        }
        return [
            (
                entry["milestone_id"],
                entry["version"],
                entry["occurred_at"],
                entry["actor"],
                *stored[entry["milestone_id"], entry["version"]],
            )
            for entry in entries
        ]

    def close(self) -> None:
        """The pool belongs to the application, which closes it; the reads' own go here."""
        self._hot.close()
