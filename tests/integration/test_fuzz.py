"""Schemathesis against the live WSGI app, in process, on a real SQLite file.

Every operation of the OpenAPI document gets examples, coverage cases (boundaries and each
kind of invalid input) and generated cases, valid and invalid; then stateful sequences follow
the document's links (create -> get -> patch -> delete -> history). The run must find no
server error, no response that breaks the document, and no 2xx for an input it forbids.

``MILESTONES_FUZZ_EXAMPLES`` sets the generated cases per operation: the suite runs a short
pass with a fixed seed (the examples and coverage cases in full, few generated ones), ``make
fuzz`` the long one; ``MILESTONES_FUZZ_SEED`` picks another seed (``random`` for a fresh one
each run).
"""

from __future__ import annotations

import itertools
import os
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # registers the OpenAPI checks
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.specs.openapi.checks import positive_data_acceptance

from adapters.bootstrap import open_service
from adapters.contract.openapi import openapi_document
from adapters.http.app import create_app
from adapters.http.live_tail import polling_tail
from adapters.http.metrics import Metrics
from adapters.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import falcon
    from schemathesis import Case, CheckContext, Response

    from adapters.http.live_tail import LiveTail
    from projections.ports import Reads

    App = falcon.App[falcon.Request, falcon.Response]

# Generated cases per operation; examples and coverage cases come on top.
EXAMPLES = int(os.environ.get("MILESTONES_FUZZ_EXAMPLES", "25"))
# Stateful scenarios, each a chain of up to STEPS calls that follow the links.
SCENARIOS = EXAMPLES // 2
STEPS = 8
_SEED = os.environ.get("MILESTONES_FUZZ_SEED", "20260219")
SEED = random.SystemRandom().randrange(2**32) if _SEED == "random" else int(_SEED)

# A schema-valid request may still meet the state of the service: an unknown id (404), a
# lost race or a reused Idempotency-Key (409), and the contract's own 412 for an If-Match
# that names no current version.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "412"]


# Query parameters whose value can draw a contract 400 that no schema states: a version
# beyond the stream, a cursor the service did not make, a progress range out of bounds.
HEAD_CONTRACT_400S = frozenset({"version", "cursor", "since", "until"})

# Sent back on PATCH, these must be the stored values: which ones a milestone has, no schema
# can know.
UNCHANGEABLE = frozenset({"id", "projectId", "createdAt"})
# The reachedAt bounds of contract section 2: they depend on the clock and on the milestone.
_REACHED_AT_BOUNDS = ("must not be later than now", "must not be null while the milestone is")


def _beyond_the_stream(response: Response, case: Case[Any]) -> bool:
    """The contract's 400s for a schema-valid request: ``?version=N`` past the milestone's
    last event (section 6), and a ``reachedAt`` later than now or taken from a reached
    milestone (section 2), an ``id``, ``projectId`` or ``createdAt`` sent back on PATCH with
    another value than stored, and a ``cursor`` that is not the ``next`` of a page of that list
    (section 9). No schema can know how long a stream is, what time it is, or which cursors
    the service made.
    """
    if response.status_code != 400:
        return False
    if not response.content:  # a HEAD: only the GET's body could say why; its query can
        return bool(HEAD_CONTRACT_400S & set(case.query or {}))
    errors = response.json().get("errors", [])
    return bool(errors) and all(
        (error["field"] == "version" and error["message"].startswith("is beyond the stream"))
        or (error["field"] == "reachedAt" and error["message"].startswith(_REACHED_AT_BOUNDS))
        or (error["field"] == "cursor" and error["message"].startswith("is not a cursor"))
        or (error["field"] in UNCHANGEABLE and error["message"].startswith("cannot be changed"))
        for error in errors
    )


# The contract's 400s for a progress range (section 10) that no schema can state: more than
# 1,000 points, an until before since, a since after now, an end beyond year 9999.
RANGE_MESSAGES = (
    "gives more than 1,000 points",
    "must not be before since",
    "must not be after now",
    "is too close to 9999-12-31",
)


def _out_of_range(response: Response) -> bool:
    if response.status_code != 400 or not response.content:  # a HEAD has no body
        return False
    errors = response.json().get("errors", [])
    return bool(errors) and all(
        error["field"] in {"since", "until"} and error["message"].startswith(RANGE_MESSAGES)
        for error in errors
    )


def _refused_target(response: Response) -> bool:
    """A webhook URL refused for where it points: its host's addresses and the operator's
    policy decide that, which no schema can state (and tests resolve no outside names)."""
    if response.status_code != 400 or not response.content:
        return False
    errors = response.json().get("errors", [])
    where = ("does not resolve", "non-public address", "must be an https:// URL")
    return bool(errors) and all(
        error["field"] == "url" and any(reason in error["message"] for reason in where)
        for error in errors
    )


@schemathesis.check
def positive_data_acceptance_by_the_contract(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """``positive_data_acceptance``, with the contract's own answers counted as accepted."""
    if _beyond_the_stream(response, case) or _out_of_range(response) or _refused_target(response):
        return None
    return positive_data_acceptance(ctx, response, case)


# Every check schemathesis has (``--checks all``). Two are only meaningful on some cases and
# run as additional checks: 405 with Allow for methods that a path does not list, and a
# created milestone found by the operations its links lead to.
_ADDITIONAL = {"unsupported_method", "ensure_resource_availability"}
_ALL = [
    check
    for check in REGISTERED_CHECKS.get_all()
    if not isinstance(check, type) and check is not positive_data_acceptance
]
CHECKS = [check for check in _ALL if check.__name__ not in _ADDITIONAL]
EXTRA_CHECKS = [check for check in _ALL if check.__name__ in _ADDITIONAL]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": EXAMPLES},
            "checks": {
                # Any 4xx rejects a forbidden input (a 413 or 415 as well as a 400); a 2xx not.
                "negative_data_rejection": {"expected-statuses": ["4xx"]},
                "positive_data_acceptance": {"expected-statuses": ACCEPTED},
            },
            "phases": {"stateful": {"max-steps": STEPS}},
        }
    )


# Loaded at import: schemathesis turns each operation into a test. The app comes per call.
SCHEMA = schemathesis.openapi.from_dict(openapi_document(), config=_config()).exclude(
    # GET /openapi.json takes no input; test_openapi.py checks the document itself.
    path="/openapi.json"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The service on a fresh SQLite file, shared by the whole module."""
    path = tmp_path_factory.mktemp("fuzz") / "milestones.db"
    service = open_service(Settings(database_url=f"sqlite:///{path}"))
    yield create_app(
        service.milestones,
        service.reads,
        metrics=Metrics(service.reads),
        webhooks=service.webhooks,
        tail=brief_tail(service.reads),
        chain=service.chain,
    )
    service.close()


def brief_tail(reads: Reads) -> LiveTail:
    """Streams that end at once and long polls that hardly wait: the fuzzer calls each
    operation hundreds of times in process (tests/e2e/test_live_tail.py holds them to
    their times)."""
    return polling_tail(reads, stream_seconds=0, longest_wait=0.01)


# What each test sent and got back: (operation, status code) -> count.
TALLY: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    print(f"fuzz: MILESTONES_FUZZ_EXAMPLES={EXAMPLES} MILESTONES_FUZZ_SEED={SEED}")
    yield
    for (label, status), count in sorted(TALLY.items()):
        print(f"{count:6} x {status} {label}")
    print(f"{TALLY.total():6} requests")


@SCHEMA.parametrize()
@hypothesis.settings(deadline=None, print_blob=True)
def test_every_operation(case: Case[Any], app: App) -> None:
    response = case.call_and_validate(app=app, checks=CHECKS, additional_checks=EXTRA_CHECKS)
    TALLY[case.operation.label, response.status_code] += 1


@pytest.mark.skipif(
    EXAMPLES < 200,
    reason="the linked sequences need the long run to reach every link they assert on "
    "(make fuzz, or MILESTONES_FUZZ_EXAMPLES=200 or more)",
)
def test_linked_sequences(tmp_path: Path) -> None:
    """Each scenario starts on an empty database, so that a replayed scenario sees the same
    responses as the first run (Hypothesis replays scenarios while it shrinks them).
    """
    scenarios = itertools.count()

    @hypothesis.seed(SEED)
    class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            path = tmp_path / f"scenario-{next(scenarios)}.db"
            self.service = open_service(Settings(database_url=f"sqlite:///{path}"))
            self.app = create_app(
                self.service.milestones,
                self.service.reads,
                metrics=Metrics(self.service.reads),
                webhooks=self.service.webhooks,
                tail=brief_tail(self.service.reads),
                chain=self.service.chain,
            )

        def teardown(self) -> None:
            self.service.close()

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"app": self.app}

        def validate_response(
            self,
            response: Response,
            case: Case[Any],
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            TALLY[f"stateful {case.operation.label}", response.status_code] += 1
            case.validate_response(
                response,
                checks=CHECKS,
                additional_checks=EXTRA_CHECKS,
                transport_kwargs=kwargs,
            )

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            # With a fixed seed, the same sequences on every run: the links that must have been
            # followed are asserted below, and luck must not decide whether they were.
            derandomize=_SEED != "random",
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            print_blob=True,
        )
    )
    # The links were followed: a created milestone was read, updated, deleted and audited.
    succeeded = {label for (label, status), _ in TALLY.items() if 200 <= status < 300}
    assert {
        "stateful POST /api/milestones",
        "stateful GET /api/milestones/{milestone_id}",
        "stateful PATCH /api/milestones/{milestone_id}",
        "stateful DELETE /api/milestones/{milestone_id}",
        "stateful GET /api/milestones/{milestone_id}/history",
    } <= succeeded
