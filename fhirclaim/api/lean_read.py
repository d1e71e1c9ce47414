"""The lean read: `GET /fhir/<type>/<id>`, the request FHIR clients send most, answered without Flask's request
machinery (issue 17).

Flask's share of a read (its request and app contexts, the URL adapter bound per request, the `request`/`g` proxies,
dispatch and finalizing) cost about 40 % of the app's CPU, as much as the token check, the read and the rendering
together. This WSGI layer, between the access log and Flask, answers a request that is plainly a read through the
parts the Flask route runs: the app's own URL map (it serves what routes to `fhir.read`, nothing else; asked once
per type, `LeanRead.read_of`), the token parsed by `auth.bearer_token` and resolved by the clients in the read
transaction, the tenant by `scope_for`, the caller's FHIR service, the Accept check of `http.check_accept`, the
answer by `http.plain_read` (the status, headers and body `http.render` answers, without a werkzeug Response).

It also answers what the read itself finds: a token that is not live (401, with `WWW-Authenticate`, counted in the
security log as `auth._unauthorized` counts it), a resource the caller cannot see or that no one has (404) and a
deleted one (410), each as `http.error_response` answers the FhirError in Flask (`errors._fhir_error`, which writes
nothing for these). Asked again by Flask, they would cost a second token check and read (issue 17).

Anything else goes to Flask untouched: another method or path, a query string, a conditional header, and every
other outcome (no Bearer token, a role's refusal, a refused Accept or tenant header, an error). Flask then works the
request out from the start and answers it as it answers any request, the one place that answers and audits those;
the layer has written nothing for them, so nothing is done twice (tests/rest/test_lean_read.py sends a matrix of
requests through the app with and without it and compares the answers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from fhirclaim.api import surface
from fhirclaim.api.auth import PUBLIC, bearer_token, unauthenticated
from fhirclaim.api.http import check_accept, error_response, plain_read
from fhirclaim.auth.policy import scope_for
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import PARTITION_HEADER, SYSTEM

READ = "read"  # the route table's key of the read, whose Flask endpoint is `fhir.read`
# A request carrying one of these may not be a plain read's 200 (a conditional read): Flask answers it.
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
_PARTITION = "HTTP_" + PARTITION_HEADER.upper().replace("-", "_")  # the header as the WSGI environ names it
_PREFIX = surface.FHIR_BASE + "/"
_STAND_IN = "0"  # an id, for asking the URL map what a type's ids route to
_ANSWERED = (404, 410)  # the read's refusals answered here: Flask writes nothing for them either (no 403's audit)


class LeanRead:
    """The app's WSGI layer in front of Flask's own: a plain read's answer, or Flask's. Off (every request to Flask)
    when the app matches hosts (SERVER_NAME, TRUSTED_HOSTS, host or subdomain matching): its URL map is matched here
    without the request's host."""

    def __init__(self, app: Flask) -> None:
        self.flask_app = app.wsgi_app
        self.runtime = app.extensions["fhirclaim"]
        self.endpoint = f"fhir.{READ}"
        self.roles = surface.endpoint(READ).roles
        url_map = app.url_map
        self.on = not (app.config.get("SERVER_NAME") or app.config.get("TRUSTED_HOSTS") or url_map.host_matching
                       or app.subdomain_matching)
        # Bound once: Flask binds the map to each request's environ, which only its host (unused here) changes.
        self.urls = url_map.bind("localhost", subdomain=url_map.default_subdomain or "")
        # The last segments some route spells out (`_history`, `$validate`, `jwks.json`…): a path ending in one is
        # matched as it comes. Any other last segment routes as any other does under the same type (the rules'
        # variable segments take any text), so the map is asked once per type, with a stand-in for the id.
        self.literals = frozenset(last for rule in url_map.iter_rules()
                                  if "<" not in (last := rule.rule.rsplit("/", 1)[-1]))
        self.reads_under = functools.lru_cache(maxsize=256)(self._reads_under)  # the type is the client's: bounded

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        response = self._answer(environ) if self.on and _plain(environ) else None
        if response is None:
            return self.flask_app(environ, start_response)
        return response(environ, start_response)

    def _answer(self, environ: dict[str, Any]):
        """The read's response, or None: Flask answers this request."""
        path = environ["PATH_INFO"].encode("latin-1").decode(errors="replace")  # as werkzeug decodes it (PEP 3333)
        if ("GET", path.rstrip("/")) in PUBLIC:
            return None
        read = self.read_of(path)
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if read is None or token is None:
            return None
        runtime = self.runtime
        try:
            check_accept(environ.get("HTTP_ACCEPT", ""))
            with runtime.store.reading(SYSTEM) as uow:  # what `hold_reading` opens: the check and the read in one
                principal, why = runtime.clients.resolve(token, uow, reading=read)  # the read's row comes with it
                if principal is not None:
                    if self.roles and principal.role not in self.roles:
                        return None
                    scope = scope_for(principal, environ.get(_PARTITION))
                    service = runtime.fhir_service(uow.viewing(scope), author=principal.name, principal=principal)
                    return plain_read(service.read(*read))
        except FhirError as error:  # 404 and 410 as `errors._fhir_error` answers them; any other Flask answers
            return error_response(error) if error.status in _ANSWERED else None
        except Exception:  # noqa: BLE001 — an error: Flask answers it (and logs it)
            return None
        try:  # the read transaction ended first, as Flask's `release_held` ends it before `_unauthorized`
            return self._unauthenticated(environ, path, why)
        except Exception:  # noqa: BLE001 — the security log failed to write: Flask answers (and counts it again)
            return None

    def _unauthenticated(self, environ: dict[str, Any], path: str, why: str | None) -> Response:
        """A read whose token is not live: what `auth._unauthorized` answers and counts in the security log."""
        return unauthenticated(self.runtime, environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), "GET",
                               path, "invalid_token", why or "The access token is not valid")

    def read_of(self, path: str) -> tuple[str, str] | None:
        """(type, id) of `/fhir/<type>/<id>` when the app's URL map routes a GET of it to the read, else None."""
        resource_type, resource_id = path[len(_PREFIX):].split("/")
        routed = self.routes_to_read(path) if resource_id in self.literals else self.reads_under(resource_type)
        return (resource_type, resource_id) if routed else None

    def routes_to_read(self, path: str) -> bool:
        """Whether the app's URL map routes a GET of `path` to the read."""
        try:
            return self.urls.match(path, "GET")[0] == self.endpoint
        except HTTPException:  # no such route, another method's, a redirect: Flask's to answer
            return False

    def _reads_under(self, resource_type: str) -> bool:
        """Whether a GET of `/fhir/<resource_type>/<an id no route spells out>` routes to the read."""
        return self.routes_to_read(f"{_PREFIX}{resource_type}/{_STAND_IN}")


def _plain(environ: dict[str, Any]) -> bool:
    """Whether the request may be a plain read: a GET of /fhir/<a>/<b>, no query string, no conditional header,
    a Host the URL map takes (Flask answers 400 for one that is not IDNA)."""
    path = environ.get("PATH_INFO", "")
    return (environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING")
            and path.startswith(_PREFIX) and path.count("/") == 3 and not path.endswith("/")
            and not any(name in environ for name in _CONDITIONS) and _host_ok(environ.get("HTTP_HOST")))


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
