"""An export's hashes checked before an import records anything.

Each line of an export carries the hash of its event in the log's chain
(``projections.chain``). Import recomputes the chain over the file's events: a line whose
hash does not follow from the lines before it (the file was changed, or lines were removed
or inserted) stops the import before the first event is recorded. A file without hashes
(an export made before the chain existed) is imported as it is, and chained by the store.
"""

from __future__ import annotations

import tempfile
from typing import IO, TYPE_CHECKING

import orjson

from adapters.backup import domain_event
from projections.chain import ZERO_HASH, hashed_part, next_hash

if TYPE_CHECKING:
    from collections.abc import Iterable

# Bytes of a file kept in memory while it is checked; a larger file goes to disk.
SPOOL_IN_MEMORY = 64 << 20


class ChainBroken(ValueError):
    """A line of an import whose hash disagrees with the chain of the lines before it."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}; nothing was imported")
        self.number = number


def checked(lines: Iterable[bytes]) -> IO[bytes]:
    """The lines, kept to be read again once every hash among them has been checked.

    Raises ChainBroken naming the first line whose hash disagrees, or that lacks a hash
    when the lines before it had one. Lines that are not exported events are passed on for
    the import to name.
    """
    kept = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    try:
        _check(lines, kept)
    except BaseException:
        kept.close()
        raise
    kept.seek(0)
    return kept


def _check(lines: Iterable[bytes], kept: IO[bytes]) -> None:
    previous, hashed = ZERO_HASH, None  # hashed: whether the file's lines carry hashes
    for number, line in enumerate(lines, 1):
        kept.write(line)
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
            domain_event(event)
            recomputed = next_hash(previous, hashed_part(event))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not an exported event: the import names the line as such
        given = event.get("hash")
        if hashed is None:
            hashed = given is not None
        if hashed and given is None:
            raise ChainBroken(number, "it has no hash, unlike the lines before it")
        if not hashed and given is not None:
            raise ChainBroken(number, "it has a hash, unlike the lines before it")
        if hashed and given != recomputed:
            raise ChainBroken(
                number,
                "its hash does not follow from the lines before it (changed, removed "
                "or inserted lines)",
            )
        previous = recomputed
