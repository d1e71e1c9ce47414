"""The codes BPJS-K's answers speak (SATUSEHAT's where known, this server's where SATUSEHAT's are unknown), and
small readers of them: which kind of BPJS-K answer a ClaimResponse is, what a PurificationDecision decided.

Sources: reference/satusehat/terminology/financing-codes-and-systems.json and the reconstructed ClaimResponse
examples. SATUSEHAT publishes no code for "Tidak Lolos Purifikasi" nor for a decision not to continue ("Batal"):
those two live in this server's CodeSystems (profiles/CodeSystem-purification-result.json,
profiles/CodeSystem-purification-decision-status.json) until SATUSEHAT's are known.
"""

from __future__ import annotations

from typing import Any

from fhirclaim.claims.systems import ADJUDICATION, FHIRCLAIM_BASE

KEMKES = "http://terminology.kemkes.go.id"  # the bare terminology root SATUSEHAT uses as a system
CLAIMRESPONSE_ADJUDICATION = "http://terminology.kemkes.go.id/CodeSystem/claimresponse-adjudication"
SNOMED = "http://snomed.info/sct"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
PURIFICATION_RESULT = f"{FHIRCLAIM_BASE}/CodeSystem/purification-result"
DECISION_STATUS = f"{FHIRCLAIM_BASE}/CodeSystem/purification-decision-status"
VERIFICATION_PENDING = f"{FHIRCLAIM_BASE}/CodeSystem/verification-pending"
PENDING_ANSWER_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/pending-answer"
CLAIM_BATCH_SYSTEM = "http://sys-ids.kemkes.go.id/claim-batch-number/"  # + {Org_BPJS}: E-Klaim's batch number

PURIFIKASI, VERIFIKASI = "purifikasi", "verifikasi"
SUBTYPE_DISPLAY = {PURIFIKASI: "Purifikasi", VERIFIKASI: "Verifikasi"}

STATUS_PURIFIKASI = {"system": KEMKES, "code": "TK000046", "display": "Status Purifikasi"}
LOLOS_PURIFIKASI = {"system": KEMKES, "code": "TK000047", "display": "Lolos Purifikasi"}
TIDAK_LOLOS_PURIFIKASI = {"system": PURIFICATION_RESULT, "code": "tidak-lolos-purifikasi",
                          "display": "Tidak Lolos Purifikasi"}
VERIFICATION_CATEGORY = {"system": SNOMED, "code": "309010003"}
LAYAK = {"system": CLAIMRESPONSE_ADJUDICATION, "code": "CRA000001", "display": "Layak"}
PENDING = {"system": VERIFICATION_PENDING, "code": "pending", "display": "Pending"}
PENDING_OUTCOME = "partial"  # a pending verification: processed in part, nothing paid until the hospital answers
CORRECTED, CONFIRMED = "corrected", "confirmed"  # the hospital's answers to a pending verification
PAYMENT_COMPLETE = {"system": PAYMENT_TYPE, "code": "complete", "display": "Complete"}

LANJUT, BATAL = "lanjut", "batal"
# PurificationDecision.status codings this server understands, and what each decides.
DECISIONS = {(KEMKES, "TK000049"): LANJUT, (DECISION_STATUS, "batal"): BATAL}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def adjudication_category(code: str, display: str) -> dict[str, Any]:
    """A `category` of HL7's adjudication codes (submitted, benefit, copay)."""
    return {"coding": [coding(ADJUDICATION, code, display)]}


def bpjs_subtype(resource: dict[str, Any] | None) -> str | None:
    """`purifikasi` or `verifikasi` for BPJS-K's answers (SATUSEHAT's subType codes), else None."""
    for item in ((resource or {}).get("subType") or {}).get("coding") or []:
        if item.get("system") == KEMKES and item.get("code") in (PURIFIKASI, VERIFIKASI):
            return item["code"]
    return None


def decision_of(decision: dict[str, Any] | None) -> str | None:
    """`lanjut` or `batal` for a PurificationDecision whose status this server understands, else None."""
    for item in ((decision or {}).get("status") or {}).get("coding") or []:
        found = DECISIONS.get((item.get("system"), item.get("code")))
        if found:
            return found
    return None


def verification_pending(response: dict[str, Any] | None) -> bool:
    """Whether a verification ClaimResponse returns the claim as pending (reason `pending` of verification-pending)."""
    for adjudication in (response or {}).get("adjudication") or []:
        reasons = (adjudication.get("reason") or {}).get("coding") or []
        if any(r.get("system") == VERIFICATION_PENDING and r.get("code") == PENDING["code"] for r in reasons):
            return True
    return False


def pending_reasons(response: dict[str, Any] | None) -> list[str]:
    """The reason codes (verification-pending) of a pending verification's errors, in order."""
    return [c["code"] for e in (response or {}).get("error") or [] for c in (e.get("code") or {}).get("coding") or []
            if c.get("system") == VERIFICATION_PENDING and c.get("code")]


def batch_identifiers(resource: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The claim-batch-number identifiers (E-Klaim's batch, SATUSEHAT's shape) of a Claim or a ClaimResponse."""
    return [i for i in (resource or {}).get("identifier") or []
            if isinstance(i, dict) and str(i.get("system") or "").startswith(CLAIM_BATCH_SYSTEM)]


def purification_passed(response: dict[str, Any]) -> bool:
    """Whether a purification ClaimResponse says TK000047 'Lolos Purifikasi' in its status adjudication."""
    for adjudication in response.get("adjudication") or []:
        categories = (adjudication.get("category") or {}).get("coding") or []
        if any(c.get("system") == KEMKES and c.get("code") == STATUS_PURIFIKASI["code"] for c in categories):
            reasons = (adjudication.get("reason") or {}).get("coding") or []
            return any(r.get("system") == KEMKES and r.get("code") == LOLOS_PURIFIKASI["code"] for r in reasons)
    return False
