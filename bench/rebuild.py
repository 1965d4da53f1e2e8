"""The read-model rebuild beside the rate of simply reading and decoding the same log."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from bench.services import PROJECT_ROOT, milestones_command

if TYPE_CHECKING:
    from pathlib import Path

_RATE = re.compile(r"([\d,]+) events/s")
BARE_SELECT = (
    "SELECT rowid, originator_id, originator_version, topic, state "
    "FROM stored_events ORDER BY rowid"
)


@dataclass(frozen=True)
class BareRead:
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class Rebuild:
    available: bool
    events_per_second: float | None = None  # the command's own figure
    seconds: float | None = None  # wall time of the whole command, start-up included
    last_line: str = ""
    returncode: int = 0


def bare_read(database: Path) -> BareRead:
    """Every stored event in log order, each state decoded: the floor under any rebuild."""
    connection = sqlite3.connect(database)
    try:
        started = time.perf_counter()
        events = 0
        for _, _, _, _, state in connection.execute(BARE_SELECT):
            orjson.loads(state)
            events += 1
        return BareRead(events, time.perf_counter() - started)
    finally:
        connection.close()


def best_bare_read(database: Path, runs: int = 2) -> BareRead:
    """The fastest of a few runs: the first may pay for the page cache; the ratio stays strict."""
    return min((bare_read(database) for _ in range(runs)), key=lambda read: read.seconds)


def rebuild(database: Path, projection: str | None = None) -> Rebuild:
    """Time ``milestones projection rebuild [PROJECTION]`` (default: every projection, in
    one pass; its last line's figure is the whole pass's); not available until the CLI has it."""
    argv = [milestones_command(), "projection", "rebuild", *([projection] if projection else [])]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database.resolve()}"}
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our own command line
        argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    output = (completed.stdout + completed.stderr).strip()
    if completed.returncode != 0:
        # argparse's answer to a subcommand that does not exist (yet).
        if "invalid choice" in output:
            return Rebuild(available=False)
        last = output.splitlines()[-1] if output else ""
        return Rebuild(True, None, seconds, last, completed.returncode)
    last_line = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    # The figure is on the last line; failing that, the last figure printed anywhere.
    figures = _RATE.findall(last_line) or _RATE.findall(output)
    rate = float(figures[-1].replace(",", "")) if figures else None
    return Rebuild(True, rate, seconds, last_line)
