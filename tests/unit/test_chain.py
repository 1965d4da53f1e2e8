"""The hash chain's pure parts: RFC 8785 bytes, the chain's arithmetic, an export's check."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.backup_chain import ChainBroken, checked
from projections.chain import (
    ZERO_HASH,
    canonical,
    chain_of,
    event_bytes,
    hashed_part,
    next_hash,
)

EVENT: dict[str, Any] = {
    "milestoneId": "ms_01HZX3QK8V6Y4T2N0R5W7M9C1D",
    "version": 2,
    "type": "StatusChanged",
    "occurredAt": "2026-02-19T10:30:00.000Z",
    "actor": "alice",
    "requestId": "req-1",
    "payload": {"from": "pending", "to": "reached", "reachedAt": "2026-02-19T10:30:00.000Z"},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(),  # every code point, control characters and U+2028 included
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
keys = st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(keys, values, max_size=8))
@settings(max_examples=400, deadline=None)
def test_canonical_bytes_are_rfc_8785s(document: dict[str, Any]) -> None:
    assert canonical(document) == rfc8785.dumps(document)


def test_event_objects_take_the_fast_path_with_rfc_8785s_bytes() -> None:
    event = EVENT | {"payload": {"title": 'a\x1f\u2028\U0001f680"\\\u00e9', "dueDate": None}}
    assert canonical(event) == rfc8785.dumps(event)
    assert canonical(event) == orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def test_an_integer_beyond_2_53_is_refused_as_rfc_8785_refuses_it() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical({"version": 2**53})


def test_the_chain_starts_at_64_zeros_and_hashes_the_previous_hash_then_the_event() -> None:
    first = hashlib.sha256(ZERO_HASH.encode() + rfc8785.dumps(EVENT)).hexdigest()
    second_event = EVENT | {"version": 3}
    second = hashlib.sha256(first.encode() + rfc8785.dumps(second_event)).hexdigest()
    assert next_hash(ZERO_HASH, EVENT) == first
    assert chain_of([EVENT, second_event]) == [first, second]
    # The feed's position and other keys are not hashed: an imported copy keeps its hashes.
    assert chain_of([EVENT | {"position": 7, "hash": "x"}]) == [first]


def test_hashed_part_needs_every_key_of_an_event() -> None:
    with pytest.raises(KeyError):
        hashed_part({k: v for k, v in EVENT.items() if k != "actor"})


def lines(events: list[dict[str, Any]], *, with_hashes: bool = True) -> list[bytes]:
    hashes = chain_of(events)
    return [
        orjson.dumps(event | ({"hash": h} if with_hashes else {})) + b"\n"
        for event, h in zip(events, hashes, strict=True)
    ]


EVENTS = [EVENT | {"version": version} for version in range(1, 6)]


def test_an_export_whose_hashes_agree_passes_as_it_came() -> None:
    exported = lines(EVENTS)
    with checked(exported) as kept:
        assert kept.read() == b"".join(exported)
    older = lines(EVENTS, with_hashes=False)
    with checked(older) as kept:
        assert kept.read() == b"".join(older)


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (lambda ls: [*ls[:2], ls[2].replace(b"alice", b"mallory"), *ls[3:]], 3),
        (lambda ls: [*ls[:2], *ls[3:]], 3),  # a line removed: the next no longer follows
        (lambda ls: [*ls[:3], ls[1], *ls[3:]], 4),  # a line repeated
        (lambda ls: [*ls[:4], orjson.dumps(EVENT) + b"\n"], 5),  # a line without a hash
        (lambda ls: [ls[1], ls[0], *ls[2:]], 1),  # reordered
    ],
)
def test_an_export_whose_hashes_disagree_is_refused_at_the_first_bad_line(
    tamper: Any, line: int
) -> None:
    with pytest.raises(ChainBroken) as refused:
        checked(tamper(lines(EVENTS)))
    assert refused.value.number == line
    assert str(refused.value).startswith(f"line {line}: ")
    assert str(refused.value).endswith("nothing was imported")


def test_a_hash_after_lines_without_one_is_refused() -> None:
    mixed = [*lines(EVENTS[:2], with_hashes=False), lines(EVENTS[:3])[2]]
    with pytest.raises(ChainBroken) as refused:
        checked(mixed)
    assert refused.value.number == 3


@given(
    st.fixed_dictionaries(
        {
            "milestoneId": st.text(),
            "version": st.integers(min_value=1, max_value=2**53 - 1),
            "type": st.text(),
            "occurredAt": st.text(),
            "actor": st.none() | st.text(),
            "requestId": st.none() | st.text(),
            "payload": st.dictionaries(keys, values, max_size=6),
        }
    )
)
@settings(max_examples=300, deadline=None)
def test_event_bytes_are_rfc_8785s(event: dict[str, Any]) -> None:
    assert event_bytes(event) == rfc8785.dumps(event)
