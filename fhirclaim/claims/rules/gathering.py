"""Gathering a claim for `$precheck`: from the store (a Claim alone, references resolved on the server) or from a
Bundle that carries the Claim with its resources (the Bundle's own entries first, the store for the rest)."""

from __future__ import annotations

from typing import Any

from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.claims.claim_context import ClaimContext, reference_of
from fhirclaim.claims.rules.record import refers_to
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.validation import model_issues, raise_for_errors
from fhirclaim.store.repository import SqlResourceRepository

Resource = dict[str, Any]


class BundleAssembler(ClaimAssembler):
    """A `ClaimAssembler` that finds references in a Bundle's entries (by fullUrl or Type/id) before the store."""

    def __init__(self, resources: SqlResourceRepository, timezone: str, bundle: Resource):
        super().__init__(resources, timezone)
        self.entries: list[Resource] = []
        self.by_reference: dict[str, Resource] = {}
        for entry in bundle.get("entry") or []:
            resource = (entry or {}).get("resource")
            if not isinstance(resource, dict) or not resource.get("resourceType"):
                continue
            self.entries.append(resource)
            if entry.get("fullUrl"):
                self.by_reference[entry["fullUrl"]] = resource
            if resource.get("id"):
                self.by_reference[f"{resource['resourceType']}/{resource['id']}"] = resource

    def get(self, reference: str | None) -> Resource | None:
        if reference and reference in self.by_reference:
            return self.by_reference[reference]
        tail = "/".join(reference.rstrip("/").split("/")[-2:]) if reference else None
        if tail and tail in self.by_reference:
            return self.by_reference[tail]
        return super().get(reference) if reference and not reference.startswith("urn:") else None

    def search(self, resource_type: str, parameters: list[tuple[str, str]]) -> list[Resource]:
        """The Bundle's entries of `resource_type` that name every parameter's reference (an `encounter`,
        `context` ...), then the store's."""
        own = [r for r in self.entries if r["resourceType"] == resource_type
               and all(refers_to(r, value) for _, value in parameters)]
        found = {f"{r['resourceType']}/{r.get('id')}": r for r in own}
        for resource in super().search(resource_type, parameters):
            found.setdefault(f"{resource_type}/{resource.get('id')}", resource)
        return list(found.values())

    def charge_items(self, ctx: ClaimContext) -> list[Resource]:
        found = {f"ChargeItem/{item.get('id')}": item for item in super().charge_items(ctx)}
        account = f"Account/{(ctx.account or {}).get('id')}"
        encounter = f"Encounter/{(ctx.encounter or {}).get('id')}"
        for resource in self.entries:
            if resource["resourceType"] != "ChargeItem":
                continue
            links = [reference_of(a) for a in resource.get("account") or []] + [reference_of(resource.get("context"))]
            if any(link and (link.endswith(account) or link.endswith(encounter)) for link in links):
                found.setdefault(f"ChargeItem/{resource.get('id')}", resource)
        return list(found.values())


def claim_in(body: Resource) -> Resource:
    """The Claim of a `$precheck` body: the Claim itself, or the first Claim entry of a Bundle."""
    if body.get("resourceType") == "Claim":
        return body
    if body.get("resourceType") == "Bundle":
        for entry in body.get("entry") or []:
            resource = (entry or {}).get("resource") or {}
            if resource.get("resourceType") == "Claim":
                return resource
        raise FhirError.of(400, "required", "The Bundle holds no Claim to precheck", "Bundle.entry")
    raise FhirError.of(400, "invalid", "Claim/$precheck takes a Claim, or a Bundle holding one", "resourceType")


def well_formed(body: Resource) -> None:
    """FHIR R4 structure of the Claim and every Bundle entry (422 otherwise): the rules read the shapes FHIR allows;
    profiles are not applied, since finding what a claim lacks is the precheck's own job."""
    resources = [body] if body.get("resourceType") != "Bundle" else \
        [(e or {}).get("resource") for e in body.get("entry") or [] if isinstance(e, dict)]
    issues = []
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirError.of(400, "structure", "Every Bundle entry needs a resource", "Bundle.entry")
        try:
            issues += model_issues(resource["resourceType"], resource)
        except (KeyError, LookupError, AttributeError):
            raise FhirError.of(400, "not-supported", f"{resource['resourceType']} is not an R4 resource type",
                               "resourceType") from None
    raise_for_errors(issues)


def assembler_for(body: Resource, resources: SqlResourceRepository, timezone: str) -> ClaimAssembler:
    if body.get("resourceType") == "Bundle":
        return BundleAssembler(resources, timezone, body)
    return ClaimAssembler(resources, timezone)
