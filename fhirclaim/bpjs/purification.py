"""Purification (BPJS-K's administrative pre-verification) as pure rules, and the ClaimResponse that states it.

A claim does not pass when its SEP is claimed elsewhere, when it doubles another claim of the same BPJS participant
(RITL-RITL, RJTL-RITL, RJTL-RJTL: seed 004), or when it names no DPJP. A readmission is not a purification finding:
BPJS-K's verifier returns it as pending for the hospital's confirmation (`verification.pending_findings`).
The participant is found by card number in every hospital's published claims: what a hospital's own precheck
cannot see (its history is its own tenant).

The double-claim rules are the precheck's own functions (`fhirclaim.claims.precheck`), so the hospital's warning
and BPJS-K's verdict never disagree on what overlaps; only the parameters and messages are BPJS-K's
(`data/purification_rules.json`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.answers import answer_head
from fhirclaim.bpjs.submitted_claim import SubmittedClaim
from fhirclaim.claims import code_tables, precheck
from fhirclaim.claims.facts import ClaimFacts
from fhirclaim.claims.precheck import PastEpisode

HistoryRule = Callable[[ClaimFacts, dict[str, Any], list[PastEpisode]], Iterable[precheck.Finding]]

HISTORY_RULES: dict[str, HistoryRule] = {
    "double-ritl-ritl": precheck.double_inpatient,
    "double-rjtl-ritl": precheck.outpatient_in_inpatient,
    "double-rjtl-rjtl": precheck.double_outpatient,
}


@dataclass(frozen=True)
class PurificationFinding:
    """One reason a claim does not pass: a code of the purification-result CodeSystem, the message, the evidence."""

    code: str
    text: str
    expression: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return code_tables.concept(codes.PURIFICATION_RESULT, self.code)["display"]  # type: ignore[index]


@cache
def _rules() -> dict[str, dict[str, Any]]:
    text = resources.files("fhirclaim.bpjs").joinpath("data/purification_rules.json").read_text(encoding="utf-8")
    return json.loads(text)["rules"]


def purify(claim: SubmittedClaim, others: Iterable[SubmittedClaim]) -> list[PurificationFinding]:
    """Every reason `claim` does not pass purification, given other published claims (any hospital); an empty list
    means it passes. Claims of other participants (card numbers) and `claim` itself (any version) are left out;
    a claim with the same SEP is a duplicate, and not also judged as a stay."""
    others = [other for other in others if other.claim_id != claim.claim_id]
    findings = list(duplicate_sep(claim, others))
    episodes = [e for other in others if claim.card and other.card == claim.card and other.sep != claim.sep
                and (e := other.episode) is not None]
    for code, rule in HISTORY_RULES.items():
        findings.extend(_finding(code, f.values, f.expression) for f in rule(claim.facts, _params(code), episodes))
    findings.extend(dpjp_missing(claim))
    return findings


def duplicate_sep(claim: SubmittedClaim, others: list[SubmittedClaim]) -> Iterator[PurificationFinding]:
    if claim.sep and any(other.sep == claim.sep for other in others):
        yield _finding("duplicate-sep", {"sep": claim.sep}, (claim.facts.where.get("nomor_sep", "Claim.identifier"),))


def dpjp_missing(claim: SubmittedClaim) -> Iterator[PurificationFinding]:
    if not claim.facts.dpjp_name:
        yield _finding("dpjp-missing", {}, (claim.facts.where.get("dpjp", "Claim.careTeam"),))


def _params(code: str) -> dict[str, Any]:
    return _rules()[code].get("params", {})


def _finding(code: str, values: dict[str, Any], expression: tuple[str, ...]) -> PurificationFinding:
    rule = _rules()[code]
    values = {**rule.get("params", {}), **values}
    return PurificationFinding(code, f"{rule['id'].format(**values)} / {rule['en'].format(**values)}", expression)


# --- the ClaimResponse -------------------------------------------------------------------------------------------

def purification_response(claim: SubmittedClaim, findings: list[PurificationFinding], *,
                          created: datetime) -> dict[str, Any]:
    """BPJS-K's purification ClaimResponse (shape: reconstructed_claimresponse-purifikasi.json): passed
    (TK000047 'Lolos Purifikasi') when there are no findings, else not passed with each finding as an error and a
    note. A purification carries no money."""
    passed = not findings
    response = answer_head(claim, codes.PURIFIKASI, created)
    response["disposition"] = "Lolos Purifikasi" if passed else \
        f"Tidak Lolos Purifikasi: {'; '.join(f.display for f in findings)}"
    response["adjudication"] = [{
        "category": {"coding": [codes.STATUS_PURIFIKASI]},
        "reason": {"coding": [codes.LOLOS_PURIFIKASI if passed else codes.TIDAK_LOLOS_PURIFIKASI]},
    }]
    if findings:
        response["processNote"] = [{"number": n, "type": "display", "text": f.text} for n, f in enumerate(findings, 1)]
        response["error"] = [{"code": {"coding": [codes.coding(codes.PURIFICATION_RESULT, f.code, f.display)],
                                       "text": f.text}} for f in findings]
    return response
