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
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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


def measure(
    url: str, lines: list[dict[str, Any]], long_id: str, window: tuple[str, str], rounds: int
) -> list[str]:
    from falcon.testing import TestClient  # noqa: PLC0415

    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.http.app import create_app  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    started = time.perf_counter()
    _load(url, lines)
    loaded = time.perf_counter() - started
    service = open_service(Settings(database_url=url))
    try:
        client = TestClient(create_app(service.milestones, service.reads))
        project = f"/api/projects/{PROJECT}"
        since, until = window
        changes = f"{project}/changes?since={quote(since)}&until={quote(until)}&limit=100"
        first = client.simulate_get(changes).json
        schedule = client.simulate_get(f"{project}/schedule").json
        ours = {
            line["milestoneId"]
            for line in lines
            if line["type"] == "Created" and line["payload"]["projectId"] == PROJECT
        }
        in_window = sum(
            1
            for line in lines
            if line["milestoneId"] in ours and since < line["occurredAt"] <= until
        )
        loaded_line = f"  {len(lines):,} events loaded in {loaded:.1f} s; "
        rows = [loaded_line + f"{in_window:,} of the project's in the window"]
        rows.append(
            _row("GET one milestone", _timings(client, f"/api/milestones/{long_id}", rounds))
        )
        rows.append(
            _row(
                f"milestone schedule ({LONG_MOVES} moves)",
                _timings(client, f"/api/milestones/{long_id}/schedule", rounds),
            )
        )
        rows.append(
            _row(
                f"project schedule ({schedule['count']} milestones)",
                _timings(client, f"{project}/schedule", rounds),
            )
        )
        rows.append(
            _row("project summary (with slipped)", _timings(client, f"{project}/summary", rounds))
        )
        rows.append(
            _row(
                "changes, first page of 100",
                _timings(client, changes, rounds),
                f"next={'yes' if first['next'] else 'no'}",
            )
        )
        return rows
    finally:
        service.close()


def write_cost(url: str, rounds: int, writes: int) -> list[str]:
    """POSTs/s and PATCHes/s, median over rounds, without and with the due-date projection
    and the changes' index, and the share of the write time spent in the projection's live
    apply (timed inside the transaction, so steadier than the throughputs on a shared
    machine)."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415
    from projections import runner  # noqa: PLC0415
    from projections.schedule_view import DUE_DATES_VIEW  # noqa: PLC0415

    service = open_service(Settings(database_url=url))
    everything = dict(runner.PROJECTIONS)
    without = {name: p for name, p in everything.items() if name != DUE_DATES_VIEW.name}
    rates: dict[tuple[str, bool], list[float]] = {}
    inside = spent = 0.0

    def timed_apply(store: Any, c: Any, records: Any) -> None:
        nonlocal inside
        started = time.perf_counter()
        type(DUE_DATES_VIEW).apply(DUE_DATES_VIEW, store, c, records)
        inside += time.perf_counter() - started

    DUE_DATES_VIEW.apply = timed_apply  # type: ignore[method-assign]
    try:
        for _ in range(rounds):
            for with_it in (False, True):
                _changes_index(service, url, present=with_it)
                runner.PROJECTIONS.clear()
                runner.PROJECTIONS.update(everything if with_it else without)
                started = time.perf_counter()
                made = [
                    service.milestones.create(
                        project_id="bench_writes", title=f"w{i}", due_date="2026-03-01"
                    )
                    for i in range(writes)
                ]
                posts = time.perf_counter() - started
                started = time.perf_counter()
                for i, milestone in enumerate(made):
                    service.milestones.update(
                        milestone.id, {"due_date": f"2026-04-{i % 28 + 1:02d}"}
                    )
                patches = time.perf_counter() - started
                if with_it:
                    spent += posts + patches
                rates.setdefault(("POST", with_it), []).append(writes / posts)
                rates.setdefault(("PATCH", with_it), []).append(writes / patches)
                runner.catch_up(service.store, DUE_DATES_VIEW)  # untimed, back at the head
    finally:
        del DUE_DATES_VIEW.apply
        runner.PROJECTIONS.clear()
        runner.PROJECTIONS.update(everything)
        service.close()
    lines = []
    for kind in ("POST", "PATCH"):
        before, after = (statistics.median(rates[kind, with_it]) for with_it in (False, True))
        change = (before - after) / before * 100
        lines.append(
            f"  {kind}s/s without {before:8.0f}   with {after:8.0f}   ({change:+.1f} % slower)"
        )
    lines.append(
        f"  share of the write time in the projection's apply: {inside / spent * 100:.2f} %"
    )
    return lines


def _changes_index(service: Any, url: str, *, present: bool) -> None:
    """Build or drop the index that only the changes between two instants read."""
    if url.startswith("sqlite"):
        from adapters.sqlite.due_dates import CHANGES_INDEX  # noqa: PLC0415
    else:
        from adapters.postgres.due_dates import CHANGES_INDEX  # type: ignore[assignment]  # noqa: PLC0415
    with service.store.write_transaction() as c:
        c.execute(
            CHANGES_INDEX if present else "DROP INDEX IF EXISTS event_index_by_project_milestone"
        )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def _databases(backends: list[str]) -> Iterator[dict[str, str]]:
    from bench.postgres import server_url, throwaway_databases  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        urls = {}
        if "sqlite" in backends:
            urls["sqlite"] = f"sqlite:///{Path(directory) / 'schedule.db'}"
        if "postgres" in backends:
            urls["postgres"] = stack.enter_context(throwaway_databases(server_url(), "schedule"))[
                "schedule"
            ]
        yield urls


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
    args = parser.parse_args(argv)
    lines, long_id, window = _log(args.background)
    with _databases(args.backend or ["sqlite", "postgres"]) as urls:
        for backend, url in urls.items():
            _say(f"{backend}: window {window[0]} .. {window[1]}")
            for row in measure(url, lines, long_id, window, args.rounds):
                _say(row)
            for row in write_cost(url, args.write_rounds, args.writes):
                _say(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
