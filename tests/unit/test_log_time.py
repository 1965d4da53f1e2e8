"""The access log's clock writes instants exactly as every other instant is written."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from adapters.http.log_time import LogClock
from domain.milestone import format_instant


@pytest.mark.parametrize(
    "seconds",
    [
        0.0,
        1_767_225_599.9995,
        1_767_225_600.0,
        1_767_225_600.001,
        1_790_000_000.123456,
        951_782_400.5,
    ],
)
def test_the_text_is_format_instant_of_the_same_moment(seconds: float) -> None:
    expected = format_instant(datetime.fromtimestamp(seconds, UTC))
    assert LogClock().text_of(seconds) == expected


def test_a_kept_second_is_not_reused_for_the_next() -> None:
    clock = LogClock()
    assert clock.text_of(1_767_225_599.25) == "2025-12-31T23:59:59.250Z"
    assert clock.text_of(1_767_225_600.5) == "2026-01-01T00:00:00.500Z"
    assert clock.text_of(1_767_225_599.75) == "2025-12-31T23:59:59.750Z"


def test_now_is_the_current_instant() -> None:
    before = format_instant(datetime.now(UTC))
    now = LogClock().now()
    after = format_instant(datetime.now(UTC))
    assert before <= now <= after


def test_any_moment_reads_as_format_instant_reads_it() -> None:
    generator = random.Random(20)  # noqa: S311 - reproducible moments, not secrets
    clock = LogClock()
    for _ in range(5_000):
        seconds = generator.uniform(0, 4_102_444_800)  # up to 2100
        assert clock.text_of(seconds) == format_instant(datetime.fromtimestamp(seconds, UTC))
