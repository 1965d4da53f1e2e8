"""One HTTP attempt: connect to the checked address, send the signed event, read little back."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx

from adapters.webhooks import signing, targets
from adapters.webhooks.store import Outcome

if TYPE_CHECKING:
    from adapters.webhooks.store import Pending

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4096  # a receiver's answer is read this far, then dropped
MAX_ERROR = 200


def new_client() -> httpx.Client:
    """A client for one subscription: kept-alive connections, no redirects, 10 s timeouts."""
    return httpx.Client(
        timeout=httpx.Timeout(TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: the checked address is the peer
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """The URL with its host replaced by the checked address, the Host header and SNI name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)), host_header, host


def attempt(
    client: httpx.Client, pending: Pending, position: int, body: bytes, *, allow_private: bool
) -> Outcome:
    """POST one event; the outcome says what the receiver answered or why nothing came."""
    sub = pending.subscription
    number = sub.attempt + 1
    started, at = time.perf_counter(), time.time()
    status: int | None = None
    error: str | None = None
    try:
        address = targets.check(sub.url, allow_private=allow_private)
        url, host_header, server_name = _pinned(sub.url, address)
        headers = signing.headers(
            pending.secret, signing.message_id(sub.id, position), int(at), body
        )
        headers["host"] = host_header
        headers["user-agent"] = "milestones-webhooks"
        extensions = {"sni_hostname": server_name} if url.startswith("https:") else {}
        with client.stream(
            "POST", url, content=body, headers=headers, extensions=extensions
        ) as response:
            status = response.status_code
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
        if not 200 <= status < 300:  # noqa: PLR2004
            error = f"HTTP {status}"
    except targets.UnsafeTarget as refused:
        error = f"refused: {refused}"
    except httpx.HTTPError as failed:
        error = f"{type(failed).__name__}: {failed}"[:MAX_ERROR]
    duration_ms = (time.perf_counter() - started) * 1000
    return Outcome(position, number, at, status, error, duration_ms)
