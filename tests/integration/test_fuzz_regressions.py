"""One test per input that broke the service, each written against the contract.

Every 4xx here must be a problem+json that names the bad field (or, for If-Match, a 412)
and must record nothing. A test marked xfail is a finding not yet fixed in the service:
``strict=True`` turns it into a failure the moment the fix lands, so the mark goes then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon.testing
import pytest

from adapters.bootstrap import open_service
from adapters.http.app import create_app
from adapters.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PROBLEM_JSON = "application/problem+json"
# A well-formed ISO 8601 date-time whose UTC instant is before 0001-01-01T00:00Z ...
BEFORE_YEAR_1 = "0001-01-01T00:00:00+01:00"
# ... and one after 9999-12-31T23:59:59.999Z: Python's datetime holds neither.
AFTER_YEAR_9999 = "9999-12-31T23:59:59-01:00"
# More digits than Python converts to an int by default (sys.get_int_max_str_digits(): 4300).
# 5,000 digits fit in one header under gunicorn's default limit of 8,190 bytes a field.
HUGE_NUMBER = "1" * 5000


@pytest.fixture
def client(tmp_path: Path) -> Iterator[falcon.testing.TestClient]:
    service = open_service(Settings(database_url=f"sqlite:///{tmp_path}/m.db"))
    yield falcon.testing.TestClient(create_app(service.milestones, service.reads))
    service.close()


@pytest.fixture
def milestone_id(client: falcon.testing.TestClient) -> str:
    response = client.simulate_post(
        "/api/milestones", json={"projectId": "proj_01", "title": "Beta Launch"}
    )
    assert response.status_code == 201
    return str(response.json["data"]["id"])


def event_count(client: falcon.testing.TestClient) -> int:
    return int(client.simulate_get("/api/events", params={"limit": "1000"}).json["count"])


def assert_problem(response: falcon.testing.Result, status: int, field: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json
    assert body["status"] == status
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}


@pytest.mark.parametrize("reached_at", [BEFORE_YEAR_1, AFTER_YEAR_9999])
def test_patch_with_a_reached_at_outside_the_representable_years_is_a_400(
    client: falcon.testing.TestClient, milestone_id: str, reached_at: str
) -> None:
    before = event_count(client)
    response = client.simulate_patch(
        f"/api/milestones/{milestone_id}", json={"reachedAt": reached_at}
    )
    assert_problem(response, 400, "reachedAt")
    assert event_count(client) == before


@pytest.mark.parametrize("as_of", [BEFORE_YEAR_1, AFTER_YEAR_9999])
def test_get_as_of_an_instant_outside_the_representable_years_is_a_400(
    client: falcon.testing.TestClient, milestone_id: str, as_of: str
) -> None:
    response = client.simulate_get(f"/api/milestones/{milestone_id}", params={"asOf": as_of})
    assert_problem(response, 400, "asOf")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", AFTER_YEAR_9999),
        ("since", BEFORE_YEAR_1),
        ("until", BEFORE_YEAR_1),
        ("until", AFTER_YEAR_9999),
    ],
)
def test_the_feed_since_or_until_an_instant_outside_the_representable_years_is_a_400(
    client: falcon.testing.TestClient, milestone_id: str, name: str, value: str
) -> None:
    response = client.simulate_get("/api/events", params={name: value})
    assert_problem(response, 400, name)


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_if_match_tag_of_a_huge_version_is_a_412(
    client: falcon.testing.TestClient, milestone_id: str, method: str
) -> None:
    """No milestone has that version: the tag is stale or unknown, which is a 412."""
    before = event_count(client)
    response = client.simulate_request(
        method,
        f"/api/milestones/{milestone_id}",
        json={"title": "Launched"} if method == "PATCH" else None,
        headers={"If-Match": f'"{HUGE_NUMBER}"'},
    )
    assert_problem(response, 412, None)
    assert event_count(client) == before
    assert client.simulate_get(f"/api/milestones/{milestone_id}").status_code == 200


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/events", "limit"),
        ("/api/events", "after"),
        ("/api/milestones/{milestone_id}", "version"),
    ],
)
def test_a_huge_number_in_a_whole_number_query_parameter_is_a_400(
    client: falcon.testing.TestClient, milestone_id: str, path: str, name: str
) -> None:
    url = path.format(milestone_id=milestone_id)
    response = client.simulate_get(url, query_string=f"{name}={HUGE_NUMBER}")
    assert_problem(response, 400, name)
