"""What the live view's fold made of each milestone in the batch this thread last recorded.

A write's answer is the document its recording put in the view: the fold runs while the
batch is recorded, in the thread that records it, so the thread keeps the documents of its
last fold for the application to hand to each command. Only one batch's documents are kept
per thread, and taking them lets them go.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from projections.fold import Row

_last = threading.local()


def publish(rows: Mapping[str, Row]) -> None:
    """Keep the fold's last row of each milestone: (version, document or None if deleted)."""
    _last.rows = rows


def take() -> Mapping[str, Row]:
    """The rows of this thread's last fold, once: a second take finds none."""
    rows: Mapping[str, Row] = getattr(_last, "rows", {})
    _last.rows = {}
    return rows
