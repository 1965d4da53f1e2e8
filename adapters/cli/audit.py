"""``milestones audit verify``: the log checked against its hash chain, and a kept hash."""

from __future__ import annotations

import argparse
import gc
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import audit_chain
from adapters.cli import audit_spans
from adapters.cli.common import command, on_store, positive
from adapters.settings import Settings
from projections.chain_keeper import hash_at

if TYPE_CHECKING:
    from adapters.bootstrap import Store

_HASH = re.compile(r"[0-9a-f]{64}")


def _position(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        msg = f"must be a whole number, 0 or more, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _hash(text: str) -> str:
    if not _HASH.fullmatch(text):
        msg = "must be 64 lowercase hex digits, as GET /api/audit/checkpoint gives it"
        raise argparse.ArgumentTypeError(msg)
    return text


@on_store
def verify(store: Store, args: argparse.Namespace) -> int:
    if (args.position is None) != (args.hash is None):
        print("milestones audit verify: give --position and --hash together", file=sys.stderr)
        return 2
    chain = audit_chain(store.view)
    if not chain.exists():
        print(
            "milestones audit verify: the store has no hash chain yet; the service builds it "
            "when it starts",
            file=sys.stderr,
        )
        return 2
    # The records read are dropped batch by batch and form no cycles: the collector's passes
    # over each batch's many objects find nothing to free. Worker processes inherit this.
    gc.disable()
    started = time.perf_counter()
    verified = audit_spans.verify(Settings.from_environ(), chain, args.workers)
    seconds = time.perf_counter() - started
    failed = verified.problem is not None
    if verified.problem is not None:
        print(f"the log no longer matches its hash chain: {verified.problem}")
    else:
        rate = verified.agreed / seconds if seconds else 0.0
        print(
            f"the log matches its hash chain: {verified.agreed:,} events agree "
            f"({seconds:.2f} s, {rate:,.0f} events/s)"
        )
        if verified.unchained:
            print(f"{verified.unchained:,} events after them are not chained yet")
    if args.position is not None:
        last, current = hash_at(store.view, args.position)
        if current == args.hash:
            print(f"h({args.position}) equals the kept hash")
        else:
            failed = True
            print(
                f"h({args.position}) differs from the kept hash: the log now gives {current} "
                f"(after its event at position {last}), not {args.hash}"
            )
    return 1 if failed else 0


def add_command(commands: Any) -> None:
    audit = command(commands, "audit", "Check the event log against its hash chain")
    tools = audit.add_subparsers(dest="tool", required=True)
    check = command(
        tools,
        "verify",
        "Recompute the hash chain from the log and compare it with every stored hash",
        "Read-only. With --position and --hash, also compare h(P) with a hash kept elsewhere. "
        "Exit status 0: all agree; 1: the first disagreement is named; 2: it could not run.",
    )
    check.add_argument("--position", type=_position, metavar="P", help="a kept checkpoint's")
    check.add_argument("--hash", type=_hash, metavar="H", help="the hash kept for P")
    check.add_argument(
        "--workers",
        type=positive,
        metavar="N",
        help="processes that share the work (default: one per core)",
    )
    check.set_defaults(handler=verify)
