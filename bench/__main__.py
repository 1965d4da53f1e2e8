"""``python -m bench``: the side-by-side benchmark. See ``--help``."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

import orjson

from bench import report, wrk
from bench.dataset import SEEDED_MILESTONES
from bench.load import build_project_database, seed_over_http, write_ids_file
from bench.rebuild import best_bare_read, rebuild
from bench.rounds import OPERATIONS, READS, Load, Runner, Target
from bench.services import (
    PROJECT_ROOT,
    RunningService,
    peer_spec,
    project_spec,
    rss_megabytes,
    running,
)

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SCALE_EVENTS = 1_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="This project beside the framework limit and a plain CRUD peer, under wrk.",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per operation (3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per round (5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per service (2)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="unrecorded seconds per operation first (1; 0 off)"
    )
    parser.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure at 1,000,000 events and time the rebuild (on; --no-scale skips it)",
    )
    parser.add_argument(
        "--events", type=int, default=SCALE_EVENTS, help=f"events for --scale ({SCALE_EVENTS:,})"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the databases and server logs go (a fresh temporary folder); "
        "put it on the disk you mean to measure: on tmpfs an fsync costs nothing",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.connections, args.threads, args.workers) < 1:
        parser.error("--rounds, --duration, --connections, --threads, --workers must be >= 1")
    if args.events < SEEDED_MILESTONES:
        parser.error(f"--events must be at least {SEEDED_MILESTONES:,}")
    return args


def say(text: str) -> None:
    """Progress goes to stderr; stdout gets the tables alone."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def gunicorn_settings() -> dict[str, Any]:
    """The settings every service runs with, read in a process of their own (see peer_server)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.peer_server", "settings"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    )
    settings: dict[str, Any] = orjson.loads(completed.stdout)
    return settings


def filesystem_of(path: Path) -> str:
    """The type of the file system holding ``path`` (the longest matching mount point)."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount_point, fs_type, *_ = line.split()
            inside = str(path.resolve()).startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) > len(best):
                best, kind = mount_point, fs_type
    return kind


def git_revision() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    head = subprocess.run(  # noqa: S603
        [git, "rev-parse", "--short", "HEAD"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else None


def worker_rss(service: RunningService) -> list[float]:
    return [mb for pid in service.worker_pids() if (mb := rss_megabytes(pid)) is not None]


def _target(service: RunningService, workdir: Path, *, takes_writes: bool = True) -> Target:
    """A service with the ids file its load scripts read (its own ids, read back over HTTP)."""
    ids_file = write_ids_file(service.port, workdir / f"{service.name}.ids")
    return Target(service, ids_file, takes_writes=takes_writes)


def main_phase(
    args: argparse.Namespace, runner: Runner, workdir: Path, results: report.Results
) -> None:
    """The three services side by side, each on a fresh database seeded over HTTP."""
    with contextlib.ExitStack() as stack:
        say("starting the project, the framework limit and the CRUD peer")
        project = stack.enter_context(
            running(project_spec(report.PROJECT, workdir / "project.db", args.workers), workdir)
        )
        limit = stack.enter_context(
            running(peer_spec(report.LIMIT, "limit", args.workers), workdir)
        )
        peer = stack.enter_context(
            running(peer_spec(report.PEER, "peer", args.workers, workdir / "peer.db"), workdir)
        )
        say("seeding 1,000 milestones over HTTP (project, peer; the limit holds its own)")
        for service in (project, peer):
            seed_over_http(service.port)
        targets = [
            _target(project, workdir),
            _target(limit, workdir, takes_writes=False),  # it answers the two reads alone
            _target(peer, workdir),
        ]
        say(f"{args.rounds} rounds of {len(OPERATIONS)} operations")
        results.samples += runner.rounds(report.MAIN_PHASE, targets, OPERATIONS, args.rounds)
        results.worker_rss_mb[report.PROJECT] = worker_rss(project)


def scale_phase(
    args: argparse.Namespace, runner: Runner, workdir: Path, results: report.Results
) -> None:
    """A 1,000,000-event project beside a 1,000-event one, both loaded through the application."""
    small_db, large_db = workdir / "scale-1k.db", workdir / "scale-large.db"
    say(f"loading {SEEDED_MILESTONES:,} and {args.events:,} events through the application")
    results.scale_events = args.events
    results.scale_load = [
        build_project_database(small_db, SEEDED_MILESTONES),
        build_project_database(large_db, args.events),
    ]
    with contextlib.ExitStack() as stack:
        small = stack.enter_context(
            running(project_spec(report.SMALL_PROJECT, small_db, args.workers), workdir)
        )
        large = stack.enter_context(
            running(project_spec(report.LARGE_PROJECT, large_db, args.workers), workdir)
        )
        targets = [_target(small, workdir), _target(large, workdir)]
        say(f"{args.rounds} rounds of GET one and list, 1,000 vs {args.events:,} events")
        results.samples += runner.rounds(report.SCALE_PHASE, targets, READS, args.rounds)
        for service in (large, small):
            results.worker_rss_mb[service.name] = worker_rss(service)
    say("reading the large log bare, then timing `milestones projection rebuild`")
    results.bare_read = best_bare_read(large_db)
    if results.bare_read.events != args.events:
        say(f"WARNING: the log holds {results.bare_read.events:,} events, not {args.events:,}")
    results.rebuild = rebuild(large_db)
    if not results.rebuild.available:
        say("rebuild: not available")


def _terminate(signum: int, frame: object) -> NoReturn:
    # Unwind through every finally, so the servers we started are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk_path = wrk.ensure_wrk()
    except wrk.WrkMissing as error:
        say(str(error))
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="milestones-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    gunicorn = gunicorn_settings()
    results = report.Results(
        settings={
            "rounds": args.rounds,
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "warmup": args.warmup,
            "scale": args.scale,
            "gunicorn": ", ".join(f"{name} {value}" for name, value in sorted(gunicorn.items())),
        },
        environment={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "wrk": wrk.wrk_version(wrk_path),
            "workdir_filesystem": filesystem_of(workdir),
            "revision": git_revision(),
        },
    )
    if results.environment["workdir_filesystem"] == "tmpfs":
        say("WARNING: the databases are on tmpfs, where durable writes cost nothing")
    runner = Runner(
        wrk_path,
        Load(args.duration, args.connections, args.threads, args.warmup),
    )
    try:
        main_phase(args, runner, workdir, results)
        if args.scale:
            try:
                scale_phase(args, runner, workdir, results)
            except Exception as error:  # noqa: BLE001 - the main rounds are still worth reporting
                say(traceback.format_exc())
                results.scale_error = f"{type(error).__name__}: {error}"
    finally:
        if args.keep:
            say(f"databases and logs kept in {workdir}")
        elif args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results.seconds = time.monotonic() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(
        orjson.dumps(
            report.as_json(results), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
    )
    sys.stdout.write(report.render(results) + "\n")
    say(f"results written to {args.output}")
    return 1 if results.scale_error else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # The finally blocks have stopped every service by then.
        say("interrupted")
        sys.exit(130)
