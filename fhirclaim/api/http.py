"""The one place where FHIR results become HTTP: status, headers (ETag, Location, Last-Modified) and body.

Handlers return a `Reply`; `render` turns it into a Flask response. Request-side parsing of the FHIR headers
(Prefer, If-Match, If-None-Exist) and of bodies (size, JSON, content type) lives here too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.utils import get_current_url
from werkzeug.urls import iri_to_uri
from werkzeug.wsgi import get_host

from fhirclaim.api.surface import FHIR_BASE
from fhirclaim.clock import as_utc
from fhirclaim.fhir import integers, jsonio
from fhirclaim.fhir.outcome import FhirError, information, operation_outcome
from fhirclaim.interactions import bundles
from fhirclaim.store.repository import StoredResource

FHIR_JSON = "application/fhir+json; charset=utf-8"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")
PATCH_TYPES = ("application/json-patch+json",)
MERGE_PATCH_TYPES = ("application/merge-patch+json",) + JSON_TYPES

# This request, this app and this request's `g`, each from its context in one lookup. An attribute read through
# Flask's `request`, `current_app` and `g` proxies costs a lookup of its own (~0.8 µs, 4× the read of it here): a
# create made 30 of them (issue 17). The API's helpers take each object once and read its attributes directly.
current_request = request._get_current_object
current_flask_app = current_app._get_current_object
request_globals = g._get_current_object


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(when: datetime) -> str:
    """An HTTP-date (RFC 9110 §5.6.7, IMF-fixdate), as the Last-Modified header must be: `Thu, 03 Dec 2026 15:41:28
    GMT` (a Bundle entry's `response.lastModified` is a FHIR instant instead). Its English names written here:
    what `email.utils.format_datetime(..., usegmt=True)` writes, in under half its time (every read has one)."""
    utc = as_utc(when)
    return (f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT")

@dataclass
class Reply:
    status: int = 200
    resource: dict[str, Any] | None = None  # None with `stored`: the stored resource is the answer
    stored: StoredResource | None = None  # gives ETag, Last-Modified and (for 201) Location
    headers: dict[str, str] = field(default_factory=dict)
    honour_prefer: bool = False  # writes honour Prefer: return=...
    body: bytes | None = None  # non-FHIR payloads (PDF)
    content_type: str = FHIR_JSON


def stored_reply(stored: StoredResource, status: int = 200, *, write: bool = False) -> Reply:
    """The stored resource as the answer: its stored bytes, unparsed, unless `_pretty` asks for them re-written."""
    return Reply(status, None, stored, honour_prefer=write)


def render(reply: Reply, *, pretty: bool | None = None, base: str | None = None,
           prefers: dict[str, str] | None = None, method: str | None = None, bare: bool = False) -> Response | Ready:
    """The reply as a Flask response. What it reads of the request, the caller may give when it knows it (the lean
    paths, `api.lean`, which answer without a Flask request): `pretty`, whether `_pretty=true` was asked; `base`,
    this server's FHIR base (`base_url`); `prefers`, the Prefer header (`prefer_of`); `method`, the request's. A
    plain read's answer (a stored 200 without Prefer or Location) reads nothing else of the request. `bare`: a
    ready answer as `Ready` (a WSGI app, for the lean paths), not as a `ReadyResponse` (Flask's)."""
    headers = dict(reply.headers)
    stored, ready = reply.stored, "Location" not in headers and "Content-Location" not in headers
    if stored is not None:
        headers.update(_version_headers(stored))
        if reply.status == 201 or reply.honour_prefer:
            base = base or base_url()
            headers["Location"] = bundles.location(base, stored)
            ready = _is_uri(base)  # type, id and version are ASCII letters, digits, '-' and '.': only the base may not
    if reply.body is not None:
        return Response(reply.body, reply.status, headers, content_type=reply.content_type)
    body, as_stored = reply.resource, reply.resource is None and stored is not None
    if reply.honour_prefer:
        preferred = (prefer() if prefers is None else prefers).get("return", "representation")
        if preferred == "minimal":
            body, as_stored = None, False
        elif preferred == "OperationOutcome":
            method = method or current_request().method
            body, as_stored = operation_outcome([information(f"{method} succeeded")]), False
    if pretty is None:
        pretty = _arg("_pretty") == "true"
    if as_stored and (pretty or stored.text is None):
        body, as_stored = stored.content, False
    if as_stored:
        text = stored.text  # the stored bytes
    elif body is None:
        return Response(b"", reply.status, headers)
    else:
        text = jsonio.dumps(body, pretty=pretty)
    if reply.status in ReadyResponse.READY and ready:  # a read's, a search's or a write's answer
        body = text.encode()  # as werkzeug encodes a str body
        answer = Ready if bare else ReadyResponse
        return answer(body, reply.status, _ready_headers(headers, body))
    return Response(text, reply.status, headers, content_type=FHIR_JSON)


def _version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}


def _ready_headers(headers: dict[str, str], body: bytes) -> list[tuple[str, str]]:
    """A ready answer's headers, in the order it sends them."""
    return [("Content-Type", FHIR_JSON), *headers.items(), ("Content-Length", str(len(body)))]


class Ready:
    """A ready answer (`ReadyResponse`: a 200 or 201, its headers `render` wrote) as a WSGI app of its own: the
    status line, headers and body a `ReadyResponse` sends, without building a werkzeug Response and having it write
    itself out (the lean paths, `api.lean`, issue 17)."""

    __slots__ = ("status", "headers", "body")
    LINES = {code: f"{code} {HTTP_STATUS_CODES[code].upper()}" for code in (200, 201)}  # as werkzeug writes them

    def __init__(self, body: bytes, status: int, headers: list[tuple[str, str]]) -> None:
        self.body, self.status, self.headers = body, self.LINES[status], headers

    def __call__(self, environ: dict[str, Any], start_response) -> list[bytes]:
        start_response(self.status, self.headers)
        return [self.body]


class PlainRead(Ready):
    """A plain read's answer — the stored bytes, 200 — as `Ready`: the status, headers and body
    `render(stored_reply(stored), pretty=False)` answers (`_ready_headers`); a werkzeug Response built and written
    out was ~15 % of a lean read's CPU (`api.lean_read`, issue 17)."""

    __slots__ = ()

    def __init__(self, stored: StoredResource) -> None:
        body = stored.text.encode()
        super().__init__(body, 200, _ready_headers(_version_headers(stored), body))


def plain_read(stored: StoredResource) -> PlainRead | Response:
    """A read's 200 of `stored` and no more (no query string, no Prefer): `PlainRead` when its stored bytes are at
    hand, else what `render` answers (it writes them from the content)."""
    return PlainRead(stored) if stored.text is not None else render(stored_reply(stored), pretty=False)


class ReadyResponse(Response):
    """A 200 or 201 answer whose headers `render` wrote, none of which needs fixing before it is sent: no
    Content-Location, a Location that is a URI already (`_is_uri`), its Content-Length set with its body.
    werkzeug's `get_wsgi_headers` copies every answer's headers, validating each value a second time, and turns a
    Location from an IRI into a URI, in case one needs fixing (issue 17). A status changed since (nothing here
    changes one) gets werkzeug's fixing again."""

    READY = (200, 201)

    def get_wsgi_headers(self, environ):
        return self.headers if self.status_code in self.READY else super().get_wsgi_headers(environ)


@functools.lru_cache(maxsize=64)
def _is_uri(base: str) -> bool:
    """Whether a FHIR base is a URI as werkzeug would send it in a Location (ASCII, quoted), so that a Location under
    it needs no fixing. Asked once per base (the configured one, or the few Host headers a server is reached by)."""
    return iri_to_uri(base) == base


def error_response(error: FhirError) -> Response:
    return Response(jsonio.dumps(error.outcome()), error.status, error.headers, content_type=FHIR_JSON)


def _arg(name: str) -> str | None:
    """A query parameter, or None. Asked first whether it is there: werkzeug's `args.get` of an absent name builds
    and catches a BadRequestKeyError, ~5 µs twice on every read (issue 17)."""
    asked = current_request()
    if not asked.environ.get("QUERY_STRING"):
        return None  # a read has no query string: nothing to parse it for
    args = asked.args
    return args[name] if name in args else None


def base_url() -> str:
    configured = current_flask_app().config["FHIRCLAIM_SETTINGS"].public_base_url
    return base_of(configured, configured or request_base())  # the request's asked only when none is configured


def base_of(configured: str | None, request_base: str) -> str:
    """This server's FHIR base: the configured public base, else the one the request came to."""
    return (configured or request_base).rstrip("/")


def request_base() -> str:
    """The FHIR base this request came to: its scheme and host (as werkzeug reads them, trusted hosts checked)
    and /fhir."""
    asked = current_request()
    return _base_at(asked.scheme, asked.host)


def environ_base(environ: dict[str, Any]) -> str:
    """`request_base` from the WSGI environ, without a Flask request (the lean create, `api.lean_create`): the
    scheme and host as werkzeug's Request reads them (`werkzeug.wsgi.get_host`, no trusted hosts: the lean paths
    are off where the app has some)."""
    return _base_at(environ["wsgi.url_scheme"], get_host(environ))


@functools.lru_cache(maxsize=64)
def _base_at(scheme: str, host: str) -> str:
    """werkzeug's `host_url`, worked out once per scheme and host rather than once per request: turning it into an
    IRI is ~5 % of a search's CPU (issue 17). A server is asked under a few names; the bound is for a client's
    made-up Host headers."""
    return get_current_url(scheme, host).rstrip("/") + FHIR_BASE


def server_root() -> str:
    """The server's root URL, where /oauth2 and /docs are: the FHIR base without its /fhir (or, for a public base
    of another shape, its scheme and host)."""
    base = base_url()
    if base.endswith(FHIR_BASE):
        return base[:-len(FHIR_BASE)]
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


# --- request headers ----------------------------------------------------------------------------------------


def prefer() -> dict[str, str]:
    """`Prefer: return=minimal, handling=lenient` → {"return": "minimal", "handling": "lenient"}. Read from the WSGI
    environ, where the server put every Prefer header as one value: what `headers.getlist` finds there too, but it
    walks the whole environ to find it, twice per write (issue 17)."""
    return prefer_of(current_request().environ.get("HTTP_PREFER"))


def prefer_of(header: str | None) -> dict[str, str]:
    """`prefer` of the Prefer header's value (the lean create reads it from the WSGI environ)."""
    values: dict[str, str] = {}
    for part in header.split(",") if header else ():
        key, _, value = part.strip().partition("=")
        if key:
            values[key.strip().lower()] = value.strip().strip('"')
    return values


def lenient(prefers: dict[str, str] | None = None) -> bool:
    """Whether Prefer asks for lenient handling: of this request's, or of `prefers` (`prefer_of`)."""
    return (prefer() if prefers is None else prefers).get("handling") == "lenient"


def if_match() -> int | None:
    header = current_request().headers.get("If-Match")
    if not header:
        return None
    version = integers.ascii_int(header.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise FhirError.of(400, "value", f'If-Match {header[:40]!r} is not an ETag like W/"3"')
    return version


def query_pairs() -> list[tuple[str, str]]:
    """Search parameters from the query string and, for POST _search, the form body."""
    asked = current_request()
    pairs = list(asked.args.items(multi=True))
    if asked.method == "POST":
        pairs += list(asked.form.items(multi=True))
    return pairs


# --- request bodies -----------------------------------------------------------------------------------------


def json_body(*, accept: tuple[str, ...] = JSON_TYPES) -> Any:
    """The parsed body: size and depth bounded, content type checked, malformed JSON a 400."""
    asked = current_request()
    check_content_type(asked.mimetype, accept)
    data = asked.get_data(cache=True)  # MAX_CONTENT_LENGTH makes an oversized body a 413 here
    return parsed_body(data, current_flask_app().config["FHIRCLAIM_SETTINGS"].max_json_depth, accept=accept)


def parsed_body(data: bytes, depth: int, *, accept: tuple[str, ...] = JSON_TYPES) -> Any:
    """`json_body` of the body's bytes, its content type checked (the lean create has read them itself)."""
    if not data.strip():
        raise FhirError.of(400, "required", "The request has no body")
    if accept != JSON_TYPES:
        return jsonio.loads_value(data, max_depth=depth)
    return jsonio.loads(data, max_depth=depth)


def check_content_type(mimetype: str | None, accept: tuple[str, ...] = JSON_TYPES) -> None:
    """A 415 for a content type `json_body` does not read (none is taken as JSON)."""
    mimetype = (mimetype or "").lower()
    if not mimetype or mimetype in accept:
        return
    if accept != JSON_TYPES:
        raise FhirError.of(415, "not-supported", f"PATCH takes application/json-patch+json (or a JSON merge patch, "
                                                 f"application/merge-patch+json), not {mimetype}")
    raise FhirError.of(415, "not-supported", f"This server reads FHIR JSON (application/fhir+json), not {mimetype}")


def check_format() -> None:
    """`_format` and Accept: this server speaks JSON only; asking for XML alone is a 406."""
    wanted = (_arg("_format") or "").lower()
    if wanted and "json" not in wanted:
        raise FhirError.of(406, "not-supported", f"_format={wanted}: this server answers in JSON only")
    check_accept(current_request().headers.get("Accept", ""))


def check_accept(accept: str) -> None:
    """The Accept header's half of `check_format` (the lean paths ask it of the header itself)."""
    if accept and "xml" in accept and "json" not in accept and "*/*" not in accept:
        raise FhirError.of(406, "not-supported",
                           "This server answers in FHIR JSON only (Accept: application/fhir+json)")
