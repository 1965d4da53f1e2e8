"""The schedule and the changes against an oracle: an independent fold of ``/history``.

Random histories (seeded, so a failure repeats) of moves in every form a due date takes,
renames, status changes and deletes, by several actors; then every figure of both
schedules, of the summary's ``slipped`` and of the changes over windows whose ends fall
exactly on events' ``occurredAt`` is compared with what the oracle folds from the history,
and ``before``/``after`` with what ``?asOf=`` answers, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.integration.test_schedule import ACTOR_HEADER, ActorClient, ok

if TYPE_CHECKING:
    from adapters.bootstrap import Service

PROJECT = "oracle: schedule"
DUE_DATES = [
    None,
    "2026-03-01",
    "2026-03-01T00:00:00Z",  # the same instant as the date
    "2026-03-01T01:00:00+01:00",  # and again
    "2026-03-02",
    "2026-02-27T18:30:00-05:00",
    "2026-03-01T00:00:00.25Z",  # a fraction
    "2026-04-15T09:00:00.125+02:00",
    "2025-12-31",
]
ACTORS = ["alice", "bob", "carol", None]
STATUSES = ["pending", "in_progress", "reached"]
KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]


def due_instant(due_date: str) -> datetime:
    if len(due_date) == len("2026-03-01"):
        return datetime.fromisoformat(due_date).replace(tzinfo=UTC)
    return datetime.fromisoformat(due_date)


def slip(before: str | None, after: str | None) -> float | None:
    if before is None or after is None:
        return None
    return (due_instant(after) - due_instant(before)).total_seconds()


def same_slip(answered: Any, expected: float | None) -> bool:
    """Equal, and an integer exactly when the slip is whole (JSON shows no fraction)."""
    if expected is None:
        return answered is None
    return bool(answered == expected) and isinstance(answered, int) == expected.is_integer()


def oracle_schedule(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The schedule folded from a history as the contract states it."""
    original = current = None
    moves = []
    for event in events:
        if event["type"] == "Created":
            current = event["payload"]["dueDate"]
        elif event["type"] == "Updated" and "dueDate" in event["payload"]:
            value = event["payload"]["dueDate"]
            moves.append((event, current, value))
            current = value
        else:
            continue
        original = original if original is not None else current
    return {
        "originalDueDate": original,
        "dueDate": current,
        "moves": moves,
        "totalSlipSeconds": slip(original, current),
    }


def oracle_state(events: list[dict[str, Any]], instant: str) -> dict[str, Any] | None:
    """The milestone at ``instant`` (inclusive), folded from its history; None if absent."""
    latest = max((e["version"] for e in events if e["occurredAt"] <= instant), default=0)
    document: dict[str, Any] | None = None
    for event in events[:latest]:
        payload = event["payload"]
        if event["type"] == "Created":
            document = {"id": event["milestoneId"], **payload, "createdAt": event["occurredAt"]}
        elif event["type"] == "Deleted":
            document = None
        elif document is not None and event["type"] == "Updated":
            document |= payload
        elif document is not None:
            document |= {"status": payload["to"], "reachedAt": payload["reachedAt"]}
    return None if document is None else {key: document[key] for key in KEYS}


def oracle_change(events: list[dict[str, Any]], since: str, until: str) -> dict[str, Any] | None:
    inside = [event for event in events if since < event["occurredAt"] <= until]
    if not inside:
        return None
    before, after = oracle_state(events, since), oracle_state(events, until)
    fields = [] if before is None or after is None else [k for k in KEYS if before[k] != after[k]]
    if before is None:
        kind = "transient" if after is None else "added"
    elif after is None:
        kind = "removed"
    else:
        kind = "changed" if fields else "unchanged"
    actors: list[str] = []
    for event in inside:
        if event["actor"] is not None and event["actor"] not in actors:
            actors.append(event["actor"])
    return {
        "milestoneId": events[0]["milestoneId"],
        "kind": kind,
        "fields": fields,
        "before": before,
        "after": after,
        "events": len(inside),
        "actors": actors,
    }


def act(client: ActorClient, rng: random.Random, milestone_id: str) -> bool:
    """One random write to a milestone; False once it is deleted."""
    actor = rng.choice(ACTORS)
    headers = {} if actor is None else {ACTOR_HEADER: actor}
    path = f"/api/milestones/{milestone_id}"
    choice = rng.random()
    if choice < 0.08:
        assert client.request("DELETE", path, headers=headers)[0] == 200
        return False
    if choice < 0.6:
        body: dict[str, Any] = {"dueDate": rng.choice(DUE_DATES)}
    elif choice < 0.8:
        body = {"status": rng.choice(STATUSES)}
    else:
        body = {"title": rng.choice(["Beta", "Launch", "Beta"]), "dueDate": rng.choice(DUE_DATES)}
    status, _, answer = client.request("PATCH", path, body, headers)
    assert status == 200, answer
    return True


@pytest.mark.parametrize("seed", [1, 2])
def test_schedules_and_changes_equal_the_fold_of_the_history(service: Service, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not a secret
    client = ActorClient(service)
    # Kept out of the random writes, for a last window that has every kind of change.
    reverted, removed, changed = (client.create(projectId=PROJECT)[0]["id"] for _ in range(3))
    live: list[str] = []
    for number in range(12):
        project = PROJECT if number % 4 else "oracle: another project"
        made, _ = client.create(projectId=project, title="Beta", dueDate=rng.choice(DUE_DATES))
        live.append(made["id"])
        for milestone_id in list(live):
            if rng.random() < 0.5 and not act(client, rng, milestone_id):
                live.remove(milestone_id)
    tail_since = client.history(live[-1] if live else changed)[-1]["occurredAt"]
    _every_kind(client, reverted, removed, changed)
    histories = {pid: client.history(pid) for pid in _every_id(client)}
    ours = {pid: h for pid, h in histories.items() if h[0]["payload"]["projectId"] == PROJECT}
    _check_milestone_schedules(client, histories)
    _check_project_schedule(client, ours)
    instants = sorted({event["occurredAt"] for h in ours.values() for event in h})
    windows = [
        (instants[0], instants[-1]),
        (instants[3], instants[3]),
        ("2000-01-01T00:00:00.000Z", instants[-1]),
    ]
    windows += [tuple(sorted(rng.sample(instants, 2))) for _ in range(6)]
    windows.append((tail_since, instants[-1]))
    kinds: set[str] = set()
    for since, until in windows:
        kinds |= _check_changes(client, ours, since, until, limit=rng.randint(1, 4))
    assert kinds == {"added", "removed", "changed", "unchanged", "transient"}


def _every_kind(client: ActorClient, reverted: str, removed: str, changed: str) -> None:
    """Writes after which each kind of change is in the window that starts before them."""
    for title in ("For a moment", "A milestone"):
        assert client.request("PATCH", f"/api/milestones/{reverted}", {"title": title})[0] == 200
    assert client.request("DELETE", f"/api/milestones/{removed}")[0] == 200
    assert (
        client.request("PATCH", f"/api/milestones/{changed}", {"dueDate": "2026-05-01"})[0] == 200
    )
    transient, _ = client.create(projectId=PROJECT)
    assert client.request("DELETE", f"/api/milestones/{transient['id']}")[0] == 200
    client.create(projectId=PROJECT)  # added


def _every_id(client: ActorClient) -> list[str]:
    return sorted({event["milestoneId"] for event in client.feed()})


def _check_milestone_schedules(
    client: ActorClient, histories: dict[str, list[dict[str, Any]]]
) -> None:
    for pid, events in histories.items():
        answered = ok(client, f"/api/milestones/{pid}/schedule")["data"]
        expected = oracle_schedule(events)
        assert answered["milestoneId"] == pid
        assert answered["originalDueDate"] == expected["originalDueDate"], pid
        assert answered["dueDate"] == expected["dueDate"], pid
        assert answered["changes"] == len(expected["moves"]) == len(answered["moves"]), pid
        assert same_slip(answered["totalSlipSeconds"], expected["totalSlipSeconds"]), pid
        for move, (event, before, after) in zip(answered["moves"], expected["moves"], strict=True):
            assert (move["from"], move["to"]) == (before, after)
            assert same_slip(move["slipSeconds"], slip(before, after)), move
            assert move == {
                "version": event["version"],
                "occurredAt": event["occurredAt"],
                "actor": event["actor"],
                "requestId": event["requestId"],
                "from": before,
                "to": after,
                "slipSeconds": move["slipSeconds"],
            }


def _check_project_schedule(client: ActorClient, ours: dict[str, list[dict[str, Any]]]) -> None:
    live = {pid for pid, events in ours.items() if events[-1]["type"] != "Deleted"}
    rows = []
    for pid in sorted(live):
        expected = oracle_schedule(ours[pid])
        if expected["originalDueDate"] is not None:
            rows.append((pid, expected["totalSlipSeconds"]))
    rows.sort(key=lambda row: (row[1] is None, -(row[1] or 0), row[0]))
    path = f"/api/projects/{quote(PROJECT, safe='')}"
    answered = ok(client, f"{path}/schedule")["data"]
    assert [row["milestoneId"] for row in answered] == [pid for pid, _ in rows]
    for row, (pid, total) in zip(answered, rows, strict=True):
        assert same_slip(row["totalSlipSeconds"], total), pid
        current = client.get(pid)[0]
        assert (row["title"], row["status"], row["dueDate"]) == (
            current["title"],
            current["status"],
            current["dueDate"],
        )
    slipped = [pid for pid, total in rows if total is not None and total > 0]
    assert [
        r["milestoneId"] for r in ok(client, f"{path}/schedule?slipped=true")["data"]
    ] == slipped
    others = [pid for pid, _ in rows if pid not in slipped]
    assert [
        r["milestoneId"] for r in ok(client, f"{path}/schedule?slipped=false")["data"]
    ] == others
    assert ok(client, f"{path}/summary")["data"]["slipped"] == len(slipped)


def _check_changes(
    client: ActorClient,
    ours: dict[str, list[dict[str, Any]]],
    since: str,
    until: str,
    limit: int,
) -> set[str]:
    """Every change of the window compared, over pages of ``limit``; the kinds it had."""
    expected = [
        change
        for pid in sorted(ours)
        if (change := oracle_change(ours[pid], since, until)) is not None
    ]
    window = f"since={quote(since)}&until={quote(until)}&limit={limit}"
    path = f"/api/projects/{quote(PROJECT, safe='')}/changes?{window}"
    answered: list[dict[str, Any]] = []
    body = ok(client, path)
    while True:
        answered += body["data"]
        if body["next"] is None:
            break
        body = ok(client, f"{path}&cursor={body['next']}")
    assert answered == expected, (since, until)
    for change in answered:  # before and after are what time travel answers
        for key, instant in (("before", since), ("after", until)):
            status, _, as_of = client.request(
                "GET", f"/api/milestones/{change['milestoneId']}?asOf={quote(instant)}"
            )
            assert change[key] == (as_of["data"] if status == 200 else None)
    return {change["kind"] for change in answered}
