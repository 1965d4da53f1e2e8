"""The bytes a verification and the keeper hash, read straight from stored records: the
same as the RFC 8785 reference implementation's of the history's event object, for records
of every class version, with any text, very large numbers and states that were tampered
with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import rfc8785
from eventsourcing.utils import get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.milestone import Milestone
from projections.chain import record_bytes, record_event
from projections.events import event_document

CLASSES = (Milestone.Created, Milestone.Updated, Milestone.StatusChanged, Milestone.Deleted)
TOPICS = {get_topic(cls): cls.class_version for cls in CLASSES}

maybe_text = st.none() | st.text()  # every code point: controls, U+2028, beyond the BMP
# Hypothesis takes naive bounds and adds the zone itself.
EARLIEST, LATEST = datetime(1970, 1, 1), datetime(2200, 1, 1)  # noqa: DTZ001
instants = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)).map(
    lambda moment: {"_type_": "datetime_iso", "_data_": moment.isoformat()}
)
# What a tamperer may leave where a field's value was: anything JSON holds.
odd_values = st.recursive(
    st.none()
    | st.booleans()
    | st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON here holds
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
fields = {
    "project_id": st.text(),
    "title": st.text(),
    "description": st.text(),
    "status": st.text(),
    "due_date": maybe_text,
    "reached_at": st.none() | instants,
}


@st.composite
def stored_records(draw: st.DrawFn) -> tuple[str, int, str, bytes]:
    topic = draw(st.sampled_from(sorted(TOPICS)))
    state: dict[str, Any] = {
        "timestamp": draw(instants),
        "actor": draw(maybe_text),
        "request_id": draw(maybe_text),
    }
    kind = topic.rpartition(".")[2]
    if kind == "Created":
        state |= {name: draw(values) for name, values in fields.items()}
    elif kind == "Updated":
        changes = st.dictionaries(st.sampled_from(sorted(fields)), odd_values, max_size=4)
        state["changes"] = draw(changes)
    elif kind == "StatusChanged":
        state |= {
            "from_status": draw(st.text()),
            "to_status": draw(st.text()),
            "reached_at": draw(st.none() | instants),
        }
    # Older versions, which are upcast; tampered states: a field gone or of another kind.
    state["class_version"] = draw(st.integers(min_value=1, max_value=TOPICS[topic]))
    if draw(st.booleans()) and len(state) > 1:
        name = draw(st.sampled_from(sorted(state)))
        if draw(st.booleans()):
            del state[name]
        else:
            state[name] = draw(odd_values)
    version = draw(st.integers(min_value=1, max_value=2**60))  # beyond 2**53 too
    return "ms_01HZX3QK8V6Y4T2N0R5W7M9C1D", version, topic, orjson.dumps(state)


def reference(record: tuple[str, int, str, bytes]) -> bytes | type[Exception]:
    """RFC 8785's bytes of the event object, by the general way; the error's kind if none."""
    try:
        return rfc8785.dumps(event_document(*record))
    except Exception as error:  # noqa: BLE001 - the same kind of failure is what is compared
        return type(error)


@given(stored_records())
@settings(max_examples=1500, deadline=None)
def test_a_records_bytes_are_rfc_8785s_of_its_event_object(
    record: tuple[str, int, str, bytes],
) -> None:
    expected = reference(record)
    if isinstance(expected, bytes):
        assert record_bytes(*record) == expected
    else:
        with pytest.raises(expected):
            record_bytes(*record)


def test_a_record_of_todays_version_is_the_history_event() -> None:
    stored = orjson.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-02-19T10:30:00.004000+00:00"},
            "actor": "alice",
            "request_id": "req-1",
            "from_status": "pending",
            "to_status": "reached",
            "reached_at": {"_type_": "datetime_iso", "_data_": "2026-02-19T10:30:00+00:00"},
            "class_version": Milestone.StatusChanged.class_version,
        }
    )
    record = ("ms_01HZX3QK8V6Y4T2N0R5W7M9C1D", 2, get_topic(Milestone.StatusChanged), stored)
    assert record_event(*record) == event_document(*record)
    assert record_event(*record)["payload"] == {
        "from": "pending",
        "to": "reached",
        "reachedAt": "2026-02-19T10:30:00.000Z",
    }
