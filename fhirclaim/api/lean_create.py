"""The lean create: `POST /fhir/<type>`, answered without Flask's request machinery (issue 17), one of the lean
paths of `api.lean`.

Flask's request machinery was 10–15 % of a create's CPU. The lean layer answers a request that is plainly a create —
routed to `fhir.create` by the app's URL map, no query string, no If-None-Exist, a Bearer token, a content type
`http.json_body` reads, a Content-Length within MAX_CONTENT_LENGTH and no Transfer-Encoding, an Accept that
`http.check_accept` takes — through the parts Flask's route runs, in its order (`auth._authenticate`,
`routing.reply_view`, `fhir_rest.create`, `request_scope.fhir_service`): the body read before the write's unit of
work begins (`auth._body_read`), the token resolved as that unit's first statement (on SQLite on its connection
before BEGIN, `hold_writing`), the tenant by `scope_for`, the body parsed by `http.parsed_body`, the caller's FHIR
service (lenient when Prefer says so, this server's bases `request_scope.bases_of`), `FhirService.create`, the
commit, and the answer `http.render` makes of it (Location, ETag, Last-Modified, Prefer's return=).

It also answers, as Flask does, a token that is not live (401, counted in the security log, `Lean.unauthenticated`)
and the create's FhirErrors but a 403 (the body's 400s, an invalid resource's 400 or 422, an unknown type…:
`http.error_response`, what `errors._fhir_error` answers for them, writing nothing; the unit of work rolled back).
Anything else — a role or a tenant header refused, a 403 (Flask audits it), an unexpected error before the commit —
rolls the unit back and goes to Flask, with the body's bytes put back (`wsgi.input`): Flask works the request out
from the start, nothing having been written for it.

At the commit that changes: from the moment the unit of work is asked to commit, the resource may be written, and
Flask asked again would create it a second time. An error from there on (the commit, what runs after it, the
answer's rendering) is answered here, as Flask answers one: `errors.unexpected`'s logged 500, or a FhirError's
`error_response`.

The body is read as werkzeug reads it from a server that ends the input at its Content-Length (werkzeug's own,
gunicorn, granian): exactly that many bytes. A request whose stream gives fewer goes to Flask with those, which
answers it as it would (400).
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length

from fhirclaim.api import surface
from fhirclaim.api.auth import PARTITION_ENVIRON, bearer_token
from fhirclaim.api.errors import unexpected
from fhirclaim.api.http import (
    base_of,
    check_accept,
    check_content_type,
    environ_base,
    error_response,
    lenient,
    parsed_body,
    prefer_of,
    render,
    stored_reply,
)
from fhirclaim.api.request_scope import bases_of
from fhirclaim.auth.policy import scope_for
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import SYSTEM

if TYPE_CHECKING:
    from fhirclaim.api.lean import Lean

CREATE = "create"  # the route table's key of the create, whose Flask endpoint is `fhir.create`


class _HandedOver(Exception):
    """Raised in the unit of work to roll it back: Flask answers this request."""


class _NotLive(Exception):
    """Raised in the unit of work to roll it back: the token is not live (`why`), a 401."""

    def __init__(self, why: str | None) -> None:
        super().__init__(why)
        self.why = why


class LeanCreate:
    """The lean path of a POST: a plain create's answer, or None (Flask's)."""

    def __init__(self, layer: Lean) -> None:
        self.layer, self.runtime = layer, layer.runtime
        self.endpoint = f"fhir.{CREATE}"
        self.roles = surface.endpoint(CREATE).roles

    def answer(self, environ: dict[str, Any], path: str):
        """The create's response, or None: Flask answers this request (with the body's bytes, if they were read)."""
        if path.count("/") != 2 or "HTTP_IF_NONE_EXIST" in environ:
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        length = self._length(environ)
        if token is None or length is None or not _json_type(environ.get("CONTENT_TYPE", "")) \
                or not self.layer.routes_to(path, "POST", self.endpoint):
            return None
        try:
            check_accept(environ.get("HTTP_ACCEPT", ""))
            request_base = environ_base(environ)
        except Exception:  # noqa: BLE001 — a 406, a host werkzeug refuses: Flask answers (after the token's check)
            return None
        stream = environ["wsgi.input"]
        try:
            body = stream.read(length) if length else b""
        except Exception:  # noqa: BLE001 — the client went away: Flask answers as it does, from what was read
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)  # read once: Flask, if it answers, reads the same bytes
        if len(body) != length:
            return None
        return self._create(environ, path, token, body, request_base)

    def _create(self, environ: dict[str, Any], path: str, token: str, body: bytes, request_base: str):
        runtime, settings = self.runtime, self.layer.config["FHIRCLAIM_SETTINGS"]  # read per request, as Flask's
        prefers = prefer_of(environ.get("HTTP_PREFER"))
        base = base_of(settings.public_base_url, settings.public_base_url or request_base)
        committing = False
        try:
            with runtime.store.unit_of_work(SYSTEM, write=True) as uow:  # what `hold_writing` opens
                principal, why = runtime.clients.resolve(token, uow)
                if principal is None:
                    raise _NotLive(why)
                if self.roles and principal.role not in self.roles:
                    raise _HandedOver  # Flask's 403, audited
                try:
                    scope = scope_for(principal, environ.get(PARTITION_ENVIRON))
                except FhirError:
                    raise _HandedOver from None  # a refused tenant header: Flask's answer
                resource = parsed_body(body, settings.max_json_depth)
                service = runtime.fhir_service(uow.viewing(scope), author=principal.name, lenient=lenient(prefers),
                                               principal=principal)
                service.base_urls = bases_of(base, request_base)
                stored, created = service.create(resource, expected_type=path[len(surface.FHIR_PREFIX):],
                                                 if_none_exist=None)
                committing = True  # from here on the resource may be written: never Flask's again
            return render(stored_reply(stored, 201 if created else 200, write=True), pretty=False, base=base,
                          prefers=prefers, method="POST", bare=True)
        except _HandedOver:
            return None
        except _NotLive as refused:  # rolled back first, as Flask's `release_held` before `_unauthorized`
            try:
                return self.layer.unauthenticated(environ, path, refused.why)
            except Exception:  # noqa: BLE001 — the security log failed to write: Flask answers (and counts it)
                return None
        except FhirError as error:  # rolled back: `errors._fhir_error`'s answer, but a 403 (Flask audits it)
            return error_response(error) if committing or error.status != 403 else None
        except Exception:  # noqa: BLE001 — an error: Flask answers it before the commit; from it on, here
            return unexpected(environ) if committing else None

    def _length(self, environ: dict[str, Any]) -> int | None:
        """The body's declared length when Flask reads it before the token's check (`auth._body_read`): given
        plainly (werkzeug's reading of it written back), not chunked, within MAX_CONTENT_LENGTH. Else None."""
        length = get_content_length(environ)
        if length is None or str(length) != environ.get("CONTENT_LENGTH"):
            return None
        limit = self.layer.config.get("MAX_CONTENT_LENGTH")
        return None if limit is not None and length > limit else length


@functools.lru_cache(maxsize=64)
def _json_type(content_type: str) -> bool:
    """Whether `http.json_body` reads a body of this Content-Type (werkzeug's `Request.mimetype` of it). Asked once
    per header value; the bound is for a client's made-up ones."""
    try:
        check_content_type(parse_options_header(content_type)[0].lower())
    except FhirError:
        return False
    return True
