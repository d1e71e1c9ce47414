"""Verification (Berita Acara Hasil Verifikasi): what BPJS-K pays for a claim, or why it returns it as pending for
the hospital's confirmation (a "lembar konfirmasi", seed 003), as pure functions and the ClaimResponse that states it
(shape: reconstructed_claimresponse-verifikasi.json).

Pending (`pending_findings`, rules table `data/verification_rules.json`, docs/bpjs-verification.md): a readmission
within 30 days with the same 3-character principal diagnosis (compared with the participant's published claims in
every hospital), a missing resume or operation report, implausible coding, data that disagree. The answer is a
`verifikasi` ClaimResponse with outcome `partial`, the result `pending` (CodeSystem verification-pending) where
'Layak' would be, each reason as an `error` with its free text, and no payment (`pending_response`).

INA-CBG pays a package, not the hospital's bill: the benefit is the CBG tariff plus every additional package (special
CMG, sub-acute, chronic) of the Claim's Package extension; the hospital's tarif RS is what was submitted. A class
upgrade's add_payment_amt is the patient's own share (excess, `copay` in SATUSEHAT's words), never BPJS-K's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.answers import answer_head
from fhirclaim.bpjs.confirmation import pending_answer
from fhirclaim.bpjs.submitted_claim import SubmittedClaim, documents_in
from fhirclaim.claims import code_tables, precheck
from fhirclaim.claims.fhirvalues import rupiah


@dataclass(frozen=True)
class VerifiedAmounts:
    submitted: int  # tarif RS (Claim.total, or Invoice.totalGross)
    benefit: int  # the INA-CBG total
    copay: int  # the patient's excess (add_payment_amt)

    @property
    def payment(self) -> int:
        """BPJS-K pays the benefit; the excess is paid by the patient, on top."""
        return self.benefit


def verified_amounts(claim: SubmittedClaim) -> VerifiedAmounts:
    submitted = int(rupiah(claim.facts.tarif_rs)) if claim.facts.tarif_rs is not None else 0
    return VerifiedAmounts(submitted=submitted, benefit=claim.package_total, copay=claim.add_payment_amt)


def verification_response(claim: SubmittedClaim, amounts: VerifiedAmounts, *, created: datetime,
                          payment_date: date) -> dict[str, Any]:
    """'Layak' (CRA000001) with the totals submitted and benefit, the payment, and the excess as item 1's copay."""
    response = answer_head(claim, codes.VERIFIKASI, created)
    response["disposition"] = (f"Layak: INA-CBG Rp {amounts.benefit:,}" +
                               (f", selisih biaya (excess) pasien Rp {amounts.copay:,}" if amounts.copay else ""))
    response["adjudication"] = [{"category": {"coding": [codes.VERIFICATION_CATEGORY]},
                                 "reason": {"coding": [codes.LAYAK]}}]
    if amounts.copay:
        response["item"] = [{"itemSequence": 1, "adjudication": [
            {"category": codes.adjudication_category("copay", "CoPay"), "amount": _money(amounts.copay)}]}]
    response["total"] = [
        {"category": codes.adjudication_category("submitted", "Submitted Amount"), "amount": _money(amounts.submitted)},
        {"category": codes.adjudication_category("benefit", "Benefit Amount"), "amount": _money(amounts.benefit)},
    ]
    response["payment"] = {"type": {"coding": [codes.PAYMENT_COMPLETE]}, "date": payment_date.isoformat(),
                           "amount": _money(amounts.payment)}
    return response


# --- pending --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PendingFinding:
    """One reason to return the claim: a reason code of verification-pending, its free text, the evidence."""

    reason: str
    text: str
    expression: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return code_tables.concept(codes.VERIFICATION_PENDING, self.reason)["display"]  # type: ignore[index]


@cache
def verification_rules() -> dict[str, dict[str, Any]]:
    """The rules table (`data/verification_rules.json`): each pending reason and what makes it fire."""
    text = resources.files("fhirclaim.bpjs").joinpath("data/verification_rules.json").read_text(encoding="utf-8")
    return json.loads(text)["reasons"]


def pending_findings(claim: SubmittedClaim, others: Iterable[SubmittedClaim]) -> list[PendingFinding]:
    """Every reason to return a purified claim as pending, given the participant's other published claims (any
    hospital); an empty list means BPJS-K verifies it as 'Layak'."""
    findings = list(_readmissions(claim, others))
    findings += _precheck_findings(claim)
    return findings


def _readmissions(claim: SubmittedClaim, others: Iterable[SubmittedClaim]) -> Iterator[PendingFinding]:
    rule = verification_rules()["readmission"]
    episodes = [e for other in others if other.claim_id != claim.claim_id and claim.card
                and other.card == claim.card and other.sep != claim.sep and (e := other.episode) is not None]
    found = list(precheck.readmission(claim.facts, rule["params"], episodes))
    if found and _readmission_confirmed(claim, rule["waived_by"]):
        return
    for finding in found:
        values = {**rule["params"], **finding.values}
        yield PendingFinding("readmission", f"{rule['id'].format(**values)} / {rule['en'].format(**values)}",
                             finding.expression)


def _readmission_confirmed(claim: SubmittedClaim, waiver: dict[str, str]) -> bool:
    """The hospital confirmed the claim as it is and the claim file carries a resume of another Encounter."""
    answer = pending_answer(claim.claim)
    if answer is None or answer.code != waiver["answer"]:
        return False
    own = f"Encounter/{(claim.ctx.encounter or {}).get('id')}" if claim.ctx else None
    return any(not _names(document, own) for document in documents_in(claim, waiver["document_loinc"]))


def _names(document: dict[str, Any], encounter: str | None) -> bool:
    refs = [(r or {}).get("reference") or "" for r in (document.get("context") or {}).get("encounter") or []]
    refs.append((document.get("encounter") or {}).get("reference") or "")
    return bool(encounter) and any(r == encounter or r.endswith("/" + encounter) for r in refs)


def _precheck_findings(claim: SubmittedClaim) -> list[PendingFinding]:
    """The precheck's rules the table lists, on the claim and the claim file the Bundle carries."""
    if claim.ctx is None:
        return []
    reason_of = {rule_id: reason for reason, rule in verification_rules().items()
                 for rule_id in rule.get("precheck", ())}
    issues = precheck.precheck(claim.ctx, record=claim.record)
    return [PendingFinding(reason_of[i.details_code], i.text, tuple(i.expression)) for i in issues
            if i.details_code in reason_of]


def pending_response(claim: SubmittedClaim, findings: list[PendingFinding], *, created: datetime) -> dict[str, Any]:
    """The pending verification: outcome `partial`, result `pending`, each reason an error with its text and a
    note, the submitted total, and no benefit, no payment."""
    response = answer_head(claim, codes.VERIFIKASI, created)
    response["outcome"] = codes.PENDING_OUTCOME
    reasons = list(dict.fromkeys(f.display for f in findings))
    response["disposition"] = f"Pending: {'; '.join(reasons)}"
    response["adjudication"] = [{"category": {"coding": [codes.VERIFICATION_CATEGORY]},
                                 "reason": {"coding": [codes.PENDING]}}]
    response["processNote"] = [{"number": n, "type": "display", "text": f.text} for n, f in enumerate(findings, 1)]
    response["error"] = [{"code": {"coding": [codes.coding(codes.VERIFICATION_PENDING, f.reason, f.display)],
                                   "text": f.text}} for f in findings]
    submitted = int(rupiah(claim.facts.tarif_rs)) if claim.facts.tarif_rs is not None else 0
    response["total"] = [{"category": codes.adjudication_category("submitted", "Submitted Amount"),
                          "amount": _money(submitted)}]
    return response


def _money(value: int) -> dict[str, Any]:
    return {"value": value, "currency": "IDR"}
