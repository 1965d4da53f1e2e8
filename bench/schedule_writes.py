"""What the schedule read model costs writes: the due-date projection and the changes' index.

POSTs with a due date and PATCHes that move it (the worst case: every write changes a row
of the projection), one command a transaction as the service records a lone request,
without both parts, with both, and with the projection but not the index (to tell their
costs apart), side by side in rounds. The sides' order rotates from round to round, so
that a drift of the machine or of the growing database weighs on every side alike. Each
round compares its own sides, and the figure is the mean of those differences with their
spread, beside the mean and spread of each side's rate.
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import time
from typing import Any

WARM_UP_WRITES = 20


def write_cost(url: str, rounds: int, writes: int) -> list[str]:
    """Lines of the report: POSTs/s and PATCHes/s without and with the schedule read model,
    and the share of the write time spent in the projection's live apply (timed inside the
    transaction, so steadier than the throughputs on a shared machine)."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415
    from projections import runner  # noqa: PLC0415
    from projections.schedule_view import DUE_DATES_VIEW  # noqa: PLC0415

    service = open_service(Settings(database_url=url))
    everything = dict(runner.PROJECTIONS)
    without = {name: p for name, p in everything.items() if name != DUE_DATES_VIEW.name}
    # Each side: (the projection applied, the changes' index present).
    sides = [(False, False), (True, True), (True, False)]
    rates: dict[tuple[str, tuple[bool, bool]], list[float]] = {}
    inside = spent = 0.0

    def timed_apply(store: Any, c: Any, records: Any) -> None:
        nonlocal inside
        started = time.perf_counter()
        type(DUE_DATES_VIEW).apply(DUE_DATES_VIEW, store, c, records)
        inside += time.perf_counter() - started

    DUE_DATES_VIEW.apply = timed_apply  # type: ignore[method-assign]
    try:
        for number in range(rounds):
            for side in sides[number % 3 :] + sides[: number % 3]:
                projected, indexed = side
                _changes_index(service, url, present=indexed)
                runner.PROJECTIONS.clear()
                runner.PROJECTIONS.update(everything if projected else without)
                _one_side(service, WARM_UP_WRITES)  # untimed: the pages the writes touch
                posts, patches, cpu = _one_side(service, writes)
                if side == (True, True):
                    spent += posts + patches
                rates.setdefault(("POST", side), []).append(writes / posts)
                rates.setdefault(("PATCH", side), []).append(writes / patches)
                # CPU of this process a write: the throughputs' noise is mostly the other
                # work on the machine, which this does not count.
                rates.setdefault(("CPU", side), []).append(cpu / (2 * writes) * 1e6)
                runner.catch_up(service.store, DUE_DATES_VIEW)  # untimed, back at the head
    finally:
        del DUE_DATES_VIEW.apply
        runner.PROJECTIONS.clear()
        runner.PROJECTIONS.update(everything)
        _changes_index(service, url, present=True)
        service.close()
    lines = [f"  {rounds} rounds of {writes} writes a side, the sides' order rotating (mean ± sd)"]
    for kind in ("POST", "PATCH"):
        before = rates[kind, (False, False)]
        lines.append(f"  {kind + 's/s':<9} without the read model  {_spread(before, '.0f')}")
        for side, name in (((True, True), "with it"), ((True, False), "projection only")):
            after = rates[kind, side]
            slower = [(b - a) / b * 100 for b, a in zip(before, after, strict=True)]
            lines.append(
                f"  {kind + 's/s':<9} {name:<23} {_spread(after, '.0f')}"
                f"   slower by {_spread(slower, '+.1f')} % (paired by round)"
            )
    cpu_before = rates["CPU", (False, False)]
    lines.append(f"  CPU µs a write, without     {_spread(cpu_before, '.0f')}")
    for side, name in (((True, True), "with it"), ((True, False), "projection only")):
        more = [(a - b) / b * 100 for b, a in zip(cpu_before, rates["CPU", side], strict=True)]
        lines.append(
            f"  CPU µs a write, {name:<15} {_spread(rates['CPU', side], '.0f')}"
            f"   more by {_spread(more, '+.1f')} % (paired by round)"
        )
    lines.append(
        f"  share of the write time in the projection's apply: {inside / spent * 100:.2f} %"
    )
    return lines


def _one_side(service: Any, writes: int) -> tuple[float, float, float]:
    """Seconds for ``writes`` POSTs, then for as many PATCHes that move their due dates,
    and the CPU seconds of this process for both."""
    cpu = time.process_time()
    started = time.perf_counter()
    made = [
        service.milestones.create(project_id="bench_writes", title=f"w{i}", due_date="2026-03-01")
        for i in range(writes)
    ]
    posts = time.perf_counter() - started
    started = time.perf_counter()
    for i, milestone in enumerate(made):
        service.milestones.update(milestone.id, {"due_date": f"2026-04-{i % 28 + 1:02d}"})
    return posts, time.perf_counter() - started, time.process_time() - cpu


def _spread(values: list[float], shape: str) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):{shape}} ± {sd:.1f}"


def _changes_index(service: Any, url: str, *, present: bool) -> None:
    """Build or drop the index that only the changes between two instants read, then
    checkpoint: otherwise the writes timed next pay for writing out the index just built
    (SQLite's log copied into the database, PostgreSQL's dirty pages flushed)."""
    if url.startswith("sqlite"):
        from adapters.sqlite.due_dates import CHANGES_INDEX  # noqa: PLC0415
    else:
        from adapters.postgres.due_dates import CHANGES_INDEX  # type: ignore[assignment]  # noqa: PLC0415
    with service.store.write_transaction() as c:
        c.execute(
            CHANGES_INDEX if present else "DROP INDEX IF EXISTS event_index_by_project_milestone"
        )
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with service.store.write_transaction() as c:
            c.execute("CHECKPOINT")
