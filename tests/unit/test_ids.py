"""Public milestone ids: UUIDv7 layout, creation order and the one canonical spelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain import ids
from domain.ids import (
    PREFIX,
    InvalidMilestoneId,
    from_public_id,
    new_milestone_uuid,
    public_id_of_hex,
    to_public_id,
)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
AT = datetime(2026, 2, 19, 10, 30, 0, 123000, tzinfo=UTC)


def nanos(at: datetime) -> int:
    """The clock reading, in nanoseconds since the epoch, of an instant."""
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


@pytest.fixture(autouse=True)
def fresh_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with no id made yet, and leave the process's counter as it was.

    The counter keeps ids increasing within a process, so an id made earlier for a later
    instant would otherwise decide what these tests see.
    """
    monkeypatch.setattr(ids, "_last", 0)


def test_uuid_is_version_7_with_rfc_variant() -> None:
    for _ in range(200):
        value = new_milestone_uuid(nanos(AT))
        assert value.version == 7
        assert (value.int >> 76) & 0xF == 0x7
        assert (value.int >> 62) & 0b11 == 0b10


def test_uuid_carries_the_creation_millisecond() -> None:
    for at in (AT, AT + timedelta(milliseconds=1), datetime(2030, 1, 1, tzinfo=UTC)):
        value = new_milestone_uuid(nanos(at))
        epoch_millis = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        assert value.int >> 80 == epoch_millis


def test_ids_sort_in_creation_order_within_one_millisecond() -> None:
    # Every id made for the same instant still sorts after the one made before it.
    uuids = [new_milestone_uuid(nanos(AT + timedelta(days=3650))) for _ in range(2000)]
    assert len(set(uuids)) == len(uuids)
    assert uuids == sorted(uuids)
    public = [to_public_id(u) for u in uuids]
    assert public == sorted(public)
    assert all(u.version == 7 for u in uuids)


def test_ids_sort_in_creation_order_across_milliseconds() -> None:
    start = AT + timedelta(days=7300)
    uuids = [
        new_milestone_uuid(nanos(start + timedelta(milliseconds=i // 10))) for i in range(1000)
    ]
    assert uuids == sorted(uuids)
    public = [to_public_id(u) for u in uuids]
    assert public == sorted(public)


def test_ids_made_with_the_clock_sort_in_creation_order() -> None:
    public = [to_public_id(new_milestone_uuid(nanos(datetime.now(UTC)))) for _ in range(5000)]
    assert len(set(public)) == len(public)
    assert public == sorted(public)


def test_public_id_shape() -> None:
    public = to_public_id(new_milestone_uuid(nanos(AT)))
    assert public.startswith(PREFIX)
    token = public[len(PREFIX) :]
    assert len(token) == 26
    assert set(token) <= set(CROCKFORD)
    assert token[0] <= "7"


@pytest.mark.parametrize(
    "value",
    [
        UUID(int=0),
        UUID(int=1),
        UUID(int=(1 << 128) - 1),
        UUID("01a2204c-3463-7820-8b28-da33883cfed4"),
    ],
)
def test_round_trip_of_edge_values(value: UUID) -> None:
    assert from_public_id(to_public_id(value)) == value


def test_round_trip_of_generated_ids() -> None:
    for _ in range(500):
        value = new_milestone_uuid(nanos(datetime.now(UTC)))
        public = to_public_id(value)
        assert from_public_id(public) == value
        assert to_public_id(from_public_id(public)) == public


def test_extreme_tokens() -> None:
    assert to_public_id(UUID(int=0)) == PREFIX + "0" * 26
    assert to_public_id(UUID(int=(1 << 128) - 1)) == PREFIX + "7" + "Z" * 25
    assert from_public_id(PREFIX + "7" + "Z" * 25) == UUID(int=(1 << 128) - 1)


VALID = to_public_id(UUID("01a2204c-3463-7820-8b28-da33883cfed4"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        PREFIX,
        "ms",
        VALID[len(PREFIX) :],  # no prefix at all
        "MS_" + VALID[len(PREFIX) :],  # prefix in the wrong case
        "mx_" + VALID[len(PREFIX) :],  # wrong prefix
        "ms-" + VALID[len(PREFIX) :],
        VALID[:-1],  # one digit short
        VALID + "0",  # one digit long
        PREFIX + "0" * 25,
        PREFIX + "0" * 27,
        VALID.lower(),  # lowercase is not the canonical spelling
        PREFIX + VALID[len(PREFIX) :].lower(),
        VALID[:-1] + "a",
        VALID[:-1] + "I",  # outside the Crockford alphabet
        VALID[:-1] + "L",
        VALID[:-1] + "O",
        VALID[:-1] + "U",
        VALID[:-1] + "-",
        VALID[:-1] + " ",
        " " + VALID,
        VALID + " ",
        PREFIX + "8" + "0" * 25,  # first digit > 7 would need 130 bits
        PREFIX + "Z" * 26,
        PREFIX + "9" + VALID[len(PREFIX) + 1 :],
    ],
)
def test_from_public_id_rejects(text: str) -> None:
    with pytest.raises(InvalidMilestoneId):
        from_public_id(text)


def test_invalid_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nope"):
        from_public_id("nope")


def test_ids_keep_increasing_when_the_clock_steps_back() -> None:
    later = new_milestone_uuid(nanos(AT + timedelta(seconds=1)))
    earlier_instant = new_milestone_uuid(nanos(AT))
    assert earlier_instant > later
    assert to_public_id(earlier_instant) > to_public_id(later)
    assert earlier_instant.version == 7


def test_public_id_of_the_stored_hex_form() -> None:
    for value in (UUID(int=0), UUID(int=(1 << 128) - 1), new_milestone_uuid(nanos(AT))):
        assert public_id_of_hex(value.hex) == to_public_id(value)
        assert from_public_id(public_id_of_hex(value.hex)) == value
