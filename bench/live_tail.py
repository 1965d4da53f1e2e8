"""What live streams cost the service: ``python -m bench.live_tail [--database URL]``.

One ``milestones serve`` (two workers, no webhook deliverer) is measured with and without
``MILESTONES_STREAMS_PER_WORKER`` (4) streams open on each worker, in alternating rounds:

- idle: CPU seconds per second of the server's process tree (arbiter and workers, from
  /proc) while nobody writes;
- loaded: writes per second that wrk reaches with POSTs, while every stream receives every
  event it writes, and the server's CPU milliseconds per write (which a busy neighbour on
  a shared machine disturbs less than the rate).

The streams are read by threads of this process that count the events they receive, so
the figures also show that every stream kept up; the CPU those readers take under load is
reported too (on a machine of few cores, the clients' CPU is taken from the server's).
Timings on a shared machine are noisy: the sides alternate (ABBA) so that a drift of the
machine's load hits both alike, and the medians and every round's figure are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from adapters.storage.log_watch import IDLE_SECONDS
from bench import wrk
from bench.services import HOST, cpu_seconds, project_spec, running

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bench.services import RunningService

WORKERS = 2
STREAMS_PER_WORKER = 4
OPEN_TIMEOUT = 30.0  # seconds to get every stream open (a full worker answers 503: retry)


@dataclass
class Stream:
    """One open stream, read to the end by a thread; ``events`` counts what it received."""

    sock: socket.socket
    events: int = 0
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                pending += chunk
                self.events += pending.count(b"\nevent: ")
                pending = pending[pending.rfind(b"\n") :]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)


def open_stream(port: int) -> Stream | None:
    """A stream, or None if the worker that took the connection is full (503)."""
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.sendall(b"GET /api/events/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        sock.close()
        return None
    sock.settimeout(None)
    return Stream(sock)


@contextlib.contextmanager
def streams_open(port: int, count: int) -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    deadline = time.monotonic() + OPEN_TIMEOUT
    try:
        while len(opened) < count:
            if time.monotonic() > deadline:
                msg = f"only {len(opened)} of {count} streams opened"
                raise RuntimeError(msg)
            stream = open_stream(port)
            if stream is None:
                time.sleep(0.05)
            else:
                opened.append(stream)
        yield opened
    finally:
        for stream in opened:
            stream.close()


def tree_cpu(service: RunningService) -> float:
    pids = [service.process.pid, *service.worker_pids()]
    return sum(cpu_seconds(pid) for pid in pids)


def idle_cpu(service: RunningService, seconds: float) -> float:
    """CPU seconds per second of the server's processes while nobody writes."""
    before, started = tree_cpu(service), time.monotonic()
    time.sleep(seconds)
    return (tree_cpu(service) - before) / (time.monotonic() - started)


def write_load(
    wrk_path: str, service: RunningService, seconds: int, nonce: str, readers_cpu: list[float]
) -> tuple[float, float]:
    """Writes per second under wrk's POSTs, and the server's CPU milliseconds per write:
    the cost that a busy neighbour on a shared machine disturbs less than the rate."""
    cpu_before = tree_cpu(service)
    readers_before = time.process_time()
    result = wrk.run(
        wrk_path,
        service.url,
        "post.lua",
        ["proj_live_tail", nonce],
        duration=seconds,
        connections=8,
        threads=2,
    )
    if result.non_2xx or result.socket_errors:
        msg = f"wrk saw {result.non_2xx} non-2xx answers and {result.socket_errors} errors"
        raise RuntimeError(msg)
    cpu_ms_per_write = 1000 * (tree_cpu(service) - cpu_before) / max(result.requests, 1)
    readers_cpu.append((time.process_time() - readers_before) / seconds)
    return result.requests_per_second, cpu_ms_per_write


def head(service: RunningService) -> int:
    connection = http.client.HTTPConnection(HOST, service.port, timeout=10)
    try:
        connection.request("GET", "/ready")
        position: int = orjson.loads(connection.getresponse().read())["data"]["head"]
        return position
    finally:
        connection.close()


def measure(database: Path | str, rounds: int, seconds: int, log_dir: Path) -> dict[str, object]:
    wrk_path = wrk.ensure_wrk()
    env = {"MILESTONES_DELIVER": "0", "MILESTONES_STREAMS_PER_WORKER": str(STREAMS_PER_WORKER)}
    spec = project_spec("live-tail", database, WORKERS, env)
    count = WORKERS * STREAMS_PER_WORKER
    idle: dict[str, list[float]] = {"without": [], "with": []}
    loaded: dict[str, list[float]] = {"without": [], "with": []}
    per_write: dict[str, list[float]] = {"without": [], "with": []}
    # CPU seconds per second of this process (the stream readers, and wrk's report read).
    client: dict[str, list[float]] = {"without": [], "with": []}
    behind = 0
    with running(spec, log_dir) as service:
        for number in range(rounds):
            # ABBA: a drift of the machine's load over the run hits both sides alike.
            for side in ("without", "with") if number % 2 == 0 else ("with", "without"):
                nonce = f"{side}{number}"
                if side == "without":
                    idle[side].append(idle_cpu(service, seconds))
                    rate, cost = write_load(wrk_path, service, seconds, nonce, client[side])
                    loaded[side].append(rate)
                    per_write[side].append(cost)
                    continue
                with streams_open(service.port, count) as streams:
                    idle[side].append(idle_cpu(service, seconds))
                    start = head(service)
                    rate, cost = write_load(wrk_path, service, seconds, nonce, client[side])
                    loaded[side].append(rate)
                    per_write[side].append(cost)
                    written = head(service) - start
                    time.sleep(1.0)  # the last events reach the streams
                    behind += sum(max(written - s.events, 0) for s in streams)
                # A measure without streams starts once the log watcher has stopped.
                time.sleep(IDLE_SECONDS + 1)
    without, with_ = statistics.median(loaded["without"]), statistics.median(loaded["with"])
    return {
        "database": "sqlite" if isinstance(database, Path) else "postgres",
        "workers": WORKERS,
        "streams": count,
        "rounds": rounds,
        "seconds": seconds,
        "idle_cpu_without": statistics.median(idle["without"]),
        "idle_cpu_with": statistics.median(idle["with"]),
        "writes_per_second_without": without,
        "writes_per_second_with": with_,
        "writes_change_percent": round(100 * (with_ - without) / without, 1),
        "server_cpu_ms_per_write_without": statistics.median(per_write["without"]),
        "server_cpu_ms_per_write_with": statistics.median(per_write["with"]),
        "idle_cpu_rounds": idle,
        "writes_per_second_rounds": loaded,
        "server_cpu_ms_per_write_rounds": per_write,
        "client_cpu_per_second_rounds": client,
        "events_missed_by_streams": behind,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_tail", description=__doc__)
    parser.add_argument("--database", help="a postgresql:// URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each side (default 3)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds a measure lasts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-live-tail-") as directory:
        database: Path | str = args.database or Path(directory) / "milestones.db"
        result = measure(database, args.rounds, args.seconds, Path(directory))
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
