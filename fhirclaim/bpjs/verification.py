"""Verification (Berita Acara Hasil Verifikasi): what BPJS-K pays for a claim, as a pure function and the
ClaimResponse that states it (shape: reconstructed_claimresponse-verifikasi.json).

INA-CBG pays a package, not the hospital's bill: the benefit is the CBG tariff plus every additional package (special
CMG, sub-acute, chronic) of the Claim's Package extension; the hospital's tarif RS is what was submitted. A class
upgrade's add_payment_amt is the patient's own share (excess, `copay` in SATUSEHAT's words), never BPJS-K's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.answers import answer_head
from fhirclaim.bpjs.submission import SubmittedClaim
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


def _money(value: int) -> dict[str, Any]:
    return {"value": value, "currency": "IDR"}
