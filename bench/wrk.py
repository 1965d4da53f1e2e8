"""wrk: make sure it is there, run it, read its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "lua"
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = r"([\d.]+)(us|ms|s|m|h)"


class WrkMissing(RuntimeError):
    """wrk is not installed and could not be installed here."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    # A run with errors measured something else than the operation; the report flags it.
    non_2xx: int
    socket_errors: int


def ensure_wrk() -> str:
    """The path of wrk, installing the Debian package first when we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        msg = "wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu)"
        raise WrkMissing(msg)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "wrk"]
    sys.stderr.write("wrk not found; installing the Debian package\n")
    if subprocess.run(install, env=env, check=False).returncode != 0:  # noqa: S603
        # A fresh machine may not have package lists yet.
        subprocess.run(["apt-get", "update"], env=env, check=False)  # noqa: S607
        subprocess.run(install, env=env, check=False)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("could not install wrk with apt-get; install it and run again")
    return found


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    text = completed.stdout + completed.stderr
    return text.splitlines()[0].strip() if text else "unknown"


def run(
    wrk: str,
    url: str,
    script: str,
    script_args: list[str],
    *,
    duration: int,
    connections: int,
    threads: int,
) -> WrkResult:
    argv = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration}s",
        # A slow durable write is latency to measure, not a timeout to drop.
        "--timeout=10s",
        "--latency",
        f"--script={SCRIPTS / script}",
        url,
        "--",
        *script_args,
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        msg = f"wrk failed ({completed.returncode}): {completed.stderr.strip()}"
        raise RuntimeError(msg)
    return parse(completed.stdout)


def parse(report: str) -> WrkResult:
    """The figures of a ``wrk --latency`` report."""

    def number(pattern: str) -> re.Match[str]:
        match = re.search(pattern, report)
        if match is None:
            msg = f"no {pattern!r} in the wrk report:\n{report}"
            raise ValueError(msg)
        return match

    totals = number(r"(\d+) requests in " + r"([\d.]+)(us|ms|s|m|h)")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return WrkResult(
        requests=int(totals[1]),
        seconds=_milliseconds(totals[2], totals[3]) / 1000,
        requests_per_second=float(number(r"Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=_milliseconds(*number(r"\b50%\s+" + _LATENCY).groups()),
        p99_ms=_milliseconds(*number(r"\b99%\s+" + _LATENCY).groups()),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
    )


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]
