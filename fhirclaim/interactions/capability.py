"""The CapabilityStatement and this server's OperationDefinitions.

The statement is generated from a `RestSurface`: which interactions each resource type really supports, the
operations with their definitions, and the security of the API. The HTTP layer derives that surface from its one
route table (`fhirclaim.api.surface`), so the statement lists exactly what is routed; the search parameters come
from the registry and the profiles from `profiles/`.

The custom operations are defined by OperationDefinitions shipped as data (`data/operations/<id>.json`), with
stable canonical URLs `https://fhirclaim.org/fhir/OperationDefinition/<id>`; the server serves each at
`[base]/OperationDefinition/<id>` and finds it by `url`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from fhirclaim import __version__
from fhirclaim.clock import utc_now
from fhirclaim.fhir import dates, profiles
from fhirclaim.fhir.search_params import registry
from fhirclaim.fhir.validation import STORED_TYPES
from fhirclaim.store.audit_log import AUDIT_EVENT
from fhirclaim.store.audit_log import SEARCH_PARAMS as AUDIT_SEARCH_PARAMS

# R4 TypeRestfulInteraction and SystemRestfulInteraction codes, in the order the statement lists them.
TYPE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                     "search-type")
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")
WRITE_INTERACTIONS = frozenset({"update", "patch", "delete", "create"})

OPERATION_CANONICAL = "https://fhirclaim.org/fhir/OperationDefinition/"
VALIDATE_DEFINITION = "http://hl7.org/fhir/OperationDefinition/Resource-validate"
OPERATION_DEFINITION = "OperationDefinition"  # served read-only beside the stored types

SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass(frozen=True)
class OperationUse:
    """An operation as the statement lists it: `name` is its code without `$`, at `level` on `types`."""

    name: str
    definition: str
    level: str  # system | type | instance
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Security:
    token_url: str
    revoke_url: str
    cors: bool = False


@dataclass(frozen=True)
class RestSurface:
    """What the REST API really offers: the input of the statement."""

    system_interactions: frozenset[str]
    type_interactions: Mapping[str, frozenset[str]]  # resource type -> interaction codes
    operations: tuple[OperationUse, ...] = ()
    security: Security | None = None
    conditional_update: frozenset[str] = field(default_factory=frozenset)  # types with PUT [type]?criteria


def capability_statement(base: str, surface: RestSurface, *, sandbox: bool = False) -> dict[str, Any]:
    by_type = _profiles_by_type()
    rest: dict[str, Any] = {"mode": "server"}
    if surface.security:
        rest["security"] = security(surface.security)
    rest["resource"] = [_resource(t, surface, by_type.get(t, [])) for t in surface.type_interactions]
    rest["interaction"] = [{"code": c} for c in SYSTEM_INTERACTIONS if c in surface.system_interactions]
    system_operations = [_operation(o) for o in surface.operations if o.level == "system"]
    if system_operations:
        rest["operation"] = system_operations
    description = "FHIR claim facade for JKN / BPJS Kesehatan" + (" (sandbox)" if sandbox else "")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dates.instant(utc_now()),
        "publisher": "fhirclaim",
        "kind": "instance",
        "software": {"name": "fhirclaim", "version": __version__},
        "implementation": {"description": description, "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json", "application/merge-patch+json"],
        "rest": [rest],
    }


def security(config: Security) -> dict[str, Any]:
    """rest.security: OAuth2 client credentials, with the token and revocation endpoints (SMART's oauth-uris)."""
    return {
        "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": config.token_url},
                                                        {"url": "revoke", "valueUri": config.revoke_url}]}],
        "cors": config.cors,
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "OAuth", "display": "OAuth"}],
                     "text": "OAuth2 client credentials"}],
        "description": "OAuth2 client credentials grant (RFC 6749 §4.4), SATUSEHAT's shape: POST the client_id and "
                       f"client_secret (form fields or HTTP Basic) with grant_type=client_credentials to "
                       f"{config.token_url} and send the access token as 'Authorization: Bearer <token>'. Tokens "
                       f"expire and can be revoked at {config.revoke_url}. Every request needs one except the "
                       "CapabilityStatement, the OperationDefinitions and the JWKS of the Bundle signatures. What a "
                       "client sees and writes follows its role (facility, eklaim, bpjs, admin).",
    }


def _resource(resource_type: str, surface: RestSurface, supported_profiles: list[str]) -> dict[str, Any]:
    codes = surface.type_interactions[resource_type]
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": code} for code in TYPE_INTERACTIONS if code in codes],
    }
    if resource_type in STORED_TYPES:
        writable = bool(codes & WRITE_INTERACTIONS)
        entry.update({
            "versioning": "versioned-update" if writable else "versioned",
            "readHistory": "vread" in codes,
            "updateCreate": "update" in codes,
            "conditionalCreate": "create" in codes,
            "conditionalUpdate": resource_type in surface.conditional_update,
            "conditionalDelete": "not-supported",
            "referencePolicy": ["literal", "enforced", "local"],
        })
        params = registry().for_type(resource_type)
        if resource_type == AUDIT_EVENT:  # the audit table answers a few parameters and no _include
            params = [p for p in params if p.name in AUDIT_SEARCH_PARAMS]
        entry["searchInclude"] = [] if resource_type == AUDIT_EVENT else sorted(
            f"{resource_type}:{p.name}" for p in params if p.type == "reference")
        entry["searchParam"] = [{"name": p.name, "definition": p.url, "type": p.type} for p in params]
    elif resource_type == OPERATION_DEFINITION:
        entry.update({"versioning": "no-version", "readHistory": False, "updateCreate": False,
                      "searchParam": [{"name": "url", "type": "uri",
                                       "definition": "http://hl7.org/fhir/SearchParameter/OperationDefinition-url"}]})
    if supported_profiles:
        entry["supportedProfile"] = supported_profiles
    operations = [_operation(o) for o in surface.operations if o.level != "system" and resource_type in o.types]
    if operations:
        entry["operation"] = _unique(operations)
    return entry


def _operation(operation: OperationUse) -> dict[str, str]:
    return {"name": operation.name, "definition": operation.definition}


def _unique(operations: list[dict[str, str]]) -> list[dict[str, str]]:
    """One entry per definition ($validate is routed at type and instance level)."""
    seen: dict[str, dict[str, str]] = {}
    for operation in operations:
        seen.setdefault(operation["definition"], operation)
    return list(seen.values())


def _profiles_by_type() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for profile in profiles.list_profiles():
        result.setdefault(profile["resourceType"], []).append(profile["url"])
    return result


# --- OperationDefinitions ------------------------------------------------------------------------------------


def operation_canonical(definition_id: str) -> str:
    return OPERATION_CANONICAL + definition_id


@lru_cache(maxsize=1)
def _operation_definitions() -> dict[str, str]:
    folder = resources.files("fhirclaim.fhir").joinpath("data/operations")
    texts = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            text = entry.read_text(encoding="utf-8")
            texts[json.loads(text)["id"]] = text
    return texts


def operation_definitions() -> dict[str, dict[str, Any]]:
    """This server's OperationDefinitions by id (fresh copies: callers may change them)."""
    return {key: json.loads(text) for key, text in _operation_definitions().items()}


def operation_definition(definition_id: str) -> dict[str, Any] | None:
    text = _operation_definitions().get(definition_id)
    return json.loads(text) if text is not None else None
