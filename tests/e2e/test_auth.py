"""Optional bearer-token authentication over real HTTP.

Off by default. With tokens (``MILESTONES_API_TOKENS_FILE``, or ``MILESTONES_API_TOKENS``
holding the same lines) every /api route needs ``Authorization: Bearer <token>``; a
read-only token reads but may not write; /health and /ready stay open; /metrics is open
unless ``MILESTONES_METRICS_REQUIRE_TOKEN`` is set. Tokens never reach a log or a body.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.api_client import assert_problem
from tests.e2e.harness import failed_start

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.client import Client
    from tests.e2e.harness import Server, Servers

# Fresh secrets per run, so that finding one in a log can only mean the service wrote it.
READ_WRITE = f"rw-{secrets.token_urlsafe(24)}"
READ_ONLY = f"ro-{secrets.token_urlsafe(24)}"
ENV_READ_WRITE = f"envrw-{secrets.token_urlsafe(24)}"
ENV_READ_ONLY = f"envro-{secrets.token_urlsafe(24)}"
UNKNOWN = f"unknown-{secrets.token_urlsafe(24)}"
SECRETS = (READ_WRITE, READ_ONLY, ENV_READ_WRITE, ENV_READ_ONLY, UNKNOWN)

NEVER_EXISTED = "ms_00000000000000000000000000"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def with_file(module_servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """Tokens from a file: one read-write (spelled out), one read-only, and a comment."""
    tokens = tmp_path_factory.mktemp("tokens") / "tokens"
    tokens.write_text(
        f"# the deploy pipeline\n{READ_WRITE} read-write\n\n{READ_ONLY} read-only  # dashboards\n"
    )
    return module_servers.start(env={"MILESTONES_API_TOKENS_FILE": str(tokens)})


@pytest.fixture(scope="module")
def with_env(module_servers: Servers) -> Server:
    """Tokens from the environment, and /metrics behind them too."""
    return module_servers.start(
        env={
            "MILESTONES_API_TOKENS": f"{ENV_READ_WRITE}\n{ENV_READ_ONLY} read-only\n",
            "MILESTONES_METRICS_REQUIRE_TOKEN": "1",
        }
    )


@pytest.fixture(scope="module")
def without_tokens(module_servers: Servers) -> Server:
    return module_servers.start()


def create(client: Client, token: str) -> tuple[dict[str, Any], str]:
    body = {"projectId": f"proj_{uuid.uuid4().hex[:12]}", "title": "Guarded"}
    status, headers, response = client.request("POST", "/api/milestones", body, bearer(token))
    assert status == 201, response
    return response["data"], headers["ETag"]


def requests_on(milestone_id: str) -> list[tuple[str, str, Any]]:
    """(method, path, body) of every /api operation."""
    one = f"/api/milestones/{milestone_id}"
    return [
        ("GET", "/api/milestones", None),
        ("GET", "/api/milestones?status=pending", None),
        ("GET", one, None),
        ("GET", f"{one}?version=1", None),
        ("GET", f"{one}/history", None),
        ("GET", "/api/events?after=0", None),
        ("POST", "/api/milestones", {"projectId": "proj_auth", "title": "Not allowed"}),
        ("PATCH", one, {"title": "Not allowed"}),
        ("DELETE", one, None),
    ]


def assert_unauthorized(response: tuple[int, Any, Any]) -> dict[str, Any]:
    problem = assert_problem(response, 401)
    challenge = response[1]["WWW-Authenticate"]
    assert challenge, "a 401 names its scheme"
    assert challenge.split()[0].lower() == "bearer", challenge
    return problem


def assert_secrets_absent(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, "a token was written out"


# Off by default


def test_no_tokens_means_no_authentication(without_tokens: Server) -> None:
    client = without_tokens.client
    document, _ = client.create(projectId=f"proj_{uuid.uuid4().hex[:12]}")
    for method, path, body in requests_on(document["id"]):
        status, headers, response = client.request(method, path, body)
        assert status in {200, 201}, (method, path, response)
        assert "WWW-Authenticate" not in headers
    # A stray Authorization header is not an error either.
    status, _, _ = client.request("GET", "/api/milestones", headers=bearer(UNKNOWN))
    assert status == 200
    assert client.request("GET", "/metrics")[0] == 200


# Tokens from a file


def test_api_needs_a_token(with_file: Server) -> None:
    client = with_file.client
    document, etag = create(client, READ_WRITE)
    for method, path, body in requests_on(document["id"]):
        head = client.head()
        problem = assert_unauthorized(client.request(method, path, body))
        assert client.head() == head, (method, path)
        assert_secrets_absent(str(problem))
    # Nothing happened to it.
    status, headers, response = client.request(
        "GET", f"/api/milestones/{document['id']}", headers=bearer(READ_ONLY)
    )
    assert (status, headers["ETag"], response["data"]) == (200, etag, document)


def test_unknown_ids_are_401_before_404(with_file: Server) -> None:
    """Without a token nobody learns which milestones exist."""
    path = f"/api/milestones/{NEVER_EXISTED}"
    assert_unauthorized(with_file.client.request("GET", path))
    assert_unauthorized(with_file.client.request("GET", f"{path}/history"))
    assert_problem(with_file.client.request("GET", path, headers=bearer(READ_ONLY)), 404)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(f"Bearer {UNKNOWN}", id="unknown-token"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer ", id="scheme-and-space"),
        pytest.param(f"Bearer {READ_WRITE[:-1]}", id="prefix-of-a-token"),
        pytest.param(f"Bearer {READ_WRITE}x", id="token-and-more"),
        pytest.param(f"Bearer {READ_WRITE} {READ_WRITE}", id="token-twice"),
        pytest.param(f"Bearer {READ_WRITE.upper()}", id="token-in-other-case"),
        pytest.param(READ_WRITE, id="no-scheme"),
        pytest.param(f"Token {READ_WRITE}", id="other-scheme"),
        pytest.param(
            f"Basic {base64.b64encode(f'user:{READ_WRITE}'.encode()).decode()}", id="basic"
        ),
        pytest.param(f"Bearer{READ_WRITE}", id="no-space"),
        pytest.param(f"Bearer {READ_ONLY} read-only", id="token-file-line"),
    ],
)
def test_bad_credentials_are_401(with_file: Server, authorization: str) -> None:
    client = with_file.client
    headers = {"Authorization": authorization}
    assert_unauthorized(client.request("GET", "/api/milestones", headers=headers))
    head = client.head()
    problem = assert_unauthorized(
        client.request("POST", "/api/milestones", {"projectId": "proj_auth", "title": "t"}, headers)
    )
    assert client.head() == head
    assert_secrets_absent(str(problem))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_scheme_is_case_insensitive(with_file: Server, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {READ_ONLY}"}
    assert with_file.client.request("GET", "/api/milestones", headers=headers)[0] == 200


def test_read_only_token_reads(with_file: Server) -> None:
    client = with_file.client
    document, _ = create(client, READ_WRITE)
    for method, path, body in requests_on(document["id"]):
        if method != "GET":
            continue
        status, _, response = client.request(method, path, body, bearer(READ_ONLY))
        assert status == 200, (path, response)


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_read_only_token_may_not_write(with_file: Server, method: str) -> None:
    client = with_file.client
    document, etag = create(client, READ_WRITE)
    path = "/api/milestones" if method == "POST" else f"/api/milestones/{document['id']}"
    body = {
        "POST": {"projectId": "proj_read_only", "title": "Not allowed"},
        "PATCH": {"title": "Not allowed", "status": "reached"},
        "DELETE": None,
    }[method]
    head = client.head()
    problem = assert_problem(client.request(method, path, body, bearer(READ_ONLY)), 403)
    assert client.head() == head, "a forbidden write recorded an event"
    assert_secrets_absent(str(problem))
    status, headers, response = client.request(
        "GET", f"/api/milestones/{document['id']}", headers=bearer(READ_ONLY)
    )
    assert (status, headers["ETag"], response["data"]) == (200, etag, document)
    status, _, history = client.request(
        "GET", f"/api/milestones/{document['id']}/history", headers=bearer(READ_ONLY)
    )
    assert history["count"] == 1


def test_read_only_token_with_if_match_and_idempotency_key_still_403(
    with_file: Server,
) -> None:
    client = with_file.client
    document, etag = create(client, READ_WRITE)
    head = client.head()
    headers = {**bearer(READ_ONLY), "If-Match": etag}
    path = f"/api/milestones/{document['id']}"
    assert_problem(client.request("PATCH", path, {"title": "x"}, headers), 403)
    assert_problem(client.request("DELETE", path, None, headers), 403)
    headers = {**bearer(READ_ONLY), "Idempotency-Key": uuid.uuid4().hex}
    body = {"projectId": "proj_read_only", "title": "x"}
    assert_problem(client.request("POST", "/api/milestones", body, headers), 403)
    assert client.head() == head


def test_read_write_token_writes(with_file: Server) -> None:
    client = with_file.client
    head = client.head()
    document, etag = create(client, READ_WRITE)
    path = f"/api/milestones/{document['id']}"
    status, headers, response = client.request(
        "PATCH", path, {"status": "reached"}, {**bearer(READ_WRITE), "If-Match": etag}
    )
    assert status == 200, response
    assert headers["ETag"] == '"2"'
    status, _, response = client.request("DELETE", path, None, bearer(READ_WRITE))
    assert status == 200, response
    assert client.head() == head + 3


def test_operations_endpoints_stay_open(with_file: Server) -> None:
    client = with_file.client
    for path in ("/health", "/ready", "/metrics"):  # /metrics: open unless configured
        status, headers, body = client.request("GET", path)
        assert status == 200, (path, body)
        assert "WWW-Authenticate" not in headers
    # A wrong token on an open endpoint is ignored, not punished.
    assert client.request("GET", "/ready", headers=bearer(UNKNOWN))[0] == 200


def test_preflight_needs_no_token(with_file: Server) -> None:
    """Browsers send CORS preflights without credentials."""
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    status, _, body = with_file.client.request("OPTIONS", "/api/milestones", headers=headers)
    assert status in {200, 204}, body


def test_access_log_names_the_outcome_but_never_a_token(with_file: Server) -> None:
    client = with_file.client
    ids = {}
    for name, token in (
        ("read-write", READ_WRITE),
        ("read-only", READ_ONLY),
        ("unknown", UNKNOWN),
    ):
        request_id = f"auth-{name}-{uuid.uuid4().hex}"
        ids[name] = request_id
        client.request(
            "POST",
            "/api/milestones",
            {"projectId": "proj_logged", "title": "t"},
            {**bearer(token), "X-Request-Id": request_id},
        )
    outcomes = {name: with_file.log_entry(request_id)["status"] for name, request_id in ids.items()}
    assert outcomes == {"read-write": 201, "read-only": 403, "unknown": 401}
    assert_secrets_absent(with_file.stderr())
    assert_secrets_absent(with_file.stdout())


# Tokens from the environment, /metrics protected


def test_env_tokens(with_env: Server) -> None:
    client = with_env.client
    assert_unauthorized(client.request("GET", "/api/milestones"))
    assert client.request("GET", "/api/milestones", headers=bearer(ENV_READ_ONLY))[0] == 200
    head = client.head()
    body = {"projectId": "proj_env", "title": "From the environment"}
    assert_problem(client.request("POST", "/api/milestones", body, bearer(ENV_READ_ONLY)), 403)
    assert client.head() == head
    status, _, response = client.request("POST", "/api/milestones", body, bearer(ENV_READ_WRITE))
    assert status == 201, response
    assert client.head() == head + 1


def test_env_tokens_are_the_only_tokens(with_env: Server) -> None:
    """The file server's tokens mean nothing here."""
    for token in (READ_WRITE, READ_ONLY):
        assert_unauthorized(
            with_env.client.request("GET", "/api/milestones", headers=bearer(token))
        )


def test_metrics_can_require_a_token(with_env: Server) -> None:
    client = with_env.client
    problem = assert_unauthorized(client.request("GET", "/metrics"))
    assert_secrets_absent(str(problem))
    assert_unauthorized(client.request("GET", "/metrics", headers=bearer(UNKNOWN)))
    for token in (ENV_READ_ONLY, ENV_READ_WRITE):
        status, headers, body = client.request("GET", "/metrics", headers=bearer(token))
        assert status == 200
        assert headers.get_content_type() == "text/plain"
        assert b"milestones_http_requests_total" in body
    for path in ("/health", "/ready"):
        assert client.request("GET", path)[0] == 200, path


def test_env_server_never_logs_a_token(with_env: Server) -> None:
    client = with_env.client
    for token in (ENV_READ_WRITE, ENV_READ_ONLY, UNKNOWN):
        client.request("GET", "/metrics", headers=bearer(token))
        client.request("DELETE", f"/api/milestones/{NEVER_EXISTED}", headers=bearer(token))
    assert_secrets_absent(with_env.stderr())
    assert_secrets_absent(with_env.stdout())


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("missing", None, id="missing-file"),
        pytest.param("malformed", f"{READ_WRITE} read-only extra\n", id="malformed-line"),
        pytest.param("bad-name", f"{READ_WRITE} adm!n\n", id="bad-name"),
    ],
)
def test_a_broken_tokens_file_stops_the_server(
    tmp_path: Path, name: str, content: str | None
) -> None:
    """Configured but unusable tokens never mean an open API: the server does not start."""
    tokens = tmp_path / name
    if content is not None:
        tokens.write_text(content)
    code, output, answered = failed_start(tmp_path, {"MILESTONES_API_TOKENS_FILE": str(tokens)})
    assert code not in {0, None}, output
    assert not answered, "the server answered with a broken tokens file"
    assert_secrets_absent(output)
