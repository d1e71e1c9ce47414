"""The store queries of the BPJS-K side: a claim's published Bundle, its purifications, a purification's decisions,
a participant's other published claims. Plain functions of a repository, so the caller chooses whose view (scope)
they run in: the caller's own, a hospital's (`hospital_view`), or BPJS-K's, which is every hospital's."""

from __future__ import annotations

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.submitted_claim import is_claim_bundle
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.scope import BPJS_TENANT, SYSTEM, Scope, tenant_scope
from fhirclaim.store.unit_of_work import UnitOfWork

WITHDRAWN = ("cancelled", "entered-in-error")


def hospital_view(uow: UnitOfWork, tenant: str | None) -> SqlResourceRepository:
    """One hospital's data (and the shared rows) on the caller's transaction, whoever the caller is: the order of
    BPJS-K's answers is a property of the hospital's claim, not of what the caller may read."""
    return uow.resources.viewing(Scope(tenant=tenant, all_tenants=False))


def bpjs_view(uow: UnitOfWork) -> SqlResourceRepository:
    """Every hospital's data on the caller's transaction: BPJS-K compares a claim with the participant's claims in
    all hospitals (the simulator reads only signed claim Bundles through it)."""
    return uow.resources.viewing(SYSTEM)


def published_bundle(resources: SqlResourceRepository, claim_id: str) -> StoredResource | None:
    """The signed claim Bundle published for a Claim (the newest, should there be more than one)."""
    found = [b for b in _search(resources, "Bundle", ("claim", f"Claim/{claim_id}")) if is_claim_bundle(b.content)]
    return max(found, key=lambda b: b.last_updated, default=None)


def purifications(resources: SqlResourceRepository, claim_id: str) -> list[StoredResource]:
    """The live purification ClaimResponses of a Claim, newest first."""
    return answers(resources, claim_id, codes.PURIFIKASI)


def answers(resources: SqlResourceRepository, claim_id: str, subtype: str) -> list[StoredResource]:
    """The live BPJS-K answers of a kind (purifikasi, verifikasi) to a Claim, newest first."""
    found = [r for r in _search(resources, "ClaimResponse", ("request", f"Claim/{claim_id}"))
             if codes.bpjs_subtype(r.content) == subtype]
    return sorted(found, key=lambda r: r.last_updated, reverse=True)


def decisions(resources: SqlResourceRepository, claim_response_id: str) -> list[StoredResource]:
    """The live PurificationDecisions answering a purification ClaimResponse."""
    return _search(resources, "PurificationDecision", ("claimResponse", f"ClaimResponse/{claim_response_id}"))


def published_claims_of(resources: SqlResourceRepository, *, card: str | None,
                        sep: str | None) -> list[StoredResource]:
    """Signed claim Bundles of a BPJS participant (by card number) or with a SEP number, each once, leaving out
    those whose Claim was withdrawn since (cancelled, entered-in-error, deleted)."""
    found: dict[tuple[str | None, str], StoredResource] = {}  # ids are unique per tenant
    criteria = [("subscriber-id", card)] if card else []
    criteria += [("identifier", sep)] if sep else []
    for criterion in criteria:
        for bundle in _search(resources, "Bundle", criterion):
            if is_claim_bundle(bundle.content) and _claim_live(resources, bundle):
                found.setdefault((bundle.tenant, bundle.id), bundle)
    return list(found.values())


def shown_to_bpjs(uow: UnitOfWork, current: StoredResource) -> bool:
    """Whether BPJS-K was shown this current version of a hospital's resource (auth/disclosure.py decides what is
    disclosed: a Bundle version only when the server itself published it)."""
    bpjs = uow.resources.viewing(tenant_scope(BPJS_TENANT).within(current.tenant))
    shown = bpjs.find(current.resource_type, current.id)  # the newest version BPJS-K was shown
    return shown is not None and shown.version_id == current.version_id


def lock_for_answer(uow: UnitOfWork, resource_type: str, resource_id: str) -> None:
    """Serialise writers answering the same resource (two decisions on one purification) until commit: a row lock
    on PostgreSQL; SQLite's write transactions are serial already (BEGIN IMMEDIATE)."""
    uow.resources.lock(resource_type, resource_id)


def _claim_live(resources: SqlResourceRepository, bundle: StoredResource) -> bool:
    claim_entry = next(e["resource"] for e in bundle.content["entry"] if e["resource"]["resourceType"] == "Claim")
    own = resources.viewing(resources.scope.within(bundle.tenant))  # the Claim of the Bundle's hospital
    current = own.find("Claim", claim_entry["id"])
    return current is not None and not current.deleted and current.content.get("status") not in WITHDRAWN


def _search(resources: SqlResourceRepository, resource_type: str, criterion: tuple[str, str],
            limit: int = 500) -> list[StoredResource]:
    request = parse_search(resource_type, [criterion], timezone=resources.timezone)
    return resources.search_all(request, limit=limit)
