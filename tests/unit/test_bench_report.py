"""The benchmark's results model and report: medians and comparisons stated once, and the
write rows' mean batch size and lock hold read from the service's write histograms.
"""

from __future__ import annotations

import orjson
import pytest

from bench import report, targets
from bench.rebuild import BareRead, Rebuild
from bench.results import (
    MAIN_PHASE,
    PEER,
    PROJECT,
    Results,
    Sample,
    WriteFigures,
)
from bench.write_metrics import BATCH_SIZE, LOCK_HOLD, gained, histogram_totals
from bench.wrk import WrkResult

METRICS = """\
# HELP milestones_write_batch_size Commands per committed batch.
# TYPE milestones_write_batch_size histogram
milestones_write_batch_size_bucket{le="1.0"} 2.0
milestones_write_batch_size_bucket{le="+Inf"} 4.0
milestones_write_batch_size_count 4.0
milestones_write_batch_size_sum 10.0
# HELP milestones_writer_lock_hold_seconds How long the writer lock was held.
# TYPE milestones_writer_lock_hold_seconds histogram
milestones_writer_lock_hold_seconds_bucket{le="+Inf"} 4.0
milestones_writer_lock_hold_seconds_count 4.0
milestones_writer_lock_hold_seconds_sum 0.02
# HELP milestones_requests_total Requests.
# TYPE milestones_requests_total counter
milestones_requests_total{method="POST"} 12.0
"""


def test_the_write_histograms_are_read_from_metrics() -> None:
    totals = histogram_totals(METRICS)

    assert totals == {BATCH_SIZE: (10.0, 4.0), LOCK_HOLD: (0.02, 4.0)}


def test_a_run_gains_what_the_histograms_gained_between_two_scrapes() -> None:
    before = {BATCH_SIZE: (10.0, 4.0), LOCK_HOLD: (0.25, 4.0)}
    after = {BATCH_SIZE: (40.0, 10.0), LOCK_HOLD: (1.0, 10.0)}

    figures = gained(before, after)

    assert figures == WriteFigures(batches=6.0, commands=30.0, lock_holds=6.0, lock_seconds=0.75)


def test_a_service_without_the_histograms_gains_nothing() -> None:
    assert histogram_totals('milestones_requests_total{method="POST"} 1.0\n') == {}
    assert gained({}, {}) is None
    # One histogram without the other (no writer lock on PostgreSQL): the other is None.
    only_batches = gained({BATCH_SIZE: (0.0, 0.0)}, {BATCH_SIZE: (8.0, 2.0)})
    assert only_batches == WriteFigures(batches=2.0, commands=8.0)


def sample(
    service: str, operation: str, number: int, rps: float, writes: WriteFigures | None = None
) -> Sample:
    result = WrkResult(
        requests=int(rps),
        seconds=1.0,
        requests_per_second=rps,
        p50_ms=2.0,
        p99_ms=9.0,
        non_2xx=0,
        socket_errors=0,
    )
    return Sample(MAIN_PHASE, operation, service, number, result, 100.0, writes=writes)


@pytest.fixture
def results() -> Results:
    settings = {
        "rounds": 2,
        "duration": 1,
        "threads": 1,
        "connections": 2,
        "workers": 1,
        "gunicorn": "threads 16",
    }
    run = Results(settings=settings, environment={})
    for number in (1, 2):
        # 30 then 60 commands in 10 batches each; 10 holds of 1 ms each, 10 ms in all.
        writes = WriteFigures(
            batches=10.0, commands=30.0 * number, lock_holds=10.0, lock_seconds=0.01
        )
        run.samples += [
            sample(PROJECT, "get_one", number, 900.0),
            sample(PEER, "get_one", number, 600.0),
            sample(PROJECT, "post", number, 300.0, writes),
            sample(PEER, "post", number, 400.0),
        ]
    return run


def test_a_write_row_shows_the_mean_batch_and_lock_hold_over_its_rounds(results: Results) -> None:
    post = results.summary(MAIN_PHASE, "post", PROJECT)

    assert post is not None
    assert post.mean_batch_size == pytest.approx(90.0 / 20.0)
    assert post.mean_lock_hold_ms == pytest.approx(1.0)
    text = report.render(results, targets.targets(results))
    project_post = next(line for line in text.splitlines() if "| POST " in line)
    assert "4.5" in project_post
    assert "1.00" in project_post


def test_a_write_row_without_the_histograms_shows_a_dash(results: Results) -> None:
    text = report.render(results, targets.targets(results))

    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| operation ") and "batch" in line)
    peer_post = lines[lines.index(next(line for line in lines if "| POST " in line)) + 1]
    cells = [cell.strip() for cell in peer_post.strip("|").split("|")]
    headings = [cell.strip() for cell in header.strip("|").split("|")]
    assert cells[headings.index("service")] == PEER
    assert cells[headings.index("batch")] == "-"
    assert cells[headings.index("lock ms")] == "-"
    get_row = next(line for line in lines if "| GET one " in line)
    assert [cell.strip() for cell in get_row.strip("|").split("|")][headings.index("batch")] == ""


def test_every_comparison_is_one_ratio_in_the_report_the_targets_and_the_json(
    results: Results,
) -> None:
    ratio = results.ratio(MAIN_PHASE, "get_one", PROJECT, PEER)
    judged = targets.targets(results)

    assert ratio.requests == pytest.approx(1.5)
    assert "| 1.50 |" in report.render(results, judged).replace("  ", "")
    document = orjson.loads(orjson.dumps(results.to_json(judged)))
    assert {"phase": "1k", "operation": "get_one", "service": PROJECT, "other": PEER} | {
        "requests": 1.5,
        "cpu": 1.0,
    } in document["ratios"]
    assert next(row for row in document["targets"] if row["operation"] == "POST")["status"] in {
        targets.PASS,
        targets.MISS,
    }


def test_a_phase_that_did_not_run_says_why(results: Results) -> None:
    results.skipped["postgres"] = "skipped (--no-postgres)"
    results.failures["webhooks"] = "RuntimeError: no receiver"

    text = report.render(results, targets.targets(results))

    assert "On PostgreSQL: not measured: skipped (--no-postgres)." in text
    assert "Webhooks: FAILED: RuntimeError: no receiver" in text


def test_the_rebuild_is_shown_beside_the_bare_read_once_computed(results: Results) -> None:
    results.bare_read = BareRead(events=1_000_000, seconds=2.0)
    results.rebuild = Rebuild(available=True, events_per_second=400_000.0, seconds=3.0)

    judged = targets.targets(results)
    text = report.render(results, judged)

    assert results.rebuild_vs_bare() == pytest.approx(0.8)
    assert "ratio rebuild / bare:          0.80" in text
    rebuild_row = next(row for row in judged if row.operation == "rebuild")
    assert rebuild_row.status == targets.PASS
    assert "0.80 x the bare read" in rebuild_row.measured
