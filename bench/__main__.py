"""``python -m bench``: the side-by-side benchmark. See ``--help``."""

from __future__ import annotations

import argparse
import contextlib
import functools
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
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

from bench import report, targets, wrk
from bench.dataset import SEEDED_MILESTONES
from bench.phases import main_phase, postgres_phase, say, scale_phase, webhooks_phase
from bench.postgres import PostgresUnavailable
from bench.results import POSTGRES_PHASE, SCALE_PHASE, WEBHOOKS_PHASE, Results
from bench.rounds import Load, Runner
from bench.services import PROJECT_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SCALE_EVENTS = 1_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="This project beside the framework limit and a plain CRUD peer, under wrk.",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per operation (3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per round (5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
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
        "--postgres",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the project and the CRUD peer on PostgreSQL, in throw-away "
        "databases on MILESTONES_TEST_POSTGRES (on; not measured when no server answers)",
    )
    parser.add_argument(
        "--webhooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure POST and PATCH with 10 webhook subscriptions delivering, beside "
        "none (on)",
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
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the SQLite databases and logs (PostgreSQL databases are always dropped)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.connections, args.threads, args.workers) < 1:
        parser.error("--rounds, --duration, --connections, --threads, --workers must be >= 1")
    if args.events < SEEDED_MILESTONES:
        parser.error(f"--events must be at least {SEEDED_MILESTONES:,}")
    return args


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


def optional_phase(name: str, run: Callable[[], None], results: Results) -> None:
    """A phase whose failure is reported beside the other phases' figures, not instead of them."""
    try:
        run()
    except PostgresUnavailable as unavailable:
        cause = str(unavailable.__cause__ or "").strip().splitlines()
        say(f"{unavailable}{f' ({cause[0]})' if cause else ''}: those rounds are not measured")
        results.skipped[name] = str(unavailable)
    except Exception as error:  # noqa: BLE001 - the other phases are still worth reporting
        say(traceback.format_exc())
        results.failures[name] = f"{type(error).__name__}: {error}"


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
    results = Results(
        settings={
            "rounds": args.rounds,
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "warmup": args.warmup,
            "scale": args.scale,
            "postgres": args.postgres,
            "webhooks": args.webhooks,
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
    # The quick phases first, the long load of the scale phase last.
    optional = [
        (POSTGRES_PHASE, args.postgres, postgres_phase),
        (WEBHOOKS_PHASE, args.webhooks, webhooks_phase),
        (SCALE_PHASE, args.scale, scale_phase),
    ]
    try:
        main_phase(args, runner, workdir, results)
        for name, wanted, run in optional:
            if wanted:
                optional_phase(
                    name, functools.partial(run, args, runner, workdir, results), results
                )
            else:
                results.skipped[name] = f"skipped (--no-{name})"
    finally:
        if args.keep:
            say(f"databases and logs kept in {workdir}")
        elif args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results.seconds = time.monotonic() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    judged = targets.targets(results)
    args.output.write_bytes(
        orjson.dumps(
            results.to_json(judged), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
    )
    sys.stdout.write(report.render(results, judged) + "\n")
    say(f"results written to {args.output}")
    return 1 if results.failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # The finally blocks have stopped every service by then.
        say("interrupted")
        sys.exit(130)
