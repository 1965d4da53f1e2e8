"""Keyset pages while milestones change, every refused list parameter, and the find keys kept
with the view: written live, given to a view written before they existed, verified, rebuilt.

Each test gets a fresh database on each backend.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from contextlib import closing
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import psycopg
import pytest

from adapters.settings import sqlite_path
from projections import runner
from tests.api_client import assert_problem
from tests.integration.app_client import AppClient
from tests.integration.conftest import backend_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service

PROJECT = "pages"


@pytest.fixture
def api(service: Service) -> AppClient:
    return AppClient(service)


def _page(api: AppClient, query: dict[str, str]) -> dict[str, Any]:
    status, _, body = api.request("GET", f"/api/milestones?{urlencode(query)}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def _seed(api: AppClient, rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        api.create(
            projectId=PROJECT,
            title=f"T{rng.randrange(1000):03d}",
            dueDate=rng.choice([None, "2026-03-01", "2026-03-01T12:00:00+01:00", "2026-05-17"]),
        )[0]
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    "sort", ["createdAt", "-createdAt", "dueDate", "-dueDate", "title", "-title"]
)
def test_pages_hold_every_unchanged_match_once_while_others_change(
    api: AppClient, sort: str
) -> None:
    """A writer creates, retitles, re-dates and deletes milestones while the pages are read;
    every milestone it never touched comes exactly once, in order."""
    rng = random.Random(sort)  # noqa: S311 - reproducible, not secret
    initial = _seed(api, rng, 80)
    untouched = {m["id"] for m in initial}
    order = [m["id"] for m in _page(api, {"projectId": PROJECT, "sort": sort})["data"]]
    stop = threading.Event()

    def write() -> None:
        writer = random.Random(7)  # noqa: S311 - reproducible, not secret
        while not stop.is_set():
            target = writer.choice(initial)["id"]
            untouched.discard(target)
            action = writer.randrange(3)
            if action == 0:
                api.create(
                    projectId=PROJECT, title=f"T{writer.randrange(1000):03d}", dueDate="2026-04-01"
                )
            elif action == 1:
                change = writer.choice(
                    [{"title": f"T{writer.randrange(1000):03d}"}, {"dueDate": None}]
                )
                api.request("PATCH", f"/api/milestones/{target}", change)
            else:
                api.request("DELETE", f"/api/milestones/{target}")

    thread = threading.Thread(target=write)
    thread.start()
    seen: list[str] = []
    query = {"projectId": PROJECT, "sort": sort, "limit": "6"}
    try:
        while True:
            body = _page(api, query)
            seen += [m["id"] for m in body["data"]]
            if body["next"] is None:
                break
            query["cursor"] = body["next"]
    finally:
        stop.set()
        thread.join()
    kept = [i for i in seen if i in untouched]
    assert sorted(kept) == sorted(untouched), "an untouched milestone was missed or repeated"
    assert kept == [i for i in order if i in untouched]


def test_a_page_starts_after_the_last_row_not_at_an_offset(api: AppClient) -> None:
    first, second, third = (api.create(projectId=PROJECT, title=t)[0]["id"] for t in "ABC")
    page = _page(api, {"projectId": PROJECT, "sort": "title", "limit": "1"})
    assert [m["id"] for m in page["data"]] == [first]
    api.request("DELETE", f"/api/milestones/{first}")
    api.create(projectId=PROJECT, title="0 before everything")
    query = {"projectId": PROJECT, "sort": "title", "limit": "5", "cursor": page["next"]}
    rest = _page(api, query)
    assert [m["id"] for m in rest["data"]] == [second, third]
    assert rest["next"] is None


# --- Refused parameters ---------------------------------------------------------------------

BAD_VALUES = {
    "dueAfter": ["2026-02-30", "2026-03-01T25:00Z", "tomorrow", "2026-03-01T10:00", "03/01/2026"],
    "dueBefore": ["2026-13-01", "2026-3-1", "2026-03-01 00:00:00Z"],
    "overdue": ["yes", "1", "TRUE", "False"],
    "q": ["x" * 1001],
    "sort": ["due", "+title", "createdat", "id"],
    "limit": ["0", "1001", "ten", "-1", "1.5"],
    "cursor": ["abc", "a.b.c", "!!!.xx", "x" * 2001],
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD_VALUES.items() for value in values]
)
def test_a_bad_value_is_a_400_naming_its_parameter(api: AppClient, name: str, value: str) -> None:
    query = urlencode({"projectId": PROJECT, "limit": "5", name: value})
    assert_problem(api.request("GET", f"/api/milestones?{query}"), 400, {name})


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_each_parameter_given_twice_or_empty_is_a_400(api: AppClient, name: str) -> None:
    assert_problem(api.request("GET", f"/api/milestones?{name}=&projectId=p"), 400, {name})
    twice = urlencode([(name, "1"), (name, "2")])
    assert_problem(api.request("GET", f"/api/milestones?{twice}"), 400, {name})


def test_a_cursor_of_other_filters_another_sort_or_altered_is_a_400(api: AppClient) -> None:
    for number in range(3):
        api.create(projectId=PROJECT, title=f"Alpha Beta {number}", dueDate="2026-03-01")
    base = {"projectId": PROJECT, "sort": "title", "q": "a b", "limit": "1"}
    cursor = _page(api, base)["next"]
    assert _page(api, {**base, "cursor": cursor, "limit": "2"})["count"] == 2
    others = [
        {"projectId": "other"},
        {"sort": "-title"},
        {"q": "a"},
        {"status": "pending"},
        {"dueAfter": "2026-01-01"},
        {"overdue": "false"},
    ]
    for other in others:
        status, _, problem = api.request(
            "GET", f"/api/milestones?{urlencode({**base, **other, 'cursor': cursor})}"
        )
        assert_problem((status, _, problem), 400, {"cursor"})
    payload, _, digest = cursor.partition(".")
    for altered in [payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + digest, payload]:
        query = urlencode({**base, "cursor": altered})
        assert_problem(api.request("GET", f"/api/milestones?{query}"), 400, {"cursor"})


def test_without_limit_the_list_is_whole_and_has_no_next(api: AppClient) -> None:
    ids = [api.create(projectId=PROJECT, title=f"M{i}")[0]["id"] for i in range(3)]
    status, headers, body = api.request("GET", f"/api/milestones?projectId={PROJECT}")
    assert (status, [m["id"] for m in body["data"]], body["count"]) == (200, ids, 3)
    assert "next" not in body
    assert headers.get("Link") is None
    last = _page(api, {"projectId": PROJECT, "limit": "3"})
    assert (last["count"], last["next"]) == (3, None)


# --- The find keys beside the view ----------------------------------------------------------


def _execute(database_url: str, statements: list[str]) -> None:
    if backend_of(database_url) == "sqlite":
        with closing(sqlite3.connect(sqlite_path(database_url))) as connection:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
    else:
        with psycopg.connect(database_url, connect_timeout=5) as connection:
            for statement in statements:
                connection.execute(statement)


OLD_VIEW = [
    *(
        f"DROP INDEX milestones_{name}"
        for name in ["by_project_due", "by_project_title", "by_due", "by_title", "by_created"]
    ),
    "ALTER TABLE milestones DROP COLUMN title",
    "ALTER TABLE milestones DROP COLUMN due_at",
    "ALTER TABLE milestones DROP COLUMN late_at",
    "DROP TABLE milestones_words",
]


def test_a_view_written_before_finding_gets_its_keys_at_start(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    api = AppClient(open_services())
    late = api.create(projectId=PROJECT, title="Beta Launch", dueDate="2020-01-01")[0]["id"]
    soon = api.create(projectId=PROJECT, title="Alpha", dueDate="2999-01-01T00:00:00Z")[0]["id"]
    _execute(database_url, OLD_VIEW)
    service = open_services()
    api = AppClient(service)
    assert [m["id"] for m in _page(api, {"q": "lau"})["data"]] == [late]
    assert [m["id"] for m in _page(api, {"sort": "title"})["data"]] == [soon, late]
    assert [m["id"] for m in _page(api, {"overdue": "true"})["data"]] == [late]
    assert runner.verify(service.store) == []


def test_verify_finds_wrong_keys_or_words_and_a_rebuild_restores_them(
    database_url: str, service: Service
) -> None:
    api = AppClient(service)
    milestone = api.create(projectId=PROJECT, title="Beta Launch", dueDate="2026-03-01")[0]
    api.request("PATCH", f"/api/milestones/{milestone['id']}", {"title": "Gamma Launch"})
    assert runner.verify(service.store) == []
    _execute(
        database_url,
        [
            "UPDATE milestones SET due_at = '2030-01-01T00:00:00.000000'",
            f"INSERT INTO milestones_words VALUES ('{milestone['id']}', 'zeta')",  # noqa: S608
        ],
    )
    (difference,) = runner.verify(service.store)
    assert difference[0] == milestone["id"]
    assert difference[1] is not None
    assert difference[2] is not None
    assert difference[1]["findKeys"] != difference[2]["findKeys"]
    runner.rebuild(service.store, lambda done, total: None)
    assert runner.verify(service.store) == []
    assert [m["id"] for m in _page(api, {"q": "gam", "dueBefore": "2026-03-02"})["data"]] == [
        milestone["id"]
    ]
    assert _page(api, {"q": "beta"})["data"] == []
