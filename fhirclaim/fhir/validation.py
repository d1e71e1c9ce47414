"""Validation of incoming resources, as one stage with several checks, each reporting every issue it finds.

1. shape: a JSON object with a `resourceType` this server stores;
2. the base spec: the `fhir.resources` R4B model (cardinality, datatypes, unknown elements) — or, for the non-FHIR
   types SATUSEHAT defines (PurificationDecision), their marshmallow schema (`fhirclaim.fhir.nonfhir`);
3. required bindings of `code` elements, which the models do not check;
4. this server's profiles (`profiles/`, see `fhirclaim.fhir.profiles`).

Reference resolution needs the store and happens in the service (`fhirclaim.interactions.service`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhirclaim.fhir import nonfhir, profiles
from fhirclaim.fhir.money import money_issues
from fhirclaim.fhir.outcome import FhirError, Issue, error
from fhirclaim.fhir.paths import evaluate

# architecture §3: the types this server stores — the R4 ones, and SATUSEHAT's non-FHIR ones, stored and searched alike.
FHIR_TYPES = (
    "Coverage", "Account", "ChargeItem", "Invoice", "Claim", "ClaimResponse",
    "CoverageEligibilityRequest", "CoverageEligibilityResponse",
    "Patient", "Encounter", "Condition", "Procedure", "Observation", "Practitioner", "PractitionerRole",
    "Organization", "Location", "MedicationRequest", "MedicationDispense", "DiagnosticReport", "Composition",
    "DocumentReference",
    "Subscription", "Bundle", "AuditEvent", "Provenance",
)
STORED_TYPES = FHIR_TYPES + nonfhir.TYPES

_PYDANTIC_CODES = {"extra_forbidden": "structure", "missing": "required"}


def check_resource_type(resource: dict[str, Any], expected: str | None = None) -> str:
    """The resource's type, or FhirError 400 when absent, unknown, or not what the URL says."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise FhirError.of(400, "required", "The resource has no resourceType", "resourceType")
    if expected and resource_type != expected:
        raise FhirError.of(400, "invalid", f"The body is a {resource_type} but the URL names {expected}",
                           "resourceType")
    if resource_type not in STORED_TYPES:
        raise FhirError.of(400 if expected is None else 404, "not-supported",
                           f"This server does not store {resource_type} resources", "resourceType")
    return resource_type


def validate(resource: dict[str, Any], expected_type: str | None = None) -> list[Issue]:
    """Every issue of `resource` (errors and warnings); raises only for an unusable resourceType."""
    resource_type = check_resource_type(resource, expected_type)
    issues = model_issues(resource_type, resource)
    if not any(i.is_error for i in issues):  # later checks assume a well-formed resource
        issues += binding_issues(resource_type, resource)
        issues += money_issues(resource)  # what a signed Bundle can carry exactly (fhir/money.py)
        issues += profiles.check_profiles(resource)
    return issues


def raise_for_errors(issues: list[Issue], status: int = 422) -> None:
    errors = [i for i in issues if i.is_error]
    if errors:
        raise FhirError(status, issues)


def model_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    if resource_type in nonfhir.TYPES:
        return nonfhir.model_issues(resource_type, resource)
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        return [_pydantic_issue(resource_type, e) for e in exc.errors()]
    except (ValueError, TypeError) as exc:  # the models raise plain errors for some malformed primitives
        return [error("invalid", f"{resource_type} is not valid R4: {exc}", resource_type)]
    return []


def _pydantic_issue(resource_type: str, detail: dict[str, Any]) -> Issue:
    path = fhirpath(resource_type, detail.get("loc", ()))
    message = detail.get("msg", "invalid value")
    if detail.get("type") == "extra_forbidden":
        message = f"Unknown element '{detail['loc'][-1]}'"
    elif detail.get("type") == "missing":
        message = f"Missing required element '{detail['loc'][-1]}'"
    return error(_PYDANTIC_CODES.get(detail.get("type", ""), "value"), f"{path}: {message}", path)


def fhirpath(resource_type: str, loc: tuple[Any, ...]) -> str:
    """('identifier', 0, 'system') → 'Claim.identifier[0].system'."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("__root__",) and not str(part).startswith("function-"):
            path += f".{part}"
    return path


@lru_cache(maxsize=1)
def _bindings() -> dict[str, Any]:
    text = resources.files("fhirclaim.fhir").joinpath("data/required-bindings.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=256)
def _bindings_of(resource_type: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(element, value set, its codes) of the required bindings on this type's elements, listed once."""
    table = _bindings()
    return tuple((element, value_set, tuple(table["sets"][value_set]))
                 for element, value_set in table["elements"].items() if element.startswith(resource_type + "."))


def binding_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    issues = []
    for element, value_set, allowed in _bindings_of(resource_type):
        for value in evaluate(resource, element):
            if value not in allowed:
                issues.append(error("code-invalid",
                                    f"{element}: '{value}' is not a code of {value_set} ({', '.join(allowed)})",
                                    element))
    return issues
