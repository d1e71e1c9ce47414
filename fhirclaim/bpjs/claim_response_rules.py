"""The order of BPJS-K's answers (architecture §7), enforced on every write of a purification or verification
ClaimResponse, whoever writes it (a BPJS-K client, the simulator, an admin):

- a purification answers a Claim whose signed Bundle was published: BPJS-K purifies what it received;
- a verification follows the hospital's PurificationDecision on the Claim's latest purification ("Lanjut"), or,
  when the hospital has not decided, the end of the decision period (Settings.purification_decision_timeout_hours)
  after that purification; a decision "Batal" means the claim is not verified.

Their shape (status adjudication, totals, payment, copay amounts) is the validation stage's business: the
JknClaimResponse profile (profiles/ClaimResponse-jkn.profile.json) holds each subType to it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from fhirclaim.bpjs import codes, lookups
from fhirclaim.fhir import dates
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ClaimResponseOrder:
    """ResourceInterceptor: refuses a purification before the claim is published and a verification before the
    hospital's decision (or the decision period's end) — 409, with the reason and what would make it possible."""

    def __init__(self, *, decision_timeout: timedelta, clock: Clock = utc_now):
        self.decision_timeout = decision_timeout
        self.clock = clock

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        subtype = codes.bpjs_subtype(resource) if resource.get("resourceType") == "ClaimResponse" else None
        if subtype is None:
            return resource
        claim = answered_claim(resource, uow)
        hospital = lookups.hospital_view(uow, claim.tenant)
        if subtype == codes.PURIFIKASI:
            self._check_published(hospital, claim)
        else:
            self._check_decided(hospital, claim, resource.get("id"))
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
        opens = purification.last_updated.replace(tzinfo=timezone.utc) + self.decision_timeout
        if as_utc(self.clock()) < opens:
            raise FhirError.of(409, "conflict", f"The hospital has not yet answered ClaimResponse/{purification.id} "
                                                f"(the purification of Claim/{claim.id}) with a PurificationDecision: "
                                                f"verification is possible after its decision, or from "
                                                f"{dates.instant(opens)} without one", "ClaimResponse.request")


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


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (a naive one is taken as UTC, as the store keeps them)."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
