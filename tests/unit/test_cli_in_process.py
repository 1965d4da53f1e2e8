"""The in-process runner of the ``milestones`` command gives what a process would."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.cli_in_process import run_milestones_in_process


def test_a_usage_error_is_status_2_on_stderr_and_leaves_the_streams_as_they_were() -> None:
    streams = (sys.stdin, sys.stdout, sys.stderr)
    result = run_milestones_in_process(["bogus"], {})
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.startswith(b"usage: milestones")
    assert (sys.stdin, sys.stdout, sys.stderr) == streams


def test_stdin_env_and_cwd_are_the_commands_own(tmp_path: Path) -> None:
    before = (dict(os.environ), Path.cwd())
    (tmp_path / "var").mkdir()
    # Without DATABASE_URL the default file is relative to the working directory.
    exported = run_milestones_in_process(["import"], {}, stdin=b"", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert b"imported 0 events" in exported.stderr
    assert (tmp_path / "var" / "milestones.db").exists()
    assert (dict(os.environ), Path.cwd()) == before


@pytest.mark.parametrize("command", ["serve", "deliver"])
def test_commands_that_run_until_stopped_are_refused(command: str) -> None:
    with pytest.raises(ValueError, match="start it as a process"):
        run_milestones_in_process([command], {})
    helped = run_milestones_in_process([command, "--help"], {})
    assert helped.returncode == 0
    assert helped.stdout.startswith(f"usage: milestones {command}".encode())
