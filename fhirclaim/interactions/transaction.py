"""Batch and transaction Bundles posted to the base.

A transaction runs inside the caller's unit of work: every entry succeeds or the whole Bundle is rolled back.
`urn:uuid` fullUrls get their ids before anything is written, references are rewritten, entries run in the
order FHIR prescribes (DELETE, POST, PUT/PATCH, GET), and once all entries are written references are checked and
the listeners are told of every change together (`FhirService.writing_together`).
A batch runs each entry in its own savepoint and reports each outcome separately.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fhirclaim.fhir import integers, jsonio
from fhirclaim.fhir.outcome import FhirError, Issue
from fhirclaim.interactions import bundles
from fhirclaim.interactions.service import FhirService

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class EntryRequest:
    index: int
    method: str
    resource_type: str | None
    resource_id: str | None
    version: str | None
    query: str
    resource: dict[str, Any] | None
    full_url: str | None
    if_match: int | None
    if_none_exist: str | None


def process(service: FhirService, bundle: dict[str, Any], base: str) -> dict[str, Any]:
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise FhirError.of(400, "invalid", "POST to the base takes a Bundle of type transaction or batch",
                           "Bundle.type")
    service.base_urls = tuple(dict.fromkeys((*service.base_urls, base)))  # the base the Bundle was posted to
    if kind == "transaction":
        return _transaction(service, bundle, base)
    return _batch(service, bundle, base)


# --- transaction ------------------------------------------------------------------------------------------


def _transaction(service: FhirService, bundle: dict[str, Any], base: str) -> dict[str, Any]:
    requests = [_entry_request(i, e, base) for i, e in enumerate(_entries(bundle))]
    ids = _plan_ids(service, requests)
    _rewrite_references(requests, ids, base)
    service.prefetch((r.resource_type, r.resource_id) for r in requests  # looked up by each: one statement for all
                     if r.method in ("PUT", "PATCH", "DELETE") and r.resource_type and r.resource_id)
    service.defer_reference_checks = True
    responses: dict[int, dict[str, Any]] = {}
    with service.writing_together():  # the listeners hear every entry's change at once, once all are checked
        for request in sorted(requests, key=lambda r: (ORDER[r.method], r.index)):
            try:
                responses[request.index] = _execute(service, request, base, ids)
            except FhirError as exc:
                raise _in_entry(exc, request) from None
        service.check_deferred_references()
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "transaction-response",
            "entry": [responses[r.index] for r in requests]}


def _plan_ids(service: FhirService, requests: list[EntryRequest]) -> dict[str, str]:
    """fullUrl → `Type/id` for every entry that creates or names a resource."""
    ids: dict[str, str] = {}
    for request in requests:
        if request.method == "POST" and request.resource_type:
            existing = None
            if request.if_none_exist:
                try:
                    existing = service._conditional_match(request.resource_type, request.if_none_exist)
                except FhirError as exc:
                    raise _in_entry(exc, request) from None
            request.resource_id = existing.id if existing else str(uuid.uuid4())
            request.version = "existing" if existing else None
        if request.full_url and request.resource_type and request.resource_id:
            if request.full_url in ids:
                raise FhirError.of(400, "invalid", f"fullUrl {request.full_url} appears twice",
                                   f"Bundle.entry[{request.index}].fullUrl")
            ids[request.full_url] = f"{request.resource_type}/{request.resource_id}"
    return ids


def _rewrite_references(requests: list[EntryRequest], ids: dict[str, str], base: str) -> None:
    for request in requests:
        if request.resource is not None:
            request.resource = _rewrite(request.resource, ids)


def _rewrite(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: (ids.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, ids))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, ids) for v in value]
    return value


def _execute(service: FhirService, request: EntryRequest, base: str, ids: dict[str, str]) -> dict[str, Any]:
    method = request.method
    if method == "POST":
        if request.version == "existing":
            stored = service.read(request.resource_type, request.resource_id)
            return bundles.response_entry(base, 200, stored)
        stored, _ = service.create(_require_resource(request), expected_type=request.resource_type,
                                   resource_id=request.resource_id)
        return bundles.response_entry(base, 201, stored)
    if method == "PUT":
        resource = _require_resource(request)
        if request.resource_id:
            stored, created = service.update(request.resource_type, request.resource_id, resource,
                                             if_match=request.if_match)
        else:
            stored, created = service.conditional_update(request.resource_type, request.query, resource,
                                                         if_match=request.if_match)
        return bundles.response_entry(base, 201 if created else 200, stored)
    if method == "PATCH":
        stored = service.patch(request.resource_type, _require_id(request), _patch_document(request),
                               if_match=request.if_match)
        return bundles.response_entry(base, 200, stored)
    if method == "DELETE":
        service.delete(request.resource_type, _require_id(request))
        return bundles.response_entry(base, 204)
    return _get(service, request, base)


def _get(service: FhirService, request: EntryRequest, base: str) -> dict[str, Any]:
    if request.resource_type and request.resource_id:
        stored = (service.vread(request.resource_type, request.resource_id, request.version) if request.version
                  else service.read(request.resource_type, request.resource_id))
        return bundles.response_entry(base, 200, stored, resource=stored.content)
    if request.resource_type:
        search, result = service.search(request.resource_type, parse_qsl(request.query, keep_blank_values=True))
        return bundles.response_entry(base, 200, resource=bundles.searchset(base, search, result))
    raise FhirError.of(400, "not-supported", "GET entries must name a resource type")


# --- batch ------------------------------------------------------------------------------------------------


def _batch(service: FhirService, bundle: dict[str, Any], base: str) -> dict[str, Any]:
    responses = []
    for index, entry in enumerate(_entries(bundle)):
        try:
            request = _entry_request(index, entry, base)
            if request.method == "POST":
                request.resource_id = None
            with service.uow.savepoint():
                responses.append(_execute(service, request, base, {}))
        except FhirError as exc:
            responses.append(bundles.response_entry(base, exc.status, outcome=exc.outcome()))
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "batch-response", "entry": responses}


# --- entries ----------------------------------------------------------------------------------------------


def _entries(bundle: dict[str, Any]) -> list[Any]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError.of(400, "structure", "Bundle.entry must be an array", "Bundle.entry")
    return entries


def _optional_string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise FhirError.of(400, "structure", f"{where} must be a string", where)
    return value


def _entry_request(index: int, entry: Any, base: str) -> EntryRequest:
    where = f"Bundle.entry[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise FhirError.of(400, "required", f"{where} has no request", f"{where}.request")
    request = entry["request"]
    method = str(request.get("method", "")).upper()
    if method not in ORDER:
        raise FhirError.of(400, "value", f"{where}.request.method {method!r} is not supported", f"{where}.request")
    url = str(request.get("url", ""))
    if url.startswith(base):
        url = url[len(base):]
    parts = urlsplit(url.lstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    resource_type = segments[0] if segments else None
    resource_id = segments[1] if len(segments) > 1 else None
    version = segments[3] if len(segments) > 3 and segments[2] == "_history" else None
    resource = entry.get("resource")
    if resource is not None and not isinstance(resource, dict):
        raise FhirError.of(400, "structure", f"{where}.resource is not a JSON object", f"{where}.resource")
    return EntryRequest(index, method, resource_type, resource_id, version, parts.query, resource,
                        _optional_string(entry.get("fullUrl"), f"{where}.fullUrl"),
                        _etag_version(request.get("ifMatch")),
                        _optional_string(request.get("ifNoneExist"), f"{where}.request.ifNoneExist"))


def _etag_version(value: Any) -> int | None:
    if not value:
        return None
    version = integers.ascii_int(str(value).removeprefix("W/").strip('"'))
    if version is None:
        raise FhirError.of(400, "value", f"ifMatch {str(value)[:40]!r} is not an ETag like W/\"3\"")
    return version


def _require_resource(request: EntryRequest) -> dict[str, Any]:
    if request.resource is None:
        raise FhirError.of(400, "required", f"{request.method} {request.resource_type} needs a resource")
    return request.resource


def _require_id(request: EntryRequest) -> str:
    if not request.resource_id:
        raise FhirError.of(400, "required", f"{request.method} needs a URL of the form Type/id")
    return request.resource_id


def _patch_document(request: EntryRequest) -> Any:
    """Inside a Bundle a JSON Patch travels as a Binary (contentType application/json-patch+json)."""
    resource = request.resource or {}
    if resource.get("resourceType") != "Binary" or not resource.get("data"):
        raise FhirError.of(400, "not-supported", "PATCH entries carry a Binary with a base64 JSON Patch")
    try:
        return jsonio.loads_value(base64.b64decode(resource["data"], validate=True))
    except (ValueError, TypeError):
        raise FhirError.of(400, "structure", "The Binary data is not a base64 JSON Patch") from None


def _in_entry(exc: FhirError, request: EntryRequest) -> FhirError:
    """The same error, its issues placed at the entry that failed."""
    prefix = f"Bundle.entry[{request.index}]"
    label = f"Entry {request.index} ({request.method} {request.resource_type or ''}): "
    issues = [Issue(i.severity, i.code, label + i.text,
                    tuple(f"{prefix}.resource.{e.split('.', 1)[1]}" if "." in e else prefix for e in i.expression)
                    or (prefix,), i.details_code, i.details_system) for i in exc.issues]
    return FhirError(exc.status, issues, exc.headers)

