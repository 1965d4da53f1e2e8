"""The milestone document is derived from the domain: names, order and value forms."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.milestone import Milestone, Status
from projections.document import (
    DOCUMENT_KEYS,
    INSTANTS,
    WIRE_NAMES,
    attributes_of,
    document_of,
    milestone_document,
    wire_fields,
    wire_name,
)

CONTRACT_KEYS = (
    "id",
    "projectId",
    "title",
    "description",
    "status",
    "dueDate",
    "reachedAt",
    "createdAt",
)
REACHED = datetime(2026, 2, 19, 10, 30, 0, 4000, tzinfo=UTC)


def test_wire_names_are_the_attribute_names_in_camel_case() -> None:
    assert wire_name("due_date") == "dueDate"
    assert wire_name("title") == "title"
    assert wire_name("a_b_c") == "aBC"
    assert list(WIRE_NAMES) == [
        "project_id",
        "title",
        "description",
        "status",
        "due_date",
        "reached_at",
    ]


def test_the_document_has_the_contract_s_eight_keys_in_order() -> None:
    assert DOCUMENT_KEYS == CONTRACT_KEYS
    milestone = Milestone.create(project_id="p", title="t", status=Status.REACHED)
    assert tuple(document_of(milestone)) == CONTRACT_KEYS


def test_instants_are_the_fields_typed_as_datetimes() -> None:
    assert {"reached_at"} == INSTANTS


def test_stored_and_in_memory_instants_look_the_same() -> None:
    stored = {"_type_": "datetime_iso", "_data_": "2026-02-19T10:30:00.004000+00:00"}
    assert wire_fields({"reached_at": stored}) == {"reachedAt": "2026-02-19T10:30:00.004Z"}
    assert wire_fields({"reached_at": REACHED}) == {"reachedAt": "2026-02-19T10:30:00.004Z"}
    assert wire_fields({"reached_at": None, "timestamp": stored}) == {"reachedAt": None}


def test_a_document_from_attributes() -> None:
    attributes = {
        "project_id": "p",
        "title": "t",
        "description": "",
        "status": "pending",
        "due_date": "2026-03-01",
        "reached_at": None,
        "deleted": False,
    }
    assert milestone_document("ms_x", attributes, "2026-01-01T00:00:00.000Z") == {
        "id": "ms_x",
        "projectId": "p",
        "title": "t",
        "description": "",
        "status": "pending",
        "dueDate": "2026-03-01",
        "reachedAt": None,
        "createdAt": "2026-01-01T00:00:00.000Z",
    }


def test_attributes_of_wire_fields_have_the_domain_s_types() -> None:
    fields = {"status": "reached", "reachedAt": "2026-02-19T10:30:00.004Z", "dueDate": None}
    attributes = attributes_of(fields)
    assert attributes == {"status": Status.REACHED, "reached_at": REACHED, "due_date": None}
    assert type(attributes["status"]) is Status
    assert wire_fields(attributes) == fields
    assert attributes_of({"reachedAt": None}) == {"reached_at": None}
