"""The CapabilityStatement, generated from what is really implemented: the stored types, their search
parameters from the registry, the interactions of the route table, the operations and the profiles."""

from __future__ import annotations

from typing import Any

from fhirclaim import __version__
from fhirclaim.fhir import dates, profiles
from fhirclaim.fhir.search_params import registry
from fhirclaim.fhir.validation import STORED_TYPES

TYPE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                     "search-type")


def capability_statement(base: str, *, operations: list[dict[str, str]], type_operations: dict[str, list[dict]],
                         security: dict[str, Any] | None = None) -> dict[str, Any]:
    by_type = _profiles_by_type()
    rest: dict[str, Any] = {
        "mode": "server",
        "resource": [_resource(t, by_type.get(t, []), type_operations.get(t, [])) for t in STORED_TYPES],
        "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
        "operation": operations,
    }
    if security:
        rest["security"] = security
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dates.instant(dates.now_utc()),
        "publisher": "fhirclaim",
        "kind": "instance",
        "software": {"name": "fhirclaim", "version": __version__},
        "implementation": {"description": "FHIR claim facade for JKN / BPJS Kesehatan", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [rest],
    }


def _resource(resource_type: str, supported_profiles: list[str], operations: list[dict]) -> dict[str, Any]:
    params = registry().for_type(resource_type)
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": True,
        "conditionalDelete": "not-supported",
        "referencePolicy": ["literal", "enforced", "local"],
        "searchInclude": sorted(f"{resource_type}:{p.name}" for p in params if p.type == "reference"),
        "searchParam": [{"name": p.name, "definition": p.url, "type": p.type} for p in params],
    }
    if supported_profiles:
        entry["supportedProfile"] = supported_profiles
    if operations:
        entry["operation"] = operations
    return entry


def _profiles_by_type() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for profile in profiles.list_profiles():
        result.setdefault(profile["resourceType"], []).append(profile["url"])
    return result
