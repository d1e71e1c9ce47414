"""The BPJS-K side of the Klaim BPJS flow (architecture §7): purification and verification ClaimResponses, the
hospital's PurificationDecision, the BPJS-K simulator of the sandbox, and the claim unit's worklist line, which
reads both parties' answers.

    claim_response_rules  ClaimResponseOrder          purification after publication, verification after decision,
                          AnswerDeletionGuard         one live answer per Bundle version, parties, benefit cap, frozen
    decision_rules        PurificationDecisionRules   a decision answers its own hospital's purification, once
    purification          purify, purification_response          pure rules and the purification ClaimResponse
    verification          verified_amounts, verification_response  amounts and the verification ClaimResponse;
                          pending_findings, pending_response       a claim returned as pending, and why
    confirmation          answer_pending, PendingAnswerRules       the hospital's answer to a pending verification
    submitted_claim       read_submission             what BPJS-K reads from a signed claim Bundle
    lookups               published_bundle, purifications, decisions, published_claims_of, shown_to_bpjs
    simulator             BpjsSimulator, SimulatorWorker  answers what no BPJS-K client answered in time (sandbox)
    insurer               seed_insurer                the BPJS Kesehatan Organization, stored once and shared
    worklist_projection   WorklistListener, worklist_entry  the claim unit's worklist line of each Claim, kept in the
                          writing transaction (it reads the pipeline's results and BPJS-K's answers, so it sits here,
                          above claims)

`hooks` declares this side's interceptors and listener and `simulator_for` the simulator the settings ask for; the
composition root (runtime.py) lists them in their place. The PurificationDecision's shape is validated with the
other stored types (`fhirclaim.fhir.nonfhir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fhirclaim.bpjs.claim_response_rules import AnswerDeletionGuard, ClaimResponseOrder
from fhirclaim.bpjs.codes import bpjs_subtype, decision_of, purification_passed
from fhirclaim.bpjs.confirmation import PendingAnswerRules, answer_pending
from fhirclaim.bpjs.decision_rules import PurificationDecisionRules
from fhirclaim.bpjs.insurer import seed_insurer
from fhirclaim.bpjs.simulator import SIMULATOR_AUTHOR, BpjsSimulator, ServiceFactory, SimulatorWorker
from fhirclaim.clock import Clock, utc_now
from fhirclaim.config import Settings

__all__ = [
    "SIMULATOR_AUTHOR", "AnswerDeletionGuard", "BpjsHooks", "BpjsSimulator", "ClaimResponseOrder",
    "PendingAnswerRules", "PurificationDecisionRules", "SimulatorWorker", "answer_pending", "bpjs_subtype",
    "decision_of", "hooks", "purification_passed", "seed_insurer", "simulator_for",
]


@dataclass(frozen=True)
class BpjsHooks:
    """The BPJS-K side's rules on every write, each placed by the composition root."""

    answer_order: ClaimResponseOrder  # interceptor: BPJS-K's answers in their order, with their integrity
    decision_rules: PurificationDecisionRules  # interceptor: a decision answers its own hospital's purification
    pending_answer_rules: PendingAnswerRules  # interceptor: a Claim version answering a pending verification
    deletion_guard: AnswerDeletionGuard  # listener: an answer the other party acted on is never deleted


def hooks(settings: Settings, clock: Clock = utc_now) -> BpjsHooks:
    """The BPJS-K rules; `clock` (an aware-datetime callable) judges the decision period."""
    timeout = timedelta(hours=settings.purification_decision_timeout_hours)
    return BpjsHooks(ClaimResponseOrder(decision_timeout=timeout, clock=clock), PurificationDecisionRules(),
                     PendingAnswerRules(), AnswerDeletionGuard())


def simulator_for(settings: Settings, service: ServiceFactory, clock: Clock = utc_now) -> BpjsSimulator | None:
    """The BPJS-K simulator when the settings ask for it (`bpjs_simulator`, or `sandbox`), else None. It writes
    through `service` (a client's FHIR service, so its answers meet the rules and are notified like any BPJS-K
    client's) after the grace period `bpjs_simulator_delay_seconds`; `clock` is the one the rules judge by."""
    if not (settings.bpjs_simulator or settings.sandbox):
        return None
    return BpjsSimulator(service, timezone_name=settings.timezone,
                         decision_timeout=timedelta(hours=settings.purification_decision_timeout_hours),
                         delay=timedelta(seconds=settings.bpjs_simulator_delay_seconds), clock=clock)
