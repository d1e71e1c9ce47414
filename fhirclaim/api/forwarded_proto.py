"""The scheme a caller used, behind a TLS-terminating reverse proxy: its `X-Forwarded-Proto`, from a trusted proxy only.

Behind such a proxy the app is reached over plain HTTP, so every URL it builds from the request (a create's
Location, a Bundle's fullUrls and links) would say `http://` to a client that called `https://`. When the
connection's peer is in `FHIRCLAIM_TRUSTED_PROXIES` (as for `X-Forwarded-For`, `auth/addresses.py`), the proxy's
`X-Forwarded-Proto` — the value it added last, the rightmost, as werkzeug's ProxyFix reads one trusted hop — becomes
the request's scheme (`wsgi.url_scheme`), for the lean paths and Flask alike. Anyone else's header is ignored, and so
is a value other than http or https. `FHIRCLAIM_PUBLIC_BASE_URL`, where set, still decides every URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fhirclaim.auth.addresses import Network, in_networks

_SCHEMES = frozenset({"http", "https"})


class ForwardedProto:
    """A WSGI layer, installed only where trusted proxies are configured (`create_app`)."""

    def __init__(self, wsgi_app: Callable, trusted: Sequence[Network]) -> None:
        self.wsgi_app, self.trusted = wsgi_app, tuple(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        scheme = forwarded_scheme(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_PROTO"), self.trusted)
        if scheme is not None:
            environ["wsgi.url_scheme"] = scheme
        return self.wsgi_app(environ, start_response)


def forwarded_scheme(peer: str | None, forwarded_proto: str | None, trusted: Sequence[Network]) -> str | None:
    """The scheme a trusted proxy says the caller used, or None (the request's own stands)."""
    if not forwarded_proto or not peer or not in_networks(peer, trusted):
        return None
    scheme = forwarded_proto.rpartition(",")[2].strip().lower()
    return scheme if scheme in _SCHEMES else None
