"""What every BPJS-K answer to a claim starts with (SATUSEHAT's ClaimResponse shape, reference/satusehat/
examples-derived/reconstructed_claimresponse-*.json): the E-Klaim batch number and SEP identifiers, the claim type,
who answers whom, about which Claim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.submitted_claim import SubmittedClaim


def answer_head(claim: SubmittedClaim, subtype: str, created: datetime) -> dict[str, Any]:
    """What every BPJS-K answer to a claim starts with: the SEP identifier, who answers whom about what."""
    source = claim.claim
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": source.get("type") or {"coding": [codes.coding(codes.CLAIM_TYPE, "institutional", "Institutional")]},
        "subType": {"coding": [codes.coding(codes.KEMKES, subtype, codes.SUBTYPE_DISPLAY[subtype])]},
        "use": "claim",
        "patient": source.get("patient") or {},
        "created": created.isoformat(timespec="seconds"),
        "insurer": source.get("insurer") or {"display": "BPJS Kesehatan"},
        "request": {"reference": f"Claim/{claim.claim_id}"},
        "outcome": "complete",
    }
    sep = _sep_identifier(source, claim.sep)
    identifiers = codes.batch_identifiers(source) + ([sep] if sep else [])  # SATUSEHAT's order: batch, then SEP
    if identifiers:
        response["identifier"] = identifiers
    if source.get("provider"):
        response["requestor"] = source["provider"]
    return response


def _sep_identifier(claim: dict[str, Any], sep: str | None) -> dict[str, str] | None:
    """The SEP identifier as the Claim carries it (system claim-number/{Org_BPJS}), so the hospital finds the answer
    with ClaimResponse?identifier=<system>|<SEP>."""
    candidates = list(claim.get("identifier") or []) + [i.get("identifier") or {} for i in claim.get("insurance") or []]
    for identifier in candidates:
        if sep and identifier.get("value") == sep and identifier.get("system"):
            return {"system": identifier["system"], "value": sep}
    return {"value": sep} if sep else None
