"""A worker told at once when the arbiter dies.

Killed outright (``kill -9``, the OOM killer), the arbiter cannot stop its workers; each
would keep its listeners open for its whole grace period. A worker asks Linux for a
SIGTERM when its parent dies and stops as it does on any SIGTERM.
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def stop_with_parent() -> None:
    """Ask Linux for a SIGTERM when the parent dies (for a child of the arbiter: when the
    thread that started it ends), so that the child stops at once, not at its next look
    at its parent."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
