"""The BPJS-K side of the Klaim BPJS flow (architecture §7): purification and verification ClaimResponses, the
hospital's PurificationDecision, and the BPJS-K simulator of the sandbox.

    claim_response_rules  ClaimResponseOrder          purification after publication, verification after decision,
                          AnswerDeletionGuard         one live answer per Bundle version, parties, benefit cap, frozen
    decision_rules        PurificationDecisionRules   a decision answers its own hospital's purification, once
    purification          purify, purification_response          pure rules and the purification ClaimResponse
    verification          verified_amounts, verification_response  amounts and the verification ClaimResponse;
                          pending_findings, pending_response       a claim returned as pending, and why
    confirmation          answer_pending, PendingAnswerRules       the hospital's answer to a pending verification
    submission            read_submission             what BPJS-K reads from a signed claim Bundle
    lookups               published_bundle, purifications, decisions, published_claims_of
    simulator             BpjsSimulator, SimulatorWorker  answers what no BPJS-K client answered in time (sandbox)

The PurificationDecision's shape is validated with the other stored types (`fhirclaim.fhir.nonfhir`).
"""

from __future__ import annotations

from datetime import timedelta

from fhirclaim.bpjs.claim_response_rules import AnswerDeletionGuard, ClaimResponseOrder, Clock, utc_now
from fhirclaim.bpjs.codes import bpjs_subtype, decision_of, purification_passed
from fhirclaim.bpjs.confirmation import PendingAnswerRules, answer_pending
from fhirclaim.bpjs.decision_rules import PurificationDecisionRules
from fhirclaim.bpjs.simulator import SIMULATOR_AUTHOR, BpjsSimulator, SimulatorWorker
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR

__all__ = [
    "SIMULATOR_AUTHOR", "AnswerDeletionGuard", "BpjsSimulator", "ClaimResponseOrder", "PendingAnswerRules",
    "PurificationDecisionRules", "SimulatorWorker", "answer_pending", "bpjs_subtype", "decision_of", "install",
    "purification_passed",
]


def install(runtime, *, simulator: bool | None = None, clock: Clock = utc_now,
            delay: timedelta | None = None) -> BpjsSimulator | None:
    """Put the BPJS-K rules on a Runtime's interceptors (exactly once, replacing earlier ones) and, when the simulator
    is on, make it the Runtime's `bpjs_simulator` (its `start_workers` then runs it); returns the simulator, or None
    when it is off.

    `simulator` None follows the settings (`bpjs_simulator`, or `sandbox`); `delay` None, the settings'
    `bpjs_simulator_delay_seconds` (the grace period BPJS-K clients have before the simulator answers). `clock`
    (tests): an aware-datetime callable shared by the decision period's check and the simulator."""
    settings = runtime.settings
    timeout = timedelta(hours=settings.purification_decision_timeout_hours)
    ours = (ClaimResponseOrder, PurificationDecisionRules, PendingAnswerRules)
    runtime.interceptors[:] = [i for i in runtime.interceptors if not isinstance(i, ours)]
    runtime.interceptors += [ClaimResponseOrder(decision_timeout=timeout, clock=clock), PurificationDecisionRules(),
                             PendingAnswerRules()]
    runtime.listeners[:] = [listener for listener in runtime.listeners if not isinstance(listener, AnswerDeletionGuard)]
    runtime.listeners.insert(0, AnswerDeletionGuard())
    runtime.bpjs_simulator = None
    if not (settings.bpjs_simulator or settings.sandbox if simulator is None else simulator):
        return None
    grace = timedelta(seconds=settings.bpjs_simulator_delay_seconds) if delay is None else delay
    runtime.bpjs_simulator = BpjsSimulator(
        lambda uow, author: runtime.fhir_service(uow, author=author), publisher=PIPELINE_AUTHOR,
        timezone_name=settings.timezone, decision_timeout=timeout, delay=grace, clock=clock)
    return runtime.bpjs_simulator
