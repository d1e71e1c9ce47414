"""The BPJS-K simulator (sandbox, SPEC §7): BPJS-K's side of the Klaim BPJS flow, so the whole flow runs with no BPJS.

A listener on stored changes:
- a signed claim Bundle published by the pipeline → a purification ClaimResponse (rules in `purification`),
  comparing the claim with the participant's published claims in every hospital;
- a hospital's PurificationDecision 'Lanjut' on a passed purification → a verification ClaimResponse (amounts in
  `verification`).
`verify_overdue` verifies passed purifications the hospital left undecided past the decision period.

It writes inside the transaction of the change that triggered it, as author `system:bpjs-simulator` (whose own
writes it ignores), through a FHIR service with the server's listeners, so its answers are validated, placed in the
hospital's tenant, ordered by `ClaimResponseOrder` and notified by webhook like any BPJS-K client's. A failure in
the simulator is logged and rolled back to a savepoint: it never fails the pipeline's publication or the hospital's
decision.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fhirclaim.bpjs import codes, lookups
from fhirclaim.bpjs.claim_response_rules import Clock, as_utc, utc_now
from fhirclaim.bpjs.purification import purification_response, purify
from fhirclaim.bpjs.submission import is_claim_bundle, read_submission
from fhirclaim.bpjs.verification import verification_response, verified_amounts
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.fhir.service import FhirService, ResourceChange
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.unit_of_work import Store, UnitOfWork

log = logging.getLogger(__name__)

SIMULATOR_AUTHOR = "system:bpjs-simulator"
_IDS = uuid.UUID("0b9f3d52-7a61-4c7e-9a55-5f1f2c0de6b1")  # namespace of the ids of the simulator's answers

ServiceFactory = Callable[[UnitOfWork, str], FhirService]


class BpjsSimulator:
    """ResourceListener answering as BPJS-K would."""

    def __init__(self, service: ServiceFactory, *, publisher: str, timezone_name: str = "Asia/Jakarta",
                 decision_timeout: timedelta = timedelta(hours=72), clock: Clock = utc_now):
        self.service = service  # a FHIR service on a unit of work, writing as the given author
        self.publisher = publisher  # the author of published claim Bundles (the pipeline)
        self.timezone = timezone_name
        self.decision_timeout = decision_timeout
        self.clock = clock

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        stored = change.after
        if change.author == SIMULATOR_AUTHOR or stored.deleted:
            return
        if stored.resource_type == "Bundle" and change.author == self.publisher and is_claim_bundle(stored.content):
            self._guarded("purify", stored, lambda: self.purify(stored, uow), uow)
        elif stored.resource_type == "PurificationDecision" and codes.decision_of(stored.content) == codes.LANJUT:
            self._guarded("verify", stored, lambda: self.verify_decided(stored, uow), uow)

    # --- purification ------------------------------------------------------------------------------------------

    def purify(self, bundle: StoredResource, uow: UnitOfWork) -> StoredResource:
        """Purify the claim of a newly published Bundle version: one purification per version."""
        claim = read_submission(bundle.content, self.timezone)
        everyone = lookups.bpjs_view(uow)
        others = [read_submission(b.content, self.timezone)
                  for b in lookups.published_claims_of(everyone, card=claim.card, sep=claim.sep) if b.id != bundle.id]
        response = purification_response(claim, purify(claim, others), created=self._now())
        response["id"] = answer_id(codes.PURIFIKASI, f"{claim.claim_id}:{bundle.version_id}")
        return self._write(uow, response)

    # --- verification --------------------------------------------------------------------------------------------

    def verify_decided(self, decision: StoredResource, uow: UnitOfWork) -> StoredResource | None:
        """Verify after the hospital's 'Lanjut' on a passed purification (a failed one is not verified)."""
        hospital = lookups.hospital_view(uow, decision.tenant)
        target = parse_reference(decision.content["claimResponse"]["reference"])
        purification = hospital.find(*target) if target else None
        if purification is None or purification.deleted:
            return None
        return self.verify(purification, hospital, uow)

    def verify(self, purification: StoredResource, hospital: SqlResourceRepository,
               uow: UnitOfWork) -> StoredResource | None:
        if not codes.purification_passed(purification.content):
            log.info("bpjs simulator: purification not passed, no verification",
                     extra={"claim_response": purification.id})
            return None
        purified = parse_reference(purification.content["request"]["reference"])
        bundle = lookups.published_bundle(hospital, purified[1]) if purified else None
        if bundle is None:
            return None
        claim = read_submission(bundle.content, self.timezone)
        now = self._now()
        response = verification_response(claim, verified_amounts(claim), created=now, payment_date=now.date())
        response["id"] = answer_id(codes.VERIFIKASI, purification.id)
        return self._write(uow, response)

    def verify_overdue(self, store: Store) -> int:
        """Verify every passed purification left undecided past the decision period and not verified yet (run it
        now and then, e.g. from a worker loop); returns how many it verified."""
        count = 0
        for tenant, purification_id in self._undecided(store):
            with store.unit_of_work(Scope(tenant=tenant, all_tenants=False)) as uow:
                hospital = lookups.hospital_view(uow, tenant)
                purification = hospital.find("ClaimResponse", purification_id)
                if purification is not None and not purification.deleted:
                    verify = partial(self.verify, purification, hospital, uow)
                    count += self._guarded("verify", purification, verify, uow) is not None
        return count

    def _undecided(self, store: Store) -> list[tuple[str | None, str]]:
        deadline = (as_utc(self.clock()) - self.decision_timeout).replace(tzinfo=None)
        with store.unit_of_work(SYSTEM, write=False) as uow:
            request = parse_search("ClaimResponse", [("_lastUpdated", f"le{deadline.isoformat()}Z")])
            due = []
            for stored in uow.resources.search_all(request):
                if codes.bpjs_subtype(stored.content) != codes.PURIFIKASI:
                    continue
                hospital = lookups.hospital_view(uow, stored.tenant)
                verification = hospital.find("ClaimResponse", answer_id(codes.VERIFIKASI, stored.id))
                if verification is None and not lookups.decisions(hospital, stored.id) \
                        and codes.purification_passed(stored.content):
                    due.append((stored.tenant, stored.id))
        return due

    # --- helpers -------------------------------------------------------------------------------------------------

    def _write(self, uow: UnitOfWork, response: dict[str, Any]) -> StoredResource:
        stored, _ = self.service(uow, SIMULATOR_AUTHOR).update("ClaimResponse", response["id"], response)
        log.info("bpjs simulator answered", extra={"claim_response": stored.id, "claim": response["request"]})
        return stored

    def _guarded(self, action: str, trigger: StoredResource, call: Callable[[], Any], uow: UnitOfWork) -> Any:
        """Run `call` in a savepoint: what it wrote is rolled back, and the triggering write goes on, if it fails."""
        try:
            with uow.savepoint():
                return call()
        except Exception:  # the simulator must never fail the real flow that triggered it
            log.exception("bpjs simulator could not %s", action, extra={"trigger": trigger.reference})
            return None

    def _now(self) -> datetime:
        return as_utc(self.clock()).astimezone(ZoneInfo(self.timezone))


def answer_id(subtype: str, key: str) -> str:
    """The simulator's ClaimResponse ids: derived, so a repeated trigger updates the same answer (a no-op)."""
    return str(uuid.uuid5(_IDS, f"{subtype}:{key}"))

