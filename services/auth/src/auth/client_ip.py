"""The client address of a request, as the gateway saw it (gateway/README.md, "Client IP").

Traefik appends the address of its peer to X-Forwarded-For. When that peer is a proxy Traefik trusts
(`entryPoints.web.forwardedHeaders.trustedIPs`, mirrored here by TRUSTED_PROXY_IPS), the client is the
address that proxy appended before it; Traefik strips X-Forwarded-For from every other peer, so nobody
else can choose the address they are counted under. Without the header (a direct call, e.g. a test),
the connection's address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """'127.0.0.1/32, ::1/128' -> networks; ValueError on a malformed entry."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(request: Request, trusted: Sequence[Network]) -> str:
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    if forwarded:
        address = forwarded[-1]
        if len(forwarded) >= 2 and _trusted(address, trusted):
            address = forwarded[-2]
    else:
        address = request.client.host if request.client else "unknown"
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address[:64] or "unknown"
