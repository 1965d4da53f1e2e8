"""Finding milestones (due ranges, overdue, search, sorts, keyset pages) against an oracle.

Each test gets a fresh database on each backend. The oracle computes every expected answer
from the whole unfiltered list in Python, with the contract's rules stated afresh here (due
instants as ``datetime``, words by splitting, titles by ``str`` order), and compares it with
the service's answer for many random combinations of parameters, unpaged and paged.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.integration.app_client import AppClient

if TYPE_CHECKING:
    from adapters.bootstrap import Service

Milestone = dict[str, Any]
VOCABULARY = [
    "Beta", "beta", "Launch", "launcher", "LAUNCHED", "review", "Überblick", "überall",
    "straße", "Ärger", "design", "Design2", "v2", "2026", "x-ray", "naïve", "東京", "alpha_beta",
]  # fmt: skip
ROUNDS = 150


@pytest.fixture
def api(service: Service) -> AppClient:
    return AppClient(service)


def _text(rng: random.Random, words: int, *, lines: bool = False) -> str:
    separators = [" ", " ", ", ", "-", ": ", "/", *(["\n"] if lines else [])]
    return "".join(rng.choice(VOCABULARY) + rng.choice(separators) for _ in range(words)).strip()


def _due_date(rng: random.Random, now: datetime) -> str | None:
    """Dates and date-times around now (never within minutes of it), and far ones."""
    kind = rng.randrange(5)
    if kind == 0:
        return None
    if kind == 1:
        return (now.date() + timedelta(days=rng.randint(-3, 3))).isoformat()
    if kind == 2:
        return date(2026, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    offset = rng.choice(["Z", "+05:30", "-08:00", "+00:00"])
    hours = rng.choice([-30, -5, -2, 2, 5, 30])
    instant = (now + timedelta(hours=hours)).replace(microsecond=rng.choice([0, 123000]))
    if offset == "Z":
        return instant.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if kind == 3 else ".5Z")
    return instant.astimezone(
        datetime.fromisoformat("2026-01-01T00:00:00" + offset).tzinfo
    ).isoformat()


def populate(api: AppClient, rng: random.Random, count: int) -> None:
    """Milestones in three projects, some changed, some deleted."""
    now = datetime.now(UTC)
    ids = []
    for _ in range(count):
        body = {
            "projectId": rng.choice(["proj_a", "proj_b", "proj_c"]),
            "title": _text(rng, rng.randint(1, 3)),
            "description": _text(rng, rng.randint(0, 4), lines=True),
            "status": rng.choice(["pending", "in_progress", "reached"]),
            "dueDate": _due_date(rng, now),
        }
        status, _, answer = api.request("POST", "/api/milestones", body)
        assert status == 201, answer
        ids.append(answer["data"]["id"])
    for milestone_id in rng.sample(ids, count // 5):
        change = rng.choice(
            [
                {"title": _text(rng, 2)},
                {"dueDate": _due_date(rng, now)},
                {"status": rng.choice(["pending", "reached"])},
            ]
        )
        assert api.request("PATCH", f"/api/milestones/{milestone_id}", change)[0] == 200
    for milestone_id in rng.sample(ids, count // 10):
        assert api.request("DELETE", f"/api/milestones/{milestone_id}")[0] == 200


# --- The oracle -----------------------------------------------------------------------------


def due_instant(due_date: str) -> datetime:
    if len(due_date) == len("2026-03-01"):
        return datetime.fromisoformat(due_date + "T00:00:00+00:00")
    return datetime.fromisoformat(due_date).astimezone(UTC)


def is_overdue(milestone: Milestone, now: datetime) -> bool:
    due = milestone["dueDate"]
    if milestone["status"] == "reached" or due is None:
        return False
    if len(due) == len("2026-03-01"):
        return now >= due_instant(due) + timedelta(days=1)
    return now > due_instant(due)


def bound(text: str) -> datetime:
    return due_instant(text)


def matches_words(milestone: Milestone, q: str) -> bool:
    words = [
        word.lower()
        for word in re.split(r"[\W_]+", milestone["title"] + " " + milestone["description"])
        if word
    ]
    return all(
        any(word.startswith(term.lower()) for word in words)
        for term in re.split(r"[\W_]+", q)
        if term
    )


def expected(everything: list[Milestone], params: dict[str, str], now: datetime) -> list[str]:
    chosen = []
    for m in everything:
        if "projectId" in params and m["projectId"] != params["projectId"]:
            continue
        if "status" in params and m["status"] != params["status"]:
            continue
        if "dueAfter" in params and (
            m["dueDate"] is None or due_instant(m["dueDate"]) < bound(params["dueAfter"])
        ):
            continue
        if "dueBefore" in params and (
            m["dueDate"] is None or due_instant(m["dueDate"]) >= bound(params["dueBefore"])
        ):
            continue
        if "overdue" in params and is_overdue(m, now) != (params["overdue"] == "true"):
            continue
        if "q" in params and not matches_words(m, params["q"]):
            continue
        chosen.append(m)
    sort = params.get("sort", "createdAt")
    backwards, field = sort.startswith("-"), sort.lstrip("-")
    if field == "createdAt":
        ordered = sorted(chosen, key=lambda m: (m["createdAt"], m["id"]), reverse=backwards)
    elif field == "title":
        ordered = sorted(chosen, key=lambda m: (m["title"], m["id"]), reverse=backwards)
    else:
        due = sorted(
            (m for m in chosen if m["dueDate"] is not None),
            key=lambda m: (due_instant(m["dueDate"]), m["id"]),
            reverse=backwards,
        )
        undue = sorted(
            (m for m in chosen if m["dueDate"] is None), key=lambda m: m["id"], reverse=backwards
        )
        ordered = due + undue
    return [m["id"] for m in ordered]


def random_params(rng: random.Random, now: datetime) -> dict[str, str]:
    today = now.date()
    choices: dict[str, list[str]] = {
        "projectId": ["proj_a", "proj_b", "proj_c", "proj_none"],
        "status": ["pending", "in_progress", "reached"],
        "dueAfter": [
            (today - timedelta(days=1)).isoformat(), "2026-03-01", "2026-06-15T12:00:00+02:00",
            (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ],
        "dueBefore": [
            (today + timedelta(days=2)).isoformat(), "2026-09-01", "2026-07-01T00:00:00-05:00",
            (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.123Z"),
        ],
        "overdue": ["true", "false"],
        "q": [
            "beta", "LAUN", "launch beta", "über", "ÜBER", "stra", "x ray", "東", "v", "2026",
            "design2", "zzz", "!!",
        ],
        "sort": ["createdAt", "-createdAt", "dueDate", "-dueDate", "title", "-title"],
    }  # fmt: skip
    return {name: rng.choice(values) for name, values in choices.items() if rng.random() < 0.35}


def listing(api: AppClient, params: dict[str, str]) -> list[str]:
    status, headers, body = api.request("GET", f"/api/milestones?{urlencode(params)}")
    assert status == 200, body
    assert body["count"] == len(body["data"])
    assert "next" not in body
    assert headers.get("Link") is None
    return [m["id"] for m in body["data"]]


def paged(api: AppClient, params: dict[str, str], limit: int) -> list[str]:
    """Every page from the first, by ``next``, checking the Link header against it."""
    seen: list[str] = []
    query = {**params, "limit": str(limit)}
    while True:
        status, headers, body = api.request("GET", f"/api/milestones?{urlencode(query)}")
        assert status == 200, body
        assert body["count"] == len(body["data"]) <= limit
        seen += [m["id"] for m in body["data"]]
        if body["next"] is None:
            assert headers.get("Link") is None
            return seen
        assert body["count"] == limit
        link = headers["Link"]
        assert link.endswith('>; rel="next"')
        assert link.startswith("<")
        linked = parse_qs(urlsplit(link[1:].partition(">")[0]).query)
        assert linked == {
            **{k: [v] for k, v in query.items() if k != "cursor"},
            "cursor": [body["next"]],
        }
        query = {**query, "cursor": body["next"]}


def test_every_combination_agrees_with_the_oracle(api: AppClient) -> None:
    rng = random.Random(20260301)  # noqa: S311 - reproducible, not secret
    populate(api, rng, 120)
    everything = api.request("GET", "/api/milestones")[2]["data"]
    for _ in range(ROUNDS):
        now = datetime.now(UTC)
        params = random_params(rng, now)
        want = expected(everything, params, now)
        assert listing(api, params) == want, params
        assert paged(api, params, rng.choice([1, 3, 7, 50])) == want, params


def test_words_begin_words_case_insensitively(api: AppClient) -> None:
    first = api.create(projectId="words", title="Beta Launch", description="")[0]["id"]
    api.create(projectId="words", title="Alphabet", description="relaunch")
    assert listing(api, {"projectId": "words", "q": "beta lau"}) == [first]
    assert listing(api, {"projectId": "words", "q": "BETA"}) == [first]
    assert listing(api, {"projectId": "words", "q": "eta"}) == []
    assert listing(api, {"projectId": "words", "q": "launch alpha"}) == []
