"""Administration at /admin (admin clients only): OAuth2 clients, tenant settings, webhook deliveries.

JSON in, JSON out; errors as OperationOutcome like everywhere else. Secrets appear once, in the answer that creates
them, and never again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from fhirclaim import webhooks
from fhirclaim.api.auth import authenticate
from fhirclaim.api.context import require_role, runtime
from fhirclaim.api.fhir_rest import route_on
from fhirclaim.api.http import Reply, json_body
from fhirclaim.auth.principal import ADMIN
from fhirclaim.fhir.outcome import FhirError

blueprint = Blueprint("admin", __name__)
route = route_on(blueprint)
JSON = "application/json"


def admins_only() -> None:
    require_role(ADMIN)


blueprint.before_request(authenticate)
blueprint.before_request(admins_only)  # runs after authenticate: before_request functions run in order


def _json(status: int, body: Any) -> Reply:
    return Reply(status, body, content_type=JSON)


# --- clients ------------------------------------------------------------------------------------------------


@route("/clients", ["GET"])
def list_clients() -> Reply:
    return _json(200, runtime().clients.list_clients())


@route("/clients", ["POST"])
def add_client() -> Reply:
    body = json_body(accept=("application/json",))
    try:
        client_id, secret = runtime().clients.add_client(body.get("role", ""), body.get("org"), body.get("name"))
    except ValueError as exc:
        raise FhirError.of(400, "value", str(exc)) from None
    return _json(201, {"client_id": client_id, "client_secret": secret, "role": body.get("role"),
                       "org": body.get("org")})


@route("/clients/<client_id>", ["DELETE"])
def disable_client(client_id: str) -> Reply:
    if not runtime().clients.disable(client_id):
        raise FhirError.of(404, "not-found", f"No client {client_id}")
    return _json(200, {"client_id": client_id, "disabled": True})


# --- tenants ------------------------------------------------------------------------------------------------


@route("/tenants/<tenant>", ["GET"])
def get_tenant(tenant: str) -> Reply:
    config = runtime().tenants.get(tenant)
    if config is None:
        raise FhirError.of(404, "not-found", f"Tenant {tenant} has no settings of its own (the defaults apply)")
    return _json(200, config.public())


@route("/tenants/<tenant>", ["PUT"])
def put_tenant(tenant: str) -> Reply:
    return _json(200, runtime().tenants.put(tenant, json_body(accept=("application/json",))).public())


# --- webhooks -----------------------------------------------------------------------------------------------


@route("/webhooks/deliveries", ["GET"])
def deliveries() -> Reply:
    return _json(200, webhooks.list_deliveries(runtime().store, status=request.args.get("status"),
                                               subscription=request.args.get("subscription")))


@route("/webhooks/deliveries/<int:delivery_id>", ["GET"])
def delivery(delivery_id: int) -> Reply:
    return _json(200, webhooks.get_delivery(runtime().store, delivery_id))


@route("/webhooks/dead-letters", ["GET"])
def dead_letters() -> Reply:
    return _json(200, webhooks.dead_letters(runtime().store))


@route("/webhooks/deliveries/<int:delivery_id>/replay", ["POST"])
def replay(delivery_id: int) -> Reply:
    return _json(200, webhooks.replay(runtime().store, delivery_id))
