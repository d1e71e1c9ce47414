"""Administration at /admin (admin clients only): OAuth2 clients, tenant settings, hospitals' signing certificates
and trust anchors, webhook deliveries.

JSON in, JSON out; errors as OperationOutcome like everywhere else. Secrets appear once, in the answer that creates
them, and never again.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fhirclaim import webhooks
from fhirclaim.api.auth import authenticate
from fhirclaim.api.http import Reply, json_body
from fhirclaim.api.request_scope import runtime
from fhirclaim.api.routing import serve_on
from fhirclaim.fhir.outcome import FhirError, error

blueprint = Blueprint("admin", __name__)
blueprint.before_request(authenticate)
serve = serve_on(blueprint, mount="/admin")  # each route's entry in api.surface names the admin role
JSON = "application/json"


def _json(status: int, body: Any) -> Reply:
    return Reply(status, body, content_type=JSON)


def _text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


# The bodies' shapes, bounded by their columns (store/access.py), checked before any value is used.
CLIENT_BODY = {"type": "object", "required": ["role"],
               "properties": {"role": {"type": "string", "maxLength": 16}, "org": _text(64), "name": _text(128)}}
TENANT_BODY = {"type": "object", "properties": {
    "eklaim_url": _text(512), "eklaim_key": _text(64), "eklaim_protocol": _text(8), "kode_tarif": _text(8),
    "hospital_code": _text(32), "payor_id": _text(16), "payor_cd": _text(16),
    "precheck_errors": {"type": ["array", "null"], "maxItems": 100, "items": {"type": "string", "maxLength": 64}}}}
TENANT_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON body, or FhirError 400 with every way it is not of `schema`'s shape."""
    body = json_body(accept=("application/json",))
    failures = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda f: list(f.absolute_path))
    if failures:
        raise FhirError(400, [error("structure", f"{_where(f)}: {f.message[:200]}", _where(f)) for f in failures])
    return body


def _where(failure: ValidationError) -> str:
    return ".".join(["body", *(str(step) for step in failure.absolute_path)])


def _tenant_id(tenant: str) -> str:
    if not TENANT_ID.fullmatch(tenant):
        raise FhirError.of(404, "not-found", f"No tenant {tenant[:64]!r} (an organization id: [A-Za-z0-9-.]{{1,64}})")
    return tenant


# --- clients ------------------------------------------------------------------------------------------------


@serve("list_clients")
def list_clients() -> Reply:
    return _json(200, runtime().clients.list_clients())


@serve("add_client")
def add_client() -> Reply:
    body = _body(CLIENT_BODY)
    try:
        client_id, secret = runtime().clients.add_client(body.get("role", ""), body.get("org"), body.get("name"))
    except ValueError as exc:
        raise FhirError.of(400, "value", str(exc)) from None
    return _json(201, {"client_id": client_id, "client_secret": secret, "role": body.get("role"),
                       "org": body.get("org")})


@serve("disable_client")
def disable_client(client_id: str) -> Reply:
    if not runtime().clients.disable(client_id):
        raise FhirError.of(404, "not-found", f"No client {client_id}")
    return _json(200, {"client_id": client_id, "disabled": True})


@serve("security_log")
def security_log() -> Reply:
    """Refused anonymous requests per minute, source and kind (auth/security_log.py), newest first."""
    return _json(200, runtime().security_log.recent())


# --- tenants ------------------------------------------------------------------------------------------------


@serve("get_tenant")
def get_tenant(tenant: str) -> Reply:
    config = runtime().tenants.get(_tenant_id(tenant))
    if config is None:
        raise FhirError.of(404, "not-found", f"Tenant {tenant} has no settings of its own (the defaults apply)")
    return _json(200, config.public())


@serve("put_tenant")
def put_tenant(tenant: str) -> Reply:
    return _json(200, runtime().tenants.put(_tenant_id(tenant), _body(TENANT_BODY)).public())


# --- signing identities (architecture §6) --------------------------------------------------------------------

CERTIFICATE_BODY = {"type": "object", "required": ["certificate"], "additionalProperties": False,
                    "properties": {"certificate": {"type": "string", "maxLength": 65536}}}
REVOKE_BODY = {"type": "object", "required": ["reason"], "additionalProperties": False,
               "properties": {"reason": {"type": "string", "maxLength": 32}}}


@serve("get_signing_certificate")
def get_signing_certificate(tenant: str) -> Reply:
    return _json(200, _signing_certificate(_signing_tenant(tenant)))


@serve("put_signing_certificate")
def put_signing_certificate(tenant: str) -> Reply:
    """An outside CA's certificate for the hospital's current key (its CA must be a trust anchor already)."""
    pem = _body(CERTIFICATE_BODY)["certificate"].encode("utf-8", "replace")
    _signing_call(runtime().signing.install_certificate, _signing_tenant(tenant), pem)
    return _json(200, _signing_certificate(tenant))


@serve("revoke_signing_certificate")
def revoke_signing_certificate(tenant: str) -> Reply:
    reason = _body(REVOKE_BODY)["reason"]
    return _json(200, _signing_call(runtime().signing.revoke, _signing_tenant(tenant), reason=reason))


@serve("add_trust_anchor")
def add_trust_anchor() -> Reply:
    pem = _body(CERTIFICATE_BODY)["certificate"].encode("utf-8", "replace")
    anchor = _signing_call(runtime().signing.add_trust_anchor, pem)
    return _json(201, {"subject": anchor.subject.rfc4514_string(), "not_after": anchor.not_valid_after_utc.isoformat()})


def _signing_certificate(tenant: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    signing = runtime().signing
    key = _signing_call(signing.current, tenant)
    chain = [key.certificate, *key.issuers]
    return {"tenant": tenant, "kid": key.kid, "alg": key.alg, "subject": key.certificate.subject.rfc4514_string(),
            "issuer": key.certificate.issuer.rfc4514_string(), "serial": format(key.certificate.serial_number, "x"),
            "not_after": key.certificate.not_valid_after_utc.isoformat(),
            "certificate": "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
            "csr": signing.csr_pem(tenant).decode()}


def _signing_tenant(tenant: str) -> str:
    """A hospital that has a signing key (made with its first signed Bundle, or by `fhirclaim keys csr`)."""
    if _tenant_id(tenant) not in runtime().signing.organizations():
        raise FhirError.of(404, "not-found", f"Hospital {tenant} has no signing key yet: it gets one with its first "
                                             "signed Bundle, or from `fhirclaim keys csr --org`")
    return tenant


def _signing_call(action, *args: Any, **kwargs: Any) -> Any:
    """`action` with a ValueError (a PEM that is not one, a certificate for another hospital) as a 400."""
    try:
        return action(*args, **kwargs)
    except ValueError as exc:
        raise FhirError.of(400, "value", str(exc)[:500], "body.certificate") from None


# --- webhooks -----------------------------------------------------------------------------------------------


@serve("deliveries")
def deliveries() -> Reply:
    return _json(200, webhooks.list_deliveries(runtime().store, status=request.args.get("status"),
                                               subscription=request.args.get("subscription")))


@serve("delivery")
def delivery(delivery_id: int) -> Reply:
    return _json(200, webhooks.get_delivery(runtime().store, delivery_id))


@serve("dead_letters")
def dead_letters() -> Reply:
    return _json(200, webhooks.dead_letters(runtime().store))


@serve("replay")
def replay(delivery_id: int) -> Reply:
    return _json(200, webhooks.replay(runtime().store, delivery_id))
