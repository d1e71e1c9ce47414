"""What a claim page shows, read through the FHIR service of the signed-in user (the facility client's scope and
authorizer), and the two actions it offers, written through the same service as the FHIR API:

- the special-CMG choice: the Claim updated with its `special-cmg` supportingInfo (the pipeline regroups, stage 2);
- the purification answer: a `PurificationDecision` Lanjut or Batal (bpjs/decision_rules.py judges it).
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
from fhirclaim.claims.pipeline import derived_id
from fhirclaim.claims.server_fields import client_content
from fhirclaim.claims.submission import latest_job
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.service import FhirService
from fhirclaim.store.jobs import JobQueue
from fhirclaim.webapp import worklist

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
    page.decision_due = file.purification is not None and not file.decisions
    bundle = service.resources.find("Bundle", derived_id("bundle", claim_id))
    if bundle is not None and not bundle.deleted:
        result = verify(bundle.content)
        page.signature = "valid" if result.valid else result.reason
    page.timeline = _timeline(service, claim_id, file, bundle, page.signature, timezone)
    return page


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


def _timeline(service: FhirService, claim_id: str, file: worklist.ClaimFile, bundle, signature: str | None,
              timezone: str) -> list[dict[str, Any]]:
    events = []
    for version in service.history("Claim", claim_id, count=100).versions:
        events.append(_event(version, f"Claim v{version.version_id} ({version.method})", timezone))
    for response in (file.grouping, file.purification, file.verification, *file.decisions):
        if response:
            what = response.get("disposition") or codes.decision_of(response) or ""
            label = worklist.subtype(response) or response["resourceType"]
            for version in service.history(response["resourceType"], response["id"], count=20).versions:
                events.append(_event(version, f"{response['resourceType']} {label} v{version.version_id}: {what}",
                                     timezone))
    if bundle is not None:
        for version in service.history("Bundle", bundle.id, count=100).versions:
            events.append(_event(version, f"Bundle v{version.version_id} signed ({signature or '-'})", timezone))
    events.sort(key=lambda e: e["sort"])
    return events + _job_steps(service, claim_id)


def _event(stored, what: str, timezone: str) -> dict[str, Any]:
    when = stored.last_updated.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))
    return {"sort": stored.last_updated, "when": when.strftime("%Y-%m-%d %H:%M:%S"), "what": what,
            "who": stored.author or ""}


def _job_steps(service: FhirService, claim_id: str) -> list[dict[str, Any]]:
    """The steps of the claim's latest pipeline job (precheck, E-Klaim calls, signing) and what each answered."""
    queue = JobQueue(service.uow.session)
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
    purification = worklist.read_claim_file(service.resources, claim).purification
    if purification is None:
        raise FhirError.of(409, "business-rule", "BPJS-K has not purified this claim yet")
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
