"""The live tail's shared read against the real reads of each backend.

The filters a stream applies in memory to the shared read must give what the feed's own
query gives, and a reader that moves between its own reads and the shared one must see
each matching event once, in log order, whatever the writes do meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from adapters.http.tail_feed import Cursor, SharedFeed, matches
from domain.caller import Caller
from projections.ports import EventFilter

if TYPE_CHECKING:
    from adapters.bootstrap import Service
    from projections.records import Record


def write_mixed(service: Service, rounds: int) -> None:
    """Events of two projects and two actors, of every type."""
    app = service.milestones
    for number in range(rounds):
        caller = Caller("alice" if number % 2 else "bob", f"req-{number}")
        made = app.create(project_id=f"proj_{number % 2}", title=f"m{number}", caller=caller)
        app.update(made.id, {"title": f"renamed {number}"}, caller=caller)
        if number % 3 == 0:
            app.update(made.id, {"status": "reached"}, caller=caller)
        if number % 4 == 0:
            app.delete(made.id, caller=Caller(None, None))


def filters(service: Service) -> list[EventFilter]:
    (first, *_) = service.reads.events(0, 1, EventFilter())
    occurred = service.reads.events_indexed(0, 3)[2][1]
    assert occurred is not None
    return [
        EventFilter(),
        EventFilter(project_id="proj_1"),
        EventFilter(project_id="proj_nowhere"),
        EventFilter(milestone_id=first[1]),
        EventFilter(type="StatusChanged"),
        EventFilter(type="Deleted", project_id="proj_0"),
        EventFilter(actor="alice"),
        EventFilter(since=occurred[3]),
        EventFilter(until=occurred[3], actor="bob"),
    ]


def test_the_filters_in_memory_pick_what_the_feeds_query_picks(service: Service) -> None:
    write_mixed(service, 12)
    indexed = service.reads.events_indexed(0, 1000)
    assert [record for record, _ in indexed] == service.reads.events(0, 1000, EventFilter())
    for only in filters(service):
        in_memory = [record for record, keys in indexed if matches(keys, only)]
        assert in_memory == service.reads.events(0, 1000, only), only
        assert in_memory or only.project_id == "proj_nowhere", only
    after = indexed[5][0][0]
    assert service.reads.events_indexed(after, 2) == indexed[6:8]


def read_all(cursor: Cursor, limit: int = 500) -> list[Record]:
    found: list[Record] = []
    while page := cursor.read(limit):
        found += page
    return found


@pytest.mark.parametrize("only", [EventFilter(), EventFilter(project_id="proj_1")])
def test_readers_behind_ahead_and_resumed_see_each_event_once_in_order(
    service: Service, only: EventFilter
) -> None:
    write_mixed(service, 4)
    feed = SharedFeed(service.reads, kept=6)  # small: readers fall behind what it keeps
    assert feed.take(0, only, 10) is None  # nothing read yet: every reader reads its own
    feed.catch_up(anew=True)
    head = service.reads.lag()[1]
    assert feed.position() == head
    early = Cursor(service.reads, feed, 0, only)  # behind the shared read: its own backlog
    at_head = Cursor(service.reads, feed, head, only)
    seen: dict[str, list[Record]] = {"early": [], "at_head": [], "paged": []}
    paged = Cursor(service.reads, feed, 0, only)
    for _ in range(5):
        write_mixed(service, 3)
        assert feed.catch_up(anew=False)
        seen["early"] += read_all(early)
        seen["at_head"] += read_all(at_head)
        seen["paged"] += read_all(paged, limit=2)  # pages of two, whichever way it reads
    everything = service.reads.events(0, 10_000, only)
    assert seen["early"] == everything
    assert seen["paged"] == everything
    assert seen["at_head"] == [record for record in everything if record[0] > head]
    assert early.position == paged.position == service.reads.lag()[1]


def test_a_reader_resumed_from_an_old_position_while_events_flow_catches_up_exactly(
    service: Service,
) -> None:
    write_mixed(service, 6)
    feed = SharedFeed(service.reads, kept=4)
    feed.catch_up(anew=True)
    seen: list[Record] = []
    cursor = Cursor(service.reads, feed, 3, EventFilter())
    for _ in range(6):
        seen += cursor.read(limit=3)  # one page per wake: it stays behind for a while
        write_mixed(service, 2)
        feed.catch_up(anew=False)
    seen += read_all(cursor)
    assert seen == service.reads.events(3, 10_000, EventFilter())
