"""The caller's address: the connection's peer, or what a trusted proxy says it forwarded.

`X-Forwarded-For` is believed only when the peer is in `FHIRCLAIM_TRUSTED_PROXIES` (CIDRs); then the list is read
from the right, skipping trusted proxies, and the first address that is not one is the caller. Anyone else's
header is ignored, so a caller cannot pick the address its failures are counted under.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """'10.0.0.0/8, 192.168.1.10' → networks; ValueError naming the entry that is not a CIDR or address."""
    networks = []
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address a request's failures are counted under and audited with."""
    peer = peer or "-"
    if not forwarded_for or not in_networks(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a forged or garbled entry: trust nothing beyond our own proxy
        if not in_networks(hop, trusted):
            return hop
    return hops[0] if hops else peer
