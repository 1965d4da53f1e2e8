"""Request validation: every rule of adapters/contract/validation.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.contract.fields import parse_instant
from adapters.contract.models import EventsQuery, ListQuery, MilestoneQuery, NoQuery, Query
from adapters.contract.validation import (
    MAX_BODY_BYTES,
    ValidationFailed,
    parse_create,
    parse_query,
    parse_update,
)
from domain.milestone import Status

MINIMAL = {"projectId": "proj_01", "title": "Beta Launch"}
NOT_STRINGS = [1, 0, 1.5, True, False, None, [], ["a"], {}, {"a": "b"}]
NOT_STATUSES = ["", "bogus", "Reached", "REACHED", " pending", "in progress", 1, True, None, []]
GOOD_DUE_DATES = [
    "2026-03-01",
    "2024-02-29",
    "2026-03-01T00:00:00Z",
    "2026-03-01T00:00Z",
    "2026-03-01T00:00:00.5Z",
    "2026-03-01T00:00:00.123456789Z",
    "2026-03-01T09:30:00+02:00",
    "2026-03-01T09:30:00-05:30",
    "2026-03-01T09:30:00.250+00:00",
]
BAD_DUE_DATES: list[Any] = [
    "2026-03-01T00:00:00",  # no offset
    "2026-03-01T00:00",
    "2026-02-30",
    "2025-02-29",
    "2026-13-01",
    "2026-3-1",
    "20260301",
    "yesterday",
    "",
    " 2026-03-01",
    "2026-03-01 ",
    "2026-03-01T25:00:00Z",
    "2026-03-01T10:00:00+24:00",
    "2026-03-01t10:00:00Z",
    "2026-03-01T10:00:00z",
    "2026-03-01T10:00:00 Z",
    "2026-03-01T10:00:00+0200",
    "2026-03-01T10:00:00.Z",
    "2026-03-01T10:00:00.1234567890Z",
    "２０２６-０３-０１",  # noqa: RUF001 - full-width digits
    20260301,
    1.5,
    True,
    [],
    {},
]


def errors_of(call: Any, body: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        call(body)
    return {error["field"]: error["message"] for error in raised.value.errors}


# --- create ---------------------------------------------------------------------------


def test_create_minimal_body_gives_only_the_required_arguments() -> None:
    assert parse_create(dict(MINIMAL)) == {"project_id": "proj_01", "title": "Beta Launch"}


def test_create_full_body() -> None:
    body = {
        **MINIMAL,
        "description": "Internal beta.",
        "status": "in_progress",
        "dueDate": "2026-03-01T00:00:00Z",
    }
    command = parse_create(body)
    assert command == {
        "project_id": "proj_01",
        "title": "Beta Launch",
        "description": "Internal beta.",
        "status": Status.IN_PROGRESS,
        "due_date": "2026-03-01T00:00:00Z",
    }
    assert command["status"] is Status.IN_PROGRESS


@pytest.mark.parametrize("field", ["projectId", "title"])
def test_create_requires(field: str) -> None:
    body = dict(MINIMAL)
    del body[field]
    assert errors_of(parse_create, body) == {field: "is required"}


def test_create_of_an_empty_object_names_both_required_fields() -> None:
    assert errors_of(parse_create, {}) == {"projectId": "is required", "title": "is required"}


@pytest.mark.parametrize("field", ["projectId", "title"])
@pytest.mark.parametrize("value", ["", " ", "   ", "\t", "\n", " \t\r\n "])
def test_create_refuses_empty_or_blank_required_text(field: str, value: str) -> None:
    assert errors_of(parse_create, {**MINIMAL, field: value}) == {field: "must not be empty"}


@pytest.mark.parametrize(("field", "limit"), [("projectId", 100), ("title", 200)])
def test_create_length_limits_at_the_boundary(field: str, limit: int) -> None:
    assert parse_create({**MINIMAL, field: "x" * limit})[_arg(field)] == "x" * limit
    assert parse_create({**MINIMAL, field: "x"})[_arg(field)] == "x"
    assert errors_of(parse_create, {**MINIMAL, field: "x" * (limit + 1)}) == {
        field: f"must be at most {limit} characters"
    }


def test_length_counts_characters_not_bytes() -> None:
    assert parse_create({**MINIMAL, "title": "é" * 200})["title"] == "é" * 200


def test_description_length_limit_at_the_boundary() -> None:
    assert parse_create({**MINIMAL, "description": "d" * 10_000})["description"] == "d" * 10_000
    assert errors_of(parse_create, {**MINIMAL, "description": "d" * 10_001}) == {
        "description": "must be at most 10000 characters"
    }
    assert parse_update({"description": "d" * 10_000}) == {"description": "d" * 10_000}
    assert errors_of(parse_update, {"description": "d" * 10_001}) == {
        "description": "must be at most 10000 characters"
    }


@pytest.mark.parametrize("value", ["", " ", "\n"])
def test_description_may_be_empty_or_blank(value: str) -> None:
    assert parse_create({**MINIMAL, "description": value})["description"] == value
    assert parse_update({"description": value}) == {"description": value}


def test_text_is_kept_as_sent() -> None:
    command = parse_create({"projectId": " p ", "title": "  Beta  ", "description": " d "})
    assert command == {"project_id": " p ", "title": "  Beta  ", "description": " d "}


@pytest.mark.parametrize("field", ["projectId", "title", "description"])
@pytest.mark.parametrize("value", NOT_STRINGS)
def test_create_refuses_text_fields_of_other_types(field: str, value: Any) -> None:
    assert errors_of(parse_create, {**MINIMAL, field: value}) == {field: "must be a string"}


@pytest.mark.parametrize("value", NOT_STATUSES)
def test_create_refuses_bad_status(value: Any) -> None:
    assert errors_of(parse_create, {**MINIMAL, "status": value}) == {
        "status": "must be one of pending, in_progress, reached"
    }


@pytest.mark.parametrize("status", list(Status))
def test_create_accepts_every_status(status: Status) -> None:
    assert parse_create({**MINIMAL, "status": status.value})["status"] is status


@pytest.mark.parametrize("due_date", GOOD_DUE_DATES)
def test_due_date_accepted_forms_are_kept_exactly(due_date: str) -> None:
    assert parse_create({**MINIMAL, "dueDate": due_date})["due_date"] == due_date
    assert parse_update({"dueDate": due_date}) == {"due_date": due_date}


def test_due_date_may_be_null() -> None:
    assert parse_create({**MINIMAL, "dueDate": None})["due_date"] is None
    assert parse_update({"dueDate": None}) == {"due_date": None}


@pytest.mark.parametrize("due_date", BAD_DUE_DATES)
def test_due_date_rejected_forms(due_date: Any) -> None:
    message = "must be null, an ISO 8601 date or a date-time with offset"
    assert errors_of(parse_create, {**MINIMAL, "dueDate": due_date}) == {"dueDate": message}
    assert errors_of(parse_update, {"dueDate": due_date}) == {"dueDate": message}


@pytest.mark.parametrize("due_date", ["2026-03-01T10:00:00+05:99", "2026-03-01T10:00:00+01:60"])
def test_due_date_offset_minutes_must_be_a_real_offset(due_date: str) -> None:
    errors_of(parse_create, {**MINIMAL, "dueDate": due_date})


@pytest.mark.parametrize("field", ["id", "createdAt", "reachedAt"])
@pytest.mark.parametrize("value", ["ms_01", "2026-02-19T10:30:00.000Z", "not a date", 7, None, []])
def test_create_ignores_fields_a_client_may_not_set(field: str, value: Any) -> None:
    assert parse_create({**MINIMAL, field: value}) == {
        "project_id": "proj_01",
        "title": "Beta Launch",
    }


def test_create_accepts_a_whole_milestone_object() -> None:
    whole = {
        "id": "ms_01",
        "projectId": "proj_01",
        "title": "Design",
        "description": "",
        "status": "reached",
        "dueDate": "2025-12-15T00:00:00Z",
        "reachedAt": "2025-12-12T16:00:00Z",
        "createdAt": "2025-11-01T09:00:00Z",
    }
    assert parse_create(whole) == {
        "project_id": "proj_01",
        "title": "Design",
        "description": "",
        "status": Status.REACHED,
        "due_date": "2025-12-15T00:00:00Z",
    }


@pytest.mark.parametrize("call", [parse_create, parse_update])
def test_unknown_fields_are_each_named(call: Any) -> None:
    body = {**MINIMAL, "priority": 1, "project_id": "p", "Title": "x", "": 0, "deleted": True}
    assert errors_of(call, body) == {
        "priority": "is not a milestone field",
        "project_id": "is not a milestone field",
        "Title": "is not a milestone field",
        "": "is not a milestone field",
        "deleted": "is not a milestone field",
    }


def test_create_names_every_bad_field_in_one_failure() -> None:
    body = {
        "title": " ",
        "description": 5,
        "status": "done",
        "dueDate": "yesterday",
        "colour": "red",
    }
    with pytest.raises(ValidationFailed) as raised:
        parse_create(body)
    errors = raised.value.errors
    assert {e["field"] for e in errors} == {
        "projectId",
        "title",
        "description",
        "status",
        "dueDate",
        "colour",
    }
    assert len(errors) == 6
    assert all(set(e) == {"field", "message"} and e["message"] for e in errors)
    for field in ("projectId", "title", "description", "status", "dueDate", "colour"):
        assert field in str(raised.value)


@pytest.mark.parametrize("call", [parse_create, parse_update])
@pytest.mark.parametrize("body", [[], [MINIMAL], "text", "", 0, 1.5, True, None])
def test_a_body_that_is_not_an_object_is_refused(call: Any, body: Any) -> None:
    assert errors_of(call, body) == {"": "must be a JSON object"}


# --- update ---------------------------------------------------------------------------


def test_update_of_an_empty_object_changes_nothing() -> None:
    assert parse_update({}) == {}


def test_update_every_field() -> None:
    changes = parse_update(
        {
            "title": "Gamma",
            "description": "",
            "status": "reached",
            "dueDate": "2026-03-01",
            "reachedAt": "2026-02-19T10:30:00.000Z",
        }
    )
    assert changes == {
        "title": "Gamma",
        "description": "",
        "status": Status.REACHED,
        "due_date": "2026-03-01",
        "reached_at": datetime(2026, 2, 19, 10, 30, tzinfo=UTC),
    }


@pytest.mark.parametrize("field", ["id", "createdAt", "projectId"])
@pytest.mark.parametrize("value", ["proj_02", "2026-02-19T10:30:00.000Z", 7, None, {}])
def test_update_ignores_fields_a_client_may_not_change(field: str, value: Any) -> None:
    assert parse_update({field: value, "title": "Gamma"}) == {"title": "Gamma"}


def test_update_accepts_a_whole_milestone_object() -> None:
    whole = {
        "id": "ms_01",
        "projectId": "proj_01",
        "title": "Design",
        "description": "d",
        "status": "pending",
        "dueDate": None,
        "reachedAt": None,
        "createdAt": "2025-11-01T09:00:00.000Z",
    }
    assert parse_update(whole) == {
        "title": "Design",
        "description": "d",
        "status": Status.PENDING,
        "due_date": None,
        "reached_at": None,
    }


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_update_refuses_blank_title(value: str) -> None:
    assert errors_of(parse_update, {"title": value}) == {"title": "must not be empty"}


def test_update_title_length_limit_at_the_boundary() -> None:
    assert parse_update({"title": "t" * 200}) == {"title": "t" * 200}
    assert errors_of(parse_update, {"title": "t" * 201}) == {
        "title": "must be at most 200 characters"
    }


@pytest.mark.parametrize("field", ["title", "description"])
@pytest.mark.parametrize("value", NOT_STRINGS)
def test_update_refuses_text_fields_of_other_types(field: str, value: Any) -> None:
    assert errors_of(parse_update, {field: value}) == {field: "must be a string"}


@pytest.mark.parametrize("value", NOT_STATUSES)
def test_update_refuses_bad_status(value: Any) -> None:
    assert errors_of(parse_update, {"status": value}) == {
        "status": "must be one of pending, in_progress, reached"
    }


def test_update_reached_at_may_be_null() -> None:
    assert parse_update({"reachedAt": None}) == {"reached_at": None}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-02-19T10:30:00Z", datetime(2026, 2, 19, 10, 30, tzinfo=UTC)),
        ("2026-02-19T10:30Z", datetime(2026, 2, 19, 10, 30, tzinfo=UTC)),
        ("2026-02-19T10:30:00.5Z", datetime(2026, 2, 19, 10, 30, 0, 500_000, tzinfo=UTC)),
        ("2026-02-19T10:30:00.123456Z", datetime(2026, 2, 19, 10, 30, 0, 123_000, tzinfo=UTC)),
        ("2026-02-19T10:30:00.999999Z", datetime(2026, 2, 19, 10, 30, 0, 999_000, tzinfo=UTC)),
        ("2026-02-19T12:30:00.123+02:00", datetime(2026, 2, 19, 10, 30, 0, 123_000, tzinfo=UTC)),
        ("2026-02-19T05:00:00-05:30", datetime(2026, 2, 19, 10, 30, tzinfo=UTC)),
        ("2026-02-20T00:30:00+14:00", datetime(2026, 2, 19, 10, 30, tzinfo=UTC)),
    ],
)
def test_reached_at_is_normalised_to_utc_at_millisecond_precision(
    sent: str, stored: datetime
) -> None:
    (value,) = parse_update({"reachedAt": sent}).values()
    assert value == stored
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo == UTC
    assert value.microsecond % 1000 == 0
    assert parse_instant(sent) == stored


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-19",  # a date is not an instant
        "2026-02-19T10:30:00",
        "2026-02-30T10:30:00Z",
        "2026-02-19T10:30:00+24:00",
        "yesterday",
        "",
        1771497000,
        1.5,
        True,
        [],
        {},
    ],
)
def test_update_refuses_bad_reached_at(value: Any) -> None:
    assert errors_of(parse_update, {"reachedAt": value}) == {
        "reachedAt": "must be null or an ISO 8601 date-time with offset"
    }


def test_update_names_every_bad_field_in_one_failure() -> None:
    body = {
        "title": 3,
        "description": None,
        "status": "bogus",
        "dueDate": 20260301,
        "reachedAt": "now",
        "extra": 1,
        "projectId": 5,
    }
    assert set(errors_of(parse_update, body)) == {
        "title",
        "description",
        "status",
        "dueDate",
        "reachedAt",
        "extra",
    }


# --- status filter and instants ------------------------------------------------------


def parse_status_filter(value: str | None) -> tuple[Status, ...] | None:
    return parse_query(ListQuery, {} if value is None else {"status": value}).status


def test_status_filter_absent_is_no_filter() -> None:
    assert parse_status_filter(None) is None


@pytest.mark.parametrize("status", list(Status))
def test_status_filter_accepts_every_status(status: Status) -> None:
    assert parse_status_filter(status.value) == (status,)


@pytest.mark.parametrize(
    ("value", "statuses"),
    [
        ("pending,in_progress", ("in_progress", "pending")),
        ("in_progress,pending", ("in_progress", "pending")),
        ("reached,reached", ("reached",)),
        ("reached,pending,in_progress", ("in_progress", "pending", "reached")),
    ],
)
def test_status_filter_takes_a_list_as_one_sorted_set(value: str, statuses: tuple[str]) -> None:
    assert parse_status_filter(value) == statuses


@pytest.mark.parametrize("value", ["bogus", "Pending", " reached", "reached pending"])
def test_status_filter_refuses(value: str) -> None:
    assert errors_of(parse_status_filter, value) == {
        "status": "must be one of pending, in_progress, reached"
    }


@pytest.mark.parametrize(
    ("value", "unknown"),
    [
        ("reached,bogus", "bogus"),
        ("reached,", ""),
        (",pending", ""),
        ("pending, reached", " reached"),
    ],
)
def test_status_filter_refuses_a_list_naming_its_unknown_member(value: str, unknown: str) -> None:
    assert errors_of(parse_status_filter, value) == {
        "status": "must be statuses separated by commas, each one of pending, in_progress, "
        f"reached ({unknown!r} is not)"
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dueAfter", "2026-03-01T10:00:00 01:00"),
        ("dueBefore", "2026-03-01T10:00 05:30"),
    ],
)
def test_a_date_time_whose_plus_arrived_as_a_space_gets_a_hint(name: str, value: str) -> None:
    assert errors_of(lambda v: parse_query(ListQuery, {name: v}), value) == {
        name: "must be an ISO 8601 date or a date-time with offset (a `+` in a query string "
        "must be encoded as %2B)"
    }


@pytest.mark.parametrize(
    "value", [None, 5, 1.5, True, [], "2026-02-19", "2026-02-19T10:30:00", "soon", ""]
)
def test_parse_instant_refuses(value: Any) -> None:
    assert parse_instant(value) is None


def test_validation_failed_carries_errors_and_a_readable_detail() -> None:
    failure = ValidationFailed([{"field": "a", "message": "is bad"}])
    assert failure.errors == [{"field": "a", "message": "is bad"}]
    assert str(failure) == "a: is bad"
    assert str(ValidationFailed([], "custom detail")) == "custom detail"


def test_body_limit_is_64_kib() -> None:
    assert MAX_BODY_BYTES == 64 * 1024


def _arg(field: str) -> str:
    return {"projectId": "project_id", "title": "title"}[field]


@pytest.mark.parametrize("value", ["2026-02-19T10:30:00+05:99", "2026-02-19T10:30:00-01:60"])
def test_reached_at_offset_minutes_must_be_a_real_offset(value: str) -> None:
    assert parse_instant(value) is None


# --- query parameters ----------------------------------------------------------------


def query_errors(model: type[Query], params: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        parse_query(model, params)
    return {error["field"]: error["message"] for error in raised.value.errors}


UNKNOWN = "is not a query parameter of this route"


@pytest.mark.parametrize("model", [NoQuery, ListQuery, MilestoneQuery, EventsQuery])
def test_a_parameter_a_route_does_not_define_is_named(model: type[Query]) -> None:
    assert query_errors(model, {"projectid": "proj_01", "page": "2"}) == {
        "projectid": UNKNOWN,
        "page": UNKNOWN,
    }
    # Nor does a parameter go by its attribute name.
    assert query_errors(model, {"project_id": "p"}) == {"project_id": UNKNOWN}


def test_no_parameters_are_the_defaults() -> None:
    assert parse_query(NoQuery, {}) == NoQuery()
    assert parse_query(ListQuery, {}) == ListQuery()
    assert parse_query(EventsQuery, {}) == EventsQuery(after=0, limit=100)
    assert parse_query(EventsQuery, {}).model_dump() == {
        "after": 0,
        "limit": 100,
        "project_id": None,
        "milestone_id": None,
        "type": None,
        "since": None,
        "until": None,
        "actor": None,
        "wait": None,
    }
    assert parse_query(MilestoneQuery, {}).model_dump() == {"version": None, "as_of": None}


@pytest.mark.parametrize("name", ["projectId", "status"])
def test_a_list_filter_given_twice_or_empty_is_named(name: str) -> None:
    assert query_errors(ListQuery, {name: ["a", "b"]}) == {name: "must be given at most once"}
    assert query_errors(ListQuery, {name: ""}) == {name: "must not be empty"}


def test_every_bad_feed_parameter_is_named_in_one_failure() -> None:
    params = {
        "after": "-1",
        "limit": "0",
        "projectId": "",
        "milestoneId": "ms_nope",
        "type": "Renamed",
        "since": "soon",
        "until": ["2026-01-01T00:00Z", "2026-02-01T00:00Z"],
        "actor": "a" * 201,
        "colour": "red",
    }
    assert query_errors(EventsQuery, params) == {
        "after": f"must be a whole number from 0 to {2**62}",
        "limit": "must be a whole number from 1 to 1000",
        "projectId": "must not be empty",
        "milestoneId": "is not a milestone id",
        "type": "must be one of Created, Deleted, StatusChanged, Updated",
        "since": "must be an ISO 8601 date-time with offset",
        "until": "must be given at most once",
        "actor": "must be at most 200 characters",
        "colour": UNKNOWN,
    }


@pytest.mark.parametrize("value", ["1", "1000", "0001"])
def test_the_feed_limit_in_range(value: str) -> None:
    assert parse_query(EventsQuery, {"limit": value}).limit == int(value)


@pytest.mark.parametrize("value", ["1001", "1.0", " 1", "\uff11", "1" * 5000, "0x10"])
def test_the_feed_limit_out_of_range_or_not_whole(value: str) -> None:
    assert query_errors(EventsQuery, {"limit": value}) == {
        "limit": "must be a whole number from 1 to 1000"
    }


def test_feed_bounds_in_the_form_stored_instants_compare_in() -> None:
    query = parse_query(
        EventsQuery,
        {"since": "2026-02-19T12:30:00.1234+02:00", "until": "2026-02-19T12:30:00.1239+02:00"},
    )
    # A lower bound rounds up to the next whole millisecond, an upper one down.
    assert (query.since, query.until) == ("2026-02-19T10:30:00.124Z", "2026-02-19T10:30:00.123Z")
    assert parse_query(EventsQuery, {"type": "StatusChanged"}).type == "StatusChanged"


def test_the_feed_actor_filter_is_an_exact_name() -> None:
    assert parse_query(EventsQuery, {"actor": "alice@example.com"}).actor == "alice@example.com"
    assert parse_query(EventsQuery, {"actor": "a" * 200}).actor == "a" * 200
    assert query_errors(EventsQuery, {"actor": ""}) == {"actor": "must not be empty"}
    assert query_errors(EventsQuery, {"actor": ["a", "b"]}) == {
        "actor": "must be given at most once"
    }


def test_a_milestone_query_takes_a_version_and_an_instant_together() -> None:
    query = parse_query(MilestoneQuery, {"version": "3", "asOf": "2026-02-19T10:30Z"})
    assert (query.version, query.as_of) == (3, "2026-02-19T10:30:00.000Z")
    assert query_errors(MilestoneQuery, {"version": "0", "asOf": "2026-02-30T10:30Z"}) == {
        "version": f"must be a whole number from 1 to {2**62}",
        "asOf": "must be an ISO 8601 date-time with offset",
    }
