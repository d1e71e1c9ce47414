"""The FHIR REST surface at /fhir. Each handler is registered by its key in the route table (`api.surface`, which
says its method, path, interaction and types; `api.routing`) and is a few lines that call the FHIR service and
return a `Reply`."""

from __future__ import annotations

from flask import Blueprint, request

from fhirclaim.api import surface
from fhirclaim.api.auth import authenticate_held
from fhirclaim.api.http import (
    MERGE_PATCH_TYPES,
    PATCH_TYPES,
    Reply,
    base_url,
    current_request,
    if_match,
    json_body,
    query_pairs,
    server_root,
    stored_reply,
)
from fhirclaim.api.request_scope import fhir_service, release_held, runtime
from fhirclaim.api.routing import serve_on
from fhirclaim.fhir import dates, integers, parameters
from fhirclaim.fhir.outcome import FhirError, operation_outcome
from fhirclaim.interactions import bundles, transaction

blueprint = Blueprint("fhir", __name__)
blueprint.before_request(authenticate_held)  # the token is checked in the transaction the handler works in
blueprint.teardown_request(release_held)
serve = serve_on(blueprint)


# --- handlers, by their key in the route table -------------------------------------------------------------


@serve("capabilities")
def capabilities() -> Reply:
    root = server_root()
    return Reply(200, runtime().capability_statement(base_url(), surface.rest_surface(
        root + surface.TOKEN_PATH, root + surface.REVOKE_PATH)))


@serve("batch_or_transaction")
def batch_or_transaction() -> Reply:
    bundle = json_body()
    with fhir_service(write=True) as service:
        return Reply(200, transaction.process(service, bundle, base_url()))


@serve("history_system")
def history_system() -> Reply:
    return _history(None, None)


@serve("search")
def search(resource_type: str) -> Reply:
    with fhir_service(write=False) as service:
        search_request, result = service.search(resource_type, query_pairs())
    return Reply(200, bundles.searchset(base_url(), search_request, result))


@serve("search_post")
def search_post(resource_type: str) -> Reply:
    return search(resource_type)


@serve("create")
def create(resource_type: str) -> Reply:
    resource = json_body()
    with fhir_service(write=True) as service:
        stored, created = service.create(resource, expected_type=resource_type,
                                         if_none_exist=current_request().headers.get("If-None-Exist"))
    return stored_reply(stored, 201 if created else 200, write=True)


@serve("conditional_update")
def conditional_update(resource_type: str) -> Reply:
    resource = json_body()
    with fhir_service(write=True) as service:
        stored, created = service.conditional_update(resource_type, request.query_string.decode(), resource,
                                                     if_match=if_match())
    return stored_reply(stored, 201 if created else 200, write=True)


@serve("history_type")
def history_type(resource_type: str) -> Reply:
    return _history(resource_type, None)


@serve("validate_type")
def validate_type(resource_type: str) -> Reply:
    return _validate(resource_type)


@serve("validate_instance")
def validate_instance(resource_type: str, resource_id: str) -> Reply:
    return _validate(resource_type)


@serve("read")
def read(resource_type: str, resource_id: str) -> Reply:
    with fhir_service(write=False, by_id=True) as service:
        return stored_reply(service.read(resource_type, resource_id))


@serve("update")
def update(resource_type: str, resource_id: str) -> Reply:
    resource = json_body()
    with fhir_service(write=True) as service:
        stored, created = service.update(resource_type, resource_id, resource, if_match=if_match())
    return stored_reply(stored, 201 if created else 200, write=True)


@serve("patch")
def patch(resource_type: str, resource_id: str) -> Reply:
    document = json_body(accept=PATCH_TYPES + MERGE_PATCH_TYPES)
    if (request.mimetype in PATCH_TYPES) != isinstance(document, list):
        raise FhirError.of(400, "structure", "A JSON Patch (application/json-patch+json) is an array of operations; "
                                             "a JSON merge patch is an object")
    with fhir_service(write=True) as service:
        return stored_reply(service.patch(resource_type, resource_id, document, if_match=if_match()), write=True)


@serve("delete")
def delete(resource_type: str, resource_id: str) -> Reply:
    with fhir_service(write=True) as service:
        stored = service.delete(resource_type, resource_id)
    return Reply(200, operation_outcome([]), headers={"ETag": stored.etag})


@serve("history_instance")
def history_instance(resource_type: str, resource_id: str) -> Reply:
    return _history(resource_type, resource_id)


@serve("vread")
def vread(resource_type: str, resource_id: str, version: str) -> Reply:
    with fhir_service(write=False, by_id=True) as service:
        return stored_reply(service.vread(resource_type, resource_id, version))


# --- shared by several routes -----------------------------------------------------------------------------


def _history(resource_type: str | None, resource_id: str | None) -> Reply:
    count = _int_arg("_count", runtime().settings.default_page_size, runtime().settings.max_page_size)
    offset = _int_arg("_offset", 0)
    since = _since()
    with fhir_service(write=False) as service:
        page = service.history(resource_type, resource_id, since=since, count=count, offset=offset)
    url = "/".join(p for p in (base_url(), resource_type, resource_id, "_history") if p)
    criteria = [("_since", request.args["_since"])] if "_since" in request.args else []
    return Reply(200, bundles.history_bundle(base_url(), url, page, count, offset, criteria))


def _validate(resource_type: str) -> Reply:
    body = json_body()
    if body.get("resourceType") == "Parameters":  # $validate takes the resource bare or as Parameters.resource
        body = parameters.resource(body)
    with fhir_service(write=False) as service:
        issues = service.validate_only(body, resource_type)
    return Reply(200, operation_outcome(issues))


def _int_arg(name: str, default: int, maximum: int | None = None) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    number = integers.non_negative(name, value)
    return min(number, maximum) if maximum else number


def _since():
    value = request.args.get("_since")
    if value is None:
        return None
    try:
        return dates.to_range(value, runtime().settings.timezone)[0]
    except dates.DateFormatError as exc:
        raise FhirError.of(400, "value", f"_since: {exc}", "_since") from None
