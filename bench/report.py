"""The run as text: tables that read in a terminal and paste into the README."""

from __future__ import annotations

import textwrap

from bench.deliveries import SUBSCRIPTIONS
from bench.results import (
    HOOKED_PROJECT,
    LARGE_PROJECT,
    LIMIT,
    MAIN_PHASE,
    PEER,
    PG_PEER,
    PG_PROJECT,
    POSTGRES_PHASE,
    PROJECT,
    SCALE_PHASE,
    SMALL_PROJECT,
    UNHOOKED_PROJECT,
    WEBHOOKS_PHASE,
    Results,
)
from bench.rounds import OPERATIONS, READS, WRITES, Operation
from bench.targets import scale_ratio, targets, webhooks_ratio


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A Markdown table, aligned, so it reads in a terminal and pastes into the README."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if i in right else "-" * (width + 2)
            for i, width in enumerate(widths)
        )
        + "|"
    )
    return [line(header), rule, *(line(row) for row in rows)]


def _paragraph(text: str) -> list[str]:
    return textwrap.wrap(text, width=100)


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render(results: Results) -> str:
    settings = results.settings
    lines = [
        "Milestones benchmark",
        "",
        (
            f"{settings['rounds']} rounds x {settings['duration']} s per operation and service, "
            f"alternating; wrk {settings['threads']} threads x {settings['connections']} "
            "connections on 127.0.0.1;"
        ),
        (
            f"gunicorn {settings['workers']} workers for every service, "
            f"{settings['gunicorn']} (adapters/server/gunicorn_conf.py)."
        ),
        "Medians of the rounds. Latency in ms. CPU: worker CPU time per request.",
        "",
        "On SQLite:",
        "",
    ]
    lines += _services_table(results, MAIN_PHASE, (PROJECT, LIMIT, PEER), OPERATIONS)
    lines.append("")
    ratio_rows = [
        [
            operation.label,
            _ratio(results.ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT)),
            _ratio(results.ratio(MAIN_PHASE, operation.key, PROJECT, PEER)),
            _ratio(results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT)),
            _ratio(results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, PEER)),
        ]
        for operation in OPERATIONS
    ]
    lines += _table(
        [
            "ratio of medians",
            "req/s project/limit",
            "req/s project/peer",
            "CPU/req project/limit",
            "CPU/req project/peer",
        ],
        ratio_rows,
        {1, 2, 3, 4},
    )
    lines.append("(req/s: higher is better for the project; CPU/req: lower is better.)")
    lines += _postgres_lines(results)
    lines += _webhooks_lines(results)
    lines += _scale_lines(results)
    lines += _rebuild_lines(results)
    lines += _error_lines(results)
    lines += ["", "Targets", ""]
    lines += _table(
        ["operation", "target", "measured", "status"],
        [[row.operation, row.target, row.measured, row.status] for row in targets(results)],
        set(),
    )
    lines += ["", f"Whole run: {results.seconds / 60:.1f} min."]
    return "\n".join(lines)


def _services_table(
    results: Results, phase: str, services: tuple[str, ...], operations: tuple[Operation, ...]
) -> list[str]:
    """req/s, latency and CPU of each service, operation by operation."""
    rows = []
    for operation in operations:
        shown = 0
        for service in services:
            summary = results.summary(phase, operation.key, service)
            if summary is None:
                continue
            rows.append(
                [
                    "" if shown else operation.label,
                    service,
                    _number(summary.requests_per_second),
                    _number(summary.p50_ms, 2),
                    _number(summary.p99_ms, 2),
                    _number(summary.cpu_us_per_request),
                ]
            )
            shown += 1
    return _table(["operation", "service", "req/s", "p50", "p99", "CPU µs/req"], rows, {2, 3, 4, 5})


def _not_measured_line(results: Results, phase: str, what: str) -> list[str] | None:
    """One line in place of a phase's tables, when it has no figures."""
    if phase in results.failures:
        return ["", f"{what}: FAILED: {results.failures[phase]}"]
    if not results.measured(phase):
        return ["", f"{what}: not measured: {results.why_not_measured(phase)}."]
    return None


def _postgres_lines(results: Results) -> list[str]:
    missing = _not_measured_line(results, POSTGRES_PHASE, "On PostgreSQL")
    if missing is not None:
        return missing
    lines = [
        "",
        *_paragraph(
            f"On PostgreSQL ({results.postgres_server}, a throw-away database each; the CRUD "
            "peer with psycopg 3, autocommit, the server's default durability):"
        ),
        "",
        *_services_table(results, POSTGRES_PHASE, (PG_PROJECT, PG_PEER), OPERATIONS),
        "",
    ]
    ratio_rows = [
        [
            operation.label,
            _ratio(results.ratio(POSTGRES_PHASE, operation.key, PG_PROJECT, PG_PEER)),
            _ratio(results.cpu_ratio(POSTGRES_PHASE, operation.key, PG_PROJECT, PG_PEER)),
        ]
        for operation in OPERATIONS
    ]
    return lines + _table(
        ["ratio of medians", "req/s project/peer", "CPU/req project/peer"], ratio_rows, {1, 2}
    )


def _webhooks_lines(results: Results) -> list[str]:
    missing = _not_measured_line(results, WEBHOOKS_PHASE, "Webhooks")
    if missing is not None:
        return missing
    lines = [
        "",
        *_paragraph(
            f"Webhooks (SQLite): the project with {SUBSCRIPTIONS} subscriptions to every event, "
            "delivered by the deliverer that `milestones serve` runs to a receiver on 127.0.0.1 "
            "answering 204 at once, beside the same project without subscriptions. After each "
            "round the bench waits until nothing is owed, so delivering does not run into the "
            "other service's round."
        ),
        "",
    ]
    rows = []
    for operation in WRITES:
        for index, service in enumerate((HOOKED_PROJECT, UNHOOKED_PROJECT)):
            summary = results.summary(WEBHOOKS_PHASE, operation.key, service)
            if summary is None:
                continue
            hooked = service == HOOKED_PROJECT
            rows.append(
                [
                    "" if index else operation.label,
                    service,
                    _number(summary.requests_per_second),
                    _number(summary.p50_ms, 2),
                    _number(summary.p99_ms, 2),
                    _number(summary.cpu_us_per_request),
                    _number(summary.helper_cpu_us_per_request) if hooked else "",
                    _number(summary.bench_cpu_us_per_request) if hooked else "",
                    _number(summary.drain_backlog) if hooked else "",
                    _number(summary.drain_seconds, 1) if hooked else "",
                ]
            )
    lines += _table(
        [
            "operation",
            "service",
            "req/s",
            "p50",
            "p99",
            "CPU µs/req",
            "deliverer CPU µs/req",
            "receiver CPU µs/req",
            "owed at round end",
            "caught up in s",
        ],
        rows,
        {2, 3, 4, 5, 6, 7, 8, 9},
    )
    ratios = ", ".join(
        f"{operation.label} {_ratio(webhooks_ratio(results, operation.key))}"
        for operation in WRITES
    )
    received = results.webhook_deliveries
    lines += [
        "",
        f"req/s with / without subscriptions: {ratios}. Deliveries received: {_number(received)}.",
        *_paragraph(
            "Deliverer CPU: its own process; receiver CPU: the receiver's threads in this "
            "process, on the same cores as the services (a receiver elsewhere would leave them "
            "to the service). Both through the round and the catching up after it."
        ),
    ]
    return lines


def _error_lines(results: Results) -> list[str]:
    counts = [c for c in results.error_counts() if c.non_2xx or c.socket_errors]
    if not counts:
        return ["", "Errors under load: none (no non-2xx answer, no socket error, any run)."]
    rows = [
        [c.phase, c.service, c.operation, f"{c.non_2xx:,}", f"{c.socket_errors:,}"] for c in counts
    ]
    return [
        "",
        "Errors under load (runs that measured something other than the operation):",
        "",
        *_table(["phase", "service", "operation", "non-2xx", "socket errors"], rows, {3, 4}),
    ]


def _scale_lines(results: Results) -> list[str]:
    failure = [f"At scale: FAILED: {results.scale_error}"] if results.scale_error else []
    if results.scale_events is None:
        return ["", *(failure or ["At 1,000,000 events: skipped (--no-scale)."])]
    lines = [
        "",
        *failure,
        (
            f"At {results.scale_events:,} events, side by side with a fresh 1,000-event project "
            "(both loaded through the application):"
        ),
        "",
    ]
    rows = []
    for operation in READS:
        small = results.summary(SCALE_PHASE, operation.key, SMALL_PROJECT)
        large = results.summary(SCALE_PHASE, operation.key, LARGE_PROJECT)
        if small is None or large is None:
            continue
        rows.append(
            [
                operation.label,
                _number(small.requests_per_second),
                _number(large.requests_per_second),
                _ratio(scale_ratio(results, operation.key)),
                f"{small.p50_ms:.2f} / {large.p50_ms:.2f}",
                f"{small.p99_ms:.2f} / {large.p99_ms:.2f}",
            ]
        )
    lines += _table(
        [
            "operation",
            "1,000 ev req/s",
            f"{results.scale_events:,} ev req/s",
            "ratio",
            "p50 1k / large",
            "p99 1k / large",
        ],
        rows,
        {1, 2, 3, 4, 5},
    )
    lines.append("")
    described = {
        LARGE_PROJECT: f"at {results.scale_events:,} events",
        SMALL_PROJECT: "at 1,000 events",
        PROJECT: "after the main rounds",
    }
    lines += [
        f"worker RSS (VmRSS) {described.get(name, name)}: {', '.join(f'{mb:.1f}' for mb in rss)} MB"
        for name, rss in results.worker_rss_mb.items()
    ]
    lines += [
        f"loaded {load.events:,} events ({load.milestones:,} milestones) in {load.seconds:.1f} s, "
        f"{load.events / load.seconds:,.0f} events/s"
        for load in results.scale_load
    ]
    return lines


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
    if rebuild is not None and rebuild.events_per_second is not None:
        ratio = rebuild.events_per_second / bare.events_per_second
        lines.append(f"ratio rebuild / bare:          {ratio:.2f}")
    return lines
