"""The performance targets the service is measured against, each judged from the results
model's comparisons and summaries."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import (
    GET_ONE,
    HOOKED_PROJECT,
    LARGE_PROJECT,
    LIST_PROJECT,
    MAIN_PHASE,
    PATCH,
    PEER,
    PG_PEER,
    PG_PROJECT,
    POST,
    POSTGRES_PHASE,
    PROJECT,
    PROJECT_SERVICES,
    READS,
    SCALE_PHASE,
    SMALL_PROJECT,
    UNHOOKED_PROJECT,
    WEBHOOKS_PHASE,
    WRITES,
    Operation,
    Results,
)

PASS, MISS, NOT_MEASURED = "PASS", "MISS", "n/a"
# On SQLite, beside the CRUD peer.
GET_VS_PEER = 1.0
LIST_VS_PEER = 1.2
POST_VS_PEER = 0.8
POST_P50_VS_PEER = 1.25  # the project's POST p50 at most this many times the peer's
PATCH_VS_PEER = 0.8
# On PostgreSQL, beside the CRUD peer there.
PG_READS_VS_PEER = 1.0  # GET one and the list
PG_WRITES_VS_PEER = 0.7
# Writes with 10 subscriptions delivering, beside the same project with none.
WEBHOOKS_KEEP = 0.9
SCALE_KEEPS = 0.9  # at 1,000,000 events, at most 10 % slower than at 1,000
RSS_LIMIT_MB = 150.0
REBUILD_FLOOR = 300_000.0
# The rebuild beside a bare SELECT + decode of the same log: shown, no longer a target.
REBUILD_VS_BARE = 0.5


@dataclass(frozen=True)
class TargetRow:
    operation: str
    target: str
    measured: str
    status: str


def targets(results: Results) -> list[TargetRow]:
    return [
        _ratio_row(results, MAIN_PHASE, GET_ONE, floor=GET_VS_PEER),
        _ratio_row(results, MAIN_PHASE, LIST_PROJECT, floor=LIST_VS_PEER),
        _post_row(results),
        _ratio_row(results, MAIN_PHASE, PATCH, floor=PATCH_VS_PEER),
        *(
            _ratio_row(
                results,
                POSTGRES_PHASE,
                operation,
                floor=floor,
                service=PG_PROJECT,
                other=PG_PEER,
                other_label="the PostgreSQL peer",
                label=f"PostgreSQL {operation.label}",
            )
            for operation, floor in (
                (GET_ONE, PG_READS_VS_PEER),
                (LIST_PROJECT, PG_READS_VS_PEER),
                (POST, PG_WRITES_VS_PEER),
                (PATCH, PG_WRITES_VS_PEER),
            )
        ),
        _webhooks_row(results),
        _errors_row(results),
        _scale_row(results),
        _rebuild_row(results),
    ]


def _ratio_row(
    results: Results,
    phase: str,
    operation: Operation,
    *,
    floor: float,
    service: str = PROJECT,
    other: str = PEER,
    other_label: str = "the CRUD peer",
    label: str | None = None,
) -> TargetRow:
    """``service``'s median req/s at least ``floor`` times ``other``'s."""
    label = label or operation.label
    ratio = results.ratio(phase, operation.key, service, other).requests
    target = f"≥ {floor} x {other_label}"
    if ratio is None:
        return TargetRow(label, target, results.why_not_measured(phase), NOT_MEASURED)
    return TargetRow(label, target, f"{ratio:.2f} x", PASS if ratio >= floor else MISS)


def _post_row(results: Results) -> TargetRow:
    target = f"≥ {POST_VS_PEER} x the CRUD peer, p50 ≤ {POST_P50_VS_PEER} x the peer's"
    ratio = results.ratio(MAIN_PHASE, POST.key, PROJECT, PEER).requests
    mine = results.summary(MAIN_PHASE, POST.key, PROJECT)
    peer = results.summary(MAIN_PHASE, POST.key, PEER)
    if ratio is None or mine is None or peer is None:
        return TargetRow("POST", target, results.why_not_measured(MAIN_PHASE), NOT_MEASURED)
    met = ratio >= POST_VS_PEER and mine.p50_ms <= POST_P50_VS_PEER * peer.p50_ms
    measured = f"{ratio:.2f} x, p50 {mine.p50_ms:.2f} vs {peer.p50_ms:.2f} ms"
    return TargetRow("POST", target, measured, PASS if met else MISS)


def _webhooks_row(results: Results) -> TargetRow:
    label = "POST, PATCH with webhooks"
    target = f"with 10 subscriptions delivering, ≥ {WEBHOOKS_KEEP} x without (within 10 % of none)"
    ratios = [
        results.ratio(WEBHOOKS_PHASE, operation.key, HOOKED_PROJECT, UNHOOKED_PROJECT).requests
        for operation in WRITES
    ]
    if any(ratio is None for ratio in ratios):
        return TargetRow(label, target, results.why_not_measured(WEBHOOKS_PHASE), NOT_MEASURED)
    post, patch = (ratio or 0.0 for ratio in ratios)
    met = post >= WEBHOOKS_KEEP and patch >= WEBHOOKS_KEEP
    return TargetRow(
        label, target, f"POST {post:.2f} x, PATCH {patch:.2f} x", PASS if met else MISS
    )


def _errors_row(results: Results) -> TargetRow:
    """Passes when no run against the project had a non-2xx answer or a socket error."""
    label, target = "errors under load", "no non-2xx answer or socket error from the project"
    if not results.samples:
        return TargetRow(label, target, "not measured", NOT_MEASURED)
    errors = results.errors()
    mine = [s for s in errors if s.service in PROJECT_SERVICES]
    theirs = sum(s.errors for s in errors if s.service not in PROJECT_SERVICES)
    runs = sum(1 for s in results.samples if s.service in PROJECT_SERVICES)
    if mine:
        measured = "; ".join(
            f"{s.service} {s.operation}: {s.non_2xx} non-2xx, {s.socket_errors} socket"
            for s in mine
        )
    else:
        measured = f"none in {runs} runs"
    if theirs:
        measured += f" (and {theirs} from the peers)"
    return TargetRow(label, target, measured, MISS if mine else PASS)


def _scale_row(results: Results) -> TargetRow:
    events = f"{results.scale_events:,}" if results.scale_events else "1,000,000"
    label = f"at {events} events"
    target = (
        f"GET and list ≥ {SCALE_KEEPS} x their 1,000-event req/s; "
        f"worker RSS < {RSS_LIMIT_MB:.0f} MB"
    )
    ratios = [
        results.ratio(SCALE_PHASE, operation.key, LARGE_PROJECT, SMALL_PROJECT).requests
        for operation in READS
    ]
    rss = results.worker_rss_mb.get(LARGE_PROJECT, [])
    if any(ratio is None for ratio in ratios) or not rss:
        return TargetRow(label, target, results.why_not_measured(SCALE_PHASE), NOT_MEASURED)
    get_ratio, list_ratio = (ratio or 0.0 for ratio in ratios)
    met = get_ratio >= SCALE_KEEPS and list_ratio >= SCALE_KEEPS and max(rss) < RSS_LIMIT_MB
    megabytes = ", ".join(f"{mb:.0f}" for mb in rss)
    measured = f"GET {get_ratio:.2f} x, list {list_ratio:.2f} x, RSS {megabytes} MB"
    return TargetRow(label, target, measured, PASS if met else MISS)


def _rebuild_row(results: Results) -> TargetRow:
    target = f"≥ {REBUILD_FLOOR:,.0f} events/s"
    rebuild, bare = results.rebuild, results.bare_read
    if rebuild is None or bare is None:
        return TargetRow("rebuild", target, results.why_not_measured(SCALE_PHASE), NOT_MEASURED)
    if not rebuild.available:
        return TargetRow("rebuild", target, "rebuild: not available", NOT_MEASURED)
    if rebuild.events_per_second is None:
        return TargetRow("rebuild", target, "rebuild: failed or no figure", MISS)
    ratio = results.rebuild_vs_bare() or 0.0
    met = rebuild.events_per_second >= REBUILD_FLOOR
    # The bare read is information now: how much of a rebuild is reading and decoding.
    measured = (
        f"{rebuild.events_per_second:,.0f} events/s "
        f"({ratio:.2f} x the bare read; {REBUILD_VS_BARE} x would be "
        f"{REBUILD_VS_BARE * bare.events_per_second:,.0f}/s)"
    )
    return TargetRow("rebuild", target, measured, PASS if met else MISS)
