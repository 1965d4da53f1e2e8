"""The report: the results model as text, tables that read in a terminal and paste into the
README. Every phase is shown the same way: its services' medians, then its comparisons.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, NamedTuple

from bench.deliveries import SUBSCRIPTIONS
from bench.results import (
    LARGE_PROJECT,
    MAIN_PHASE,
    OPERATIONS,
    POSTGRES_PHASE,
    PROJECT,
    SCALE_PHASE,
    SMALL_PROJECT,
    WEBHOOKS_PHASE,
    WRITES,
    Results,
    Summary,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from bench.targets import TargetRow

MISSING = "-"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A Markdown table, aligned, so it reads in a terminal and pastes into the README."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|".join(
        "-" * (width + 1) + ":" if i in right else "-" * (width + 2)
        for i, width in enumerate(widths)
    )
    return [line(header), f"|{rule}|", *(line(row) for row in rows)]


def _paragraph(text: str) -> list[str]:
    return textwrap.wrap(text, width=100)


def _number(value: float | None, digits: int = 0) -> str:
    return MISSING if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


_WRITE_KEYS = frozenset(operation.key for operation in WRITES)
_OPERATION_ORDER = {operation.key: number for number, operation in enumerate(OPERATIONS)}


class Column(NamedTuple):
    heading: str
    cell: Callable[[Summary], str]
    applies: Callable[[Summary], bool]  # a column is shown when it applies to a row


def _always(summary: Summary) -> bool:
    return True


def _writes(summary: Summary) -> bool:
    return summary.operation in _WRITE_KEYS


def _drained(summary: Summary) -> bool:
    return summary.drain_seconds is not None


_COLUMNS = [
    Column("req/s", lambda s: _number(s.requests_per_second), _always),
    Column("p50", lambda s: _number(s.p50_ms, 2), _always),
    Column("p99", lambda s: _number(s.p99_ms, 2), _always),
    Column("CPU µs/req", lambda s: _number(s.cpu_us_per_request), _always),
    # Writes: what the service's write histograms gained in its rounds.
    Column("batch", lambda s: _number(s.mean_batch_size, 1), _writes),
    Column("lock ms", lambda s: _number(s.mean_lock_hold_ms, 2), _writes),
    # Webhooks: the deliverer and the receiver, and the deliveries owed after each round.
    Column("deliverer CPU µs/req", lambda s: _number(s.helper_cpu_us_per_request), _drained),
    Column("receiver CPU µs/req", lambda s: _number(s.bench_cpu_us_per_request), _drained),
    Column("owed at round end", lambda s: _number(s.drain_backlog), _drained),
    Column("caught up in s", lambda s: _number(s.drain_seconds, 1), _drained),
]


def services_table(summaries: list[Summary]) -> list[str]:
    """Each service's medians, operation by operation; a column only where it applies."""
    columns = [column for column in _COLUMNS if any(map(column.applies, summaries))]
    rows, shown = [], None
    for summary in sorted(summaries, key=lambda s: _OPERATION_ORDER.get(s.operation, 99)):
        label = "" if summary.operation == shown else summary.label
        shown = summary.operation
        cells = [c.cell(summary) if c.applies(summary) else "" for c in columns]
        rows.append([label, summary.service, *cells])
    header = ["operation", "service", *(column.heading for column in columns)]
    return _table(header, rows, set(range(2, len(header))))


def ratios_table(results: Results, phase: str) -> list[str]:
    """The phase's comparisons: a ratio of median req/s and of CPU per request for each."""
    ratios = results.ratios(phase)
    pairs = list(dict.fromkeys((r.service, r.other) for r in ratios))
    by_key = {(r.operation, r.service, r.other): r for r in ratios}
    operations = list(dict.fromkeys(r.operation for r in ratios))
    labels = {s.operation: s.label for s in results.summaries(phase)}
    rows = []
    for operation in operations:
        requests, cpu = [], []
        for pair in pairs:
            ratio = by_key.get((operation, *pair))
            requests.append(_ratio(ratio.requests if ratio else None))
            cpu.append(_ratio(ratio.cpu if ratio else None))
        rows.append([labels.get(operation, operation), *requests, *cpu])
    header = [
        "ratio of medians",
        *(f"req/s {service}/{other}" for service, other in pairs),
        *(f"CPU/req {service}/{other}" for service, other in pairs),
    ]
    return _table(header, rows, set(range(1, len(header))))


def _main_intro(results: Results) -> list[str]:
    return ["On SQLite:"]


def _postgres_intro(results: Results) -> list[str]:
    return _paragraph(
        f"On PostgreSQL ({results.postgres_server}, a throw-away database each; the CRUD "
        "peer with psycopg 3, autocommit, the server's default durability):"
    )


def _webhooks_intro(results: Results) -> list[str]:
    return _paragraph(
        f"Webhooks (SQLite): the project with {SUBSCRIPTIONS} subscriptions to every event, "
        "delivered by the deliverer that `milestones serve` runs to a receiver on 127.0.0.1 "
        "answering 204 at once, beside the same project without subscriptions. After each "
        "round the bench waits until nothing is owed, so delivering does not run into the "
        "other service's round. Deliverer CPU: its own process; receiver CPU: the receiver's "
        "threads in this process, on the same cores as the services. Both through the round "
        f"and the catching up after it. Deliveries received: {_number(results.webhook_deliveries)}."
    )


def _scale_intro(results: Results) -> list[str]:
    events = f"{results.scale_events:,}" if results.scale_events else "1,000,000"
    return _paragraph(
        f"At {events} events ({LARGE_PROJECT}), side by side with a fresh 1,000-event project "
        f"({SMALL_PROJECT}), both loaded through the application:"
    )


_PHASES = (
    (MAIN_PHASE, "On SQLite", _main_intro),
    (POSTGRES_PHASE, "On PostgreSQL", _postgres_intro),
    (WEBHOOKS_PHASE, "Webhooks", _webhooks_intro),
    (SCALE_PHASE, "At scale", _scale_intro),
)


def phase_lines(
    results: Results, phase: str, what: str, intro: Callable[[Results], list[str]]
) -> list[str]:
    """A phase's services and comparisons, after the error that ended it if one did; or one
    line saying why it has no figures."""
    failed = [f"{what}: FAILED: {results.failures[phase]}"] if phase in results.failures else []
    if not results.measured(phase):
        return ["", *(failed or [f"{what}: not measured: {results.why_not_measured(phase)}."])]
    return [
        "",
        *failed,
        *intro(results),
        "",
        *services_table(results.summaries(phase)),
        "",
        *ratios_table(results, phase),
    ]


def _memory_lines(results: Results) -> list[str]:
    described = {
        LARGE_PROJECT: f"at {results.scale_events or 0:,} events",
        SMALL_PROJECT: "at 1,000 events",
        PROJECT: "after the main rounds",
    }
    lines = [
        f"worker RSS (VmRSS) {described.get(name, name)}: {', '.join(f'{mb:.1f}' for mb in rss)} MB"
        for name, rss in results.worker_rss_mb.items()
    ]
    lines += [
        f"loaded {load.events:,} events ({load.milestones:,} milestones) in {load.seconds:.1f} s, "
        f"{load.events / load.seconds:,.0f} events/s"
        for load in results.scale_load
    ]
    return ["", *lines] if lines else []


def _rebuild_lines(results: Results) -> list[str]:
    rebuild, bare = results.rebuild, results.bare_read
    if bare is None:
        return []
    lines = ["", f"Rebuild of the {bare.events:,}-event log:", ""]
    if rebuild is None or not rebuild.available:
        lines.append("rebuild: not available")
    elif rebuild.returncode != 0:
        lines.append(f"rebuild: FAILED with exit code {rebuild.returncode}: {rebuild.last_line}")
    elif rebuild.events_per_second is None:
        lines.append(f"rebuild: no 'N events/s' in its output: {rebuild.last_line!r}")
    else:
        lines.append(
            f"milestones projection rebuild: {rebuild.events_per_second:,.0f} events/s "
            f"(its own figure; {rebuild.seconds or 0:.1f} s wall time, start-up included)"
        )
    lines.append(
        f"bare SELECT + orjson.loads:    {bare.events_per_second:,.0f} events/s "
        f"({bare.seconds:.2f} s, fastest of 2)"
    )
    if (ratio := results.rebuild_vs_bare()) is not None:
        lines.append(f"ratio rebuild / bare:          {ratio:.2f}")
    return lines


def _error_lines(results: Results) -> list[str]:
    errors = results.errors()
    if not errors:
        return ["", "Errors under load: none (no non-2xx answer, no socket error, any run)."]
    rows = [
        [s.phase, s.service, s.operation, f"{s.non_2xx:,}", f"{s.socket_errors:,}"] for s in errors
    ]
    return [
        "",
        "Errors under load (runs that measured something other than the operation):",
        "",
        *_table(["phase", "service", "operation", "non-2xx", "socket errors"], rows, {3, 4}),
    ]


def render(results: Results, targets: list[TargetRow]) -> str:
    settings = results.settings
    lines = [
        "Milestones benchmark",
        "",
        *_paragraph(
            f"{settings['rounds']} rounds x {settings['duration']} s per operation and "
            f"service, alternating; wrk {settings['threads']} threads x "
            f"{settings['connections']} connections on 127.0.0.1; gunicorn "
            f"{settings['workers']} workers for every service, {settings['gunicorn']} "
            "(adapters/server/gunicorn_conf.py)."
        ),
        *_paragraph(
            "Medians of the rounds. Latency in ms. CPU: worker CPU time per request. batch: "
            "commands per committed write batch; lock ms: the writer lock's mean hold (from "
            "the service's /metrics; - where it exports none). Ratios: req/s higher is better "
            "for the first service, CPU/req lower."
        ),
    ]
    for phase, what, intro in _PHASES:
        lines += phase_lines(results, phase, what, intro)
    lines += _memory_lines(results)
    lines += _rebuild_lines(results)
    lines += _error_lines(results)
    lines += ["", "Targets", ""]
    lines += _table(
        ["operation", "target", "measured", "status"],
        [[row.operation, row.target, row.measured, row.status] for row in targets],
        set(),
    )
    lines += ["", f"Whole run: {results.seconds / 60:.1f} min."]
    return "\n".join(lines)
