"""What a run measured, the names it measured them under, and their medians and ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.load import LoadStats
    from bench.rebuild import BareRead, Rebuild
    from bench.rounds import Sample

# Phases: the three services on SQLite; the project on PostgreSQL beside the peer there;
# the project with and without webhook subscriptions; 1,000 events beside --events.
MAIN_PHASE, POSTGRES_PHASE, WEBHOOKS_PHASE, SCALE_PHASE = "1k", "postgres", "webhooks", "scale"
# Services, as the samples name them.
PROJECT, LIMIT, PEER = "project", "limit", "peer"
PG_PROJECT, PG_PEER = "project@pg", "peer@pg"
HOOKED_PROJECT, UNHOOKED_PROJECT = "project@hooks", "project@no-hooks"
# The two projects of the scale phase: 1,000 events, and --events (1,000,000).
SMALL_PROJECT, LARGE_PROJECT = "project@1k", "project@scale"
# The services that are this project: an error any of them answers counts against it.
PROJECT_SERVICES = frozenset(
    {PROJECT, PG_PROJECT, HOOKED_PROJECT, UNHOOKED_PROJECT, SMALL_PROJECT, LARGE_PROJECT}
)


@dataclass(frozen=True)
class Summary:
    """The medians of one service's rounds of one operation, and its errors added up."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float | None
    rounds: int
    errors: int
    non_2xx: int
    socket_errors: int
    # The CPU time of the service's other processes (the webhook deliverer) per request.
    helper_cpu_us_per_request: float | None = None
    # This process's CPU time per request (the webhook receiver's threads, when it runs).
    bench_cpu_us_per_request: float | None = None
    # Deliveries owed when wrk stopped, and seconds until none was (webhooks rounds only).
    drain_backlog: float | None = None
    drain_seconds: float | None = None


@dataclass(frozen=True)
class ErrorCount:
    phase: str
    service: str
    operation: str
    non_2xx: int
    socket_errors: int


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


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
    postgres_server: str | None = None  # host:port, never credentials
    webhook_deliveries: int | None = None  # what the receiver got in the webhooks phase
    # By phase: why its rounds did not run (a flag, an unreachable server)...
    skipped: dict[str, str] = field(default_factory=dict)
    # ...or the error that ended them; the other phases still count.
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def scale_error(self) -> str | None:
        return self.failures.get(SCALE_PHASE)

    def summary(self, phase: str, operation: str, service: str) -> Summary | None:
        chosen = [
            s
            for s in self.samples
            if (s.phase, s.operation, s.service) == (phase, operation, service)
        ]
        if not chosen:
            return None
        cpu = [s.cpu_us_per_request for s in chosen if s.cpu_us_per_request is not None]
        helper_cpu = [
            s.helper_cpu_us_per_request for s in chosen if s.helper_cpu_us_per_request is not None
        ]
        bench_cpu = [
            s.bench_cpu_us_per_request for s in chosen if s.bench_cpu_us_per_request is not None
        ]
        drains = [s.drain for s in chosen if s.drain is not None]
        non_2xx = sum(s.result.non_2xx for s in chosen)
        socket_errors = sum(s.result.socket_errors for s in chosen)
        return Summary(
            requests_per_second=statistics.median(s.result.requests_per_second for s in chosen),
            p50_ms=statistics.median(s.result.p50_ms for s in chosen),
            p99_ms=statistics.median(s.result.p99_ms for s in chosen),
            cpu_us_per_request=_median(cpu),
            rounds=len(chosen),
            errors=non_2xx + socket_errors,
            non_2xx=non_2xx,
            socket_errors=socket_errors,
            helper_cpu_us_per_request=_median(helper_cpu),
            bench_cpu_us_per_request=_median(bench_cpu),
            drain_backlog=_median([float(d.backlog) for d in drains]),
            drain_seconds=_median([d.seconds for d in drains]),
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

    def error_counts(self) -> list[ErrorCount]:
        """Non-2xx responses and socket errors of every recorded round, added up by phase,
        service and operation, in the order they were measured."""
        counts: dict[tuple[str, str, str], tuple[int, int]] = {}
        for s in self.samples:
            non_2xx, socket_errors = counts.get((s.phase, s.service, s.operation), (0, 0))
            counts[s.phase, s.service, s.operation] = (
                non_2xx + s.result.non_2xx,
                socket_errors + s.result.socket_errors,
            )
        return [ErrorCount(*key, *errors) for key, errors in counts.items()]

    def measured(self, phase: str) -> bool:
        return any(s.phase == phase for s in self.samples)

    def why_not_measured(self, phase: str) -> str:
        """The phase's reason for figures that are missing."""
        if phase in self.failures:
            return "failed (see the error above the table)"
        return self.skipped.get(phase, "not measured")
