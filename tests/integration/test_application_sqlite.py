"""The application and its read models on a real SQLite file."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from adapters.bootstrap import open_service
from adapters.settings import Settings
from domain.ids import from_public_id, to_public_id
from domain.milestone import (
    MilestoneDeleted,
    MilestoneNotFound,
    Status,
    VersionMismatch,
)
from projections.document import document_of
from projections.records import event_type
from projections.runner import VIEW_TRACKING, catch_up, verify

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from adapters.bootstrap import Service
    from projections.document import Document
    from projections.records import Record

    Rows = dict[str, tuple[int, Document]]

KEYS = ["id", "projectId", "title", "description", "status", "dueDate", "reachedAt", "createdAt"]


def in_view(service: Service, milestone_id: UUID) -> tuple[int, Document] | None:
    row = service.reads.document(to_public_id(milestone_id))
    return None if row is None else (row[0], orjson.loads(row[1]))


def aggregate_row(service: Service, milestone_id: UUID) -> tuple[int, Document]:
    milestone = service.milestones.get(milestone_id)
    return milestone.version, orjson.loads(orjson.dumps(document_of(milestone)))


def head(service: Service) -> int:
    return service.reads.lag()[1]


def busy_history(service: Service) -> list[UUID]:
    """A few milestones with every kind of event; one of them deleted."""
    app = service.milestones
    first = app.create(project_id="proj_01", title="Design", description="wireframes")
    second = app.create(project_id="proj_01", title="Beta", status=Status.REACHED)
    third = app.create(project_id="proj_02", title="Launch", due_date="2026-03-01T00:00:00Z")
    gone = app.create(project_id="proj_02", title="Scrapped")
    app.update(first.id, {"title": "Design done", "status": Status.IN_PROGRESS})
    app.update(first.id, {"status": Status.REACHED, "due_date": "2026-02-01"})
    app.update(second.id, {"status": Status.PENDING, "description": "reopened"})
    app.update(third.id, {"reached_at": None, "description": "soon"})
    app.delete(gone.id)
    return [first.id, second.id, third.id, gone.id]


# --- read-your-writes -----------------------------------------------------------------


def test_every_write_is_in_the_view_at_once(service: Service) -> None:
    app = service.milestones
    milestone = app.create(project_id="proj_01", title="Beta")
    assert in_view(service, milestone.id) == aggregate_row(service, milestone.id)
    assert in_view(service, milestone.id) == (1, orjson.loads(orjson.dumps(document_of(milestone))))

    updated = app.update(milestone.id, {"title": "Beta launch", "status": Status.REACHED})
    row = in_view(service, milestone.id)
    assert row is not None
    assert row[0] == updated.version == 3
    assert row[1]["title"] == "Beta launch"
    assert row[1]["status"] == "reached"
    assert row[1]["reachedAt"] is not None
    assert row == aggregate_row(service, milestone.id)

    app.delete(milestone.id)
    assert in_view(service, milestone.id) is None
    assert service.reads.documents() == []
    position, log_head = service.reads.lag()
    assert position == log_head == 4


def test_a_write_in_one_service_is_read_at_once_by_another(
    open_services: Callable[[], Service],
) -> None:
    writer, reader = open_services(), open_services()
    assert reader.reads.documents() == []
    milestone = writer.milestones.create(project_id="p", title="t")
    assert in_view(reader, milestone.id) == aggregate_row(writer, milestone.id)
    writer.milestones.update(milestone.id, {"title": "u"})
    assert in_view(reader, milestone.id) == aggregate_row(reader, milestone.id)
    assert reader.milestones.get(milestone.id).title == "u"


def test_the_view_rows_are_the_documents_of_the_aggregates(
    service: Service, view: Callable[[], Rows], replay: Callable[[], Rows]
) -> None:
    ids = busy_history(service)
    rows = view()
    live = [i for i in ids if not service.milestones.get(i).deleted]
    assert len(live) == 3
    assert rows == {to_public_id(i): aggregate_row(service, i) for i in live}
    assert rows == replay()
    for _, document in rows.values():
        assert list(document) == KEYS
    assert verify(service.store) == []


def test_lists_are_ordered_by_creation_and_filtered(service: Service) -> None:
    first, second, third, _ = busy_history(service)
    everything = [orjson.loads(body) for body in service.reads.documents()]
    assert [d["id"] for d in everything] == [to_public_id(i) for i in (first, second, third)]
    assert [d["createdAt"] for d in everything] == sorted(d["createdAt"] for d in everything)
    by_project = [orjson.loads(b)["id"] for b in service.reads.documents(project_id="proj_02")]
    assert by_project == [to_public_id(third)]
    reached = [orjson.loads(b)["id"] for b in service.reads.documents(status="reached")]
    assert reached == [to_public_id(first)]
    none = service.reads.documents(project_id="proj_01", status="in_progress")
    assert none == []


def test_a_long_stream_past_a_snapshot_still_matches_the_view(
    service: Service, view: Callable[[], Rows], replay: Callable[[], Rows]
) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t0")
    statuses = list(Status)
    for i in range(1, 130):
        app.update(milestone.id, {"title": f"t{i}", "status": statuses[i % 3]})
    version, document = aggregate_row(service, milestone.id)
    assert version > 200  # well past the snapshot interval of 100
    assert view() == replay() == {to_public_id(milestone.id): (version, document)}
    assert document["title"] == "t129"


# --- If-Match -------------------------------------------------------------------------


def test_if_version_accepts_the_current_version(service: Service) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t")
    updated = app.update(milestone.id, {"title": "u"}, if_version={1})
    assert updated.version == 2
    assert app.update(milestone.id, {"title": "v"}, if_version={7, 2, 9}).version == 3
    deleted = app.delete(milestone.id, if_version={3})
    assert deleted.deleted
    assert deleted.version == 4


@pytest.mark.parametrize("stale", [{1}, {3}, {0, 5}, set()])
def test_if_version_refuses_any_other_version_and_records_nothing(
    service: Service, stale: set[int]
) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t")
    app.update(milestone.id, {"title": "u"})
    before = head(service), in_view(service, milestone.id)
    with pytest.raises(VersionMismatch) as raised:
        app.update(milestone.id, {"title": "v"}, if_version=stale)
    assert raised.value.actual == 2
    with pytest.raises(VersionMismatch):
        app.delete(milestone.id, if_version=stale)
    assert (head(service), in_view(service, milestone.id)) == before
    assert app.get(milestone.id).version == 2


def test_if_version_none_takes_any_version(service: Service) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t")
    app.update(milestone.id, {"title": "u"})
    assert app.update(milestone.id, {"title": "v"}, if_version=None).version == 3


def test_a_change_that_changes_nothing_records_nothing(service: Service) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t", status=Status.IN_PROGRESS)
    before = head(service)
    same = app.update(
        milestone.id,
        {"title": "t", "description": "", "status": Status.IN_PROGRESS, "due_date": None},
        if_version={1},
    )
    assert same.version == 1
    assert head(service) == before


def test_deleted_and_unknown_milestones(service: Service) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="t")
    app.delete(milestone.id)
    before = head(service)
    with pytest.raises(MilestoneDeleted):
        app.update(milestone.id, {"title": "u"})
    with pytest.raises(MilestoneDeleted):
        app.delete(milestone.id)
    with pytest.raises(MilestoneDeleted):
        app.delete(milestone.id, if_version={2})
    unknown = from_public_id("ms_" + "0" * 26)
    with pytest.raises(MilestoneNotFound):
        app.get(unknown)
    with pytest.raises(MilestoneNotFound):
        app.update(unknown, {"title": "u"})
    assert head(service) == before
    # The history of a deleted milestone stays readable.
    assert [event_type(topic) for _, topic, _ in service.reads.history(milestone.id)] == [
        "Created",
        "Deleted",
    ]


# --- catch-up -------------------------------------------------------------------------


def _reset_view(path: Path, *, event_index: bool) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DELETE FROM milestones")
        if event_index:
            connection.execute("DELETE FROM event_index")
        connection.execute(
            "UPDATE tracking SET notification_id = 0 WHERE application_name = ?",
            (VIEW_TRACKING,),
        )
        connection.commit()


def test_catch_up_rebuilds_an_emptied_view(
    open_services: Callable[[], Service],
    database_path: Path,
    view: Callable[[], Rows],
    replay: Callable[[], Rows],
) -> None:
    first = open_services()
    busy_history(first)
    before = view()
    assert len(before) == 3
    log_head = head(first)
    _reset_view(database_path, event_index=True)
    assert view() == {}
    assert first.reads.lag() == (0, log_head)

    second = open_services()  # catches up while it opens
    assert view() == before == replay()
    assert second.reads.lag() == (log_head, log_head)
    assert catch_up(second.store) == 0  # nothing left to apply
    assert verify(second.store) == []


def test_catch_up_applies_only_what_the_view_lacks(
    service: Service, database_path: Path, view: Callable[[], Rows]
) -> None:
    busy_history(service)
    before = view()
    _reset_view(database_path, event_index=True)
    assert catch_up(service.store) == head(service)
    assert catch_up(service.store) == 0
    assert view() == before


def test_catch_up_rebuilds_a_view_whose_table_was_emptied_and_tracking_reset(
    open_services: Callable[[], Service],
    database_path: Path,
    view: Callable[[], Rows],
    replay: Callable[[], Rows],
) -> None:
    busy_history(open_services())
    before = view()
    _reset_view(database_path, event_index=False)
    second = open_services()
    assert view() == before == replay()
    assert verify(second.store) == []


# --- concurrent writers ---------------------------------------------------------------

THREADS = 8
PATCHES_PER_THREAD = 15


@pytest.mark.sqlite_only(
    reason="asserts that none of 120 racing writes exhausts its 20 retries: SQLite serialises "
    "one process's writers, PostgreSQL lets them race and about 1 in 100 ends in "
    "ConcurrentUpdate (HTTP 409, which contract section 4 allows); "
    "tests/e2e/test_scale_out.py checks on PostgreSQL that every success is one event"
)
def test_concurrent_writers_in_threads_lose_no_update(
    service: Service, log: Callable[[], list[Record]], view: Callable[[], Rows]
) -> None:
    app = service.milestones
    milestone = app.create(project_id="p", title="start")
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    versions: list[int] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        try:
            barrier.wait()
            for i in range(PATCHES_PER_THREAD):
                # Distinct titles: every call changes something.
                result = app.update(milestone.id, {"title": f"thread {number} patch {i}"})
                with lock:
                    versions.append(result.version)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    calls = THREADS * PATCHES_PER_THREAD
    assert len(versions) == calls
    # Each call saved its own version: serialised, none lost.
    assert sorted(versions) == list(range(2, calls + 2))
    kinds = Counter(event_type(topic) for _, _, _, topic, _ in log())
    assert kinds == {"Created": 1, "Updated": calls}
    final = app.get(milestone.id)
    assert final.version == calls + 1
    assert view() == {to_public_id(milestone.id): aggregate_row(service, milestone.id)}
    titles = [
        orjson.loads(state)["changes"]["title"]
        for _, _, _, topic, state in log()
        if event_type(topic) == "Updated"
    ]
    assert sorted(titles) == sorted(
        f"thread {n} patch {i}" for n in range(THREADS) for i in range(PATCHES_PER_THREAD)
    )


PROCESSES = 2
CREATES_PER_PROCESS = 6
PATCHES_PER_CREATE = 3
SHARED_PATCHES = 60


def write_from_another_process(
    database_url: str, shared: str, name: str, ready: str, go: str
) -> list[str]:
    """Run in a spawned process: create, patch its own and one shared milestone.

    Returns the errors it met, as text (an empty list when every call succeeded).
    """
    errors: list[str] = []
    service = open_service(Settings(database_url=database_url))
    try:
        Path(ready).touch()
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        shared_id = from_public_id(shared)
        for i in range(SHARED_PATCHES):
            try:
                if i < CREATES_PER_PROCESS:
                    own = service.milestones.create(project_id=name, title=f"{name} {i}")
                    for j in range(PATCHES_PER_CREATE):
                        service.milestones.update(own.id, {"description": f"{i} {j}"})
                service.milestones.update(shared_id, {"title": f"{name} shared {i}"})
            except Exception as error:  # noqa: BLE001 - handed back to the test
                errors.append(f"{type(error).__name__}: {error}")
            # Requests arrive apart, as over HTTP, so the write lock changes hands.
            time.sleep(0.002)
    finally:
        service.close()
    return errors


def _positions_of(records: list[Record], name: str) -> list[int]:
    """Positions of the events whose title or project names the writer."""
    positions = []
    for position, _, _, _, stored in records:
        state = orjson.loads(stored)
        fields = state.get("changes", state)
        if str(fields.get("title", "")).startswith(name) or state.get("project_id") == name:
            positions.append(position)
    return positions


@pytest.mark.sqlite_only(
    reason="asserts gapless positions 1..N (SQLite rowids); a PostgreSQL sequence skips the "
    "number an insert that lost the optimistic-concurrency race took, and the feed's "
    "contract (every event once, in commit order, via next) does not promise gaplessness"
)
def test_concurrent_writers_in_two_processes(
    *,
    service: Service,
    database_url: str,
    tmp_path: Path,
    log: Callable[[], list[Record]],
    view: Callable[[], Rows],
    replay: Callable[[], Rows],
) -> None:
    # The storage is prepared before the writers start, as the server's arbiter does.
    shared = service.milestones.create(project_id="shared", title="shared")
    go = tmp_path / "go"
    names = [f"proc{n}" for n in range(PROCESSES)]
    ready = [tmp_path / f"{name}.ready" for name in names]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(
                write_from_another_process,
                database_url,
                to_public_id(shared.id),
                name,
                str(flag),
                str(go),
            )
            for name, flag in zip(names, ready, strict=True)
        ]
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        results = [future.result(timeout=120) for future in futures]
    assert results == [[] for _ in names], results
    assert not any("locked" in error for errors in results for error in errors)

    records = log()
    kinds = Counter(event_type(topic) for _, _, _, topic, _ in records)
    creates = PROCESSES * CREATES_PER_PROCESS
    assert kinds == {
        "Created": 1 + creates,
        "Updated": PROCESSES * SHARED_PATCHES + creates * PATCHES_PER_CREATE,
    }
    assert [position for position, *_ in records] == list(range(1, len(records) + 1))
    # The two writers overlapped: each wrote before the other had finished.
    spans = {name: _positions_of(records, name) for name in names}
    for name, other in itertools.permutations(names, 2):
        assert min(spans[name]) < max(spans[other])
    rows = view()
    assert rows == replay()
    assert len(rows) == 1 + creates
    assert rows[to_public_id(shared.id)][0] == 1 + PROCESSES * SHARED_PATCHES
    for name in names:
        own = [doc for _, doc in rows.values() if doc["projectId"] == name]
        assert len(own) == CREATES_PER_PROCESS
        assert all(doc["description"].endswith(f" {PATCHES_PER_CREATE - 1}") for doc in own)
    assert service.reads.lag() == (len(records), len(records))
    assert verify(service.store) == []
