"""The phases of a run: which services run side by side, on what data, under which load."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from bench import deliveries, postgres
from bench.dataset import SEEDED_MILESTONES
from bench.load import build_project_database, seed_over_http, write_ids_file
from bench.rebuild import best_bare_read, rebuild
from bench.results import (
    HOOKED_PROJECT,
    LARGE_PROJECT,
    LIMIT,
    MAIN_PHASE,
    OPERATIONS,
    PEER,
    PG_PEER,
    PG_PROJECT,
    POSTGRES_PHASE,
    PROJECT,
    READS,
    SCALE_PHASE,
    SMALL_PROJECT,
    UNHOOKED_PROJECT,
    WEBHOOKS_PHASE,
    WRITES,
)
from bench.rounds import Target
from bench.services import peer_spec, project_spec, rss_megabytes, running

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path

    from bench.results import Drain, Results
    from bench.rounds import Runner
    from bench.services import RunningService

# What `milestones serve` needs to deliver to a receiver on 127.0.0.1 (http, loopback).
_PRIVATE_RECEIVERS = {"MILESTONES_WEBHOOK_ALLOW_PRIVATE": "1"}


def say(text: str) -> None:
    """Progress goes to stderr; stdout gets the tables alone."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def worker_rss(service: RunningService) -> list[float]:
    return [mb for pid in service.worker_pids() if (mb := rss_megabytes(pid)) is not None]


def _target(
    service: RunningService,
    workdir: Path,
    *,
    takes_writes: bool = True,
    drain: Callable[[], Drain] | None = None,
) -> Target:
    """A service with the ids file its load scripts read (its own ids, read back over HTTP)."""
    ids_file = write_ids_file(service.port, workdir / f"{service.name}.ids")
    return Target(service, ids_file, takes_writes=takes_writes, drain=drain)


def main_phase(args: argparse.Namespace, runner: Runner, workdir: Path, results: Results) -> None:
    """The three services side by side, each on a fresh database seeded over HTTP."""
    with contextlib.ExitStack() as stack:
        say("starting the project, the framework limit and the CRUD peer")
        project = stack.enter_context(
            running(project_spec(PROJECT, workdir / "project.db", args.workers), workdir)
        )
        limit = stack.enter_context(running(peer_spec(LIMIT, "limit", args.workers), workdir))
        peer = stack.enter_context(
            running(peer_spec(PEER, "peer", args.workers, workdir / "peer.db"), workdir)
        )
        say("seeding 1,000 milestones over HTTP (project, peer; the limit holds its own)")
        for service in (project, peer):
            seed_over_http(service.port)
        targets = [
            _target(project, workdir),
            _target(limit, workdir, takes_writes=False),  # it answers the two reads alone
            _target(peer, workdir),
        ]
        say(f"{args.rounds} rounds of {len(OPERATIONS)} operations")
        results.samples += runner.rounds(MAIN_PHASE, targets, OPERATIONS, args.rounds)
        results.worker_rss_mb[PROJECT] = worker_rss(project)


def postgres_phase(
    args: argparse.Namespace, runner: Runner, workdir: Path, results: Results
) -> None:
    """The project and the CRUD peer on PostgreSQL, each in a database of its own.

    Raises ``postgres.PostgresUnavailable`` before starting anything when no server answers.
    """
    server = postgres.server_url()
    results.postgres_server = postgres.shown(server)
    # Entered first, left last: the services stop before their databases are dropped.
    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(postgres.throwaway_databases(server, "project", "peer"))
        say(f"starting the project and the CRUD peer on PostgreSQL at {results.postgres_server}")
        project = stack.enter_context(
            running(project_spec(PG_PROJECT, urls["project"], args.workers), workdir)
        )
        peer = stack.enter_context(
            running(peer_spec(PG_PEER, "peer", args.workers, urls["peer"]), workdir)
        )
        say("seeding 1,000 milestones over HTTP (project, peer)")
        for service in (project, peer):
            seed_over_http(service.port)
        targets = [_target(project, workdir), _target(peer, workdir)]
        say(f"{args.rounds} rounds of {len(OPERATIONS)} operations on PostgreSQL")
        results.samples += runner.rounds(POSTGRES_PHASE, targets, OPERATIONS, args.rounds)


def webhooks_phase(
    args: argparse.Namespace, runner: Runner, workdir: Path, results: Results
) -> None:
    """Writes with 10 subscriptions delivering, beside the same project with none (SQLite).

    Both run the deliverer `milestones serve` starts, and allow receivers on 127.0.0.1, so
    they differ in their subscriptions alone.
    """
    with contextlib.ExitStack() as stack:
        # Entered first, left last: deliveries in flight at the end still find it.
        receiver = stack.enter_context(deliveries.receiving())
        say("starting the project twice: with webhook subscriptions and without")
        hooked = stack.enter_context(
            running(
                project_spec(
                    HOOKED_PROJECT, workdir / "hooks.db", args.workers, _PRIVATE_RECEIVERS
                ),
                workdir,
            )
        )
        unhooked = stack.enter_context(
            running(
                project_spec(
                    UNHOOKED_PROJECT, workdir / "no-hooks.db", args.workers, _PRIVATE_RECEIVERS
                ),
                workdir,
            )
        )
        say("seeding 1,000 milestones over HTTP into each")
        for service in (hooked, unhooked):
            seed_over_http(service.port)
        say(f"subscribing {deliveries.SUBSCRIPTIONS} webhooks to every event, and one delivery")
        deliveries.subscribe(hooked.port, receiver.url)
        drain = deliveries.drainer(hooked.port)
        deliveries.first_deliveries(hooked.port, receiver, drain)
        targets = [_target(hooked, workdir, drain=drain), _target(unhooked, workdir)]
        say(f"{args.rounds} rounds of POST and PATCH, with and without webhooks")
        try:
            results.samples += runner.rounds(WEBHOOKS_PHASE, targets, WRITES, args.rounds)
        finally:
            results.webhook_deliveries = receiver.count


def scale_phase(args: argparse.Namespace, runner: Runner, workdir: Path, results: Results) -> None:
    """A 1,000,000-event project beside a 1,000-event one, both loaded through the application."""
    small_db, large_db = workdir / "scale-1k.db", workdir / "scale-large.db"
    say(f"loading {SEEDED_MILESTONES:,} and {args.events:,} events through the application")
    results.scale_events = args.events
    results.scale_load = [
        build_project_database(small_db, SEEDED_MILESTONES),
        build_project_database(large_db, args.events),
    ]
    with contextlib.ExitStack() as stack:
        small = stack.enter_context(
            running(project_spec(SMALL_PROJECT, small_db, args.workers), workdir)
        )
        large = stack.enter_context(
            running(project_spec(LARGE_PROJECT, large_db, args.workers), workdir)
        )
        targets = [_target(small, workdir), _target(large, workdir)]
        say(f"{args.rounds} rounds of GET one and list, 1,000 vs {args.events:,} events")
        results.samples += runner.rounds(SCALE_PHASE, targets, READS, args.rounds)
        for service in (large, small):
            results.worker_rss_mb[service.name] = worker_rss(service)
    say("reading the large log bare, then timing `milestones projection rebuild`")
    results.bare_read = best_bare_read(large_db)
    if results.bare_read.events != args.events:
        say(f"WARNING: the log holds {results.bare_read.events:,} events, not {args.events:,}")
    results.rebuild = rebuild(large_db)
    if not results.rebuild.available:
        say("rebuild: not available")
