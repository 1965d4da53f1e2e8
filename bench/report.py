"""Medians, ratios and targets: the plain-text tables and the JSON file."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bench.rounds import GET_ONE, LIST_PROJECT, OPERATIONS, PATCH, POST, READS

if TYPE_CHECKING:
    from bench.load import LoadStats
    from bench.rebuild import BareRead, Rebuild
    from bench.rounds import Sample

PASS, MISS, NOT_MEASURED = "PASS", "MISS", "n/a"
# The performance targets the service is measured against.
GET_VS_LIMIT = 0.95
LIST_VS_PEER = 1.2
POST_VS_PEER = 1.0
PATCH_VS_PEER = 0.9
SCALE_KEEPS = 0.9  # at 1,000,000 events, at most 10 % slower than at 1,000
RSS_LIMIT_MB = 150.0
REBUILD_FLOOR = 100_000.0
REBUILD_VS_BARE = 0.5


@dataclass(frozen=True)
class Summary:
    """The medians of one service's rounds of one operation."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float | None
    rounds: int
    errors: int


@dataclass
class Results:
    settings: dict[str, Any]
    environment: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    worker_rss_mb: dict[str, list[float]] = field(default_factory=dict)
    scale_events: int | None = None
    scale_load: list[LoadStats] = field(default_factory=list)
    bare_read: BareRead | None = None
    rebuild: Rebuild | None = None
    seconds: float = 0.0
    scale_error: str | None = None  # the scale phase failed; the main rounds still count

    def summary(self, phase: str, operation: str, service: str) -> Summary | None:
        chosen = [
            s
            for s in self.samples
            if (s.phase, s.operation, s.service) == (phase, operation, service)
        ]
        if not chosen:
            return None
        cpu = [s.cpu_us_per_request for s in chosen if s.cpu_us_per_request is not None]
        return Summary(
            requests_per_second=statistics.median(s.result.requests_per_second for s in chosen),
            p50_ms=statistics.median(s.result.p50_ms for s in chosen),
            p99_ms=statistics.median(s.result.p99_ms for s in chosen),
            cpu_us_per_request=statistics.median(cpu) if cpu else None,
            rounds=len(chosen),
            errors=sum(s.result.non_2xx + s.result.socket_errors for s in chosen),
        )

    def ratio(self, phase: str, operation: str, service: str, other: str) -> float | None:
        """The ratio of median req/s, ``service`` over ``other``."""
        mine, theirs = (self.summary(phase, operation, s) for s in (service, other))
        if mine is None or theirs is None or theirs.requests_per_second == 0:
            return None
        return mine.requests_per_second / theirs.requests_per_second

    def cpu_ratio(self, phase: str, operation: str, service: str, other: str) -> float | None:
        """The ratio of median worker CPU per request, ``service`` over ``other``.

        Less exposed to a noisy neighbour than req/s, which also pays for wrk and the
        kernel's connection handling on the same cores.
        """
        mine, theirs = (self.summary(phase, operation, s) for s in (service, other))
        if mine is None or theirs is None:
            return None
        if not mine.cpu_us_per_request or not theirs.cpu_us_per_request:
            return None
        return mine.cpu_us_per_request / theirs.cpu_us_per_request


# Services and phases, as named by __main__.
PROJECT, LIMIT, PEER = "project", "limit", "peer"
MAIN_PHASE, SCALE_PHASE = "1k", "scale"
# The two projects of the scale phase: 1,000 events, and --events (1,000,000).
SMALL_PROJECT, LARGE_PROJECT = "project@1k", "project@scale"


@dataclass(frozen=True)
class TargetRow:
    operation: str
    target: str
    measured: str
    status: str


def targets(results: Results) -> list[TargetRow]:
    return [
        _ratio_row(
            results,
            operation=GET_ONE.key,
            label="GET one",
            other=LIMIT,
            floor=GET_VS_LIMIT,
            other_label="the framework limit",
        ),
        _ratio_row(
            results,
            operation=LIST_PROJECT.key,
            label="list one project (100)",
            other=PEER,
            floor=LIST_VS_PEER,
        ),
        _post_row(results),
        _ratio_row(results, operation=PATCH.key, label="PATCH", other=PEER, floor=PATCH_VS_PEER),
        _scale_row(results),
        _rebuild_row(results),
    ]


def _ratio_row(
    results: Results,
    *,
    operation: str,
    label: str,
    other: str,
    floor: float,
    other_label: str = "the CRUD peer",
) -> TargetRow:
    ratio = results.ratio(MAIN_PHASE, operation, PROJECT, other)
    target = f"≥ {floor} x {other_label}"
    if ratio is None:
        return TargetRow(label, target, "not measured", NOT_MEASURED)
    return TargetRow(label, target, f"{ratio:.2f} x", PASS if ratio >= floor else MISS)


def _post_row(results: Results) -> TargetRow:
    target = f"≥ {POST_VS_PEER} x the CRUD peer, p50 no worse"
    ratio = results.ratio(MAIN_PHASE, POST.key, PROJECT, PEER)
    mine = results.summary(MAIN_PHASE, POST.key, PROJECT)
    peer = results.summary(MAIN_PHASE, POST.key, PEER)
    if ratio is None or mine is None or peer is None:
        return TargetRow("POST", target, "not measured", NOT_MEASURED)
    met = ratio >= POST_VS_PEER and mine.p50_ms <= peer.p50_ms
    measured = f"{ratio:.2f} x, p50 {mine.p50_ms:.2f} vs {peer.p50_ms:.2f} ms"
    return TargetRow("POST", target, measured, PASS if met else MISS)


def scale_ratio(results: Results, operation: str) -> float | None:
    return results.ratio(SCALE_PHASE, operation, LARGE_PROJECT, SMALL_PROJECT)


def _scale_row(results: Results) -> TargetRow:
    events = f"{results.scale_events:,}" if results.scale_events else "1,000,000"
    label = f"at {events} events"
    target = (
        f"GET and list ≥ {SCALE_KEEPS} x their 1,000-event req/s; "
        f"worker RSS < {RSS_LIMIT_MB:.0f} MB"
    )
    ratios = [scale_ratio(results, operation.key) for operation in READS]
    rss = results.worker_rss_mb.get(LARGE_PROJECT, [])
    if any(ratio is None for ratio in ratios) or not rss:
        return TargetRow(label, target, _not_measured(results), NOT_MEASURED)
    get_ratio, list_ratio = (ratio or 0.0 for ratio in ratios)
    met = get_ratio >= SCALE_KEEPS and list_ratio >= SCALE_KEEPS and max(rss) < RSS_LIMIT_MB
    megabytes = ", ".join(f"{mb:.0f}" for mb in rss)
    measured = f"GET {get_ratio:.2f} x, list {list_ratio:.2f} x, RSS {megabytes} MB"
    return TargetRow(label, target, measured, PASS if met else MISS)


def _not_measured(results: Results) -> str:
    if results.scale_error:
        return "failed (see the error above the table)"
    return "skipped (--no-scale)" if not results.settings.get("scale") else "not measured"


def _rebuild_row(results: Results) -> TargetRow:
    target = f"≥ {REBUILD_FLOOR:,.0f} events/s, and ≥ {REBUILD_VS_BARE} x the bare SELECT + decode"
    rebuild, bare = results.rebuild, results.bare_read
    if rebuild is None or bare is None:
        return TargetRow("rebuild", target, _not_measured(results), NOT_MEASURED)
    if not rebuild.available:
        return TargetRow("rebuild", target, "rebuild: not available", NOT_MEASURED)
    if rebuild.events_per_second is None:
        return TargetRow("rebuild", target, "rebuild: failed or no figure", MISS)
    ratio = rebuild.events_per_second / bare.events_per_second
    met = rebuild.events_per_second >= REBUILD_FLOOR and ratio >= REBUILD_VS_BARE
    measured = f"{rebuild.events_per_second:,.0f} events/s, {ratio:.2f} x the bare read"
    return TargetRow("rebuild", target, measured, PASS if met else MISS)


# --- text -------------------------------------------------------------------------------


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
            f"{settings['gunicorn']} (adapters/gunicorn_conf.py)."
        ),
        "Medians of the rounds. Latency in ms. CPU: worker CPU time per request.",
        "",
    ]
    rows = []
    for operation in OPERATIONS:
        for index, service in enumerate((PROJECT, LIMIT, PEER)):
            summary = results.summary(MAIN_PHASE, operation.key, service)
            if summary is None:
                continue
            rows.append(
                [
                    operation.label if index == 0 else "",
                    service,
                    _number(summary.requests_per_second),
                    _number(summary.p50_ms, 2),
                    _number(summary.p99_ms, 2),
                    _number(summary.cpu_us_per_request),
                ]
            )
    lines += _table(
        ["operation", "service", "req/s", "p50", "p99", "CPU µs/req"], rows, {2, 3, 4, 5}
    )
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
    lines += _scale_lines(results)
    lines += _rebuild_lines(results)
    lines += ["", "Targets", ""]
    lines += _table(
        ["operation", "target", "measured", "status"],
        [[row.operation, row.target, row.measured, row.status] for row in targets(results)],
        set(),
    )
    lines += _warnings(results)
    lines += ["", f"Whole run: {results.seconds / 60:.1f} min."]
    return "\n".join(lines)


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


def _warnings(results: Results) -> list[str]:
    failed = [s for s in results.samples if s.result.non_2xx or s.result.socket_errors]
    return [
        f"WARNING: {s.phase} {s.operation} {s.service} round {s.round}: "
        f"{s.result.non_2xx} non-2xx responses, {s.result.socket_errors} socket errors"
        for s in failed
    ]


# --- JSON -------------------------------------------------------------------------------


def as_json(results: Results) -> dict[str, Any]:
    phases = sorted({(s.phase, s.operation, s.service) for s in results.samples})
    medians: dict[str, dict[str, dict[str, Any]]] = {}
    for phase, operation, service in phases:
        summary = results.summary(phase, operation, service)
        if summary is not None:
            medians.setdefault(phase, {}).setdefault(operation, {})[service] = asdict(summary)
    return {
        "settings": results.settings,
        "environment": results.environment,
        "seconds": round(results.seconds, 1),
        "medians": medians,
        "ratios": {
            operation.key: {
                "project/limit": results.ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT),
                "project/peer": results.ratio(MAIN_PHASE, operation.key, PROJECT, PEER),
                "cpu project/limit": results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT),
                "cpu project/peer": results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, PEER),
            }
            for operation in OPERATIONS
        },
        "scale": {
            "events": results.scale_events,
            "loads": [asdict(load) for load in results.scale_load],
            "ratios": {operation.key: scale_ratio(results, operation.key) for operation in READS},
        },
        "scale_error": results.scale_error,
        "worker_rss_mb": results.worker_rss_mb,
        "bare_read": None
        if results.bare_read is None
        else {
            **asdict(results.bare_read),
            "events_per_second": results.bare_read.events_per_second,
        },
        "rebuild": None if results.rebuild is None else asdict(results.rebuild),
        "targets": [asdict(row) for row in targets(results)],
        "samples": [
            {
                "phase": s.phase,
                "operation": s.operation,
                "service": s.service,
                "round": s.round,
                **asdict(s.result),
                "cpu_us_per_request": s.cpu_us_per_request,
                "worker_cpu_shares": s.worker_cpu_shares,
            }
            for s in results.samples
        ],
    }
