"""The first pass of a rebuild shared out over processes, one part of the milestones each.

Reading, decoding and folding the log is Python's work, one core's worth in one process;
a log of many events is cut by milestone (``projections.rebuild_parts``) and each part is
decoded, folded and written by a process of its own, while the command's process waits to
go on with what the log gained meanwhile and the swap.
"""

from __future__ import annotations

import gc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING

from adapters.bootstrap import open_store
from projections.rebuild_parts import fill_part
from projections.rebuild_pass import SweepStore, fill_swept
from projections.runner import Rebuilt

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from adapters.settings import Settings
    from projections.ports import ViewStore

# Below this many events a process's start (its imports: about 0.7 s of CPU) costs more
# than sharing the work saves.
PARALLEL_FROM = 200_000


def parallel_fill(
    settings: Settings,
    names: Sequence[str],
    workers: int,
    minimum: int = PARALLEL_FROM,
) -> Callable[[int], Rebuilt | None]:
    """``projections.runner.rebuild_all``'s ``fill``: the named projections' next rows up to
    the head, by ``workers`` processes; None (the pass goes on alone) for a log of fewer
    than ``minimum`` events, or with one worker."""

    def fill(head: int) -> Rebuilt | None:
        if workers < 2 or head < minimum:  # noqa: PLR2004 - two is the least to share among
            return None
        # Started afresh ("spawn"), not forked: the parent holds open connections and locks.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_fill_part, settings, list(names), part, workers, head)
                for part in range(workers)
            ]
            parts = [future.result() for future in futures]
        # Each projection's seconds are summed over the processes: work, not wall time.
        filled = Rebuilt(sum(part.events for part in parts), dict.fromkeys(names, 0.0))
        for part in parts:
            for name, seconds in part.seconds.items():
                filled.seconds[name] += seconds
        return filled

    return fill


def _fill_part(settings: Settings, names: list[str], part: int, parts: int, head: int) -> Rebuilt:
    # As in the command itself: nothing a rebuild keeps alive is in a reference cycle.
    gc.disable()
    store = open_store(settings, read_only=False)
    try:
        return fill_part(store.view, names, part=part, parts=parts, head=head)
    finally:
        store.close()


def swept_fill(
    settings: Settings,
    view: ViewStore,
    names: Sequence[str],
    workers: int,
    minimum: int = PARALLEL_FROM,
) -> Callable[[int], Rebuilt | None]:
    """``projections.runner.rebuild_all``'s ``fill`` on a backend that sweeps
    (``projections.rebuild_pass``): the next rows up to the head from one sweep of the log,
    cut by milestone into ``workers`` parts, this process sweeping the first part itself
    while the others are swept by processes of their own (from ``minimum`` events on);
    ``parallel_fill`` on another backend."""
    if not isinstance(view, SweepStore):
        return parallel_fill(settings, names, workers, minimum)
    store: SweepStore = view

    def fill(head: int) -> Rebuilt:
        if workers < 2 or head < minimum:  # noqa: PLR2004 - two is the least to share among
            return fill_swept(store, names, head=head)
        with ProcessPoolExecutor(workers - 1, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_sweep_part, settings, list(names), part, workers, head)
                for part in range(1, workers)
            ]
            parts = [fill_swept(store, names, head=head, part=0, parts=workers)]
            parts += [future.result() for future in futures]
        return _summed(parts, names)

    return fill


def _summed(parts: list[Rebuilt], names: Sequence[str]) -> Rebuilt:
    # Each projection's seconds are summed over the processes: work, not wall time.
    filled = Rebuilt(sum(part.events for part in parts), dict.fromkeys(names, 0.0))
    for part in parts:
        for name, seconds in part.seconds.items():
            filled.seconds[name] += seconds
    return filled


def _sweep_part(settings: Settings, names: list[str], part: int, parts: int, head: int) -> Rebuilt:
    gc.disable()
    store = open_store(settings, read_only=False)
    try:
        view = store.view
        assert isinstance(view, SweepStore)  # noqa: S101 - the parent checked the same backend
        return fill_swept(view, names, head=head, part=part, parts=parts)
    finally:
        store.close()
