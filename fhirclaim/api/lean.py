"""The lean paths (issue 17): the requests FHIR clients send most, answered without Flask's request machinery.

Flask's share of a request (its request and app contexts, the URL adapter bound per request, the `request`/`g`
proxies, dispatch and finalizing, werkzeug's Request and Response) cost a read about 40 % of the app's CPU and a create
10–15 %. This WSGI layer, between the access log and Flask, answers a request that is plainly a read
(`api.lean_read`: `GET /fhir/<type>/<id>`) or a create (`api.lean_create`: `POST /fhir/<type>`) through the parts
the Flask route runs, and hands every other request to Flask untouched (a create's body put back as it came),
having written nothing for it. Each path answers exactly what Flask answers (tests/rest/test_lean_read.py and
test_lean_create.py send a matrix of requests through the app with and without the layer and compare the answers).

What the paths share is here: the app's own URL map (a path is served where the map routes it to the path's
endpoint, nothing else; asked once per shape, `Lean.routes_to`), the Host check, the public endpoints, and the
401 of a token that is not live (`Lean.unauthenticated`, counted in the security log as `auth._unauthorized`
counts it). The token itself is parsed by `auth.bearer_token`, as Flask's check parses it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from fhirclaim.api import surface
from fhirclaim.api.auth import PUBLIC, unauthenticated
from fhirclaim.api.lean_create import LeanCreate
from fhirclaim.api.lean_read import LeanRead

_STAND_IN = "0"  # a last segment no route spells out, for asking the URL map what a path of its shape routes to


class LeanPath(Protocol):
    """One lean path: its answer to a request of its method, or None (Flask answers it)."""

    def answer(self, environ: dict[str, Any], path: str) -> Callable | None: ...


class Lean:
    """The app's WSGI layer in front of Flask's own: a plain read's or create's answer, or Flask's. Off (every
    request to Flask) when the app matches hosts (SERVER_NAME, TRUSTED_HOSTS, host or subdomain matching): its URL
    map is matched here without the request's host."""

    def __init__(self, app: Flask) -> None:
        self.flask_app = app.wsgi_app
        self.runtime = app.extensions["fhirclaim"]
        self.config = app.config
        url_map = app.url_map
        self.on = not (app.config.get("SERVER_NAME") or app.config.get("TRUSTED_HOSTS") or url_map.host_matching
                       or app.subdomain_matching)
        # Bound once: Flask binds the map to each request's environ, which only its host (unused here) changes.
        self.urls = url_map.bind("localhost", subdomain=url_map.default_subdomain or "")
        # The last segments some route spells out (`_history`, `$validate`, `jwks.json`…): a path ending in one is
        # matched as it comes. Any other last segment routes as any other does after the same segments (the rules'
        # variable segments take any text), so the map is asked once per those segments, with a stand-in.
        self.literals = frozenset(last for rule in url_map.iter_rules()
                                  if "<" not in (last := rule.rule.rsplit("/", 1)[-1]))
        self.routed_under = functools.lru_cache(maxsize=256)(self._routed_under)  # segments the client's: bounded
        self.read, self.create = LeanRead(self), LeanCreate(self)
        self.paths: dict[str, LeanPath] = {"GET": self.read, "POST": self.create}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        response = self._answer(environ) if self.on else None
        if response is None:
            return self.flask_app(environ, start_response)
        return response(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> Callable | None:
        """The lean path's answer, or None: Flask answers this request."""
        method = environ.get("REQUEST_METHOD")
        lean = self.paths.get(method)
        raw = environ.get("PATH_INFO", "")
        if lean is None or environ.get("QUERY_STRING") or not raw.startswith(surface.FHIR_PREFIX) or raw.endswith("/") \
                or not _host_ok(environ.get("HTTP_HOST")):
            return None
        path = raw.encode("latin-1").decode(errors="replace")  # as werkzeug decodes it (PEP 3333)
        if (method, path.rstrip("/")) in PUBLIC:
            return None
        return lean.answer(environ, path)

    def routes_to(self, path: str, method: str, endpoint: str) -> bool:
        """Whether the app's URL map routes `method` of `path` to `endpoint`."""
        head, _, last = path.rpartition("/")
        routed = self.endpoint_of(path, method) if last in self.literals else self.routed_under(head, method)
        return routed == endpoint

    def endpoint_of(self, path: str, method: str) -> str | None:
        """The endpoint the app's URL map routes `method` of `path` to, or None."""
        try:
            return self.urls.match(path, method)[0]
        except HTTPException:  # no such route, another method's, a redirect: Flask's to answer
            return None

    def _routed_under(self, head: str, method: str) -> str | None:
        """The endpoint of `method` of `<head>/<a last segment no route spells out>`."""
        return self.endpoint_of(f"{head}/{_STAND_IN}", method)

    def unauthenticated(self, environ: dict[str, Any], path: str, why: str | None) -> Response:
        """A request whose token is not live: what `auth._unauthorized` answers and counts in the security log."""
        return unauthenticated(self.runtime, environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"),
                               environ["REQUEST_METHOD"], path, "invalid_token", why or "The access token is not valid")


@functools.lru_cache(maxsize=64)
def _host_ok(host: str | None) -> bool:
    """Whether werkzeug binds its URL map to this Host without a BadHost (the name IDNA-encodable). Asked once per
    Host; the bound is for a client's made-up ones."""
    if not host:
        return False
    try:
        host.lower().partition(":")[0].encode("idna")
    except UnicodeError:
        return False
    return True
