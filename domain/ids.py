"""Public milestone ids.

A milestone's public id is ``ms_`` followed by its aggregate UUID (a UUIDv7) written in
Crockford base32, so ids are URL-safe, sort in creation order, and map one-to-one to the
aggregate id without a lookup table.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from uuid import UUID

PREFIX = "ms_"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {char: value for value, char in enumerate(_ALPHABET)}
_TOKEN_LENGTH = 26  # 128 bits in 5-bit digits; the first digit carries 3 bits
_LOW_62_BITS = (1 << 62) - 1

_lock = threading.Lock()
_last = 0


class InvalidMilestoneId(ValueError):
    """The text is not the public id of any milestone that could exist."""


def new_milestone_uuid(unix_ns: int) -> UUID:
    """A UUIDv7 (RFC 9562) for an aggregate created ``unix_ns`` nanoseconds after the epoch.

    Its first 48 bits are the millisecond, the next 12 the fraction of it (RFC 9562's
    method 3), so ids made on one host sort by creation time across processes too; within
    one process they strictly increase, even for creates in the same instant.
    """
    global _last  # noqa: PLW0603 - one counter per process, guarded by the lock
    millis, nanos = divmod(unix_ns, 1_000_000)
    fraction = nanos * 4096 // 1_000_000
    randomness = int.from_bytes(os.urandom(8)) & _LOW_62_BITS
    with _lock:
        candidate = (millis << 74) | (fraction << 62) | randomness
        _last = candidate if candidate > _last else _last + 1
        value = _last
    # Spread the 122 payload bits around the version and variant bits.
    unix_ms = value >> 74
    rand_a = (value >> 62) & 0xFFF
    rand_b = value & _LOW_62_BITS
    return UUID(int=(unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


# Two digits for every 10-bit value: 13 lookups write a 26-digit token.
_PAIRS = [_ALPHABET[value >> 5] + _ALPHABET[value & 31] for value in range(1024)]


@lru_cache(maxsize=65_536)  # replays meet the same milestone again and again
def to_public_id(milestone_id: UUID) -> str:
    number = milestone_id.int
    return PREFIX + "".join([_PAIRS[(number >> shift) & 1023] for shift in range(120, -10, -10)])


@lru_cache(maxsize=65_536)
def public_id_of_hex(hex_id: str) -> str:
    """The public id of an aggregate id in its 32-digit hex form (as SQLite stores it)."""
    return to_public_id(UUID(hex_id))


def from_public_id(public_id: str) -> UUID:
    """The aggregate id behind a public id; only the canonical spelling is accepted."""
    token = public_id[len(PREFIX) :]
    if (
        not public_id.startswith(PREFIX)
        or len(token) != _TOKEN_LENGTH
        or token[0] > "7"
        or any(char not in _VALUES for char in token)
    ):
        raise InvalidMilestoneId(public_id)
    number = 0
    for char in token:
        number = (number << 5) | _VALUES[char]
    return UUID(int=number)
