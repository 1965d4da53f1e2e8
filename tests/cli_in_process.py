"""The ``milestones`` command run inside the test's process, as a subprocess would see it.

Starting a Python process that imports the service costs about a second of CPU; the
operator's tools (export, import, history, projection ...) run the same code in process
in a few milliseconds. ``run_milestones_in_process`` gives what ``subprocess.run`` gives:
the exit status (argparse's ``SystemExit`` included), stdout and stderr as bytes, with the
environment replaced by the one given and stdin fed from bytes. Whatever a command does
not catch propagates and fails the test, where a subprocess would print a traceback.

``serve`` and ``deliver`` install signal handlers and run until stopped: they stay
subprocesses (their ``--help`` aside), as do the tests of what an operator sees of a
process (its exit status, no traceback on stderr).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from adapters.cli.main import main

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

IN_PROCESS_REFUSED = frozenset({"serve", "deliver"})


@contextmanager
def _standard_streams(stdin: bytes) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """sys.stdin reads ``stdin``; what goes to sys.stdout and sys.stderr is kept as bytes."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = {
        "stdin": io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
        "stdout": io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        "stderr": io.TextIOWrapper(err, encoding="utf-8", write_through=True),
    }
    saved = {name: getattr(sys, name) for name in streams}
    for name, stream in streams.items():
        setattr(sys, name, stream)
    try:
        yield out, err
    finally:
        for name, stream in streams.items():
            setattr(sys, name, saved[name])
            stream.detach()  # flushed, and its buffer left open for the caller to read


def _exit_status(code: object) -> int:
    """The status a process would exit with after ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"): the message, and status 1
    return 1


def run_milestones_in_process(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: bytes = b"",
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``milestones ARGS...`` with exactly ``env`` as its environment (and ``cwd``)."""
    if IN_PROCESS_REFUSED.intersection(args[:1]) and not {"-h", "--help"} & set(args):
        msg = f"`milestones {args[0]}` runs until stopped: start it as a process"
        raise ValueError(msg)
    previous_directory = Path.cwd()
    with mock.patch.dict(os.environ, env, clear=True), _standard_streams(stdin) as (out, err):
        if cwd is not None:
            os.chdir(cwd)
        try:
            status = main(list(args))
        except SystemExit as exit_:
            status = _exit_status(exit_.code)
        finally:
            os.chdir(previous_directory)
    return subprocess.CompletedProcess(
        ["milestones", *args], status, out.getvalue(), err.getvalue()
    )
