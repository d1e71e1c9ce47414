"""What each role may do (architecture §8), as two things the FHIR service applies to every interaction:

- a `Scope`: which rows the caller sees and where its writes land — a hospital (facility, eklaim) its own tenant,
  BPJS-K only what hospitals disclosed in published claim Bundles (and what answers them), admin everything;
- an authorizer: may this role do this interaction on this type (and, for ClaimResponses, this kind), and may it
  change or delete the resource that is stored now (its owner: shared rows belong to admin, what the server or
  BPJS-K created belongs to them, whatever a hospital later does around it)?

Another tenant's resource is simply not in the caller's scope, so it reads as 404, never 403. Every write path of
the FHIR service (create, update, conditional update, patch, delete, and each of them inside a transaction) passes
the same authorizer with the stored resource it would change.
"""

from __future__ import annotations

import re
from typing import Any

from fhirclaim.auth.principal import ADMIN, BPJS, HOSPITAL_ROLES, Principal
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.scope import ADMIN_TENANT, BPJS_TENANT, PARTITION_HEADER, Scope, hospital_scope, tenant_scope
from fhirclaim.webhooks.egress import PRIVILEGED_HEADERS

_TENANT_NAME = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # an organization id (a FHIR id); "@..." tenants are not named
READS = frozenset({"read", "vread", "search", "history", "validate"})
WRITES = frozenset({"create", "update", "patch", "delete"})

SUBTYPE_SYSTEMS = ("http://terminology.kemkes.go.id", "https://fhirclaim.org/fhir/CodeSystem/claimresponse-subtype")
BPJS_SUBTYPES = frozenset({"purifikasi", "verifikasi"})
SERVER_SUBTYPES = frozenset({"grouping"})
SERVER_OWNED_TYPES = frozenset({"AuditEvent"})  # written by the server only
ADMIN_WRITABLE = frozenset({"Subscription", "Organization"})  # webhooks, and shared organizations (the insurer)


def scope_for(principal: Principal, named_tenant: str | None = None) -> Scope:
    """`named_tenant` (the `X-Fhirclaim-Tenant` header): the hospital whose ids a caller that sees several (BPJS-K,
    admin) means. A hospital always addresses its own partition; a name it gives is ignored."""
    if principal.role in HOSPITAL_ROLES:
        return hospital_scope(principal.org)
    scope = tenant_scope(BPJS_TENANT) if principal.role == BPJS else Scope(tenant=None, all_tenants=True)
    if named_tenant is None:
        return scope
    if not _TENANT_NAME.fullmatch(named_tenant):
        raise FhirError.of(400, "invalid", f"{PARTITION_HEADER} must be a hospital's organization id")
    return scope.within(named_tenant)


def claim_response_subtype(resource: dict[str, Any] | None) -> str | None:
    for coding in ((resource or {}).get("subType") or {}).get("coding") or []:
        if coding.get("system") in SUBTYPE_SYSTEMS:
            return coding.get("code")
    return None


class Authorizer:
    """Raises FhirError 403 when `principal` may not do `interaction` on `resource_type`, or on `current` (the
    stored resource an update, patch or delete would change). `resources` (the caller's repository) tells who
    created `current`: its version 1's author."""

    def __init__(self, principal: Principal, resources=None):
        self.principal = principal
        self.resources = resources

    def __call__(self, interaction: str, resource_type: str, resource: dict[str, Any] | None = None,
                 current: StoredResource | None = None) -> None:
        reason = self.denial(interaction, resource_type, resource) or self.ownership_denial(interaction, current)
        if reason:
            raise FhirError.of(403, "forbidden", f"{self.principal.role} clients {reason}")
        if resource_type == "Subscription" and resource is not None and self.principal.role != ADMIN:
            _check_subscription_headers(resource)

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

    def ownership_denial(self, interaction: str, current: StoredResource | None) -> str | None:
        """Who may change what is stored: admin what is shared (no tenant); otherwise only what the caller's own
        side created (a hospital what hospitals created, BPJS-K what BPJS-K created), never the server's."""
        if current is None or self.principal.role == ADMIN:
            return None
        what = f"{current.resource_type}/{current.id}"
        if current.tenant is None:
            return f"cannot {interaction} {what}: shared resources are written only by admin"
        creator = self._creator(current)
        side = creator.partition(":")[0] if creator else ""
        if side == "system":
            return f"cannot {interaction} {what}: the server wrote it"
        if self.principal.role == BPJS and side != BPJS:
            return f"cannot {interaction} {what}: BPJS-K changes only its own answers"
        if self.principal.role in HOSPITAL_ROLES and side == BPJS:
            return f"cannot {interaction} {what}: BPJS-K wrote it"
        return None

    def _creator(self, current: StoredResource) -> str | None:
        if self.resources is None:
            return current.author
        try:  # the current row does not carry its author: version 1's does
            return self.resources.vread(current.resource_type, current.id, 1).author
        except FhirError:  # version 1 is not visible to the caller: judge by the current version
            return current.author


def _check_subscription_headers(resource: dict[str, Any]) -> None:
    for index, line in enumerate((resource.get("channel") or {}).get("header") or []):
        name = line.partition(":")[0].strip().lower() if isinstance(line, str) else ""
        if name in PRIVILEGED_HEADERS:
            raise FhirError.of(403, "forbidden", f"channel.header may not set {name.title()}: only an admin's "
                                                 f"Subscription may carry credentials or a Host",
                               f"Subscription.channel.header[{index}]")


def write_tenant_for(principal: Principal):
    """Where a new resource of this caller lands when not in its scope's tenant: BPJS-K's answers in the hospital's
    tenant, admin's Subscriptions under the admin-only tenant (what else admin writes is shared). None: the scope's."""
    if principal.role == BPJS:
        return answered_claim_tenant
    if principal.role == ADMIN:
        return admin_write_tenant
    return None


def admin_write_tenant(resource: dict[str, Any], uow) -> str | None:
    """Admin's Subscriptions are admin's alone (a hospital must not read their headers); the rest is shared."""
    return ADMIN_TENANT if resource.get("resourceType") == "Subscription" else None


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
