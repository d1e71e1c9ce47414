"""The order of BPJS-K's answers (architecture §7), enforced on every write of a purification or verification
ClaimResponse, whoever writes it (a BPJS-K client, the simulator, an admin):

- a purification answers a Claim whose signed Bundle was published: BPJS-K purifies what it received;
- a verification follows the hospital's PurificationDecision on the Claim's latest purification ("Lanjut"), or,
  when the hospital has not decided, the end of the decision period (Settings.purification_decision_timeout_hours)
  after that purification; a decision "Batal" means the claim is not verified.

and their integrity (issue 14; each a 4xx OperationOutcome):

- one live purification and one live verification per version of the claim Bundle: a second answer of the same
  kind to the same version is a 409 — BPJS-K corrects an answer by updating it (a new version, notified);
- an answer's `patient` and `insurer` are the Claim's, and its claim-batch-number the Claim's when both carry one;
  an update never changes an answer's kind;
- a verification's benefit and payment never exceed the INA-CBG total of the published Bundle (base package plus
  top-ups; the copay is the rest);
- a purification the hospital has decided on is frozen (only a withdrawal, a status change to cancelled or
  entered-in-error, remains possible); after verification, the decision is frozen (`decision_rules`);
- an answer the other party acted on is never deleted (`AnswerDeletionGuard`): a decided purification, a
  verification (the hospital is paid, or answers it), a decision once the claim is verified. Withdrawal is a status
  change, which the Subscriptions notify like any update.

Their shape (status adjudication, totals, payment, copay amounts) is the validation stage's business: the
JknClaimResponse profile (profiles/ClaimResponse-jkn.profile.json) holds each subType to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fhirclaim.bpjs import codes, lookups
from fhirclaim.bpjs.submitted_claim import package_total
from fhirclaim.clock import Clock, as_utc, utc_now
from fhirclaim.fhir import dates
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError, error
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

WITHDRAWN = lookups.WITHDRAWN


class ClaimResponseOrder:
    """ResourceInterceptor: refuses a purification before the claim is published and a verification before the
    hospital's decision (or the decision period's end) — 409, with the reason and what would make it possible —,
    and any answer that breaks the integrity rules of the module docstring."""

    def __init__(self, *, decision_timeout: timedelta, clock: Clock = utc_now):
        self.decision_timeout = decision_timeout
        self.clock = clock

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        subtype = codes.bpjs_subtype(resource) if resource.get("resourceType") == "ClaimResponse" else None
        if subtype is None:
            return resource
        claim = answered_claim(resource, uow)
        hospital = lookups.hospital_view(uow, claim.tenant)
        check_parties(resource, claim.content)
        stored = hospital.find("ClaimResponse", resource["id"]) if resource.get("id") else None
        stored = stored if stored is not None and not stored.deleted else None
        if stored is not None:
            check_kind(resource, stored)
        if subtype == codes.PURIFIKASI:
            self._check_published(hospital, claim)
        else:
            self._check_decided(hospital, claim, resource.get("id"))
        check_integrity(resource, subtype, claim, stored, hospital, uow)
        return resource

    @staticmethod
    def _check_published(hospital: SqlResourceRepository, claim: StoredResource) -> None:
        if lookups.published_bundle(hospital, claim.id) is None:
            raise FhirError.of(409, "conflict", f"Claim/{claim.id} has no signed claim Bundle yet: BPJS-K purifies "
                                                "a claim once E-Klaim's Bundle is published (Bundle?claim=Claim/"
                                                f"{claim.id})", "ClaimResponse.request")

    def _check_decided(self, hospital: SqlResourceRepository, claim: StoredResource, own_id: str | None) -> None:
        purification = next((p for p in lookups.purifications(hospital, claim.id) if p.id != own_id), None)
        if purification is None:
            raise FhirError.of(409, "conflict", f"Claim/{claim.id} has no purification yet: BPJS-K verifies a claim "
                                                "after purifying it (ClaimResponse subType purifikasi)",
                               "ClaimResponse.request")
        decided = [codes.decision_of(d.content) for d in lookups.decisions(hospital, purification.id)]
        if codes.BATAL in decided:
            raise FhirError.of(409, "conflict", f"The hospital decided 'Batal' on ClaimResponse/{purification.id} "
                                                f"(the purification of Claim/{claim.id}): the claim is not verified",
                               "ClaimResponse.request")
        if decided:
            return
        opens = as_utc(purification.last_updated) + self.decision_timeout
        if as_utc(self.clock()) < opens:
            raise FhirError.of(409, "conflict", f"The hospital has not yet answered ClaimResponse/{purification.id} "
                                                f"(the purification of Claim/{claim.id}) with a PurificationDecision: "
                                                f"verification is possible after its decision, or from "
                                                f"{dates.instant(opens)} without one", "ClaimResponse.request")


def check_integrity(resource: dict[str, Any], subtype: str, claim: StoredResource, stored: StoredResource | None,
                    hospital: SqlResourceRepository, uow: UnitOfWork) -> None:
    """One live answer of a kind per published Bundle version — or the update of the stored one, frozen once the
    hospital decided on it —, and a benefit within the INA-CBG total; writers of one claim are serialised."""
    lookups.lock_for_answer(uow, "Claim", claim.id)
    bundle = lookups.published_bundle(hospital, claim.id)
    if stored is not None:
        check_update(resource, stored, hospital)
    else:
        check_single(resource, subtype, claim, bundle, hospital)
    if subtype == codes.VERIFIKASI and bundle is not None:
        check_benefit(resource, bundle)


def check_parties(resource: dict[str, Any], claim: dict[str, Any]) -> None:
    """`patient` and `insurer` are the Claim's; the claim-batch-number the Claim's when both carry one (422)."""
    issues = []
    for element in ("patient", "insurer"):
        given, wanted = _target(resource.get(element)), _target(claim.get(element))
        if wanted is not None and given != wanted:
            issues.append(error("business-rule", f"ClaimResponse.{element}: {_shown(given)} is not "
                                                 f"{'/'.join(wanted)}, the {element} of Claim/{claim.get('id')}",
                                f"ClaimResponse.{element}"))
    batches = {i.get("value") for i in codes.batch_identifiers(claim)}
    given_batches = {i.get("value") for i in codes.batch_identifiers(resource)}
    if batches and given_batches and given_batches != batches:
        issues.append(error("business-rule", f"ClaimResponse.identifier: claim-batch-number "
                                             f"{', '.join(sorted(map(str, given_batches)))} is not the Claim's "
                                             f"{', '.join(sorted(map(str, batches)))}", "ClaimResponse.identifier"))
    if issues:
        raise FhirError(422, issues)


def check_single(resource: dict[str, Any], subtype: str, claim: StoredResource, bundle: StoredResource | None,
                 hospital: SqlResourceRepository) -> None:
    """No second live answer of the same kind to the same published Bundle version (409)."""
    if bundle is None:
        return
    for other in lookups.answers(hospital, claim.id, subtype):
        if other.content.get("status") not in WITHDRAWN and other.last_updated >= bundle.last_updated:
            raise FhirError.of(409, "duplicate", f"Claim/{claim.id} (Bundle/{bundle.id} version {bundle.version_id}) "
                                                 f"already has a {subtype}: ClaimResponse/{other.id}; one live "
                                                 f"{subtype} per claim Bundle version — update that one instead "
                                                 "(a new version, notified)", "ClaimResponse")


def check_kind(resource: dict[str, Any], stored: StoredResource) -> None:
    """An update never changes the kind of an answer (422)."""
    subtype = codes.bpjs_subtype(stored.content)
    if codes.bpjs_subtype(resource) != subtype:
        raise FhirError.of(422, "business-rule", f"ClaimResponse/{stored.id} is a {subtype}: an update cannot "
                                                 "change the kind of an answer", "ClaimResponse.subType")


def check_update(resource: dict[str, Any], stored: StoredResource, hospital: SqlResourceRepository) -> None:
    """A purification the hospital decided on is frozen but for its withdrawal (409)."""
    subtype = codes.bpjs_subtype(stored.content)
    if subtype == codes.PURIFIKASI and lookups.decisions(hospital, stored.id) and not _withdrawal(resource, stored):
        raise FhirError.of(409, "conflict", f"The hospital has decided on ClaimResponse/{stored.id}: the purification "
                                            "is frozen; only its withdrawal (status entered-in-error or cancelled) "
                                            "remains possible", "ClaimResponse")


def check_benefit(resource: dict[str, Any], bundle: StoredResource) -> None:
    """The verified benefit and the payment never exceed the INA-CBG total of the published Bundle's Claim (422)."""
    claim = next((e["resource"] for e in bundle.content.get("entry") or []
                  if (e.get("resource") or {}).get("resourceType") == "Claim"), {})
    cap = package_total(claim)
    amounts = [("ClaimResponse.total", t.get("amount")) for t in resource.get("total") or []
               if any(c.get("code") == "benefit" for c in (t.get("category") or {}).get("coding") or [])]
    amounts.append(("ClaimResponse.payment.amount", (resource.get("payment") or {}).get("amount")))
    for where, money in amounts:
        value = (money or {}).get("value")
        if isinstance(value, (int, float)) and value > cap:
            raise FhirError.of(422, "business-rule", f"{where}: Rp {value:,} exceeds the INA-CBG total of the "
                                                     f"published claim, Rp {cap:,} (base package plus top-ups); "
                                                     "the rest is the patient's copay", where)


class AnswerDeletionGuard:
    """ResourceListener: refuses (409, the whole write rolled back) the deletion of an answer the other party acted
    on — a purification with a decision, a verification, a decision on a verified claim. Withdraw it with a status
    change instead (status entered-in-error or cancelled), which is notified."""

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        before = change.before
        if change.interaction != "delete" or before is None or before.deleted or before.content is None:
            return
        reason = _acted_on(before, lookups.hospital_view(uow, before.tenant))
        if reason:
            raise FhirError.of(409, "conflict", f"{before.reference} cannot be deleted: {reason}; withdraw it with "
                                                "a status change instead (entered-in-error or cancelled)")


def _acted_on(stored: StoredResource, hospital: SqlResourceRepository) -> str | None:
    subtype = codes.bpjs_subtype(stored.content) if stored.resource_type == "ClaimResponse" else None
    if subtype == codes.PURIFIKASI and lookups.decisions(hospital, stored.id):
        return "the hospital has decided on this purification"
    if subtype == codes.VERIFIKASI:
        return "the hospital acts on a verification (it is paid, or answers a pending one)"
    if stored.resource_type == "PurificationDecision" and verified_after_decision(stored.content, hospital):
        return "the claim was verified after this decision"
    return None


def verified_after_decision(decision: dict[str, Any], hospital: SqlResourceRepository) -> StoredResource | None:
    """The live verification of the purified claim written after its purification, if any (the decision is then
    frozen)."""
    target = parse_reference(((decision.get("claimResponse") or {}).get("reference")) or "")
    purification = hospital.find(*target) if target else None
    if purification is None or purification.deleted:
        return None
    claim = parse_reference((purification.content.get("request") or {}).get("reference") or "")
    if claim is None:
        return None
    return next((v for v in lookups.answers(hospital, claim[1], codes.VERIFIKASI)
                 if v.content.get("status") not in WITHDRAWN and v.last_updated >= purification.last_updated), None)


def _withdrawal(resource: dict[str, Any], stored: StoredResource) -> bool:
    """Only the status changes, to a withdrawn one."""
    same = {k: v for k, v in resource.items() if k not in ("meta", "status")} == \
        {k: v for k, v in stored.content.items() if k not in ("meta", "status")}
    return same and resource.get("status") in WITHDRAWN


def _target(value: Any) -> tuple[str, str] | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    return parse_reference(reference) if reference else None


def _shown(target: tuple[str, str] | None) -> str:
    return "/".join(target) if target else "missing"


def answered_claim(resource: dict[str, Any], uow: UnitOfWork) -> StoredResource:
    """The Claim a BPJS-K ClaimResponse answers (`request`), as the caller may see it; 422 when there is none."""
    reference = (resource.get("request") or {}).get("reference") or ""
    target = parse_reference(reference)
    if target is None or target[0] != "Claim":
        raise FhirError.of(422, "required", "A purification or verification must reference the Claim it answers "
                                            "(ClaimResponse.request: Claim/{id})", "ClaimResponse.request")
    claim = uow.resources.find(*target)
    if claim is None or claim.deleted:
        raise FhirError.of(422, "not-found", f"ClaimResponse.request: {reference} does not exist on this server",
                           "ClaimResponse.request")
    return claim
