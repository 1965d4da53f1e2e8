"""Rounds of wrk runs, alternating between services so machine drift hits all of them alike."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench import write_metrics, wrk
from bench.dataset import POST_PROJECT_ID, PROJECT_IDS
from bench.load import write_ids_file
from bench.results import GET_ONE, LIST_PROJECT, POST, Drain, Operation, Sample
from bench.services import cpu_seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from bench.services import RunningService


@dataclass(frozen=True)
class Load:
    duration: int
    connections: int
    threads: int
    warmup: int


@dataclass
class Target:
    """A running service and what the scripts need to load it."""

    service: RunningService
    ids_file: Path
    takes_writes: bool = True
    # Waits, after each run, until the service has done what the run left it to do, so
    # that work does not run into the next service's round.
    drain: Callable[[], Drain] | None = None

    @property
    def name(self) -> str:
        return self.service.name


class Runner:
    def __init__(self, wrk_path: str, load: Load) -> None:
        self._wrk = wrk_path
        self._load = load
        self._runs = 0

    def _script_args(self, target: Target, operation: Operation) -> list[str]:
        # Unique per run, so a PATCH title or a POST title never repeats an earlier one.
        nonce = f"r{self._runs}"
        if operation is GET_ONE:
            return [str(target.ids_file)]
        if operation is LIST_PROJECT:
            return list(PROJECT_IDS)
        if operation is POST:
            return [POST_PROJECT_ID, nonce]
        # PATCH sends each milestone the status after its current one: read them fresh.
        write_ids_file(target.service.port, target.ids_file)
        return [str(target.ids_file), nonce, str(self._load.threads)]

    def measure(
        self, phase: str, target: Target, operation: Operation, duration: int, number: int = 0
    ) -> Sample:
        """One wrk run (round ``number``; 0 for a warm-up), then the target's drain."""
        self._runs += 1
        script_args = self._script_args(target, operation)
        target.service.check_alive()
        # Read outside the CPU counts below, so the scrapes cost the run nothing.
        port = target.service.port
        writes_before = write_metrics.scrape(port) if operation.writes else {}
        workers, helpers = target.service.worker_pids(), target.service.helper_pids()
        before = [cpu_seconds(pid) for pid in workers]
        helpers_before = sum(cpu_seconds(pid) for pid in helpers)
        bench_before = _own_cpu_seconds()
        result = wrk.run(
            self._wrk,
            target.service.url,
            operation.script,
            script_args,
            duration=duration,
            connections=self._load.connections,
            threads=self._load.threads,
        )
        spent = [cpu_seconds(pid) - start for pid, start in zip(workers, before, strict=True)]
        writes = (
            write_metrics.gained(writes_before, write_metrics.scrape(port))
            if operation.writes
            else None
        )
        drain = target.drain() if target.drain is not None else None
        helpers_spent = sum(cpu_seconds(pid) for pid in helpers) - helpers_before
        bench_spent = _own_cpu_seconds() - bench_before
        target.service.check_alive()
        total = sum(spent)
        return Sample(
            phase=phase,
            operation=operation.key,
            service=target.name,
            round=number,
            result=result,
            cpu_us_per_request=_per_request(total, result.requests),
            worker_cpu_shares=[round(each / total, 3) for each in spent] if total > 0 else [],
            helper_cpu_us_per_request=_per_request(helpers_spent, result.requests),
            bench_cpu_us_per_request=_per_request(bench_spent, result.requests),
            drain=drain,
            writes=writes,
        )

    def rounds(
        self,
        phase: str,
        targets: list[Target],
        operations: tuple[Operation, ...],
        rounds: int,
    ) -> list[Sample]:
        """Warm each service up on each operation, then rounds of A, B, C, A, B, C, ..."""
        if self._load.warmup > 0:
            for operation in operations:
                for target in _taking(targets, operation):
                    self.measure(phase, target, operation, self._load.warmup)
        samples = []
        for number in range(1, rounds + 1):
            for operation in operations:
                for target in _taking(targets, operation):
                    sample = self.measure(phase, target, operation, self._load.duration, number)
                    samples.append(sample)
                    _progress(sample, rounds, operation.label)
        return samples


def _own_cpu_seconds() -> float:
    """User and system CPU time of this process (not of wrk, a child)."""
    times = os.times()
    return times.user + times.system


def _per_request(cpu_seconds_spent: float, requests: int) -> float | None:
    return cpu_seconds_spent / requests * 1e6 if requests and cpu_seconds_spent > 0 else None


def _taking(targets: list[Target], operation: Operation) -> list[Target]:
    return [t for t in targets if t.takes_writes or not operation.writes]


def _progress(sample: Sample, rounds: int, label: str) -> None:
    result, errors = sample.result, sample.result.non_2xx + sample.result.socket_errors
    sys.stderr.write(
        f"  [{sample.phase} {sample.round}/{rounds}] {label:<22} {sample.service:<16} "
        f"{result.requests_per_second:>9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  cpu {sample.cpu_us_per_request or 0:5.0f} us/req"
        + (f"  ERRORS {errors}" if errors else "")
        + (
            f"  backlog {sample.drain.backlog} ({sample.drain.seconds:.1f} s)"
            if sample.drain
            else ""
        )
        + "\n"
    )
