"""The find keys of a document, the words of a text, and cursors: no I/O."""

from __future__ import annotations

import pytest

from adapters.contract.models import ListQuery
from adapters.contract.validation import ValidationFailed, parse_query
from adapters.http.paging import list_find
from adapters.storage.sql import find_queries
from projections.finding import Find, keys_of, prefix_end, words, words_of

DOCUMENT = {"title": "Beta Launch", "description": "x-ray: Überblick, v2_final", "dueDate": None}


@pytest.mark.parametrize(
    ("due_date", "due_at", "late_at"),
    [
        ("2026-03-01", "2026-03-01T00:00:00.000000", "2026-03-02T00:00:00.000000"),
        ("2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00.000000", "2026-02-28T23:30:00.000001"),
        ("2026-03-01T10:00:00.12345Z", "2026-03-01T10:00:00.123450", "2026-03-01T10:00:00.123451"),
        ("0001-01-01", "0001-01-01T00:00:00.000000", "0001-01-02T00:00:00.000000"),
        ("9999-12-31", "9999-12-31T00:00:00.000000", "9999-12-31T23:59:59.999999"),
    ],
)  # fmt: skip
def test_due_and_late_keys_are_fixed_width_utc(due_date: str, due_at: str, late_at: str) -> None:
    assert keys_of({**DOCUMENT, "dueDate": due_date}) == ("Beta Launch", due_at, late_at)


def test_a_milestone_without_due_date_has_no_due_keys() -> None:
    assert keys_of(DOCUMENT) == ("Beta Launch", None, None)


def test_words_are_runs_of_letters_and_digits_lower_cased() -> None:
    assert words("Beta-Launch: v2_final Überblick 東京") == [
        "beta", "launch", "v2", "final", "überblick", "東京",
    ]  # fmt: skip
    assert words_of(DOCUMENT) == ["beta", "final", "launch", "ray", "v2", "x", "überblick"]
    assert words("!! --") == []


def test_prefix_end_bounds_every_word_with_the_prefix() -> None:
    assert prefix_end("bet") == "beu"
    assert "beta" < prefix_end("bet") <= "beu"
    assert prefix_end("a\ud7ff") == "a\ue000"  # over the surrogates, which no text holds


def _find(**params: str) -> Find:
    return list_find(parse_query(ListQuery, params))


def test_a_cursor_carries_on_the_list_it_was_made_for() -> None:
    from adapters.http.paging import _binding, _cursor  # noqa: PLC0415

    find = _find(projectId="p", sort="dueDate", limit="10")
    cursor = _cursor((None, "ms_1"), _binding(find))
    assert _find(projectId="p", sort="dueDate", limit="5", cursor=cursor).after == (None, "ms_1")
    with pytest.raises(ValidationFailed) as refused:
        _find(projectId="p", sort="-dueDate", limit="5", cursor=cursor)
    assert refused.value.errors[0]["field"] == "cursor"


def test_the_due_orders_read_the_milestones_without_due_date_last() -> None:
    first, undue = find_queries(Find(sort="-dueDate", limit=5), "v", "?")
    assert "due_at IS NOT NULL" in first[0]
    assert "ORDER BY due_at DESC, id DESC LIMIT 6" in first[0]
    assert "due_at IS NULL" in undue[0]
    assert undue[0].endswith("ORDER BY due_at DESC, id DESC LIMIT 6")
    (only_undue,) = find_queries(Find(sort="dueDate", limit=5, after=(None, "ms_1")), "v", "?")
    assert only_undue[1] == ["ms_1"]
    (only_due,) = find_queries(Find(sort="dueDate", overdue=True, now="n"), "v", "?")
    assert "due_at IS NOT NULL" in only_due[0]
