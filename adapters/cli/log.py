"""``milestones history|export|import``: the event log read (also a milestone's due-date
moves), copied out and replayed in."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from adapters.backup import StoreNotEmpty, export_lines, import_lines
from adapters.backup_chain import ChainBroken, checked
from adapters.bootstrap import check_storage, open_service
from adapters.cli.common import COULD_NOT_RUN, command, on_store, to_json
from adapters.cli.which_store import postgres_state, say, sqlite_store_exists
from adapters.settings import Settings
from domain.ids import InvalidMilestoneId, from_public_id
from domain.milestone import MilestoneNotFound
from projections.events import event_document
from projections.schedule_queries import milestone_due_history

if TYPE_CHECKING:
    import argparse

    from adapters.bootstrap import Store


@on_store
def history(store: Store, args: argparse.Namespace) -> int:
    try:
        milestone_id = from_public_id(args.milestone_id)
    except InvalidMilestoneId:
        print(f"milestones history: not a milestone id: {args.milestone_id}", file=sys.stderr)
        return COULD_NOT_RUN
    if args.moves:
        return _moves(store, args)
    events = [
        event_document(args.milestone_id, version, topic, state)
        for version, topic, state in store.reads.history(milestone_id)
    ]
    if not events:
        print(f"milestones history: no milestone has the id {args.milestone_id}", file=sys.stderr)
        return COULD_NOT_RUN
    if args.json:
        print(to_json(events))
        return 0
    # The actor column is as wide as the longest actor; "-" for one the event did not record.
    actors = [event["actor"] or "-" for event in events]
    width = max(len("actor"), *map(len, actors))
    print(f"{'version':>7}  {'occurredAt':<24}  {'type':<13}  {'actor':<{width}}  payload")
    for event, actor in zip(events, actors, strict=True):
        print(
            f"{event['version']:>7}  {event['occurredAt']:<24}  {event['type']:<13}  "
            f"{actor:<{width}}  {to_json(event['payload'])}"
        )
    return 0


def _moves(store: Store, args: argparse.Namespace) -> int:
    """The due date's moves: the milestone's schedule, as its HTTP route shows it."""
    try:
        schedule = milestone_due_history(store.reads, args.milestone_id).document()
    except MilestoneNotFound:
        print(f"milestones history: no milestone has the id {args.milestone_id}", file=sys.stderr)
        return COULD_NOT_RUN
    if args.json:
        print(to_json(schedule))
        return 0
    # Due dates are shown exactly as they were sent, so the columns are as wide as the
    # longest; "-" for a null due date, a null slip or an actor the event did not record.
    rows = [
        [str(move["version"]), move["occurredAt"], move["actor"] or "-",
         move["from"] or "-", move["to"] or "-", _slip(move["slipSeconds"])]
        for move in schedule["moves"]
    ]  # fmt: skip
    header = ["version", "occurredAt", "actor", "from", "to", "slipSeconds"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    moves, total = schedule["changes"], schedule["totalSlipSeconds"]
    print(
        f"original {schedule['originalDueDate'] or '-'}, now {schedule['dueDate'] or '-'}: "
        f"{moves} move{'' if moves == 1 else 's'}, total slip "
        + ("-" if total is None else f"{total} s")
    )
    return 0


def _slip(seconds: float | None) -> str:
    return "-" if seconds is None else str(seconds)


@on_store
def export(store: Store, args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for line in export_lines(store.view):
        out.write(line)
    out.flush()
    return 0


def import_(args: argparse.Namespace) -> int:
    # Import records events, so it goes through the application.
    # Import may create its store: a restore goes into a new one.
    settings = Settings.from_environ()
    check_storage(settings)
    try:
        lines = checked(sys.stdin.buffer)  # every hash, before anything is recorded
    except ChainBroken as error:
        print(f"milestones import: {error}", file=sys.stderr)
        return COULD_NOT_RUN
    existed = _store_exists(settings)
    # The chain is caught up once at the end, rather than beside the import's batches by a
    # thread that would take a connection of the pool the import writes with.
    service = open_service(settings, keep_chain=False)
    say("import", settings.database_url, "existing" if existed else "created now")
    try:
        count = import_lines(service, lines)
        if service.chain is not None:
            service.chain.catch_up()  # the store leaves the import chained to its head
    except StoreNotEmpty:
        print(
            "milestones import: the store already holds events; import goes into an empty one",
            file=sys.stderr,
        )
        return COULD_NOT_RUN
    finally:
        lines.close()
        service.close()
    print(f"imported {count:,} events", file=sys.stderr)
    return 0


def _store_exists(settings: Settings) -> bool:
    if settings.database_url.startswith("sqlite:"):
        return sqlite_store_exists(settings.database_url)
    return postgres_state(settings) == "existing"


def add_commands(commands: Any) -> None:
    show = command(commands, "history", "Print a milestone's events, oldest first", "Read-only.")
    show.add_argument("milestone_id", metavar="ms_…")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.add_argument(
        "--moves",
        action="store_true",
        help="only how its due date moved: each move, the first and the latest due date and "
        "the total slip (as GET /api/milestones/{id}/schedule)",
    )
    show.set_defaults(handler=history)
    command(
        commands,
        "export",
        "Write the whole event log to stdout as JSON Lines",
        "Read-only; a consistent copy, also of a database that cannot be written.",
    ).set_defaults(handler=export)
    command(
        commands,
        "import",
        "Replay an exported log from stdin into an empty store",
        "Creates the store if there is none at DATABASE_URL. A malformed line, or one whose "
        "hash does not follow from the lines before it, stops the import with its line number.",
    ).set_defaults(handler=import_)
