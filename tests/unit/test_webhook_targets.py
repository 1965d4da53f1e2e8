"""Where webhooks may go, and their signatures, without any traffic."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from adapters.webhooks import signing, targets

REFUSED = [
    ("http://93.184.216.34/hook", "must be an https:// URL"),
    ("ftp://93.184.216.34/hook", "must be an https:// URL"),
    ("https:///no-host", "must be an https:// URL"),
    ("https://127.0.0.1/hook", "resolves to a non-public address (127.0.0.1)"),
    ("https://localhost:8443/hook", "resolves to a non-public address"),
    ("https://10.1.2.3/hook", "non-public address (10.1.2.3)"),
    ("https://172.16.0.1/hook", "non-public address (172.16.0.1)"),
    ("https://192.168.1.1/hook", "non-public address (192.168.1.1)"),
    ("https://169.254.169.254/latest/meta-data", "non-public address (169.254.169.254)"),
    ("https://224.0.0.1/hook", "non-public address (224.0.0.1)"),
    ("https://0.0.0.0/hook", "non-public address (0.0.0.0)"),
    ("https://[::1]/hook", "non-public address (::1)"),
    ("https://[fe80::1]/hook", "non-public address (fe80::1)"),
    ("https://[fc00::1]/hook", "non-public address (fc00::1)"),
    ("https://[::ffff:127.0.0.1]/hook", "non-public address"),
    ("https://user:pw@93.184.216.34/hook", "may not carry credentials"),
    ("https://93.184.216.34/hook#part", "may not have a fragment"),
    ("https://93.184.216.34:99999/hook", "must be an absolute http(s) URL"),
    ("https://no-such-host.invalid/hook", "does not resolve"),
    ("https://93.184.216.34/" + "a" * 2048, "must be at most 2048 characters"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_refused_targets(url: str, message: str) -> None:
    with pytest.raises(targets.UnsafeTarget, match=message.replace("(", r"\(").replace(")", r"\)")):
        targets.check(url, allow_private=False)


def test_a_public_literal_address_is_the_address_connected_to() -> None:
    assert targets.check("https://93.184.216.34:8443/hook", allow_private=False) == "93.184.216.34"


def test_the_operator_may_allow_http_and_private_hosts() -> None:
    assert targets.check("http://127.0.0.1:9/hook", allow_private=True) == "127.0.0.1"
    assert targets.check("http://localhost:9/hook", allow_private=True) in {"127.0.0.1", "::1"}
    with pytest.raises(targets.UnsafeTarget, match="must be an absolute http"):
        targets.check("ftp://127.0.0.1/hook", allow_private=True)


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    secret = signing.new_secret()
    body = b'{"position":7,"type":"Created"}'
    msg_id = signing.message_id("wh_01KGC6WBM0EQ3TMJVCHM71YEJV", 7)
    assert msg_id == "msg_01KGC6WBM0EQ3TMJVCHM71YEJV_7"
    headers = signing.headers(secret, msg_id, int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"position": 7, "type": "Created"}
    assert (
        Webhook(secret).sign(msg_id, _when(headers), body.decode()) == headers["webhook-signature"]
    )


def _when(headers: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
