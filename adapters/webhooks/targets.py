"""Where a webhook may point: https to public addresses, unless the operator allows private ones.

The check runs when a subscription is made or changed and again before every delivery,
on the address that the delivery then connects to, so a name that later resolves to an
internal address (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL = 2048


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why, for the ``url`` field."""


def check_shape(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """The scheme, host and port of an acceptable URL (before resolving its host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("must be an absolute http(s) URL") from None
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeTarget("must be an https:// URL" if not allow_private else
                           "must be an absolute http(s) URL")  # fmt: skip
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("may not carry credentials")
    if parts.fragment:
        raise UnsafeTarget("may not have a fragment")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to: the first the host resolves to, if every one is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeTarget(f"host {host} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise UnsafeTarget(f"host {host} resolves to a non-public address ({address})")
    return str(addresses[0])


def check(url: str, *, allow_private: bool) -> str:
    """The address a delivery to this URL connects to; ``UnsafeTarget`` if it may not."""
    if len(url) > MAX_URL:
        raise UnsafeTarget(f"must be at most {MAX_URL} characters")
    _, host, port = check_shape(url, allow_private=allow_private)
    return resolve(host, port, allow_private=allow_private)
