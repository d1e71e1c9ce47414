"""Where webhooks may go: public http(s) addresses, and the hosts an operator allowed.

A Subscription's endpoint is the subscriber's choice, so without a rule a hospital could make this server POST to
its own loopback admin port, a database, or a cloud metadata address, and read the outcome back from
`Subscription.error` (issue 13). The rule: an endpoint must resolve to global addresses — not loopback, private,
link-local, reserved, multicast, or one of this server's own — unless its host name or address is listed in
`FHIRCLAIM_WEBHOOK_ALLOWED_HOSTS` (the sandbox lists 127.0.0.1 and localhost itself).

It is applied twice: when the Subscription is written (a 400 with the reason), and when a notification is sent,
on the address the socket actually connected to (`guarded_session`: DNS may answer differently by then). A
refused connection is closed before a byte is sent.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# Headers a webhook may carry only when an admin wrote the Subscription: they would hand credentials (or a forged
# Host) of a tenant's choosing to whatever the endpoint is, this server's own internals included.
PRIVILEGED_HEADERS = frozenset({"authorization", "cookie", "host"})
SANDBOX_ALLOWED = "127.0.0.1,::1,localhost"
REFUSED = "the endpoint's address is not one webhooks may be sent to (loopback, private, link-local or this " \
          "server; an operator may allow it with FHIRCLAIM_WEBHOOK_ALLOWED_HOSTS)"


class EndpointRefused(OSError):
    """The connected address is not allowed: raised before the request is written."""


class EgressPolicy:
    def __init__(self, allowed: str = "", server_hosts: Iterable[str] = ()):
        entries = [e.strip().lower() for e in allowed.split(",") if e.strip()]
        self.allowed_networks = tuple(_network(e) for e in entries if _network(e) is not None)
        self.allowed_names = frozenset(e.rstrip(".") for e in entries if _network(e) is None)
        self.server_hosts = tuple(h for h in server_hosts if h)

    @classmethod
    def from_settings(cls, settings) -> EgressPolicy:
        allowed = settings.webhook_allowed_hosts or (SANDBOX_ALLOWED if settings.sandbox else "")
        public = urlsplit(settings.public_base_url or "").hostname
        return cls(allowed, (settings.host, public, socket.gethostname()))

    def endpoint_refusal(self, endpoint: str) -> str | None:
        """At write time: why `endpoint` may not be a webhook target, or None. A name that does not resolve now
        is let through: the delivery-time check sees where it resolves then."""
        try:
            parts = urlsplit(endpoint)
            host, port = (parts.hostname or "").rstrip(".").lower(), parts.port
        except ValueError:
            return None  # not a URL at all: the Subscription's own checks say so (422)
        if parts.scheme not in ("http", "https") or not host:
            return None
        if host in self.allowed_names:
            return None
        if host == "localhost" or host.endswith(".localhost"):
            return REFUSED
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)}
        except (OSError, UnicodeError, ValueError):
            return None
        return REFUSED if any(self.address_refusal(a, host) for a in addresses) else None

    def address_refusal(self, address: str, host: str | None = None) -> str | None:
        """At connect time: why the peer `address` (reached for `host`) is not allowed, or None."""
        if host and host.rstrip(".").lower() in self.allowed_names:
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return REFUSED
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed_networks):
            return None
        if not ip.is_global or ip.is_multicast or ip in self._server_addresses():
            return REFUSED
        return None

    @functools.cache  # noqa: B019 (one policy per worker, kept for the process's life)
    def _server_addresses(self) -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        found = set()
        for host in self.server_hosts:
            try:
                found |= {ipaddress.ip_address(info[4][0].split("%", 1)[0])
                          for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
            except (OSError, UnicodeError, ValueError):
                continue
        return frozenset(found)


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def guarded_session(policy: EgressPolicy) -> requests.Session:
    """A session whose every connection is checked against `policy` once connected, before anything is sent.
    The environment's proxies and .netrc are ignored: a proxy would hide the address actually reached."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _check_peer(policy: EgressPolicy, sock: socket.socket, host: str) -> None:
    peer = sock.getpeername()[0]
    if policy.address_refusal(peer, host):
        sock.close()
        raise EndpointRefused(REFUSED)


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: EgressPolicy):
        self.policy = policy
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        policy = self.policy

        class GuardedHTTPConnection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                _check_peer(policy, sock, self.host)
                return sock

        class GuardedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                _check_peer(policy, sock, self.host)
                return sock

        class GuardedHTTPPool(HTTPConnectionPool):
            ConnectionCls = GuardedHTTPConnection

        class GuardedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = GuardedHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


def refused_by_policy(exc: BaseException) -> bool:
    """Whether a requests exception was, somewhere in its chain, an `EndpointRefused`."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, EndpointRefused):
            return True
        stack += [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))]
    return False
