"""What a claim page shows, read through the FHIR service of the signed-in user (the facility client's scope and
authorizer), and the actions it offers, written through the same service and domain functions as the FHIR API:

- the special-CMG choice: the Claim updated with its `special-cmg` supportingInfo (the pipeline regroups, stage 2);
- the purification answer: a `PurificationDecision` Lanjut or Batal (bpjs/decision_rules.py judges it);
- the answer to a verification BPJS-K returned as pending: `bpjs.confirmation.answer_pending` (confirmed, or
  corrected and resubmitted), as `PUT Claim` with the pending-answer extension does over FHIR;
- resubmit: what `Claim/$submit` of the unchanged Claim does (`claim_operations.resubmit`): a claim that ended in
  error runs again when what it rests on changed since its last run; else nothing runs, and the page says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fhirclaim.bpjs import codes
from fhirclaim.bpjs import worklist_projection as worklist
from fhirclaim.bpjs.confirmation import PendingAnswer, answer_pending, pending_answer
from fhirclaim.claims import claim_operations
from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.claims.claim_context import rests_on
from fhirclaim.claims.claim_operations import latest_job
from fhirclaim.claims.pipeline import derived_id, read_claim
from fhirclaim.claims.server_fields import client_content
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.store import jobs
from fhirclaim.store.jobs import Job
from fhirclaim.webapp import notifications

SPECIAL_CMG_CATEGORY = "https://fhirclaim.org/fhir/CodeSystem/claim-information-category"
SPECIAL_CMG_OPTION_EXT = "https://fhirclaim.org/fhir/StructureDefinition/special-cmg-option"
DECISION_CODINGS = {
    codes.LANJUT: {"system": codes.KEMKES, "code": "TK000049", "display": "Lanjut"},
    codes.BATAL: {"system": codes.DECISION_STATUS, "code": "batal", "display": "Batal"},
}


@dataclass
class ClaimPage:
    claim: dict[str, Any]
    line: dict[str, Any]  # the worklist line: status, stage, attention, next action
    file: worklist.ClaimFile
    diagnoses: list[dict[str, str]] = field(default_factory=list)
    procedures: list[dict[str, str]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)
    special_cmg_options: list[dict[str, str]] = field(default_factory=list)
    special_cmg_chosen: list[str] = field(default_factory=list)
    decision_due: bool = False
    pending: dict[str, Any] | None = None  # a verification BPJS-K returned as pending, standing now
    pending_reasons: list[dict[str, str]] = field(default_factory=list)
    pending_answer: PendingAnswer | None = None  # the Claim's answer to `pending`, once given
    documents: list[dict[str, str]] = field(default_factory=list)  # the patient's documents, to attach to an answer
    last_job: Job | None = None
    unchanged_since_last_run: bool = False  # a failed claim: nothing it rests on changed since its last run
    timeline: list[dict[str, Any]] = field(default_factory=list)
    signature: str | None = None

    @property
    def tariff(self) -> Decimal | None:
        return self.line.get("tariff")

    @property
    def tarif_rs(self) -> Decimal | None:
        return self.line.get("tarif_rs")

    @property
    def difference(self) -> Decimal | None:
        return None if self.tariff is None or self.tarif_rs is None else self.tariff - self.tarif_rs


def claim_page(service: FhirService, claim_id: str, *, precheck: Callable[[dict[str, Any]], dict[str, Any]],
               verify: Callable[[dict[str, Any]], Any], timezone: str) -> ClaimPage:
    """The page of a Claim the caller may read (another hospital's reads as 404, as in the FHIR API)."""
    claim = service.read("Claim", claim_id).content
    file = worklist.read_claim_file(service.resources, claim)
    stored = service.resources.find("Claim", claim_id)
    page = ClaimPage(claim, worklist.worklist_entry(file, stored.tenant, stored.last_updated), file)
    page.diagnoses = [_coded(d.get("diagnosisCodeableConcept"), d.get("type")) for d in claim.get("diagnosis") or []]
    page.procedures = [_coded(p.get("procedureCodeableConcept")) for p in claim.get("procedure") or []]
    page.findings = _findings(precheck, claim)
    page.packages = _packages(file.grouping)
    page.special_cmg_options = _options(file.grouping)
    page.special_cmg_chosen = chosen_special_cmg(claim)
    page.decision_due = file.open_purification is not None and not file.decisions
    _pending(service, page)
    page.last_job = claim_operations.latest_job(service.uow, claim_id)
    page.unchanged_since_last_run = _unchanged_since_last_run(service, claim, page.last_job, timezone)
    bundle = service.resources.find("Bundle", derived_id("bundle", claim_id))
    if bundle is not None and not bundle.deleted:
        result = verify(bundle.content)
        page.signature = "valid" if result.valid else result.reason
    page.timeline = _timeline(service, claim_id, bundle, page.signature, timezone)
    return page


def _pending(service: FhirService, page: ClaimPage) -> None:
    """BPJS-K's pending verification: its reasons, the Claim's answer to it, the documents an answer may attach."""
    page.pending = page.file.pending
    if page.pending is None:
        return
    page.pending_reasons = [{"code": next((c.get("code") for c in (e.get("code") or {}).get("coding") or []
                                           if c.get("system") == codes.VERIFICATION_PENDING), ""),
                             "text": (e.get("code") or {}).get("text") or ""}
                            for e in page.pending.get("error") or []]
    page.pending_answer = pending_answer(page.claim) if page.file.pending_answered else None
    linked = {(i.get("valueReference") or {}).get("reference") for i in page.claim.get("supportingInfo") or []}
    patient = (page.claim.get("patient") or {}).get("reference")
    if patient:
        _, found = service.search("DocumentReference", [("subject", patient), ("_count", "50")])
        page.documents = [_document(d.content) for d in found.matches
                          if f"DocumentReference/{d.id}" not in linked]


def _document(document: dict[str, Any]) -> dict[str, str]:
    kind = next(iter((document.get("type") or {}).get("coding") or []), {})
    encounters = [r.get("reference", "") for r in (document.get("context") or {}).get("encounter") or []]
    return {"reference": f"DocumentReference/{document['id']}", "id": document["id"],
            "type": kind.get("display") or kind.get("code") or (document.get("type") or {}).get("text") or "",
            "date": str(document.get("date") or "")[:10], "encounter": ", ".join(encounters)}


def _coded(concept: dict[str, Any] | None, types: list[dict[str, Any]] | None = None) -> dict[str, str]:
    coding = next(iter((concept or {}).get("coding") or []), {})
    kind = next((c.get("code") for t in types or [] for c in t.get("coding") or []), "")
    return {"code": coding.get("code", ""), "display": coding.get("display") or (concept or {}).get("text", ""),
            "type": kind}


def _findings(precheck: Callable[[dict[str, Any]], dict[str, Any]], claim: dict[str, Any]) -> list[dict[str, Any]]:
    """The precheck's findings now (what to fix, and where: the FHIRPath of each)."""
    try:
        outcome = precheck(claim)
    except FhirError as error:
        return [{"severity": "error", "text": "; ".join(i.text for i in error.issues), "where": []}]
    return [{"severity": i.get("severity"), "text": (i.get("details") or {}).get("text") or i.get("diagnostics"),
             "where": i.get("expression") or [], "rule": next((c.get("code") for c in (i.get("details") or {})
                                                                .get("coding") or []), None)}
            for i in outcome.get("issue") or [] if i.get("severity") in ("fatal", "error", "warning")]


def _packages(grouping: dict[str, Any] | None) -> list[dict[str, Any]]:
    lines = []
    for item in (grouping or {}).get("addItem") or []:
        coding = next(iter((item.get("productOrService") or {}).get("coding") or []), {})
        lines.append({"code": coding.get("code"), "display": coding.get("display"),
                      "value": (item.get("net") or {}).get("value")})
    return lines


def _options(grouping: dict[str, Any] | None) -> list[dict[str, str]]:
    return [{"code": e["valueCoding"].get("code"), "display": e["valueCoding"].get("display", "")}
            for e in (grouping or {}).get("extension") or []
            if e.get("url") == SPECIAL_CMG_OPTION_EXT and isinstance(e.get("valueCoding"), dict)]


def chosen_special_cmg(claim: dict[str, Any]) -> list[str]:
    for info in claim.get("supportingInfo") or []:
        if _is_special_cmg(info):
            return [c for c in str(info.get("valueString") or "").split("#") if c]
    return []


def _is_special_cmg(info: dict[str, Any]) -> bool:
    return any(c.get("system") == SPECIAL_CMG_CATEGORY and c.get("code") == "special-cmg"
               for c in (info.get("category") or {}).get("coding") or [])


# --- the timeline -----------------------------------------------------------------------------------------


def _timeline(service: FhirService, claim_id: str, bundle, signature: str | None,
              timezone: str) -> list[dict[str, Any]]:
    """Every version of the Claim, of each answer about it (grouping, BPJS-K's purifications and verifications,
    the hospital's decisions) and of its signed Bundle, and the webhook notifications of them, in time order; then
    the steps of the latest pipeline job."""
    events, about = [], [("Claim", claim_id)]
    for version in service.history("Claim", claim_id, count=100).versions:
        events.append(_event(version, f"Claim v{version.version_id} ({version.method})", timezone))
    for response in _answers(service, claim_id):
        about.append((response["resourceType"], response["id"]))
        label = worklist.subtype(response) or response["resourceType"]
        for version in service.history(response["resourceType"], response["id"], count=20).versions:
            content = version.content or {}
            what = content.get("disposition") or codes.decision_of(content) or ""
            events.append(_event(version, f"{response['resourceType']} {label} v{version.version_id}: {what}",
                                 timezone))
    if bundle is not None:
        about.append(("Bundle", bundle.id))
        for version in service.history("Bundle", bundle.id, count=100).versions:
            events.append(_event(version, f"Bundle v{version.version_id} signed ({signature or '-'})", timezone))
    events += [_webhook_event(n, timezone) for n in _notifications(service, about)]
    events.sort(key=lambda e: e["sort"])
    return events + _job_steps(service, claim_id)


def _answers(service: FhirService, claim_id: str) -> list[dict[str, Any]]:
    """The ClaimResponses about the Claim and the PurificationDecisions on each purification, as stored."""
    found = []
    for reference in service.resources.referrers("Claim", claim_id):
        response = worklist.read_reference(service.resources, reference) \
            if reference.startswith("ClaimResponse/") else None
        if response is None:
            continue
        found.append(response)
        if worklist.subtype(response) == codes.PURIFIKASI:
            found += worklist.decisions_on(service.resources, response["id"])
    return found


def _notifications(service: FhirService, about: list[tuple[str, str]]) -> list[notifications.Notification]:
    def endpoint_of(subscription_id: str) -> str | None:
        stored = service.resources.find("Subscription", subscription_id)
        return None if stored is None or stored.deleted else (stored.content.get("channel") or {}).get("endpoint")

    return notifications.claim_notifications(service.uow, service.uow.scope.tenant, about, endpoint_of)


def _webhook_event(notification: notifications.Notification, timezone: str) -> dict[str, Any]:
    when = notification.created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))
    code = f", HTTP {notification.last_status_code}" if notification.last_status_code else ""
    return {"sort": notification.created_at, "when": when.strftime("%Y-%m-%d %H:%M:%S"), "kind": "webhook",
            "what": f"webhook → {notification.host or '?'}: {notification.resource} ({notification.method}) "
                    f"{notification.status}, {notification.attempts}× {code}".rstrip(),
            "who": f"Subscription/{notification.subscription}"}


def _event(stored, what: str, timezone: str) -> dict[str, Any]:
    when = stored.last_updated.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))
    return {"sort": stored.last_updated, "when": when.strftime("%Y-%m-%d %H:%M:%S"), "what": what,
            "who": stored.author or ""}


def _job_steps(service: FhirService, claim_id: str) -> list[dict[str, Any]]:
    """The steps of the claim's latest pipeline job (precheck, E-Klaim calls, signing) and what each answered."""
    queue = service.uow.jobs
    job = latest_job(service.uow, claim_id)
    if job is None:
        return []
    steps = queue.steps(job.id)
    lines = [{"sort": None, "when": "", "what": f"job {job.id}: {job.status}"
              + (f" — {job.last_error}" if job.last_error else ""), "who": "pipeline"}]
    for step, detail in steps.items():
        text = json.dumps(detail, ensure_ascii=False)[:160] if detail is not None else ""
        lines.append({"sort": None, "when": "", "what": f"step {step} {text}", "who": "pipeline"})
    return lines


# --- the actions ------------------------------------------------------------------------------------------


def choose_special_cmg(service: FhirService, claim_id: str, chosen: list[str]) -> dict[str, Any]:
    """The Claim updated with the hospital's special-CMG choice (E-Klaim's `RR04Hip#YY01`): the pipeline regroups."""
    stored = service.read("Claim", claim_id)
    offered = {o["code"] for o in _options(worklist.read_claim_file(service.resources, stored.content).grouping)}
    unknown = [code for code in chosen if code not in offered]
    if not chosen or unknown:
        raise FhirError.of(422, "value", "Choose one or more of the special CMGs E-Klaim offered"
                           + (f"; not offered: {', '.join(unknown)}" if unknown else ""))
    claim = client_content(stored.content)
    infos = [i for i in claim.get("supportingInfo") or [] if not _is_special_cmg(i)]
    sequence = max([i.get("sequence", 0) for i in infos] or [0]) + 1
    infos.append({"sequence": sequence, "category": {"coding": [{"system": SPECIAL_CMG_CATEGORY,
                                                                 "code": "special-cmg"}]},
                  "valueString": "#".join(chosen)})
    updated, _ = service.update("Claim", claim_id, {**claim, "supportingInfo": infos},
                                if_match=stored.version_id)
    return updated.content


def answer_purification(service: FhirService, claim_id: str, decision: str, org: str, now: datetime) -> dict:
    """A PurificationDecision (Lanjut or Batal) on the claim's purification ClaimResponse."""
    if decision not in DECISION_CODINGS:
        raise FhirError.of(400, "value", "decision must be lanjut or batal")
    claim = service.read("Claim", claim_id).content
    purification = worklist.read_claim_file(service.resources, claim).open_purification
    if purification is None:
        raise FhirError.of(409, "business-rule", "BPJS-K has not purified this claim (version) yet")
    body = {
        "resourceType": "PurificationDecision",
        "identifier": [{"system": f"http://sys-ids.kemkes.go.id/purificationdecision/{org}",
                        "value": f"PD-{claim_id}-{now.strftime('%Y%m%d%H%M%S')}"}],
        "created": now.replace(microsecond=0).isoformat(),
        "status": {"coding": [DECISION_CODINGS[decision]]},
        "insurer": purification["insurer"],
        "provider": {"reference": f"Organization/{org}"},
        "claimResponse": {"reference": f"ClaimResponse/{purification['id']}"},
    }
    stored, _ = service.create(body, expected_type="PurificationDecision")
    return stored.content


def answer_pending_verification(service: FhirService, claim_id: str, answer: str, text: str,
                                documents: list[str]) -> dict[str, Any]:
    """The hospital's answer to the pending verification standing on the Claim (`bpjs.confirmation`)."""
    claim = service.read("Claim", claim_id).content
    pending = worklist.read_claim_file(service.resources, claim).pending
    if pending is None:
        raise FhirError.of(409, "business-rule", "BPJS-K has returned no verification of this claim as pending")
    if not text.strip():
        raise FhirError.of(422, "required", "Write a note for BPJS-K: what was corrected, or why the claim stands")
    return answer_pending(service, pending["id"], answer=answer, text=text.strip()[:2000],
                          documents=tuple(documents)).content


def resubmit(service: FhirService, claim_id: str, timezone: str) -> str:
    """What `Claim/$submit` of the stored, unchanged Claim does (`claim_operations.resubmit`): a claim that ended in
    error runs again when what it rests on changed since its last run. Returns the outcome: `rerun`, `unchanged`,
    `not-failed` or `no-job` (claims.trigger)."""
    service.read("Claim", claim_id)  # 404 unless the caller's hospital may read it
    return claim_operations.resubmit(service.uow, claim_id, timezone).outcome


def _unchanged_since_last_run(service: FhirService, claim: dict[str, Any], job: Job | None, timezone: str) -> bool:
    """Whether a failed claim rests on exactly the versions its last run read (then a resubmit runs nothing)."""
    if job is None or job.status != jobs.FAILED or job.inputs is None:
        return False
    return rests_on(read_claim(ClaimAssembler(service.resources, timezone), claim)) == job.inputs
