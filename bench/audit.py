"""``python -m bench.audit``: the audit and replay figures, on one large SQLite log.

- time travel (``?version=9999``) and a PATCH on a milestone with 10,000 events;
- a page of the event feed, unfiltered and with each filter (``actor`` too: one of the
  bulk load's 50 actors, so 1 in 50 events), over 1,000,000 events;
- a full rebuild of the view from that log, in events/s;
- a project's summary (1,000 milestones) and a 365-point daily progress series (a project
  with 10,000 events), and what the progress projection costs writes.

Latencies are over real HTTP against ``milestones serve --workers 2``, one fresh
connection per request, as p50 and p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import orjson

from bench import insights
from bench.load import build_project_database, bulk_actor
from bench.rebuild import rebuild
from bench.services import HOST, call, project_spec, running

LONG_STREAM = 10_000


def _add_long_milestone(database: Path) -> str:
    """A milestone with LONG_STREAM events, written by the application (snapshots included)."""
    from adapters.bootstrap import open_service  # noqa: PLC0415
    from adapters.settings import Settings  # noqa: PLC0415
    from domain.ids import to_public_id  # noqa: PLC0415

    service = open_service(Settings(database_url=f"sqlite:///{database.resolve()}"))
    try:
        milestone = service.milestones.create(project_id="long_stream", title="Long stream")
        while milestone.version < LONG_STREAM:
            for _ in range(min(500, LONG_STREAM - milestone.version)):
                milestone.update(title=f"Revision {milestone.version + 1}")
            service.milestones.save(milestone)
        return to_public_id(milestone.id)
    finally:
        service.close()


def _timed(port: int, method: str, path: str, body: bytes | None = None) -> float:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if response.status >= 300:  # noqa: PLR2004
        msg = f"{method} {path} answered {response.status}"
        raise RuntimeError(msg)
    return elapsed * 1000


def _latency(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"p50 {statistics.median(samples):7.2f} ms   p99 {p99:7.2f} ms"


def _first_event_time(port: int, after: int) -> str:
    _, body = call(port, "GET", f"/api/events?after={after}&limit=1")
    return str(orjson.loads(body)["data"][0]["occurredAt"])


def _insight_paths() -> dict[str, str]:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = (midnight - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "summary, 1,000 milestones": f"/api/projects/{insights.SUMMARY_PROJECT}/summary",
        "progress, 365 days, 10,000 events": (
            f"/api/projects/{insights.SERIES_PROJECT}/progress?since={since}&until={until}"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="log size (1,000,000)")
    parser.add_argument("--samples", type=int, default=200, help="requests per figure (200)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="milestones-audit-") as workdir:
        database = Path(workdir) / "audit.db"
        print(f"loading {args.events:,} events through the application ...", file=sys.stderr)
        build_project_database(database, args.events - LONG_STREAM)
        long_id = _add_long_milestone(database)
        insights.add_summary_project(database)
        insights.add_series_project(database)

        with running(project_spec("project", database, workers=2), Path(workdir)) as server:
            port = server.port
            version = f"/api/milestones/{long_id}?version={LONG_STREAM - 1}"
            since = _first_event_time(port, args.events - 5_000)
            until = _first_event_time(port, 5_000)
            feeds = {
                "feed, unfiltered, after the middle": f"after={args.events // 2}",
                "feed, projectId": "projectId=bulk_00500",
                "feed, milestoneId": f"milestoneId={long_id}&after=5000",
                "feed, type=Deleted (absent: a full scan)": "type=Deleted",
                "feed, type=StatusChanged": "type=StatusChanged&after=500000",
                "feed, since (recent)": f"since={since}",
                "feed, until (early)": f"until={until}&after=1000",
                "feed, projectId + type": "projectId=bulk_00500&type=Updated",
                "feed, actor (1 in 50 events)": f"actor={quote(bulk_actor(7))}&after=500000",
                "feed, actor + type": f"actor={quote(bulk_actor(7))}&type=StatusChanged",
                "feed, actor (absent)": "actor=nobody",
            }
            print(f"\n{args.events:,} events; long stream {long_id} ({LONG_STREAM:,} events)\n")
            samples = [_timed(port, "GET", version) for _ in range(args.samples)]
            print(f"{'GET ?version=9999 on the long stream':<44} {_latency(samples)}")
            samples = [
                _timed(port, "PATCH", f"/api/milestones/{long_id}", b'{"title": "t%d"}' % i)
                for i in range(args.samples)
            ]
            print(f"{'PATCH on the long stream':<44} {_latency(samples)}")
            for name, query in feeds.items():
                samples = [
                    _timed(port, "GET", f"/api/events?limit=100&{query}")
                    for _ in range(max(10, args.samples // 4))
                ]
                print(f"{name:<44} {_latency(samples)}")
            for name, path in _insight_paths().items():
                samples = [_timed(port, "GET", path) for _ in range(args.samples)]
                print(f"{name:<44} {_latency(samples)}")

        print()
        for projection in ("milestones", "progress"):
            print(f"rebuild: {rebuild(database, projection).last_line}")
        print("\nwrites/s through the application, without and with the progress projection:")
        costs = insights.write_cost(database, 9, 300)
        for kind in ("POST", "PATCH"):
            without, with_ = costs[kind]
            cost = (without - with_) / without * 100
            print(f"{kind:<6} {without:8,.0f}   {with_:8,.0f}   ({cost:+.1f} % cost)")
        share = costs["share"][1] * 100
        print(f"time in the progress projection's live apply: {share:.1f} % of the writes' time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
