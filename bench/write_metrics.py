"""The service's write histograms, read from its ``/metrics`` before and after a run.

``milestones_write_batch_size`` counts the commands of each committed batch and
``milestones_writer_lock_hold_seconds`` how long each holding of the writer lock lasted;
what their ``_sum`` and ``_count`` gained during a run gives its mean batch size and
mean lock hold. A service that does not export one (an older version, the peers, the
lock on PostgreSQL) leaves that figure out.
"""

from __future__ import annotations

import http.client

from prometheus_client.parser import text_string_to_metric_families

from bench.results import WriteFigures
from bench.services import call

BATCH_SIZE = "milestones_write_batch_size"
LOCK_HOLD = "milestones_writer_lock_hold_seconds"

# Each histogram's (sum, count), added up over its label sets, by name.
Totals = dict[str, tuple[float, float]]


def histogram_totals(text: str) -> Totals:
    """The ``_sum`` and ``_count`` of the write histograms in a Prometheus text exposition."""
    totals: Totals = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (BATCH_SIZE, LOCK_HOLD):
            continue
        total = sum(s.value for s in family.samples if s.name == f"{family.name}_sum")
        count = sum(s.value for s in family.samples if s.name == f"{family.name}_count")
        totals[family.name] = (total, count)
    return totals


def scrape(port: int) -> Totals:
    """The write histograms' totals now; none from a service without ``/metrics``."""
    status, body = call(port, "GET", "/metrics")
    if status != http.client.OK:
        return {}
    return histogram_totals(body.decode("utf-8", errors="replace"))


def gained(before: Totals, after: Totals) -> WriteFigures | None:
    """What each histogram gained between two scrapes; None when neither is exported."""

    def delta(name: str) -> tuple[float | None, float | None]:
        if name not in before or name not in after:
            return None, None
        (sum_before, count_before), (sum_after, count_after) = before[name], after[name]
        return sum_after - sum_before, count_after - count_before

    commands, batches = delta(BATCH_SIZE)
    lock_seconds, lock_holds = delta(LOCK_HOLD)
    if batches is None and lock_holds is None:
        return None
    return WriteFigures(
        batches=batches, commands=commands, lock_holds=lock_holds, lock_seconds=lock_seconds
    )
