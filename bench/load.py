"""Putting data in: seeding over HTTP, reading ids back, bulk-loading through the application."""

from __future__ import annotations

import http.client
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from bench.dataset import MILESTONES_PER_PROJECT, PROJECT_IDS, STATUSES, seed_milestones
from bench.services import HOST

if TYPE_CHECKING:
    from pathlib import Path

_SEED_CLIENTS = 4  # enough to keep two workers busy; writes serialise in SQLite anyway
# The bulk of a large log: milestones with a Created event and this many changes each.
CHANGES_PER_BULK_MILESTONE = 9
# Milestones per save(*aggregates): one transaction of ~10,000 events, quick and bounded.
BULK_BATCH = 1_000
# Each bulk milestone is made and changed by one of this many actors, in turn.
BULK_ACTORS = 50


def bulk_actor(number: int) -> str:
    """The actor of the bulk milestone of this number."""
    return f"user_{number % BULK_ACTORS:02d}@example.com"


class SeedFailed(RuntimeError):
    """A service refused the seed data or answered with something unexpected."""


def _request(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    payload = None if body is None else orjson.dumps(body)
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    return response.status, orjson.loads(response.read() or b"null")


def seed_over_http(port: int) -> None:
    """POST the 1,000 seeded milestones, a few at a time."""
    bodies = seed_milestones()

    def post_share(share: int) -> None:
        # http.client reconnects by itself after a worker closes the connection.
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            for body in bodies[share::_SEED_CLIENTS]:
                status, answer = _request(connection, "POST", "/api/milestones", body)
                if status != http.client.CREATED:
                    raise SeedFailed(f"POST answered {status}: {answer}")
        finally:
            connection.close()

    with ThreadPoolExecutor(_SEED_CLIENTS) as pool:
        list(pool.map(post_share, range(_SEED_CLIENTS)))


def current_milestones(port: int) -> list[tuple[str, str]]:
    """(id, status) of every seeded milestone, project by project, in list order."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    milestones = []
    try:
        for project_id in PROJECT_IDS:
            status, answer = _request(connection, "GET", f"/api/milestones?projectId={project_id}")
            if status != http.client.OK or answer["count"] != MILESTONES_PER_PROJECT:
                msg = f"the list of {project_id} is not the 100 seeded milestones: {status}"
                raise SeedFailed(msg)
            milestones += [(item["id"], item["status"]) for item in answer["data"]]
    finally:
        connection.close()
    return milestones


def write_ids_file(port: int, path: Path) -> Path:
    """The ids file the Lua scripts read: "id status" per line, statuses as of now."""
    path.write_text("".join(f"{id_} {status}\n" for id_, status in current_milestones(port)))
    return path


@dataclass(frozen=True)
class LoadStats:
    events: int
    milestones: int
    seconds: float


def build_project_database(path: Path, total_events: int) -> LoadStats:
    """A fresh project database holding ``total_events`` events, all written by the application.

    First the 1,000 seeded milestones (one Created event each), then bulk milestones in
    projects of their own, each a Created event and up to nine changes (titles and statuses
    alternating), saved many aggregates per ``save(*aggregates)`` call: one transaction
    each, with the view projected in it as the service itself does.
    """
    # Imported here: only this part of the bench runs the project's code in-process.
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415
    from domain.caller import Caller  # noqa: PLC0415
    from domain.milestone import Milestone, Status  # noqa: PLC0415

    started = time.perf_counter()
    service = open_service(Settings.from_environ({"DATABASE_URL": f"sqlite:///{path.resolve()}"}))
    try:
        application = service.milestones
        seeded = [Milestone.create(**_command(body)) for body in seed_milestones()]
        application.save(*seeded)
        events, milestones = len(seeded), len(seeded)
        statuses = [Status(status) for status in STATUSES]
        next_report = 100_000
        while events < total_events:
            batch: list[Milestone] = []
            while len(batch) < BULK_BATCH and events < total_events:
                number = milestones
                caller = Caller(bulk_actor(number), f"bulk-{number}")
                milestone = Milestone.create(
                    project_id=f"bulk_{number // MILESTONES_PER_PROJECT:05d}",
                    title=f"Bulk milestone {number}",
                    description="Loaded by the benchmark: an ordinary description of a "
                    "deliverable, reviewed and agreed.",
                    due_date="2026-09-30",
                    caller=caller,
                )
                changes = min(CHANGES_PER_BULK_MILESTONE, total_events - events - 1)
                for change in range(changes):
                    if change % 2 == 0:
                        title = f"Bulk milestone {number} revision {change}"
                        milestone.update(title=title, caller=caller)
                    else:
                        status = statuses[(change // 2 + 1) % len(statuses)]
                        milestone.update(status=status, caller=caller)
                batch.append(milestone)
                events += 1 + changes
                milestones += 1
            application.save(*batch)
            if events >= next_report:
                rate = events / (time.perf_counter() - started)
                sys.stderr.write(f"  {events:,} events loaded ({rate:,.0f} events/s)\n")
                next_report += 100_000
    finally:
        service.close()
    return LoadStats(events, milestones, time.perf_counter() - started)


def _command(body: dict[str, Any]) -> dict[str, Any]:
    """A POST body as the arguments of ``Milestone.create``."""
    from domain.milestone import Status  # noqa: PLC0415

    return {
        "project_id": body["projectId"],
        "title": body["title"],
        "description": body["description"],
        "status": Status(body["status"]),
        "due_date": body["dueDate"],
    }
