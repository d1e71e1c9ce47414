"""The BPJS-K side of the Klaim BPJS flow (SPEC §7): purification and verification ClaimResponses, the hospital's
PurificationDecision, and the BPJS-K simulator of the sandbox.

    claim_response_rules  ClaimResponseOrder          purification after publication, verification after decision
    decision_rules        PurificationDecisionRules   a decision answers its own hospital's purification, once
    purification          purify, purification_response          pure rules and the purification ClaimResponse
    verification          verified_amounts, verification_response  amounts and the verification ClaimResponse
    submission            read_submission             what BPJS-K reads from a signed claim Bundle
    lookups               published_bundle, purifications, decisions, published_claims_of
    simulator             BpjsSimulator               answers as BPJS-K would (sandbox)

The PurificationDecision's shape is validated with the other stored types (`fhirclaim.fhir.nonfhir`).
"""

from __future__ import annotations

from datetime import timedelta

from fhirclaim.bpjs.claim_response_rules import ClaimResponseOrder, Clock, utc_now
from fhirclaim.bpjs.codes import bpjs_subtype, decision_of, purification_passed
from fhirclaim.bpjs.decision_rules import PurificationDecisionRules
from fhirclaim.bpjs.simulator import SIMULATOR_AUTHOR, BpjsSimulator
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR

__all__ = [
    "SIMULATOR_AUTHOR", "BpjsSimulator", "ClaimResponseOrder", "PurificationDecisionRules", "bpjs_subtype",
    "decision_of", "install", "purification_passed",
]


def install(runtime, *, simulator: bool | None = None, clock: Clock = utc_now) -> BpjsSimulator | None:
    """Put the BPJS-K rules on a Runtime's interceptors and, when the simulator is on, the simulator on its
    listeners (each exactly once, replacing earlier ones); returns the simulator, or None when it is off.

    `simulator` None follows the settings (`bpjs_simulator`, or `sandbox`). `clock` (tests): an aware-datetime
    callable shared by the decision period's check and the simulator."""
    settings = runtime.settings
    timeout = timedelta(hours=settings.purification_decision_timeout_hours)
    runtime.interceptors[:] = [i for i in runtime.interceptors
                               if not isinstance(i, (ClaimResponseOrder, PurificationDecisionRules))]
    runtime.interceptors += [ClaimResponseOrder(decision_timeout=timeout, clock=clock), PurificationDecisionRules()]
    runtime.listeners[:] = [listener for listener in runtime.listeners if not isinstance(listener, BpjsSimulator)]
    if not (settings.bpjs_simulator or settings.sandbox if simulator is None else simulator):
        return None
    listener = BpjsSimulator(lambda uow, author: runtime.fhir_service(uow, author=author), publisher=PIPELINE_AUTHOR,
                             timezone_name=settings.timezone, decision_timeout=timeout, clock=clock)
    runtime.listeners.append(listener)
    return listener
