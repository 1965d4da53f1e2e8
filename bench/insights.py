"""The insights' figures: the data they are measured on, and what the projection costs writes.

- ``add_summary_project``: a project of 1,000 live milestones, due dates and statuses mixed;
- ``add_series_project``: a project with 10,000 events spread over the last year (each one
  a status transition, the projection's worst case), recorded with their times as an
  import records them;
- ``write_cost``: POST and PATCH throughput through the application with and without the
  progress projection in the events transaction, in alternating rounds.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from adapters.bootstrap import Service

SUMMARY_PROJECT = "insights_summary"
SERIES_PROJECT = "insights_series"
SERIES_MILESTONES = 1_000
SERIES_EVENTS = 10_000
STATUSES = ("pending", "in_progress", "reached")


def _service(database: Path) -> Service:
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    return open_service(Settings(database_url=f"sqlite:///{database.resolve()}"))


def add_summary_project(database: Path) -> None:
    from domain.milestone import Milestone, Status  # noqa: PLC0415

    service = _service(database)
    try:
        milestones = [
            Milestone.create(
                project_id=SUMMARY_PROJECT,
                title=f"Summary milestone {i}",
                description="A deliverable of ordinary size, with its review booked.",
                status=Status(STATUSES[i % 3]),
                due_date=f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}" if i % 5 else None,
            )
            for i in range(1_000)
        ]
        service.milestones.save(*milestones)
    finally:
        service.close()


def _series_lines(now: datetime) -> Iterator[dict[str, Any]]:
    """Exported-event dicts: each milestone created, then its status moved round, over a year."""
    from domain.ids import new_milestone_uuid, to_public_id  # noqa: PLC0415
    from domain.milestone import format_instant  # noqa: PLC0415

    start = now - timedelta(days=365)
    per_milestone = SERIES_EVENTS // SERIES_MILESTONES
    step = timedelta(days=365) / SERIES_EVENTS
    for m in range(SERIES_MILESTONES):
        public_id = to_public_id(new_milestone_uuid(time.time_ns() + m))
        for version in range(1, per_milestone + 1):
            at = format_instant(start + step * (m + (version - 1) * SERIES_MILESTONES))
            if version == 1:
                payload: dict[str, Any] = {
                    "projectId": SERIES_PROJECT, "title": f"Series milestone {m}",
                    "description": "", "status": "pending", "dueDate": None, "reachedAt": None,
                }  # fmt: skip
                kind = "Created"
            else:
                before, after = STATUSES[(version - 2) % 3], STATUSES[(version - 1) % 3]
                reached = at if after == "reached" else None
                payload = {"from": before, "to": after, "reachedAt": reached}
                kind = "StatusChanged"
            yield {"milestoneId": public_id, "version": version, "type": kind,
                   "occurredAt": at, "payload": payload}  # fmt: skip


def add_series_project(database: Path) -> None:
    from adapters.backup import domain_event  # noqa: PLC0415

    service = _service(database)
    try:
        events = sorted(_series_lines(datetime.now(UTC)), key=lambda e: e["occurredAt"])
        for i in range(0, len(events), 1_000):
            service.milestones.events.put([domain_event(e) for e in events[i : i + 1_000]])
    finally:
        service.close()


def write_cost(database: Path, rounds: int, writes: int) -> dict[str, tuple[float, float]]:
    """POSTs/s and PATCHes/s, median over rounds: (without, with) the progress projection;
    and under "share", (0, the fraction of the write time spent in its live apply).

    The same process and database for both, in alternating rounds, so that only the
    projection differs; the application is driven directly, without HTTP, so its cost is
    not hidden in the noise of sockets and workers. On a shared machine the throughputs
    wander; the share, timed inside the transaction, does not.
    """
    from domain.milestone import Status  # noqa: PLC0415
    from projections import runner  # noqa: PLC0415

    service = _service(database)
    everything = dict(runner.PROJECTIONS)
    without = {name: p for name, p in everything.items() if name != runner.PROGRESS_VIEW.name}
    rates: dict[tuple[str, bool], list[float]] = {}
    progress = runner.PROGRESS_VIEW
    inside = 0.0
    spent_writing = 0.0

    def timed_apply(store: Any, c: Any, records: Any) -> None:
        nonlocal inside
        started = time.perf_counter()
        type(progress).apply(progress, store, c, records)
        inside += time.perf_counter() - started

    progress.apply = timed_apply  # type: ignore[method-assign]
    try:
        for _ in range(rounds):
            for with_progress in (False, True):
                runner.PROJECTIONS.clear()
                runner.PROJECTIONS.update(everything if with_progress else without)
                started = time.perf_counter()
                made = [
                    service.milestones.create(project_id="bench_writes", title=f"w{i}")
                    for i in range(writes)
                ]
                posts = writes / (time.perf_counter() - started)
                started = time.perf_counter()
                for i, milestone in enumerate(made):
                    status = Status.IN_PROGRESS if i % 2 else Status.REACHED
                    service.milestones.update(milestone.id, {"status": status})
                patches = writes / (time.perf_counter() - started)
                if with_progress:
                    spent_writing += writes / posts + writes / patches
                rates.setdefault(("POST", with_progress), []).append(posts)
                rates.setdefault(("PATCH", with_progress), []).append(patches)
                # A round without the projection left it behind: back to the head, untimed.
                runner.catch_up(service.store, runner.PROGRESS_VIEW)
    finally:
        del progress.apply
        runner.PROJECTIONS.clear()
        runner.PROJECTIONS.update(everything)
        service.close()
    return {
        kind: (statistics.median(rates[kind, False]), statistics.median(rates[kind, True]))
        for kind in ("POST", "PATCH")
    } | {"share": (0.0, inside / spent_writing)}
