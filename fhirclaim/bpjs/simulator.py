"""The BPJS-K simulator (sandbox, architecture §7): the BPJS-K that answers what no real BPJS-K client answered within a
grace period, so the whole flow runs with no BPJS — and a BPJS-K client (a Postman collection, an integration test)
can still give its own answers without racing it.

A poller (`run_due`), run by `SimulatorWorker` under `fhirclaim serve --sandbox`, or called directly (tests, the
demo, with delay 0):
- a signed claim Bundle version published by the pipeline (disclosed to BPJS-K) and not purified since by anyone,
  `delay` after its publication → a purification ClaimResponse (rules in `purification`), comparing the claim
  with the participant's published claims in every hospital;
- a hospital's PurificationDecision 'Lanjut' on a passed purification whose claim nobody verified since, `delay`
  after the decision → a verification ClaimResponse: 'Layak' with the amounts, or pending with its reasons
  (`verification`, rules table `data/verification_rules.json`); the hospital answers a pending one with a new
  version of the Claim (`confirmation`), whose new Bundle version is purified and verified in turn;
- a passed purification the hospital left undecided past the decision period (and `delay`) → a verification
  (`verify_overdue`).

Each answer is written in its own transaction in the hospital's tenant, as author `system:bpjs-simulator`, through a
FHIR service with the server's interceptors and listeners, so it is validated, ordered by `ClaimResponseOrder` and
notified by webhook like any BPJS-K client's. Whether it is still due is checked again inside that transaction,
after a row lock on what it answers (several simulators on one PostgreSQL answer once), and the answer ids are
derived from what they answer, so a repeated pass writes nothing new. A failure is logged and contained: it never
stops the other answers, and the same answer is tried at most `MAX_ATTEMPTS` times per process.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhirclaim.bpjs import codes, lookups
from fhirclaim.bpjs.purification import purification_response, purify
from fhirclaim.bpjs.submitted_claim import SubmittedClaim, is_claim_bundle, read_submission
from fhirclaim.bpjs.verification import pending_findings, pending_response, verification_response, verified_amounts
from fhirclaim.clock import Clock, as_utc, utc_now
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.interactions.service import FhirService
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.scope import SYSTEM, Scope
from fhirclaim.store.unit_of_work import Store, UnitOfWork

log = logging.getLogger(__name__)

SIMULATOR_AUTHOR = "system:bpjs-simulator"
_IDS = uuid.UUID("0b9f3d52-7a61-4c7e-9a55-5f1f2c0de6b1")  # namespace of the ids of the simulator's answers
# Each pass looks back this far before the previous pass's deadline: a write committed late (a long transaction
# on PostgreSQL) is still seen, and the next passes need not read every Bundle the server ever published.
RESCAN = timedelta(minutes=5)
MAX_ATTEMPTS = 3

ServiceFactory = Callable[[UnitOfWork, str], FhirService]
Answer = Callable[[UnitOfWork], "StoredResource | None"]


class BpjsSimulator:
    """Answers as BPJS-K would, when no BPJS-K client did within `delay`."""

    def __init__(self, service: ServiceFactory, *, timezone_name: str = "Asia/Jakarta",
                 decision_timeout: timedelta = timedelta(hours=72), delay: timedelta = timedelta(seconds=10),
                 clock: Clock = utc_now):
        self.service = service  # a FHIR service on a unit of work, writing as the given author
        self.timezone = timezone_name
        self.decision_timeout = decision_timeout
        self.delay = delay
        self.clock = clock
        self._scanned: dict[str, datetime] = {}  # per pass: the deadline the previous pass looked up to
        self._attempts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def run_due(self, store: Store) -> int:
        """One pass over everything due: purifications, then verifications; returns how many answers it wrote."""
        with self._lock:
            return self._purify_due(store) + self._verify_decided_due(store) + self._verify_overdue(store)

    # --- purification ------------------------------------------------------------------------------------------

    def _purify_due(self, store: Store) -> int:
        """Purify every published claim Bundle version nobody purified within the delay."""
        bundles = self._candidates(store, "purify", "Bundle", self.delay)
        return sum(self._answer(store, "purify", bundle, lambda uow, b=bundle: self._purify_if_unanswered(b, uow))
                   for bundle in bundles if is_claim_bundle(bundle.content))

    def _purify_if_unanswered(self, bundle: StoredResource, uow: UnitOfWork) -> StoredResource | None:
        hospital = lookups.hospital_view(uow, bundle.tenant)
        lookups.lock_for_answer(uow, "Bundle", bundle.id)
        current = hospital.find("Bundle", bundle.id)
        if current is None or current.deleted or current.version_id != bundle.version_id:
            return None  # withdrawn, or superseded: a newer version is a candidate of its own
        if not lookups.shown_to_bpjs(uow, current):
            return None  # a copy a client stored is no publication: only the server's own Bundles are disclosed
        claim = read_submission(bundle.content, self.timezone)
        if any(p.last_updated >= bundle.last_updated for p in lookups.purifications(hospital, claim.claim_id)):
            return None  # purified since this version was published (by a BPJS-K client, or by an earlier pass)
        return self._purify(bundle, claim, uow)

    def _purify(self, bundle: StoredResource, claim: SubmittedClaim, uow: UnitOfWork) -> StoredResource:
        """The purification of a published Bundle version (its id derived from the version: one per version)."""
        response = purification_response(claim, purify(claim, self._participant_claims(uow, claim, bundle)),
                                         created=self._now())
        response["id"] = answer_id(codes.PURIFIKASI, f"{claim.claim_id}:{bundle.version_id}")
        return self._write(uow, response)

    def _participant_claims(self, uow: UnitOfWork, claim: SubmittedClaim,
                            bundle: StoredResource) -> list[SubmittedClaim]:
        """The participant's other published claims in every hospital (by card number, or the same SEP)."""
        everyone = lookups.bpjs_view(uow)
        return [read_submission(b.content, self.timezone)
                for b in lookups.published_claims_of(everyone, card=claim.card, sep=claim.sep)
                if (b.tenant, b.id) != (bundle.tenant, bundle.id)]

    # --- verification --------------------------------------------------------------------------------------------

    def _verify_decided_due(self, store: Store) -> int:
        """Verify after every hospital's 'Lanjut' that no BPJS-K client answered with a verification in the delay."""
        decisions = self._candidates(store, "verify", "PurificationDecision", self.delay)
        return sum(self._answer(store, "verify", decision, lambda uow, d=decision: self._verify_decided(d, uow))
                   for decision in decisions if codes.decision_of(decision.content) == codes.LANJUT)

    def verify_overdue(self, store: Store) -> int:
        """Verify every passed purification left undecided past the decision period (and the delay) and not verified
        since; returns how many it verified. `run_due` includes it."""
        with self._lock:
            return self._verify_overdue(store)

    def _verify_overdue(self, store: Store) -> int:
        purifications = self._candidates(store, "overdue", "ClaimResponse", self.decision_timeout + self.delay)
        return sum(self._answer(store, "verify", p, lambda uow, p=p: self._verify_undecided(p, uow))
                   for p in purifications if codes.bpjs_subtype(p.content) == codes.PURIFIKASI)

    def _verify_decided(self, decision: StoredResource, uow: UnitOfWork) -> StoredResource | None:
        hospital = lookups.hospital_view(uow, decision.tenant)
        current = hospital.find("PurificationDecision", decision.id)
        if current is None or current.deleted or codes.decision_of(current.content) != codes.LANJUT:
            return None  # withdrawn or changed to 'Batal' since
        target = parse_reference(current.content["claimResponse"]["reference"])
        purification = hospital.find(*target) if target else None
        if purification is None or purification.deleted:
            return None
        return self._verify_unless_verified(purification, hospital, uow)

    def _verify_undecided(self, purification: StoredResource, uow: UnitOfWork) -> StoredResource | None:
        hospital = lookups.hospital_view(uow, purification.tenant)
        if lookups.decisions(hospital, purification.id):
            return None  # decided: the decision's own delay applies
        return self._verify_unless_verified(purification, hospital, uow)

    def _verify_unless_verified(self, purification: StoredResource, hospital: SqlResourceRepository,
                                uow: UnitOfWork) -> StoredResource | None:
        lookups.lock_for_answer(uow, "ClaimResponse", purification.id)
        purified = parse_reference((purification.content.get("request") or {}).get("reference") or "")
        if purified is None or any(v.last_updated >= purification.last_updated
                                   for v in _verifications(hospital, purified[1])):
            return None  # verified since the purification (by a BPJS-K client, or by an earlier pass)
        return self.verify(purification, hospital, uow)

    def verify(self, purification: StoredResource, hospital: SqlResourceRepository,
               uow: UnitOfWork) -> StoredResource | None:
        """Verify a purified claim now: None when the purification did not pass (BPJS-K verifies only what did)."""
        if not codes.purification_passed(purification.content):
            # debug: every pass within RESCAN looks at the decision again and comes to the same end
            log.debug("bpjs simulator: purification not passed, no verification",
                      extra={"claim_response": purification.id})
            return None
        purified = parse_reference(purification.content["request"]["reference"])
        bundle = lookups.published_bundle(hospital, purified[1]) if purified else None
        if bundle is None:
            return None
        claim = read_submission(bundle.content, self.timezone)
        now = self._now()
        findings = pending_findings(claim, self._participant_claims(uow, claim, bundle))
        if findings:
            response = pending_response(claim, findings, created=now)
        else:
            response = verification_response(claim, verified_amounts(claim), created=now, payment_date=now.date())
        response["id"] = answer_id(codes.VERIFIKASI, purification.id)
        return self._write(uow, response)

    # --- helpers -------------------------------------------------------------------------------------------------

    def _candidates(self, store: Store, name: str, resource_type: str, age: timedelta) -> list[StoredResource]:
        """Every tenant's resources of a type last written at least `age` ago and after the previous pass's look
        (less RESCAN); the pass's deadline is remembered for the next one. A clock set back looks at everything."""
        deadline = (as_utc(self.clock()) - age).replace(tzinfo=None)
        criteria = [("_lastUpdated", f"le{deadline.isoformat()}Z")]
        previous = self._scanned.get(name)
        if previous is not None and previous <= deadline:
            criteria.append(("_lastUpdated", f"gt{(previous - RESCAN).isoformat()}Z"))
        with store.unit_of_work(SYSTEM, write=False) as uow:
            found = uow.resources.search_all(parse_search(resource_type, criteria))
        self._scanned[name] = deadline
        return found

    def _answer(self, store: Store, action: str, trigger: StoredResource, answer: Answer) -> int:
        """Write one answer in its own transaction in the trigger's tenant: 1 if written, 0 if not due or failed."""
        key = (action, trigger.reference, trigger.version_id)
        if self._attempts[key] >= MAX_ATTEMPTS:
            return 0
        try:
            with store.unit_of_work(Scope(tenant=trigger.tenant, all_tenants=False)) as uow:
                return int(answer(uow) is not None)
        except Exception:  # the simulator must never stop the other answers, nor the server
            self._attempts[key] += 1
            log.exception("bpjs simulator could not %s", action,
                          extra={"trigger": trigger.reference, "attempt": self._attempts[key]})
            return 0

    def _write(self, uow: UnitOfWork, response: dict[str, Any]) -> StoredResource:
        stored, _ = self.service(uow, SIMULATOR_AUTHOR).update("ClaimResponse", response["id"], response)
        log.info("bpjs simulator answered", extra={"claim_response": stored.id, "claim": response["request"]})
        return stored

    def _now(self) -> datetime:
        return as_utc(self.clock()).astimezone(ZoneInfo(self.timezone))


class SimulatorWorker:
    """The thread of `fhirclaim serve --sandbox` (and `fhirclaim worker`) that runs the simulator's passes."""

    def __init__(self, simulator: BpjsSimulator, store: Store, *, poll_seconds: float | None = None):
        self.simulator = simulator
        self.store = store
        # A fraction of the delay, so an answer comes soon after it is due, and never busier than 5 passes a second.
        self.poll_seconds = poll_seconds or min(max(simulator.delay.total_seconds() / 5, 0.2), 2.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="bpjs-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.simulator.run_due(self.store)
            except Exception:  # e.g. the database briefly away: the next pass tries again
                log.exception("bpjs simulator: pass failed")


def _verifications(resources: SqlResourceRepository, claim_id: str) -> list[StoredResource]:
    """The live verification ClaimResponses of a Claim, whoever wrote them."""
    request = parse_search("ClaimResponse", [("request", f"Claim/{claim_id}")], timezone=resources.timezone)
    return [r for r in resources.search_all(request, limit=500) if codes.bpjs_subtype(r.content) == codes.VERIFIKASI]


def answer_id(subtype: str, key: str) -> str:
    """The simulator's ClaimResponse ids: derived, so a repeated answer updates the same resource."""
    return str(uuid.uuid5(_IDS, f"{subtype}:{key}"))
