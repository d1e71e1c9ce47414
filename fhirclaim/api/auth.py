"""OAuth2 at /oauth2/v1 (SATUSEHAT's client credentials shape) and the bearer-token check every other endpoint
passes. The caller becomes `g.principal`; its scope and permissions reach the FHIR service via api.request_scope.
Refusals of a known caller are AuditEvents in its own tenant; refusals of an unidentified one go to the bounded
security log (`auth/security_log.py`)."""

from __future__ import annotations

from flask import Blueprint, Flask, Request, Response, g, jsonify, request

from fhirclaim.api import surface
from fhirclaim.api.http import current_flask_app, current_request, error_response, request_globals
from fhirclaim.api.request_scope import hold_reading, hold_writing, release_held, runtime
from fhirclaim.auth.addresses import client_address, parse_networks
from fhirclaim.auth.audit import record_denied
from fhirclaim.auth.clients import AuthError
from fhirclaim.auth.policy import scope_for
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.runtime import Runtime
from fhirclaim.store.scope import PARTITION_HEADER
from fhirclaim.store.unit_of_work import UnitOfWork

blueprint = Blueprint("oauth2", __name__)

# Endpoints anyone may call: the CapabilityStatement (FHIR clients read it first) and the public keys of
# the Bundle signatures.
PUBLIC = {("GET", "/fhir/metadata"), ("GET", "/fhir/.well-known/jwks.json"),
          ("GET", "/fhir/.well-known/trust-anchors.pem"), ("GET", "/fhir/.well-known/signing-crl.pem")}


# The tenant header as the WSGI environ names it (the lean paths read it there, `api.lean`).
PARTITION_ENVIRON = "HTTP_" + PARTITION_HEADER.upper().replace("-", "_")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@blueprint.post("/accesstoken")
def access_token() -> Response:
    if not _form_encoded():  # refused before any credential is looked at: no failure counted, none cleared
        return _oauth_error(400, "invalid_request", "The token request body must be application/x-www-form-urlencoded "
                                                    "(client_id=...&client_secret=..., RFC 6749 §4.4.2; grant_type "
                                                    "may be in the query string), not JSON")
    if request.args.get("grant_type", request.form.get("grant_type")) != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    if request.authorization and request.authorization.type == "basic":  # RFC 6749 §2.3.1 also allows Basic
        client_id, secret = request.authorization.username or "", request.authorization.password or ""
    try:
        issued = runtime().clients.request_token(client_id, secret, caller_address())
    except AuthError as refused:
        if refused.retry_after:
            _log_anonymous("token-slowed-down", f"token request for client {client_id[:64]!r}: 429")
            response = _oauth_error(429, refused.error, refused.description)
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        _log_anonymous("token-refused", f"token request for client {client_id[:64]!r} refused")
        return _oauth_error(401, refused.error, refused.description)
    principal = issued.principal
    return jsonify({
        "access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in,
        "issued_at": str(int(issued.issued_at.timestamp() * 1000)), "client_id": principal.client_id,
        "role": principal.role, "organization_id": principal.org, "status": "approved",
    })


def _form_encoded() -> bool:
    """An empty body (credentials in Basic authentication) or a form; not a JSON body, whatever its declared type
    (`curl -d '{...}'` declares a form)."""
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return True
    if (request.mimetype or "").lower() not in FORM_TYPES:
        return False
    return not any(key.lstrip().startswith(("{", "[")) for key in request.form)


@blueprint.post("/revoke")
def revoke() -> Response:
    """RFC 7009: a client revokes one of its tokens (always 200, so tokens cannot be probed)."""
    token = request.form.get("token", "")
    principal, _ = runtime().clients.resolve(token)
    if principal is not None:
        runtime().clients.revoke(token)
    return Response(b"", 200)


def caller_address() -> str:
    """The caller's address: the peer, or X-Forwarded-For's when the peer is a trusted proxy."""
    trusted = parse_networks(runtime().settings.trusted_proxies)
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


def authenticate() -> Response | None:
    """before_request of every protected blueprint: a live bearer token, or 401 with WWW-Authenticate."""
    return _authenticate(hold=False)


def authenticate_held() -> Response | None:
    """`authenticate` for the FHIR REST routes: a GET (read, vread, search, history) checks its token in the read
    transaction its handler then reads in (`request_scope.hold_reading`), a write (create, update, patch, delete,
    batch or transaction) as the first statement of its own unit of work (`hold_writing`; on SQLite on its
    connection just before it begins, `_held_unit`); the blueprint's teardown ends one no handler took."""
    return _authenticate(hold=True)


# The FHIR REST routes whose handler writes (`fhir_service(write=True)`): their token is checked in that write.
# POST _search and $validate only read: they keep a check of their own, not a writer's lock.
WRITE_INTERACTIONS = frozenset({"create", "update", "patch", "delete", "transaction", "batch"})
HELD_WRITES = frozenset(f"fhir.{e.key}" for e in surface.TABLE
                        if e.group == "fhir" and WRITE_INTERACTIONS.intersection(e.interactions))


def _authenticate(*, hold: bool) -> Response | None:
    asked = current_request()  # one context lookup for the request (issue 17)
    method, headers = asked.method, asked.headers
    if (method, asked.path.rstrip("/")) in PUBLIC:
        return None
    token = bearer_token(headers.get("Authorization", ""))
    if token is None:
        return _unauthorized("invalid_request", "This endpoint needs 'Authorization: Bearer <token>' "
                                                "(POST /oauth2/v1/accesstoken to get one)")
    within = _held_unit(asked) if hold else None
    principal, why = runtime().clients.resolve(token, within)
    if principal is None:
        release_held()
        return _unauthorized("invalid_token", why or "The access token is not valid")
    context = request_globals()
    context.principal = principal
    context.scope = scope_for(principal, headers.get(PARTITION_HEADER))
    context.caller = principal.name
    return None


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other header (shared with the lean
    paths, `api.lean`)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _held_unit(asked: Request) -> UnitOfWork | None:
    """The unit of work the token is checked in and the handler then works in, or None for a check of its own.

    A write's on SQLite too, but there the check runs on the write's connection before its transaction begins
    (`TokenRepository.lookup`): a write's first statement takes the database's one writer lock (BEGIN IMMEDIATE),
    and the token's would take it before the body is parsed and validated (measured: the lock held 1.2 ms per
    create instead of 0.64 ms, and with 4 client threads the others waited on it). One connection for both saves
    the check a pool checkout and a transaction of its own (issue 17)."""
    if asked.method in ("GET", "HEAD"):
        return hold_reading()
    if asked.endpoint in HELD_WRITES and _body_read(asked):
        return hold_writing()
    return None  # a check of its own: a route that does not write, or a body the handler refuses (413)


def _body_read(asked: Request) -> bool:
    """Read the body now, before the write's unit of work takes the writer lock, so that a slow sender waits
    alone. A body over the limit (or of no declared length) is left to the handler's 413 after an own check."""
    length, limit = asked.content_length, current_flask_app().config.get("MAX_CONTENT_LENGTH")
    if length is None or (limit is not None and length > limit):
        return False
    asked.get_data(cache=True)
    return True


def register(app: Flask) -> None:
    app.register_blueprint(blueprint, url_prefix="/oauth2/v1")


INTERACTIONS = {"GET": "read", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def audit_forbidden(error: FhirError) -> None:
    if error.status != 403:
        return
    release_held()  # a refused request's held unit of work ends before the denial is written
    text = "; ".join(i.text for i in error.issues)
    principal = g.get("principal")
    if principal is None:
        _log_anonymous("forbidden", f"{request.method} {request.path}: {text}")
        return
    record_denied(runtime().store, principal=principal, interaction=INTERACTIONS.get(request.method, "operation"),
                  status=403, description=text, address=caller_address())


def _unauthorized(code: str, text: str) -> Response:
    asked = current_request()
    return unauthenticated(runtime(), asked.remote_addr, asked.headers.get("X-Forwarded-For"), asked.method,
                           asked.path, code, text)


def unauthenticated(rt: Runtime, peer: str | None, forwarded_for: str | None, method: str, path: str, code: str,
                    text: str) -> Response:
    """A request without a live token: counted in the security log (from the caller's address, as
    `caller_address` finds it), and its 401 with WWW-Authenticate. Flask's (`_unauthorized`) and the lean paths'
    (`api.lean`, from the WSGI environ) are this one."""
    source = client_address(peer, forwarded_for, parse_networks(rt.settings.trusted_proxies))
    rt.security_log.record(source=source, kind="unauthenticated", description=f"{method} {path[:100]}: {text}")
    response = error_response(FhirError.of(401, "login", text))
    response.headers["WWW-Authenticate"] = f'Bearer realm="fhirclaim", error="{code}"'
    return response


def _log_anonymous(kind: str, text: str) -> None:
    runtime().security_log.record(source=caller_address(), kind=kind, description=text)


def _oauth_error(status: int, code: str, description: str) -> Response:
    response = jsonify({"error": code, "error_description": description})
    response.status_code = status
    return response
