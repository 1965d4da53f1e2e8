"""The due rules: a date's whole day is on time, a date-time is due at its instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.due import END_OF_TIME, due_instant, is_late, late_from

MS = timedelta(milliseconds=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("due_date", "instant"),
    [
        ("2026-03-01", "2026-03-01T00:00:00Z"),
        ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-03-01T10:30Z", "2026-03-01T10:30:00Z"),
        ("2026-03-01T01:00:00+02:00", "2026-02-28T23:00:00Z"),
        ("2026-03-01T00:00:00.123456789-05:00", "2026-03-01T05:00:00.123456Z"),
    ],
)
def test_the_due_instant_of_each_form(due_date: str, instant: str) -> None:
    assert due_instant(due_date) == at(instant)


def test_a_date_is_on_time_for_the_whole_day() -> None:
    assert late_from("2026-03-01") == at("2026-03-02T00:00:00Z")
    assert not is_late("2026-03-01", at("2026-03-01T23:59:59.999Z"))
    assert is_late("2026-03-01", at("2026-03-02T00:00:00Z"))


def test_a_date_time_is_late_just_after_it() -> None:
    due = "2026-03-01T12:00:00+01:00"
    assert not is_late(due, at("2026-03-01T11:00:00Z"))
    assert is_late(due, at("2026-03-01T11:00:00Z") + MS)
    assert not is_late(due, at("2026-03-01T10:59:59.999Z"))


def test_the_end_of_the_calendar_is_never_late() -> None:
    assert late_from("9999-12-31") == END_OF_TIME
    assert due_instant("9999-12-31T23:00:00-05:00") == END_OF_TIME
    assert not is_late("9999-12-31", at("9999-12-31T23:59:59.999Z"))
