"""The search index keeps the word rule of ``projections.finding`` for text of any script, and
a SQLite store that kept its words as a table of (id, word) rows gets the index at start.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from adapters.settings import sqlite_path
from projections import runner
from projections.finding import words
from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.bootstrap import Service

PROJECT = "search"
# Letters and digits beyond ASCII, case pairs whose lower case is longer or a final form,
# and separators that are not spaces.
TEXTS = [
    ("İstanbul Straße", "café-au-lait x_y"),
    ("ΟΔΟΣ ǅemal", "½ ٣٤ 東京タワー"),
    ("Kelvin 42kg", "naïve co-op résumé"),
    ("plain", ""),
]
QUERIES = [
    "i", "İst", "i̇st", "stanbul", "straß", "STRASSE", "café", "cafe", "au lait", "x", "y",
    "x_y", "οδος", "οδοσ", "ΟΔΟ", "ǆ", "ǅe", "½", "٣", "٣٤", "東京", "タワー", "kelvin", "42",
    "42k", "kg", "naïve", "naive", "co op", "résumé plain", "plain", "pla in",
]  # fmt: skip


def _ids(api: AppClient, q: str) -> set[str]:
    status, _, body = api.request("GET", f"/api/milestones?{urlencode({'q': q, 'limit': 100})}")
    assert status == 200, body
    return {milestone["id"] for milestone in body["data"]}


def _expected(made: dict[str, tuple[str, str]], q: str) -> set[str]:
    def matches(title: str, description: str) -> bool:
        own = words(title) + words(description)
        return all(any(word.startswith(term) for word in own) for term in words(q))

    return {pid for pid, texts in made.items() if matches(*texts)}


def test_each_query_finds_what_the_word_rule_finds(service: Service) -> None:
    api = AppClient(service)
    made = {
        api.create(projectId=PROJECT, title=title, description=description)[0]["id"]: (
            title,
            description,
        )
        for title, description in TEXTS
    }
    for q in QUERIES:
        assert _ids(api, q) == _expected(made, q), q
    # A change of words leaves none of the old ones behind.
    first = next(iter(made))
    status, _, _ = api.request("PATCH", f"/api/milestones/{first}", {"title": "Ankara"})
    assert status == 200
    made[first] = ("Ankara", made[first][1])
    for q in [*QUERIES, "ankara"]:
        assert _ids(api, q) == _expected(made, q), q
    assert runner.verify(service.store) == []


def _old_words_table(path: str) -> None:
    """The words as an earlier version kept them: a row per word, indexed by word."""
    with closing(sqlite3.connect(path)) as connection, connection:
        documents: list[Any] = connection.execute("SELECT id, title FROM milestones").fetchall()
        connection.execute("DROP TABLE milestones_words")
        connection.execute(
            "CREATE TABLE milestones_words (id TEXT NOT NULL, word TEXT NOT NULL, "
            "PRIMARY KEY (id, word)) WITHOUT ROWID"
        )
        connection.execute("CREATE INDEX milestones_words_by_word ON milestones_words (word, id)")
        connection.executemany(
            "INSERT INTO milestones_words VALUES (?, ?)",
            [(pid, word) for pid, title in documents for word in set(words(title))],
        )


def _kind_of_words_table(path: str) -> str:
    with closing(sqlite3.connect(path)) as connection:
        (sql,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'milestones_words'"
        ).fetchone()
    return "index" if "fts5" in sql.lower() else "table"


@pytest.mark.sqlite_only(reason="the words are in SQLite's own index, read with sqlite3")
def test_a_store_with_a_table_of_words_gets_the_index_at_start(
    database_url: str, open_services: Callable[[], Service]
) -> None:
    api = AppClient(open_services())
    launch = api.create(projectId=PROJECT, title="Beta Launch")[0]["id"]
    alpha = api.create(projectId=PROJECT, title="Alpha")[0]["id"]
    path = sqlite_path(database_url)
    _old_words_table(path)
    assert _kind_of_words_table(path) == "table"
    service = open_services()
    assert _kind_of_words_table(path) == "index"
    api = AppClient(service)
    assert _ids(api, "lau") == {launch}
    assert _ids(api, "al") == {alpha}
    assert runner.verify(service.store) == []


@pytest.mark.sqlite_only(reason="the words are in SQLite's own index, read with sqlite3")
def test_verify_reports_words_missing_from_the_index(database_url: str, service: Service) -> None:
    api = AppClient(service)
    milestone = api.create(projectId=PROJECT, title="Beta Launch")[0]["id"]
    with closing(sqlite3.connect(sqlite_path(database_url))) as connection, connection:
        connection.execute("DELETE FROM milestones_words")
    (difference,) = runner.verify(service.store)
    assert difference[0] == milestone
    assert difference[1]["findKeys"][1] == []
    assert difference[2]["findKeys"][1] == ["beta", "launch"]
