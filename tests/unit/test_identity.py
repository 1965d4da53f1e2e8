"""Token files with names, and the older one-word lines (contract section 8)."""

from __future__ import annotations

import hashlib

import pytest

from adapters.http.identity import Token, legacy_name, parse_tokens
from domain.caller import ANONYMOUS, Caller
from domain.milestone import Milestone, Status

SECRET = "s3cr3t-token-value"  # noqa: S105 - a made-up token


def test_named_tokens_and_legacy_lines() -> None:
    text = (
        "# comment line\n"
        f"{SECRET}-1 deploy-bot\n"
        f"{SECRET}-2 alice@example.com read-only   # dashboards\n"
        "\n"
        f"{SECRET}-3\n"
        f"{SECRET}-4 read-only\n"
        f"{SECRET}-5 deploy-bot\n"
    )
    assert parse_tokens(text) == {
        f"{SECRET}-1": Token("deploy-bot"),
        f"{SECRET}-2": Token("alice@example.com", read_only=True),
        f"{SECRET}-3": Token(legacy_name(f"{SECRET}-3")),
        f"{SECRET}-4": Token(legacy_name(f"{SECRET}-4"), read_only=True),
        f"{SECRET}-5": Token("deploy-bot"),  # two tokens may share a name
    }


def test_a_legacy_name_is_the_first_8_hex_of_the_tokens_sha256() -> None:
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    assert legacy_name(SECRET) == f"token-{digest[:8]}"
    assert SECRET not in legacy_name(SECRET)


@pytest.mark.parametrize("name", ["a", "A.Z_0-9@x", "x" * 64, "read-write", "token-deadbeef"])
def test_names_of_the_allowed_characters(name: str) -> None:
    assert parse_tokens(f"{SECRET} {name}") == {SECRET: Token(name)}


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(f"{SECRET} {'x' * 65}", id="65-chars"),
        pytest.param(f"{SECRET} bad/name", id="slash"),
        pytest.param(f"{SECRET} naïve", id="non-ascii"),
        pytest.param(f"{SECRET} read-only read-only", id="named-read-only"),
        pytest.param(f"{SECRET} alice bob", id="two-names"),
        pytest.param(f"{SECRET} alice read-only extra", id="four-words"),
        pytest.param(f"{SECRET} alice read-write", id="not-read-only"),
    ],
)
def test_a_malformed_line_is_named_by_number_never_by_token(line: str) -> None:
    with pytest.raises(ValueError, match=r"^token line 3: ") as raised:
        parse_tokens(f"# tokens\n{SECRET}-ok ok\n{line}\n")
    assert SECRET not in str(raised.value)


def test_every_event_records_its_caller_and_the_domain_decides_nothing() -> None:
    alice, bob = Caller("alice", "r-1"), Caller("bob", "r-2")
    milestone = Milestone.create(project_id="p", title="t", caller=alice)
    milestone.update(title="u", status=Status.REACHED, caller=bob)
    milestone.update(title="u", caller=ANONYMOUS)  # no change, no event
    milestone.delete(Caller(None, "r-3"))
    events = milestone.collect_events()
    assert [(type(e).__name__, vars(e)["actor"], vars(e)["request_id"]) for e in events] == [
        ("Created", "alice", "r-1"),
        ("Updated", "bob", "r-2"),
        ("StatusChanged", "bob", "r-2"),
        ("Deleted", None, "r-3"),
    ]
    assert "actor" not in vars(milestone)


def test_each_event_class_upcasts_records_from_before_actors() -> None:
    for event_class in (Milestone.Updated, Milestone.StatusChanged, Milestone.Deleted):
        assert event_class.class_version == 2
        state: dict[str, object] = {}
        event_class.upcast_v1_v2(state)
        assert state == {"actor": None, "request_id": None}
    assert Milestone.Created.class_version == 3
    created: dict[str, object] = {}
    Milestone.Created.upcast_v1_v2(created)
    Milestone.Created.upcast_v2_v3(created)
    assert created == {"reached_at": None, "actor": None, "request_id": None}
