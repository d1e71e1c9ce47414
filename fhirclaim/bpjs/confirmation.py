"""The hospital's answer to a verification BPJS-K returned as pending (a "lembar konfirmasi", seed 003).

    answer_pending(service, pending_id, *, answer, text, documents=(), claim=None) -> StoredResource

is the one way to answer, for the REST API (a plain `PUT Claim/{id}` carrying the extension below does the same) and
the web app: it writes a new version of the pending Claim, as the caller (`service`: a FHIR service in the hospital's
tenant), that carries

- the `pending-answer` extension (https://fhirclaim.org/fhir/StructureDefinition/pending-answer) linking it to the
  pending ClaimResponse it answers: `claimResponse` (valueReference), `answer` (valueCoding of CodeSystem
  verification-pending: `corrected` — what the reasons name was corrected — or `confirmed` — the claim stands as it
  is, e.g. "not a readmission: a different episode"), `text` (valueString, the hospital's free text);
- `documents` (references, e.g. the earlier episode's resume) linked from `Claim.supportingInfo` as `attachment`s;
- `claim`, when given, is the corrected Claim (its data or coding changed); else the stored Claim is answered as is.

The new version goes through E-Klaim again (the pipeline re-edits a final claim on an update), a new version of the
claim Bundle is signed and published with the extension in it, BPJS-K purifies and verifies that version; each
write is notified by the Subscriptions of each side. `PendingAnswerRules` checks every Claim write that carries the
extension (whoever writes it): it must answer a pending verification of this very Claim, with a known answer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.claims.server_fields import client_content
from fhirclaim.fhir.indexing.reference import parse as parse_reference
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.store.repository import StoredResource
from fhirclaim.store.unit_of_work import UnitOfWork

ANSWERS = (codes.CORRECTED, codes.CONFIRMED)
HL7_INFO_CATEGORY = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
WHERE = f"Claim.extension('{codes.PENDING_ANSWER_EXT}')"


@dataclass(frozen=True)
class PendingAnswer:
    """What a Claim's pending-answer extension says."""

    claim_response: str | None  # "ClaimResponse/{id}"
    code: str | None
    text: str | None


def pending_answer(claim: dict[str, Any] | None) -> PendingAnswer | None:
    """The pending-answer extension of a Claim, or None when it answers no pending verification."""
    extension = next((e for e in (claim or {}).get("extension") or []
                      if isinstance(e, dict) and e.get("url") == codes.PENDING_ANSWER_EXT), None)
    if extension is None:
        return None
    parts = {p.get("url"): p for p in extension.get("extension") or [] if isinstance(p, dict)}
    return PendingAnswer((parts.get("claimResponse", {}).get("valueReference") or {}).get("reference"),
                         (parts.get("answer", {}).get("valueCoding") or {}).get("code"),
                         parts.get("text", {}).get("valueString"))


def answer_pending(service: FhirService, pending_id: str, *, answer: str, text: str,
                   documents: tuple[str, ...] | list[str] = (), claim: dict[str, Any] | None = None) -> StoredResource:
    """Answer the pending verification ClaimResponse/`pending_id` with a new version of its Claim (see the module
    docstring); returns the stored Claim. 404 when the caller cannot see the answer, 422 when it is not a pending
    verification or the answer is not `corrected` / `confirmed`."""
    pending = service.read("ClaimResponse", pending_id)
    claim_id = _pending_claim_id(pending.content, pending_id)
    if claim is not None and claim.get("id") not in (None, claim_id):
        raise FhirError.of(422, "business-rule", f"ClaimResponse/{pending_id} answers Claim/{claim_id}, not "
                                                 f"Claim/{claim.get('id')}", "Claim.id")
    body = copy.deepcopy(claim) if claim is not None else client_content(service.read("Claim", claim_id).content)
    body["id"] = claim_id
    body.pop("meta", None)
    _attach(body, documents)
    body["extension"] = [e for e in body.get("extension") or [] if e.get("url") != codes.PENDING_ANSWER_EXT]
    body["extension"].append(answer_extension(pending_id, answer, text))
    return service.update("Claim", claim_id, body)[0]


def answer_extension(pending_id: str, answer: str, text: str) -> dict[str, Any]:
    if answer not in ANSWERS:
        raise FhirError.of(422, "code-invalid", f"answer: {answer!r} is not {' or '.join(ANSWERS)} "
                                                f"({codes.VERIFICATION_PENDING})", "answer")
    return {"url": codes.PENDING_ANSWER_EXT, "extension": [
        {"url": "claimResponse", "valueReference": {"reference": f"ClaimResponse/{pending_id}"}},
        {"url": "answer", "valueCoding": codes.coding(codes.VERIFICATION_PENDING, answer,
                                                      "Corrected and resubmitted" if answer == codes.CORRECTED
                                                      else "Confirmed without change")},
        {"url": "text", "valueString": text},
    ]}


def _attach(claim: dict[str, Any], documents) -> None:
    """Link each document from Claim.supportingInfo (category attachment) unless it is linked already."""
    infos = claim.setdefault("supportingInfo", [])
    linked = {(i.get("valueReference") or {}).get("reference") for i in infos}
    for reference in documents:
        if reference in linked:
            continue
        infos.append({"sequence": max((i.get("sequence", 0) for i in infos), default=0) + 1,
                      "category": {"coding": [codes.coding(HL7_INFO_CATEGORY, "attachment", "Attachment")]},
                      "valueReference": {"reference": reference}})
    if not infos:
        claim.pop("supportingInfo")


def _pending_claim_id(response: dict[str, Any], pending_id: str) -> str:
    if codes.bpjs_subtype(response) != codes.VERIFIKASI or not codes.verification_pending(response):
        raise FhirError.of(422, "business-rule", f"ClaimResponse/{pending_id} is not a verification returned as "
                                                 "pending: only those are answered", WHERE)
    target = parse_reference((response.get("request") or {}).get("reference") or "")
    if target is None or target[0] != "Claim":
        raise FhirError.of(422, "business-rule", f"ClaimResponse/{pending_id} names no Claim", WHERE)
    return target[1]


class PendingAnswerRules:
    """ResourceInterceptor: a Claim carrying the pending-answer extension answers a pending verification of that
    very Claim, in the writer's view, with a known answer and a text (422 otherwise)."""

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        if resource.get("resourceType") != "Claim":
            return resource
        answer = pending_answer(resource)
        if answer is None:
            return resource
        if answer.code not in ANSWERS or not answer.text:
            raise FhirError.of(422, "required", f"{WHERE}: needs answer (valueCoding {' or '.join(ANSWERS)} of "
                                                f"{codes.VERIFICATION_PENDING}) and text (valueString)", WHERE)
        target = parse_reference(answer.claim_response or "")
        found = uow.resources.find(*target) if target and target[0] == "ClaimResponse" else None
        if found is None or found.deleted:
            raise FhirError.of(422, "not-found", f"{WHERE}: {answer.claim_response} does not exist on this server",
                               WHERE)
        if _pending_claim_id(found.content, found.id) != resource.get("id"):
            raise FhirError.of(422, "business-rule", f"{WHERE}: ClaimResponse/{found.id} is the answer to another "
                                                     "Claim", WHERE)
        return resource
