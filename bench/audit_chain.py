"""The hash chain's costs: chaining a large log, verifying it, and writes beside the keeper.

    python -m bench.audit_chain [--events 1000000] [--database PATH] [--seconds 5]

1. A log of ``--events`` events (built through the application unless ``--database`` names
   one), its chain dropped and rebuilt as a service does at start.
2. ``milestones audit verify`` over it, with one process and with one per core: wall time,
   and CPU time, which says what the verification costs on a machine busy with other work.
3. POSTs per second on a fresh store, in alternating rounds with the chain's keeper thread
   running and stopped (in-process, one client: the keeper's CPU beside each write); the
   mean, spread and round-by-round change of each side.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from falcon import testing

from bench.load import build_project_database

ROUNDS = 6


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - a benchmark reports as it goes


def chain_from_scratch(database: Path) -> tuple[int, float]:
    """Drop the chain and build it again from the whole log; events chained, seconds."""
    from adapters.bootstrap import audit_chain, open_store  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("DROP TABLE IF EXISTS audit_chain")
    store = open_store(Settings(database_url=f"sqlite:///{database}"), read_only=False)
    try:
        chain = audit_chain(store.view)
        started = time.perf_counter()
        chain.create()
        chained = chain.catch_up()
        return chained, time.perf_counter() - started
    finally:
        store.close()


def timed_verify(database: Path, workers: int) -> tuple[str, float, float]:
    """``milestones audit verify``'s line, its wall seconds and the CPU seconds of it all."""
    command = Path(sys.executable).parent / "milestones"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - the project's own command
        [str(command), "audit", "verify", "--workers", str(workers)],
        capture_output=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.decode() or result.stdout.decode())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout.decode().splitlines()[0], wall, cpu


def posts_per_second(
    workdir: Path, seconds: float, *, keeper: bool, round_: int
) -> tuple[float, float]:
    """POSTs answered per second by the app in-process on a fresh SQLite store, and the
    process's CPU microseconds per POST (every thread's, the keeper's included): the CPU
    figure holds still on a busy machine where the rate does not."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.http.app import create_app  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415

    url = f"sqlite:///{workdir}/writes-{round_}-{'on' if keeper else 'off'}.db"
    service = open_service(Settings(database_url=url))
    try:
        if not keeper and service.chain_keeper is not None:
            service.chain_keeper.stop()
        client = testing.TestClient(
            create_app(service.milestones, service.reads, chain=service.chain)
        )
        body = {"projectId": "bench_chain", "title": "A milestone to chain"}
        posts, started, cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - started) < seconds:
            response = client.simulate_post("/api/milestones", json=body)
            if response.status_code != 201:  # noqa: PLR2004
                raise RuntimeError(response.text)
            posts += 1
        if keeper and service.chain is not None:  # what the keeper still owes is its cost too
            service.chain.catch_up()
        cpu = time.process_time() - cpu
        if keeper and service.chain_keeper is not None:
            own = service.chain_keeper.cpu_seconds * 1e6 / posts
            say(f"  the keeper thread's own CPU: {own:,.0f} us/POST")
        return posts / elapsed, cpu / posts * 1e6
    finally:
        service.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_chain", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", type=Path, help="an SQLite store to use (it is copied)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per round of POSTs (5)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"of POSTs ({ROUNDS})")
    parser.add_argument(
        "--writes-only", action="store_true", help="skip the large log: measure writes alone"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as temporary:
        workdir = Path(temporary)
        if not args.writes_only:
            large_log(workdir / "large.db", args)
        write_rounds(workdir, args)


def large_log(database: Path, args: argparse.Namespace) -> None:
    """Chain a large log from scratch, then verify it with one process and one per core."""
    if args.database is not None:
        shutil.copyfile(args.database, database)
    else:
        say(f"loading {args.events:,} events through the application ...")
        build_project_database(database, args.events)
    chained, seconds = chain_from_scratch(database)
    say(f"chained {chained:,} events from scratch in {seconds:.1f} s "
        f"({chained / seconds:,.0f} events/s)")  # fmt: skip
    for workers in sorted({1, os.cpu_count() or 1}):
        line, wall, cpu = timed_verify(database, workers)
        say(f"audit verify, {workers} process(es): {wall:.1f} s wall, "
            f"{chained / wall:,.0f} events/s; {cpu:.1f} CPU s, "
            f"{chained / cpu:,.0f} events per CPU second\n  {line}")  # fmt: skip


def write_rounds(workdir: Path, args: argparse.Namespace) -> None:
    rates: dict[bool, list[float]] = {True: [], False: []}
    cpus: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(args.rounds):
        for keeper in (False, True) if round_ % 2 == 0 else (True, False):
            rate, cpu = posts_per_second(workdir, args.seconds, keeper=keeper, round_=round_)
            rates[keeper].append(rate)
            cpus[keeper].append(cpu)
            say(f"round {round_ + 1}, keeper {'on ' if keeper else 'off'}: {rate:,.0f} POST/s, "
                f"{cpu:,.0f} CPU us/POST")  # fmt: skip
    for name, figures in (("POST/s", rates), ("CPU us/POST", cpus)):
        off, on = figures[False], figures[True]
        change = (statistics.mean(on) - statistics.mean(off)) / statistics.mean(off)
        say(f"{name} over {args.rounds} rounds each: without the keeper {_spread(off)}; "
            f"with it {_spread(on)} (means {change:+.1%})")  # fmt: skip
    # Rounds run in alternating order, so a drift in the machine's load falls on both sides;
    # the differences of paired rounds say how much of the change is noise.
    paired = [(on - off) / off for off, on in zip(rates[False], rates[True], strict=True)]
    say(f"POST/s change, round by round: {', '.join(f'{one:+.1%}' for one in paired)}")


def _spread(figures: list[float]) -> str:
    deviation = statistics.stdev(figures) if len(figures) > 1 else 0.0
    return (f"mean {statistics.mean(figures):,.0f} +- {deviation:,.0f} "
            f"(min {min(figures):,.0f}, max {max(figures):,.0f})")  # fmt: skip


if __name__ == "__main__":
    main()
