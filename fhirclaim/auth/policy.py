"""What each role may do (architecture §8), as two things the FHIR service applies to every interaction:

- a `Scope`: which rows the caller sees and where its writes land — a hospital (facility, eklaim) its own tenant,
  BPJS-K only what hospitals disclosed in published claim Bundles (and what answers them), admin everything;
- an authorizer: may this role do this interaction on this type (and, for ClaimResponses, this kind)?

Another tenant's resource is simply not in the caller's scope, so it reads as 404, never 403.
"""

from __future__ import annotations

from typing import Any

from fhirclaim.auth.principal import ADMIN, BPJS, HOSPITAL_ROLES, Principal
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import BPJS_TENANT, Scope, tenant_scope

READS = frozenset({"read", "vread", "search", "history", "validate"})
WRITES = frozenset({"create", "update", "patch", "delete"})

SUBTYPE_SYSTEMS = ("http://terminology.kemkes.go.id", "https://fhirclaim.org/fhir/CodeSystem/claimresponse-subtype")
BPJS_SUBTYPES = frozenset({"purifikasi", "verifikasi"})
SERVER_SUBTYPES = frozenset({"grouping"})
SERVER_OWNED_TYPES = frozenset({"AuditEvent"})  # written by the server only
ADMIN_WRITABLE = frozenset({"Subscription", "Organization"})  # webhooks, and shared organizations (the insurer)


def scope_for(principal: Principal) -> Scope:
    if principal.role in HOSPITAL_ROLES:
        return Scope(tenant=principal.org, all_tenants=False)
    if principal.role == BPJS:
        return tenant_scope(BPJS_TENANT)
    return Scope(tenant=None, all_tenants=True)  # admin


def claim_response_subtype(resource: dict[str, Any] | None) -> str | None:
    for coding in ((resource or {}).get("subType") or {}).get("coding") or []:
        if coding.get("system") in SUBTYPE_SYSTEMS:
            return coding.get("code")
    return None


class Authorizer:
    """Raises FhirError 403 when `principal` may not do `interaction` on `resource_type`."""

    def __init__(self, principal: Principal):
        self.principal = principal

    def __call__(self, interaction: str, resource_type: str, resource: dict[str, Any] | None = None) -> None:
        reason = self.denial(interaction, resource_type, resource)
        if reason:
            raise FhirError.of(403, "forbidden", f"{self.principal.role} clients {reason}")

    def denial(self, interaction: str, resource_type: str, resource: dict[str, Any] | None) -> str | None:
        role = self.principal.role
        if interaction in READS:
            return None  # what is readable is decided by the scope
        if resource_type in SERVER_OWNED_TYPES:
            return f"cannot {interaction} {resource_type}: the server writes it"
        subtype = claim_response_subtype(resource) if resource_type == "ClaimResponse" else None
        if resource is None and resource_type == "ClaimResponse" and role in (BPJS, *HOSPITAL_ROLES):
            return None  # a type-level check (patch, delete): the content is judged when it is written
        if role in HOSPITAL_ROLES:
            if subtype in BPJS_SUBTYPES or subtype in SERVER_SUBTYPES:
                return f"cannot write a ClaimResponse of subType {subtype}: BPJS-K or the pipeline writes those"
            return None
        if role == BPJS:
            if resource_type == "ClaimResponse" and subtype in BPJS_SUBTYPES and interaction in ("create", "update"):
                return None
            if resource_type == "Subscription":  # its webhooks (claimBundle ...), matched in its own view
                return None
            return "write only ClaimResponses of subType purifikasi or verifikasi, and their Subscriptions"
        if role == ADMIN and resource_type in ADMIN_WRITABLE:
            return None
        return f"cannot {interaction} {resource_type}"


def answered_claim_tenant(resource: dict[str, Any], uow) -> str | None:
    """Where a BPJS-K write lands: a ClaimResponse in the tenant of the Claim it answers (which must be
    disclosed); anything else (its Subscriptions) under BPJS-K's own tenant."""
    if resource.get("resourceType") != "ClaimResponse":
        return BPJS_TENANT
    reference = (resource.get("request") or {}).get("reference") or ""
    target = parse_reference(reference)
    if target is None or target[0] != "Claim":
        raise FhirError.of(422, "required", "ClaimResponse.request must reference the Claim it answers",
                           "ClaimResponse.request")
    claim = uow.resources.find(*target)  # BPJS-K's scope holds only claims published to it
    if claim is None or claim.deleted:
        raise FhirError.of(422, "not-found", f"{reference} was not submitted to BPJS-K", "ClaimResponse.request")
    return claim.tenant
