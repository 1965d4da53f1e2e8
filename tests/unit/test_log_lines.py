"""Access log lines are written in batches of whole lines, each batch within a pipe's
atomic write, and none is lost or repeated."""

from __future__ import annotations

import threading
import time

from adapters.http.log_lines import ATOMIC_WRITE, BatchedLines


class Sink:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.wrote = threading.Event()

    def __call__(self, data: bytes) -> None:
        self.writes.append(data)
        self.wrote.set()


def _line(number: int) -> bytes:
    return b'{"n":%d,"pad":"%b"}\n' % (number, b"x" * 150)


def test_lines_from_many_threads_arrive_whole_once_each_in_few_writes() -> None:
    sink = Sink()
    log = BatchedLines(sink, delay=0.01)

    def log_some(start: int) -> None:
        for number in range(start, start + 500):
            log(_line(number))

    threads = [threading.Thread(target=log_some, args=(n * 500,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.flush()
    assert all(len(data) <= ATOMIC_WRITE and data.endswith(b"\n") for data in sink.writes)
    lines = b"".join(sink.writes).splitlines(keepends=True)
    assert sorted(lines) == sorted(_line(n) for n in range(4000))
    assert len(sink.writes) < len(lines) / 10  # batched, not a write per line


def test_a_lone_line_is_written_after_the_delay_without_a_flush() -> None:
    sink = Sink()
    log = BatchedLines(sink, delay=0.01)
    started = time.monotonic()
    log(_line(1))
    assert sink.wrote.wait(5)
    assert time.monotonic() - started >= 0.01
    assert sink.writes == [_line(1)]


def test_a_line_longer_than_an_atomic_write_goes_alone() -> None:
    sink = Sink()
    log = BatchedLines(sink, delay=60)
    long_line = b"{" + b"y" * (ATOMIC_WRITE + 10) + b"}\n"
    log(_line(1))
    log(long_line)
    log(_line(2))
    log.flush()
    assert sink.writes == [_line(1), long_line, _line(2)]
