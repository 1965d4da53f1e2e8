"""``python -m bench.finding``: finding milestones at a million, over HTTP, on SQLite.

1,000,000 milestones across 1,000 projects (one of them 10,000 strong, the rest about 991
each), with varied titles, descriptions, statuses and due dates, written through the
application in large ``save(*aggregates)`` batches as ``bench.load`` does. Then, against
``milestones serve --workers 2``, one fresh connection per request, p50 and p99 of:

- every filter and sort combination within one project, ``limit=100``;
- across all projects, ``overdue=true``, ``q=...`` and ``sort=dueDate``, ``limit=100``;
- following ``next`` to the end of the 10,000-milestone project (first pages against last);
- the unpaged list of one project.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import orjson

from bench.audit import _timed
from bench.services import HOST, project_spec, running

MILESTONES = 1_000_000
PROJECTS = 1_000
BIG_PROJECT = "find_0000"
BIG = 10_000
BATCH = 2_000
WORDS = [
    "alpha", "beta", "gamma", "delta", "launch", "release", "review", "design",
    "build", "test", "deploy", "migrate", "audit", "budget", "contract", "vendor",
    "security", "privacy", "mobile", "web", "api", "billing", "search", "report",
    "export", "import", "onboarding", "training", "pilot", "rollout", "freeze", "sign",
    "off", "kickoff", "survey", "research", "prototype", "invoice", "partner", "legal",
    "hiring", "office", "network", "storage", "backup", "metrics", "alerting",
]  # fmt: skip
FILTERS = {
    "none": {},
    "status": {"status": "pending"},
    "due range": {"dueAfter": "2026-03-01", "dueBefore": "2026-07-01"},
    "overdue=true": {"overdue": "true"},
    "overdue=false": {"overdue": "false"},
    "q": {"q": "launch"},
    "q, 2 words": {"q": "bud rev"},
}
SORTS = ("createdAt", "-createdAt", "dueDate", "-dueDate", "title", "-title")


def _project(number: int) -> str:
    if number < BIG:
        return BIG_PROJECT
    return f"find_{1 + (number - BIG) % (PROJECTS - 1):04d}"


def build(path: Path, total: int) -> None:
    """The dataset, written through the application (the view, its keys and words with it)."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415
    from domain.milestone import Milestone, Status  # noqa: PLC0415

    rng = random.Random(11)  # noqa: S311 - a reproducible dataset
    statuses = list(Status)
    started = time.perf_counter()
    service = open_service(Settings(database_url=f"sqlite:///{path.resolve()}"))
    try:
        made = 0
        while made < total:
            batch = []
            for number in range(made, min(total, made + BATCH)):
                day = rng.randrange(3 * 365)
                due = None
                if rng.random() < 0.8:  # noqa: PLR2004
                    year, rest = 2025 + day // 365, day % 365
                    month, mday = 1 + rest // 31 % 12, 1 + rest % 28
                    due = f"{year}-{month:02d}-{mday:02d}"
                    if rng.random() < 0.5:  # noqa: PLR2004
                        due += f"T{rng.randrange(24):02d}:30:00+02:00"
                batch.append(
                    Milestone.create(
                        project_id=_project(number),
                        title=" ".join(rng.sample(WORDS, 3)).capitalize() + f" {number}",
                        description=" ".join(rng.choices(WORDS, k=8)),
                        status=rng.choice(statuses),
                        due_date=due,
                    )
                )
            service.milestones.save(*batch)
            made += len(batch)
            if made % 100_000 == 0:
                rate = made / (time.perf_counter() - started)
                sys.stderr.write(f"  {made:,} milestones ({rate:,.0f}/s)\n")
    finally:
        service.close()


def _figure(port: int, query: dict[str, str], samples: int) -> tuple[float, float]:
    path = f"/api/milestones?{urlencode(query)}"
    timings = sorted(_timed(port, "GET", path) for _ in range(samples))
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]


def _walk(port: int, query: dict[str, str]) -> list[float]:
    """Each page's latency, following ``next`` from the first page to the last."""
    import http.client  # noqa: PLC0415

    timings, cursor = [], None
    while True:
        page = {**query, **({"cursor": cursor} if cursor else {})}
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", f"/api/milestones?{urlencode(page)}")
        body = orjson.loads(connection.getresponse().read())
        timings.append((time.perf_counter() - started) * 1000)
        connection.close()
        cursor = body["next"]
        if cursor is None:
            return timings


def measure(database: Path, workdir: Path, samples: int) -> None:
    with running(project_spec("project", database, workers=2), workdir) as server:
        port = server.port
        print(f"\n{'within one project (~991), limit=100':<44} {'p50 ms':>8} {'p99 ms':>8}")
        worst = 0.0
        for name, filters in FILTERS.items():
            for sort in SORTS:
                query = {"projectId": "find_0500", **filters, "sort": sort, "limit": "100"}
                p50, p99 = _figure(port, query, samples)
                worst = max(worst, p50)
                print(f"  {name + ', sort=' + sort:<42} {p50:8.2f} {p99:8.2f}")
        print(f"  {'worst p50':<42} {worst:8.2f}")
        print(f"\n{'across all projects, limit=100':<44}")
        across = {
            "overdue=true": {"overdue": "true"},
            "overdue=true, sort=dueDate": {"overdue": "true", "sort": "dueDate"},
            "q=launch": {"q": "launch"},
            "q=launch review": {"q": "launch review"},
            "q=999999 (one match)": {"q": "999999"},
            "sort=dueDate": {"sort": "dueDate"},
            "sort=-dueDate": {"sort": "-dueDate"},
            "sort=title": {"sort": "title"},
        }
        for name, filters in across.items():
            p50, p99 = _figure(port, {**filters, "limit": "100"}, samples)
            print(f"  {name:<42} {p50:8.2f} {p99:8.2f}")
        print(f"\n{'paging the 10,000-milestone project, limit=100':<44}")
        for sort in ("createdAt", "dueDate", "title"):
            pages = _walk(port, {"projectId": BIG_PROJECT, "sort": sort, "limit": "100"})
            first, last = statistics.median(pages[:10]), statistics.median(pages[-10:])
            print(
                f"  sort={sort:<37} {len(pages)} pages; first 10 p50 {first:.2f} ms, "
                f"last 10 p50 {last:.2f} ms"
            )
        p50, p99 = _figure(port, {"projectId": "find_0500"}, samples)
        print(f"\n{'unpaged list of one project (~991)':<44} {p50:8.2f} {p99:8.2f}")


def unpaged_against_before(database: Path, rounds: int = 200) -> tuple[float, float]:
    """p50 ms of one project's unpaged list in process: the list's query as it was before
    finding (``Reads.documents``) and as it is (``Reads.find``), alternating."""
    from adapters.sqlite.reads import SQLiteReads  # noqa: PLC0415
    from projections.finding import Find  # noqa: PLC0415

    reads = SQLiteReads(str(database))
    before, now = [], []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            reads.documents("find_0500")
            middle = time.perf_counter()
            reads.find(Find(project_id="find_0500"))
            before.append((middle - started) * 1000)
            now.append((time.perf_counter() - middle) * 1000)
    finally:
        reads.close()
    return statistics.median(before), statistics.median(now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.finding", description=__doc__)
    parser.add_argument("--milestones", type=int, default=MILESTONES, help="(1,000,000)")
    parser.add_argument("--samples", type=int, default=50, help="requests per figure (50)")
    parser.add_argument("--database", type=Path, help="keep the dataset here (reused if there)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="milestones-finding-") as workdir:
        database = args.database or Path(workdir) / "finding.db"
        if not database.exists():
            print(f"loading {args.milestones:,} milestones ...", file=sys.stderr)
            started = time.perf_counter()
            build(database, args.milestones)
            print(f"loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        measure(database, Path(workdir), args.samples)
        before, now = unpaged_against_before(database)
        print(f"  in process: the query before finding {before:.2f} ms, now {now:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
