"""The event log as clients see it, checked against the read model, with no code of the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.client import Client

KEYS = ("id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt")
Folded = dict[str, tuple[int, dict[str, Any] | None]]  # id -> (last version, document or None)


def assert_one_created(client: Client, head: int, milestone_id: str) -> None:
    """The log grew by one event since ``head``: this milestone's Created.

    Read from the feed rather than as the head's growth: on PostgreSQL an insert that lost
    a race (in an earlier test) has taken a position of the sequence, so the head may move
    on by more than the events it gained.
    """
    events = client.feed(after=head)
    assert [(e["milestoneId"], e["version"], e["type"]) for e in events] == [
        (milestone_id, 1, "Created")
    ], events


def fold_events(events: list[dict[str, Any]]) -> Folded:
    """The documents the events make, by the contract's rules, with no code of the service.

    A Created payload holds every initial field and its time is createdAt; Updated holds the
    changed fields; StatusChanged sets status and reachedAt; Deleted removes the milestone.
    Checks on the way that each milestone's versions count 1, 2, 3... in feed order.
    """
    folded: Folded = {}
    for event in events:
        milestone_id, version, payload = event["milestoneId"], event["version"], event["payload"]
        last, document = folded.get(milestone_id, (0, None))
        assert version == last + 1, ("versions out of order", event, last)
        if event["type"] == "Created":
            assert last == 0, event
            fields = {**payload, "id": milestone_id, "createdAt": event["occurredAt"]}
            document = {key: fields[key] for key in KEYS}
        else:
            assert document is not None, ("an event after the milestone was deleted", event)
            if event["type"] == "Updated":
                assert payload, event
                assert set(payload) <= set(KEYS) - {"id", "projectId", "createdAt"}, event
                document = document | payload
            elif event["type"] == "StatusChanged":
                assert payload["from"] == document["status"] != payload["to"], event
                document = document | {"status": payload["to"], "reachedAt": payload["reachedAt"]}
            else:
                assert event["type"] == "Deleted", event
                assert payload == {}, event
                document = None
        folded[milestone_id] = (version, document)
    return folded


def check_feed_against_read_model(clients: list[Client]) -> list[dict[str, Any]]:
    """The feed from after=0 and the read model agree, through every client; the feed.

    The feed has each event once, in strictly increasing positions, the same through every
    client and ending at /ready's head; each milestone's events in it are its history; the
    documents they fold to are what GET answers (ETag: the last version), the deleted ones
    are 404, and the list of milestones holds exactly the live ones.
    """
    feed = clients[0].feed()
    positions = [event["position"] for event in feed]
    assert positions == sorted(set(positions)), "positions not strictly increasing"
    assert len({(e["milestoneId"], e["version"]) for e in feed}) == len(feed)
    folded = fold_events(feed)
    live = {mid: doc for mid, (_, doc) in folded.items() if doc is not None}
    by_milestone: dict[str, list[dict[str, Any]]] = {}
    for event in feed:
        by_milestone.setdefault(event["milestoneId"], []).append(
            {key: value for key, value in event.items() if key != "position"}
        )
    for client in clients:
        assert client.feed() == feed
        ready = client.ready()
        assert ready["lag"] == 0, ready
        assert ready["head"] == (positions[-1] if positions else 0), ready
        status, _, listed = client.request("GET", "/api/milestones")
        assert status == 200, listed
        assert {item["id"]: item for item in listed["data"]} == live
        for milestone_id, (version, document) in folded.items():
            assert client.history(milestone_id) == by_milestone[milestone_id]
            status, headers, body = client.request("GET", f"/api/milestones/{milestone_id}")
            if document is None:
                assert status == 404, body
            else:
                assert (status, headers["ETag"], body) == (200, f'"{version}"', {"data": document})
    return feed
