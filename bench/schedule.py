"""``python -m bench.schedule``: the schedule and changes reads, in process, on both backends.

On one log per backend (``--background`` events of other projects, interleaved in time):

- the schedule of one milestone with 100 due-date moves;
- the schedule of a project of 1,000 milestones (20,000 events: moves, renames, status
  changes), and its summary, which folds the same due histories for ``slipped``;
- the changes of that project over a window of about 10,000 of its events, first page of 100;
- a GET of one milestone beside them, for scale;
- what the due-date projection and the index of the changes cost writes: POSTs with a due
  date and PATCHes that move it (the worst case: every write changes a row), with and
  without both, in alternating rounds.

Requests go through the WSGI application (Falcon's test client: no socket, no server), so
the figures are what the service spends on a request. p50 and p90 in milliseconds over
``--rounds`` requests each, after a few warm-up requests.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from bench.schedule_writes import write_cost

if TYPE_CHECKING:
    from collections.abc import Iterator

    from falcon.testing import TestClient

PROJECT = "schedule_bench"
PROJECT_MILESTONES = 1_000
EVENTS_PER_MILESTONE = 20
LONG_MOVES = 100
WINDOW_EVENTS = 10_000
SPAN = timedelta(days=365)
START = datetime(2025, 1, 1, tzinfo=UTC)
STATUSES = ("pending", "in_progress", "reached")
WARM_UP = 3


def _milestone_lines(
    project: str, number: int, events: int, moves_only: bool = False
) -> list[dict[str, Any]]:
    """Exported-event dicts of one milestone, without times: created due, then changed."""
    from domain.ids import new_milestone_uuid, to_public_id  # noqa: PLC0415

    public_id = to_public_id(new_milestone_uuid(time.time_ns() + number))
    created = {
        "projectId": project, "title": f"Milestone {number}", "description": "",
        "status": "pending", "dueDate": "2026-03-01", "reachedAt": None,
    }  # fmt: skip
    lines = [{"milestoneId": public_id, "version": 1, "type": "Created", "payload": created}]
    status = "pending"
    for version in range(2, events + 1):
        kind = "Updated" if moves_only or version % 3 else "StatusChanged"
        if kind == "StatusChanged":
            after = STATUSES[(STATUSES.index(status) + 1) % 3]
            payload: dict[str, Any] = {"from": status, "to": after, "reachedAt": None}
            status = after
        elif moves_only or version % 3 == 1:  # a move of a day or two, either way
            day = 1 + (number + version * 7) % 27
            payload = {
                "dueDate": f"2026-03-{day:02d}T12:00:00Z" if version % 2 else f"2026-04-{day:02d}"
            }
        else:
            payload = {"title": f"Milestone {number}, revision {version}"}
        lines.append({"milestoneId": public_id, "version": version, "type": kind,
                      "payload": payload, "actor": f"user{number % 7}"})  # fmt: skip
    return lines


def _log(background: int) -> tuple[list[dict[str, Any]], str, tuple[str, str]]:
    """Every event, timed and in time order; the long milestone's id; the changes window,
    which holds WINDOW_EVENTS of the project's events."""
    streams = [
        _milestone_lines(PROJECT, n, EVENTS_PER_MILESTONE) for n in range(PROJECT_MILESTONES)
    ]
    project_ids = {stream[0]["milestoneId"] for stream in streams}
    long_stream = _milestone_lines("schedule_long", -1, LONG_MOVES + 1, moves_only=True)
    streams.append(long_stream)
    per_other = 10
    streams += [
        _milestone_lines(f"other_{n // 100:04d}", PROJECT_MILESTONES + n, per_other)
        for n in range(background // per_other)
    ]
    total = sum(len(stream) for stream in streams)
    step = SPAN / total
    # Round-robin over the streams, so that each one's events spread over the whole span.
    lines = []
    slot = 0
    for rank in range(max(len(stream) for stream in streams)):
        for stream in streams:
            if rank < len(stream):
                lines.append(stream[rank] | {"occurredAt": _instant(START + step * slot)})
                slot += 1
    # From a quarter into the project's events, the next WINDOW_EVENTS of them.
    ours = sorted(line["occurredAt"] for line in lines if line["milestoneId"] in project_ids)
    first = len(ours) // 4
    window = (ours[first - 1], ours[min(first + WINDOW_EVENTS, len(ours)) - 1])
    return lines, long_stream[0]["milestoneId"], window


def _instant(at: datetime) -> str:
    from domain.milestone import format_instant  # noqa: PLC0415

    return format_instant(at)


def _load(url: str, lines: list[dict[str, Any]]) -> None:
    from adapters.backup import domain_event  # noqa: PLC0415
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    service = open_service(Settings(database_url=url))
    try:
        for i in range(0, len(lines), 1_000):
            service.milestones.events.put([domain_event(line) for line in lines[i : i + 1_000]])
    finally:
        service.close()


def _timings(client: TestClient, path: str, rounds: int) -> list[float]:
    samples = []
    for number in range(WARM_UP + rounds):
        started = time.perf_counter()
        result = client.simulate_get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if result.status_code != HTTPStatus.OK:
            msg = f"GET {path}: {result.status_code} {result.text[:200]}"
            raise RuntimeError(msg)
        if number >= WARM_UP:
            samples.append(elapsed)
    return samples


def _row(name: str, samples: list[float], note: str = "") -> str:
    p50 = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else p50
    return f"  {name:<44} p50 {p50:8.2f} ms   p90 {p90:8.2f} ms  {note}"


@dataclass(frozen=True)
class LogFacts:
    """What the measurements need to know of a generated log."""

    long_id: str
    since: str
    until: str
    events: int
    in_window: int  # the project's events in (since, until]


def _facts(lines: list[dict[str, Any]], long_id: str, window: tuple[str, str]) -> LogFacts:
    since, until = window
    ours = {
        line["milestoneId"]
        for line in lines
        if line["type"] == "Created" and line["payload"]["projectId"] == PROJECT
    }
    in_window = sum(
        1 for line in lines if line["milestoneId"] in ours and since < line["occurredAt"] <= until
    )
    return LogFacts(long_id, since, until, len(lines), in_window)


def measure(url: str, facts: LogFacts, rounds: int) -> list[str]:
    from falcon.testing import TestClient  # noqa: PLC0415

    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.http.app import create_app  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    service = open_service(Settings(database_url=url))
    try:
        client = TestClient(create_app(service.milestones, service.reads))
        project = f"/api/projects/{PROJECT}"
        long_id = facts.long_id
        changes = (
            f"{project}/changes?since={quote(facts.since)}&until={quote(facts.until)}&limit=100"
        )
        first = client.simulate_get(changes).json
        schedule = client.simulate_get(f"{project}/schedule").json
        return [
            _row("GET one milestone", _timings(client, f"/api/milestones/{long_id}", rounds)),
            _row(
                f"milestone schedule ({LONG_MOVES} moves)",
                _timings(client, f"/api/milestones/{long_id}/schedule", rounds),
            ),
            _row(
                f"project schedule ({schedule['count']} milestones)",
                _timings(client, f"{project}/schedule", rounds),
            ),
            _row("project summary (with slipped)", _timings(client, f"{project}/summary", rounds)),
            _row(
                "changes, first page of 100",
                _timings(client, changes, rounds),
                f"next={'yes' if first['next'] else 'no'}",
            ),
        ]
    finally:
        service.close()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


KEPT_DATABASE = "milestones_bench_schedule_kept"


@contextlib.contextmanager
def _databases(backends: list[str], keep: Path | None) -> Iterator[dict[str, str]]:
    """A database per backend: throw-away ones, or with ``keep`` ones kept for the next run
    (the SQLite file in that directory, a PostgreSQL database of a fixed name)."""
    from bench.postgres import server_url, throwaway_databases  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        urls = {}
        if "sqlite" in backends:
            urls["sqlite"] = f"sqlite:///{(keep or Path(directory)) / 'schedule.db'}"
        if "postgres" in backends:
            if keep is None:
                made = stack.enter_context(throwaway_databases(server_url(), "schedule"))
                urls["postgres"] = made["schedule"]
            else:
                urls["postgres"] = _kept_postgres(server_url())
        yield urls


def _kept_postgres(server: str) -> str:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (KEPT_DATABASE,)
        ).fetchone()
        if found is None:
            admin.execute(f"CREATE DATABASE {KEPT_DATABASE}")
    return f"{server}/{KEPT_DATABASE}"


def _emptied(url: str) -> None:
    """A kept database, emptied before it is loaded."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return
    import psycopg  # noqa: PLC0415

    from bench.postgres import server_url  # noqa: PLC0415

    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {KEPT_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {KEPT_DATABASE}")


def _prepared(
    args: argparse.Namespace, urls: dict[str, str]
) -> tuple[LogFacts, dict[str, float | None]]:
    """The log's facts, and each backend's load time (None: loaded by an earlier run)."""
    state = args.keep / "schedule-log.json" if args.keep else None
    kept: dict[str, Any] = orjson.loads(state.read_bytes()) if state and state.exists() else {}
    if kept and kept["background"] != args.background:
        kept = {}
    to_load = [backend for backend in urls if backend not in kept.get("loaded", [])]
    loaded: dict[str, float | None] = dict.fromkeys(urls)
    if kept and not to_load:
        return LogFacts(**kept["facts"]), loaded
    lines, long_id, window = _log(args.background)
    facts = _facts(lines, long_id, window)
    if kept and kept["facts"]["long_id"] != long_id:
        to_load = list(urls)  # a new log: every kept database is loaded afresh
    for backend in to_load:
        if state:
            _emptied(urls[backend])  # a kept database whose last load did not finish
        started = time.perf_counter()
        _load(urls[backend], lines)
        loaded[backend] = time.perf_counter() - started
    if state:
        done = sorted(set(kept.get("loaded", [])) | set(to_load))
        record = {"background": args.background, "facts": asdict(facts), "loaded": done}
        state.write_bytes(orjson.dumps(record))
    return facts, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.schedule", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--background", type=int, default=100_000, help="events of other projects (default 100,000)"
    )
    parser.add_argument("--rounds", type=int, default=30, help="requests per figure (default 30)")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres"], action="append", help="default: both"
    )
    parser.add_argument("--writes", type=int, default=200, help="writes per write-cost round")
    parser.add_argument("--write-rounds", type=int, default=6, help="write-cost rounds (6)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the loaded databases (SQLite in this directory, PostgreSQL as "
        f"{KEPT_DATABASE}) and reuse them in the next run with the same --background",
    )
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with _databases(args.backend or ["sqlite", "postgres"], args.keep) as urls:
        facts, loaded = _prepared(args, urls)
        for backend, url in urls.items():
            took = loaded[backend]
            how = f"loaded in {took:.1f} s" if took is not None else "kept from an earlier run"
            _say(f"{backend}: {facts.events:,} events, {how}; window {facts.since} .. "
                 f"{facts.until} holds {facts.in_window:,} of the project's")  # fmt: skip
            for row in measure(url, facts, args.rounds):
                _say(row)
            if args.write_rounds:
                for row in write_cost(url, args.write_rounds, args.writes):
                    _say(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
