"""Claim-file rules (seed 003: incomplete files are the main cause of pending claims): the medical resume and who
signed it, operation reports, letters, supporting results, proof of therapy, prescriptions of special drugs, the
FKTP referral, and billed codes the medical record lacks. They run when the caller gathered the claim file
(`Case.record`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhirclaim.claims.claim_context import reference_of
from fhirclaim.claims.fhirvalues import codings
from fhirclaim.claims.rules.base import Case, Finding, dpjp_reference, matches, precheck_table, same_reference
from fhirclaim.claims.rules.record import ATTACHMENTS, DOCUMENT_TYPE, INFOS, LOINC, Linked
from fhirclaim.fhir.indexing.reference import named

DISCHARGE_SUMMARY, OUTPATIENT_NOTE, OPERATION_NOTE = "18842-5", "34108-1", "11504-8"


def resume_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    facts, record = case.facts, case.record
    if record is None or facts.jenis_rawat is None:
        return
    loinc = DISCHARGE_SUMMARY if facts.inpatient else OUTPATIENT_NOTE
    if not _resumes(case):
        yield Finding((ATTACHMENTS,), {"loinc": loinc, "kind": "rawat inap" if facts.inpatient
                                                  else "rawat jalan", "care": "inpatient" if facts.inpatient
                                                  else "outpatient"})


def resume_unsigned(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    for document in _resumes(case):
        draft = document.resource.get("docStatus") == "preliminary" or (
            document.resource.get("resourceType") == "Composition" and document.resource.get("status") == "preliminary")
        if draft or not _signers(document.resource, authenticated_only=True):
            yield Finding((f"{document.expression}",), {"document": document.reference}, (document.reference,))


def resume_dpjp_mismatch(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    dpjp = dpjp_reference(case.ctx)
    if not dpjp:
        return
    for document in _resumes(case):
        signers = _signers(document.resource, authenticated_only=False)
        if signers and not any(same_reference(s, dpjp) for s in signers):
            yield Finding((document.expression, case.facts.where.get("dpjp", "Claim.careTeam")),
                          {"document": document.reference, "signer": ", ".join(signers), "dpjp": dpjp},
                          (document.reference, dpjp))


def operation_report_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.record is None or case.record.documents_of(loinc=[OPERATION_NOTE]):
        return
    table = precheck_table("procedure_support")
    operative = [p for p in case.facts.procedures if p.valid and matches(p.code, table["operative_prefixes"])
                 and not matches(p.code, table["operative_exempt"])]
    if operative:
        yield Finding(tuple(p.expression for p in operative) + (ATTACHMENTS,),
                      {"procedure": ", ".join(p.code for p in operative)})


def accident_letter_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    yield from _letter(case, "traffic_accident")


def thalassaemia_letter_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    yield from _letter(case, "thalassaemia")


def supporting_result_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """The principal diagnosis needs the result that proves it (a chest X-ray for pneumonia, ...)."""
    if case.record is None or not case.facts.diagnoses:
        return
    principal = case.facts.diagnoses[0]
    row = _evidence_row(principal.code)
    if row and not _supported(case, row):
        yield Finding((principal.expression, INFOS),
                      {"code": principal.code, "what": row["what"], "what_id": row["what_id"],
                       "loinc": ", ".join(row["loinc"])})


def secondary_unsupported(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """Secondary diagnoses that raise the severity level must be proven too (seed 003: upcoding)."""
    if case.record is None:
        return
    raising = precheck_table("diagnosis_evidence")["secondary_severity"]
    for coded in case.facts.diagnoses[1:]:
        row = _evidence_row(coded.code)
        if matches(coded.code, raising) and row and not _supported(case, row):
            yield Finding((coded.expression,), {"code": coded.code, "what": row["what"], "what_id": row["what_id"]})


def therapy_evidence_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.record is None:
        return
    table = precheck_table("procedure_support")["therapy_evidence"]
    notes = case.record.documents_of(loinc=table["document_loinc"]) or _other_documents(case)
    for coded in case.facts.procedures:
        if matches(coded.code, table["procedures"]) and not notes and not _therapy_given(case, coded.code):
            yield Finding((coded.expression, INFOS), {"procedure": coded.code})


def special_drug_without_prescription(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.record is None:
        return
    table = precheck_table("special_drugs")
    for item in case.record.charge_items:
        drugs = [c["code"] for _, c in codings(item.get("code")) if c.get("system") == table["system"]
                 and matches(c.get("code"), table["atc_prefixes"])]
        named = [reference_of(r) for r in item.get("supportingInformation") or []]
        if drugs and not any(r in case.record.prescriptions for r in named):
            reference = f"ChargeItem/{item.get('id')}"
            yield Finding((f"{reference}.supportingInformation",), {"drug": ", ".join(drugs), "item": reference},
                          (reference,))


def referral_missing(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """Non-emergency JKN care needs the FKTP referral or control letter (Claim.referral); emergencies and babies
    born in the hospital do not."""
    if case.record is None or case.facts.jenis_rawat is None or _emergency(case, params):
        return
    age = case.facts.age_days_at_admission
    if age is not None and age <= params["newborn_days"]:
        return  # a newborn's stay follows its birth here
    referral = case.ctx.claim.get("referral") or {}
    if not ((referral.get("identifier") or {}).get("value") or reference_of(referral)):
        yield Finding(("Claim.referral",))


def code_without_record(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    """A billed ICD code with no Condition / Procedure recorded for the encounter (issue 12.4): the same gaps the
    signed Bundle names for BPJS-K, found by the same reader (`evidence.MedicalRecord`)."""
    for gap in case.record.gaps if case.record else ():
        line = (case.ctx.claim.get(gap.element) or [])[gap.index]
        billed = [c.get("code") for _, c in codings(line.get(f"{gap.element}CodeableConcept")) if c.get("code")]
        yield Finding((gap.expression,), {"code": ", ".join(billed or gap.codes), "kind": gap.resource_type,
                                          "encounter": gap.where})


def _resumes(case: Case) -> list[Linked]:
    """The resumes of this claim's own stay: an earlier episode's resume attached as evidence (a readmission's
    confirmation) is another DPJP's document and proves nothing about this stay."""
    if case.record is None:
        return []
    loinc = DISCHARGE_SUMMARY if case.facts.inpatient else OUTPATIENT_NOTE
    own = ("Encounter", case.ctx.encounter["id"]) if case.ctx.encounter and case.ctx.encounter.get("id") else None
    return [d for d in case.record.documents_of(loinc=[loinc])
            if own is None or not _encounters_of(d.resource) or own in map(named, _encounters_of(d.resource))]


def _encounters_of(document: dict[str, Any]) -> list[str]:
    """The Encounters a DocumentReference (`context.encounter`) or Composition (`encounter`) belongs to."""
    if document.get("resourceType") == "Composition":
        return [r for r in [reference_of(document.get("encounter"))] if r]
    context = document.get("context") if isinstance(document.get("context"), dict) else {}
    return [r for r in (reference_of(e) for e in context.get("encounter") or []) if r]


def _signers(document: dict[str, Any], *, authenticated_only: bool) -> list[str]:
    """Who signed (authenticator, attester) and, unless `authenticated_only`, who wrote it."""
    found = [reference_of(document.get("authenticator"))]
    found += [reference_of(a.get("party")) for a in document.get("attester") or [] if isinstance(a, dict)]
    if not authenticated_only:
        found += [reference_of(a) for a in document.get("author") or []]
    return [f for f in dict.fromkeys(found) if f]


def _letter(case: Case, kind: str) -> Iterator[Finding]:
    if case.record is None:
        return
    letter = precheck_table("diagnosis_evidence")["letters"][kind]
    needing = [d for d in case.facts.diagnoses if matches(d.code, letter["diagnosis"])]
    if needing and not case.record.documents_of(own=[letter["code"]]):
        yield Finding(tuple(d.expression for d in needing) + (ATTACHMENTS,),
                      {"code": ", ".join(d.code for d in needing), "letter": letter["code"]})


def _supported(case: Case, row: dict[str, Any]) -> bool:
    """A linked result with one of the row's LOINC codes; a result this table does not know is given the benefit
    of the doubt (it may be the proof under another code)."""
    if case.record is None:
        return False
    known = {code for r in precheck_table("diagnosis_evidence")["results"] for code in r["loinc"]}
    return bool(case.record.results_of(row["loinc"])) or any(not r.codes(LOINC) & known
                                                             for r in case.record.results)


def _other_documents(case: Case) -> list[Linked]:
    """Documents besides the resume, the operation report and the letters: a chemotherapy protocol, a dialysis
    chart, a transfusion form ... prove the therapy too."""
    if case.record is None:
        return []
    routine = {DISCHARGE_SUMMARY, OUTPATIENT_NOTE, OPERATION_NOTE}
    return [d for d in case.record.documents if not d.codes(LOINC) & routine and not d.codes(DOCUMENT_TYPE)]


def _evidence_row(code: str) -> dict[str, Any] | None:
    rows = [r for r in precheck_table("diagnosis_evidence")["results"] if matches(code, r["diagnosis"])]
    return max(rows, key=lambda r: max(len(p) for p in r["diagnosis"] if code.startswith(p)), default=None)


def _therapy_given(case: Case, code: str) -> bool:
    """A linked Procedure with the same ICD-9-CM code, or a MedicationAdministration, proves the therapy."""
    for therapy in case.record.therapies if case.record else ():
        if therapy.resource.get("resourceType") == "MedicationAdministration":
            return True
        if code in therapy.codes("http://hl7.org/fhir/sid/icd-9-cm") or therapy.codes(LOINC):
            return True
    return False


def _emergency(case: Case, params: dict[str, Any]) -> bool:
    encounter = case.ctx.encounter or {}
    klass = encounter.get("class") or {}
    if klass.get("code") in params["emergency_classes"]:
        return True
    admit = (encounter.get("hospitalization") or {}).get("admitSource")
    priority = encounter.get("priority")
    return any(c.get("code") in params["no_referral_admit_sources"] for _, c in codings(admit)) or \
        any(c.get("code") in params["emergency_priorities"] for _, c in codings(priority))
