"""What a PurificationDecision may answer (architecture §7), enforced on every create and update:

- a status this server understands: TK000049 'Lanjut' (SATUSEHAT's), or batal (this server's: SATUSEHAT's code is
  unknown);
- a purification ClaimResponse (subType purifikasi) of a claim of the writer's own hospital — another hospital's
  ClaimResponse is not found, exactly as reading it would be;
- provider and insurer, when given, are the claim's hospital and the purification's insurer;
- one live decision per purification: a second one is a 409 (update the first instead);
- once the claim is verified after that purification, the decision is frozen: no change, no new one (409);
- Batal is final (the hospital withdrew the claim): it cannot become Lanjut again (409).

The shape is checked before, by the validation stage (`fhirclaim.fhir.nonfhir`).
"""

from __future__ import annotations

from typing import Any

from fhirclaim.bpjs import claim_response_rules, codes, lookups
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError, error
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

WHERE = "PurificationDecision.claimResponse"


class PurificationDecisionRules:
    """ResourceInterceptor for PurificationDecision writes."""

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        if resource.get("resourceType") != "PurificationDecision":
            return resource
        _check_status(resource)
        purification = _purification(resource, uow)
        hospital = lookups.hospital_view(uow, purification.tenant)
        claim = _claim_of_writer(purification, hospital, uow)
        _check_parties(resource, purification, claim)
        lookups.lock_for_answer(uow, "ClaimResponse", purification.id)
        _check_single(resource, purification, hospital)
        _check_not_verified(resource, hospital)
        _check_not_withdrawn(resource, uow)
        return resource


def _check_not_withdrawn(resource: dict[str, Any], uow: UnitOfWork) -> None:
    """Batal withdraws the claim: it is final (a new Claim version is the way back), so a decision cannot be
    flipped Batal → Lanjut → Batal. Lanjut may still become Batal until BPJS-K verifies."""
    stored = uow.resources.find("PurificationDecision", resource["id"]) if resource.get("id") else None
    if stored is None or stored.deleted or codes.decision_of(stored.content) != codes.BATAL:
        return
    if codes.decision_of(resource) != codes.BATAL:
        raise FhirError.of(409, "conflict", f"PurificationDecision/{stored.id} is Batal: the hospital withdrew the "
                                            "claim, and that decision is final; send a new version of the Claim "
                                            "instead", "PurificationDecision.status")


def _check_not_verified(resource: dict[str, Any], hospital: SqlResourceRepository) -> None:
    verification = claim_response_rules.verified_after_decision(resource, hospital)
    if verification is not None:
        raise FhirError.of(409, "conflict", f"ClaimResponse/{verification.id} verified the claim after this "
                                            "purification: the decision is frozen", WHERE)


def _check_status(resource: dict[str, Any]) -> None:
    if codes.decision_of(resource) is None:
        raise FhirError.of(422, "code-invalid", "PurificationDecision.status: not a decision this server knows; "
                                                f"use TK000049 'Lanjut' of {codes.KEMKES}, or batal of "
                                                f"{codes.DECISION_STATUS}", "PurificationDecision.status")


def _purification(resource: dict[str, Any], uow: UnitOfWork) -> StoredResource:
    reference = resource["claimResponse"]["reference"]
    target = parse_reference(reference)
    found = uow.resources.find(*target) if target else None  # the writer's scope: another tenant's is not found
    if found is None or found.deleted:
        raise FhirError.of(422, "not-found", f"{WHERE}: {reference} does not exist on this server", WHERE)
    subtype = codes.bpjs_subtype(found.content)
    if subtype != codes.PURIFIKASI:
        kind = f"a {subtype}" if subtype else "not a BPJS-K purification"
        raise FhirError.of(422, "business-rule", f"{WHERE}: {reference} is {kind}; a PurificationDecision answers "
                                                 "a purification (ClaimResponse subType purifikasi)", WHERE)
    return found


def _claim_of_writer(purification: StoredResource, hospital: SqlResourceRepository, uow: UnitOfWork) -> StoredResource:
    """The purified Claim, which must be the writer's hospital's: where the decision will be stored."""
    reference = (purification.content.get("request") or {}).get("reference") or ""
    target = parse_reference(reference)
    claim = hospital.find(*target) if target and target[0] == "Claim" else None
    if claim is None or claim.deleted or claim.tenant != uow.scope.tenant:
        raise FhirError.of(422, "not-found", f"{WHERE}: ClaimResponse/{purification.id} is not the purification of "
                                             "a claim of this hospital", WHERE)
    return claim


def _check_parties(resource: dict[str, Any], purification: StoredResource, claim: StoredResource) -> None:
    issues = []
    for element, expected in (("provider", claim.content.get("provider")),
                              ("insurer", purification.content.get("insurer"))):
        given, wanted = _target(resource.get(element)), _target(expected)
        if given is not None and wanted is not None and given != wanted:
            issues.append(error("business-rule", f"PurificationDecision.{element}: {'/'.join(given)} is not "
                                                 f"{'/'.join(wanted)}, the {element} of the purified claim",
                                f"PurificationDecision.{element}"))
    if issues:
        raise FhirError(422, issues)


def _check_single(resource: dict[str, Any], purification: StoredResource, hospital: SqlResourceRepository) -> None:
    others = [d.id for d in lookups.decisions(hospital, purification.id) if d.id != resource.get("id")]
    if others:
        raise FhirError.of(409, "duplicate", f"ClaimResponse/{purification.id} already has a decision "
                                             f"(PurificationDecision/{others[0]}): one decision per purification; "
                                             f"update that one instead", WHERE)


def _target(value: Any) -> tuple[str, str] | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    return parse_reference(reference) if reference else None
