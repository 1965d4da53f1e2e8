"""The results model: what a run measured (its samples and the phases' other figures), and
what is derived from them, stated once: each service's medians, the comparisons between
services, the errors. The report (``bench.report``) and the JSON file read this alone.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.load import LoadStats
    from bench.rebuild import BareRead, Rebuild
    from bench.wrk import WrkResult

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
class Operation:
    key: str
    label: str
    script: str
    writes: bool


GET_ONE = Operation("get_one", "GET one", "get.lua", writes=False)
LIST_PROJECT = Operation("list_project", "list one project (100)", "list.lua", writes=False)
POST = Operation("post", "POST", "post.lua", writes=True)
PATCH = Operation("patch", "PATCH", "patch.lua", writes=True)
OPERATIONS = (GET_ONE, LIST_PROJECT, POST, PATCH)
READS = (GET_ONE, LIST_PROJECT)
WRITES = (POST, PATCH)
_LABELS = {operation.key: operation.label for operation in OPERATIONS}


@dataclass(frozen=True)
class Comparison:
    """Two services of a phase compared on some operations: ``service`` over ``other``."""

    phase: str
    service: str
    other: str
    operations: tuple[Operation, ...]


# Every comparison a run makes; the report's ratio tables and the targets read these.
COMPARISONS = (
    Comparison(MAIN_PHASE, PROJECT, LIMIT, READS),
    Comparison(MAIN_PHASE, PROJECT, PEER, OPERATIONS),
    Comparison(POSTGRES_PHASE, PG_PROJECT, PG_PEER, OPERATIONS),
    Comparison(WEBHOOKS_PHASE, HOOKED_PROJECT, UNHOOKED_PROJECT, WRITES),
    Comparison(SCALE_PHASE, LARGE_PROJECT, SMALL_PROJECT, READS),
)


@dataclass(frozen=True)
class Drain:
    """Work a service still owed when wrk stopped (webhook deliveries), and its catching up."""

    backlog: int  # deliveries owed when wrk stopped
    seconds: float  # until none was owed


@dataclass(frozen=True)
class WriteFigures:
    """What the service's write histograms gained during a run: how many batches it
    committed holding how many commands, and how long it held the writer lock how often.
    A histogram the service does not export is None."""

    batches: float | None = None
    commands: float | None = None
    lock_holds: float | None = None
    lock_seconds: float | None = None


@dataclass(frozen=True)
class Sample:
    """One wrk run of one operation against one service."""

    phase: str
    operation: str
    service: str
    round: int
    result: WrkResult
    # Worker CPU time per request: what a request costs the server, whatever the noise.
    cpu_us_per_request: float | None
    # Each worker's share of that CPU time; a lopsided split means one worker got the load.
    worker_cpu_shares: list[float] = field(default_factory=list)
    # The CPU time of the service's other processes (the project's webhook deliverer) per
    # request, through the run and its drain.
    helper_cpu_us_per_request: float | None = None
    # This process's CPU time per request, through the run and its drain: the main thread
    # only waits for wrk, so this is the webhook receiver's threads when one runs here.
    bench_cpu_us_per_request: float | None = None
    drain: Drain | None = None
    writes: WriteFigures | None = None  # read from the service's /metrics, for writes


@dataclass(frozen=True)
class Summary:
    """One service's rounds of one operation: medians, errors added up, write figures."""

    phase: str
    operation: str
    service: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float | None
    rounds: int
    non_2xx: int
    socket_errors: int
    helper_cpu_us_per_request: float | None
    bench_cpu_us_per_request: float | None
    drain_backlog: float | None  # deliveries owed when wrk stopped (webhooks rounds only)
    drain_seconds: float | None  # and seconds until none was
    mean_batch_size: float | None  # commands per committed batch, over every round
    mean_lock_hold_ms: float | None  # the writer lock's mean hold, over every round

    @property
    def label(self) -> str:
        return _LABELS.get(self.operation, self.operation)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass(frozen=True)
class Ratio:
    """A comparison on one operation: the ratios of median req/s and of CPU per request."""

    phase: str
    operation: str
    service: str
    other: str
    requests: float | None
    cpu: float | None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(
    totals: list[float | None], counts: list[float | None], scale: float = 1.0
) -> float | None:
    total = sum(value for value in totals if value is not None)
    count = sum(value for value in counts if value is not None)
    return total / count * scale if count else None


def summarise(chosen: list[Sample]) -> Summary:
    first = chosen[0]
    writes = [s.writes for s in chosen if s.writes is not None]
    drains = [s.drain for s in chosen if s.drain is not None]

    def medians(name: str) -> float | None:
        return _median([value for s in chosen if (value := getattr(s, name)) is not None])

    return Summary(
        phase=first.phase,
        operation=first.operation,
        service=first.service,
        requests_per_second=statistics.median(s.result.requests_per_second for s in chosen),
        p50_ms=statistics.median(s.result.p50_ms for s in chosen),
        p99_ms=statistics.median(s.result.p99_ms for s in chosen),
        cpu_us_per_request=medians("cpu_us_per_request"),
        rounds=len(chosen),
        non_2xx=sum(s.result.non_2xx for s in chosen),
        socket_errors=sum(s.result.socket_errors for s in chosen),
        helper_cpu_us_per_request=medians("helper_cpu_us_per_request"),
        bench_cpu_us_per_request=medians("bench_cpu_us_per_request"),
        drain_backlog=_median([float(d.backlog) for d in drains]),
        drain_seconds=_median([d.seconds for d in drains]),
        mean_batch_size=_mean([w.commands for w in writes], [w.batches for w in writes]),
        mean_lock_hold_ms=_mean(
            [w.lock_seconds for w in writes], [w.lock_holds for w in writes], 1000.0
        ),
    )


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

    def summaries(self, phase: str | None = None) -> list[Summary]:
        """Each service's summary of each operation, in the order they were measured."""
        grouped: dict[tuple[str, str, str], list[Sample]] = {}
        for s in self.samples:
            if phase is None or s.phase == phase:
                grouped.setdefault((s.phase, s.operation, s.service), []).append(s)
        return [summarise(chosen) for chosen in grouped.values()]

    def summary(self, phase: str, operation: str, service: str) -> Summary | None:
        chosen = [
            s
            for s in self.samples
            if (s.phase, s.operation, s.service) == (phase, operation, service)
        ]
        return summarise(chosen) if chosen else None

    def ratios(self, phase: str | None = None) -> list[Ratio]:
        """Every comparison's ratios, operation by operation."""
        return [
            self.ratio(comparison.phase, operation.key, comparison.service, comparison.other)
            for comparison in COMPARISONS
            if phase is None or comparison.phase == phase
            for operation in comparison.operations
        ]

    def ratio(self, phase: str, operation: str, service: str, other: str) -> Ratio:
        """``service`` over ``other``: median req/s, and median worker CPU per request (less
        exposed to a noisy neighbour than req/s, which also pays for wrk and the kernel)."""
        mine, theirs = (self.summary(phase, operation, s) for s in (service, other))
        requests = cpu = None
        if mine is not None and theirs is not None:
            if theirs.requests_per_second:
                requests = mine.requests_per_second / theirs.requests_per_second
            if mine.cpu_us_per_request and theirs.cpu_us_per_request:
                cpu = mine.cpu_us_per_request / theirs.cpu_us_per_request
        return Ratio(phase, operation, service, other, requests, cpu)

    def errors(self) -> list[Summary]:
        """The summaries with a non-2xx answer or a socket error."""
        return [summary for summary in self.summaries() if summary.errors]

    def measured(self, phase: str) -> bool:
        return any(s.phase == phase for s in self.samples)

    def rebuild_vs_bare(self) -> float | None:
        """The rebuild's events/s over a bare read and decode of the same log."""
        rebuild, bare = self.rebuild, self.bare_read
        if rebuild is None or bare is None or rebuild.events_per_second is None:
            return None
        return rebuild.events_per_second / bare.events_per_second

    def why_not_measured(self, phase: str) -> str:
        """The phase's reason for figures that are missing."""
        if phase in self.failures:
            return "failed (see the error above the table)"
        return self.skipped.get(phase, "not measured")

    def to_json(self, targets: list[Any]) -> dict[str, Any]:
        """The run as the JSON results file: every derived figure, then every sample."""
        return {
            "settings": self.settings,
            "environment": self.environment,
            "seconds": round(self.seconds, 1),
            "summaries": [asdict(summary) for summary in self.summaries()],
            "ratios": [asdict(ratio) for ratio in self.ratios()],
            "targets": [asdict(row) for row in targets],
            "postgres_server": self.postgres_server,
            "webhook_deliveries": self.webhook_deliveries,
            "scale_events": self.scale_events,
            "scale_load": [asdict(load) for load in self.scale_load],
            "worker_rss_mb": self.worker_rss_mb,
            "bare_read": None
            if self.bare_read is None
            else {**asdict(self.bare_read), "events_per_second": self.bare_read.events_per_second},
            "rebuild": None if self.rebuild is None else asdict(self.rebuild),
            "rebuild_vs_bare": self.rebuild_vs_bare(),
            "failures": self.failures,
            "skipped": self.skipped,
            "samples": [asdict(sample) for sample in self.samples],
        }
