"""Each claim's worklist line: which stage, why a person is needed, what to do next — from the claim file alone."""

from __future__ import annotations

from datetime import datetime

import pytest

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.worklist_projection import PRECHECK_RULES, SUBTYPES, ClaimFile, worklist_entry
from fhirclaim.webapp.dashboard import dashboard

NOW = datetime(2026, 12, 3, 6, 0)
CLAIM = {"resourceType": "Claim", "id": "c1", "use": "claim", "total": {"value": 1000, "currency": "IDR"},
         "identifier": [{"system": "http://sys-ids.kemkes.go.id/claim-number/100025555", "value": "SEP1"}],
         "billablePeriod": {"start": "2026-10-01T08:00:00+07:00", "end": "2026-10-03T08:00:00+07:00"}}


def grouping(outcome: str, errors: list[tuple[str, str]] = (), notes: list[str] = ()) -> dict:
    return {"resourceType": "ClaimResponse", "id": "g", "outcome": outcome,
            "subType": {"coding": [{"system": SUBTYPES, "code": "grouping"}]},
            "error": [{"code": {"coding": [{"system": s, "code": c}]}} for s, c in errors],
            "processNote": [{"text": n} for n in notes],
            "total": [] if outcome == "error" else [{"category": {"coding": [{"code": "benefit"}]},
                                                      "amount": {"value": 1500}}]}


def purification(passed: bool) -> dict:
    reason = codes.LOLOS_PURIFIKASI if passed else codes.TIDAK_LOLOS_PURIFIKASI
    return {"resourceType": "ClaimResponse", "id": "p",
            "subType": {"coding": [{"system": codes.KEMKES, "code": codes.PURIFIKASI}]},
            "adjudication": [{"category": {"coding": [codes.STATUS_PURIFIKASI]}, "reason": {"coding": [reason]}}]}


def decision(code: str) -> dict:
    coding = {"lanjut": {"system": codes.KEMKES, "code": "TK000049"},
              "batal": {"system": codes.DECISION_STATUS, "code": "batal"}}[code]
    return {"resourceType": "PurificationDecision", "id": "d", "status": {"coding": [coding]}}


def claim_with(state: str | None) -> dict:
    url = "https://fhirclaim.org/fhir/StructureDefinition/claim-processing"
    return {**CLAIM, "extension": [{"url": url, "valueCode": state}]} if state else CLAIM


@pytest.mark.parametrize(("file", "expected"), [
    (ClaimFile(claim_with(None)), ("progress", None, "wait-eklaim", "received")),
    (ClaimFile(claim_with("error"), grouping=grouping("error", [(PRECHECK_RULES, "PRECHECK-X")])),
     ("attention", "precheck-error", "fix-claim", "error")),
    (ClaimFile(claim_with("error"), grouping=grouping("error", [("https://e-klaim/errors", "E2004")])),
     ("attention", "eklaim-error", "fix-claim", "error")),
    (ClaimFile(claim_with("awaiting-special-cmg"), grouping=grouping("partial")),
     ("attention", "special-cmg", "choose-special-cmg", "awaiting-special-cmg")),
    (ClaimFile(claim_with("grouped"), grouping=grouping("complete", notes=["warning: Z code as principal"])),
     ("attention", "precheck-warning", "review-warnings", "grouped")),
    (ClaimFile(claim_with("signed"), grouping=grouping("complete")), ("progress", None, "wait-bpjs", "signed")),
    (ClaimFile(claim_with("signed"), grouping=grouping("complete"), purification=purification(True)),
     ("attention", "decision-due", "answer-purification", "purified")),
    (ClaimFile(claim_with("signed"), grouping=grouping("complete"), purification=purification(False)),
     ("attention", "purification-failed", "answer-purification", "not-purified")),
    (ClaimFile(claim_with("signed"), purification=purification(True), decisions=[decision("lanjut")]),
     ("progress", None, "wait-verification", "decision-lanjut")),
    (ClaimFile(claim_with("signed"), purification=purification(False), decisions=[decision("batal")]),
     ("done", None, "none", "decision-batal")),
    (ClaimFile(claim_with("signed"), verification={"resourceType": "ClaimResponse", "id": "v"}),
     ("done", None, "none", "verified")),
    (ClaimFile(claim_with("withdrawn")), ("done", None, "none", "withdrawn")),
])
def test_stage_attention_and_next_action(file, expected):
    line = worklist_entry(file, "10000004", NOW)
    assert (line["stage"], line["attention"], line["next_action"], line["status"]) == expected
    assert line["sep"] == "SEP1" and line["tarif_rs"] == 1000


def test_the_dashboard_sums_tariffs_and_ranks_causes():
    lines = [worklist_entry(ClaimFile(claim_with("error"), grouping=grouping(
        "error", [(PRECHECK_RULES, "PRECHECK-A"), (PRECHECK_RULES, "PRECHECK-B")])), "t", NOW),
        worklist_entry(ClaimFile(claim_with("error"), grouping=grouping("error", [(PRECHECK_RULES, "PRECHECK-A")])),
                       "t", NOW),
        worklist_entry(ClaimFile(claim_with("signed"), grouping=grouping("complete")), "t", NOW)]
    board = dashboard(lines)
    assert board.pareto == [("PRECHECK-A", 2, 66.7), ("PRECHECK-B", 1, 100.0)]
    assert dict(board.per_status) == {"error": 2, "signed": 1}
    assert board.per_care_type[0]["gain"] == 500  # benefit 1500 against tarif RS 1000, the signed claim only


# --- BPJS-K's pending verification and the rounds after it ------------------------------------------------------


def answered_at(resource: dict, moment: str) -> dict:
    return {**resource, "meta": {"lastUpdated": moment}}


def pending_verification(reasons: tuple[str, ...] = ("readmission",)) -> dict:
    return {"resourceType": "ClaimResponse", "id": "v1", "outcome": codes.PENDING_OUTCOME,
            "subType": {"coding": [{"system": codes.KEMKES, "code": codes.VERIFIKASI}]},
            "adjudication": [{"category": {"coding": [codes.VERIFICATION_CATEGORY]},
                              "reason": {"coding": [codes.PENDING]}}],
            "error": [{"code": {"coding": [{"system": codes.VERIFICATION_PENDING, "code": r}], "text": r}}
                      for r in reasons]}


def answering(claim: dict, response_id: str = "v1", answer: str = "confirmed") -> dict:
    from fhirclaim.bpjs.confirmation import answer_extension

    return {**claim, "extension": [*claim.get("extension", []), answer_extension(response_id, answer, "episode lain")]}


PURIFIED = answered_at(purification(True), "2026-10-05T01:00:00Z")
PENDING = answered_at(pending_verification(("readmission", "document-missing")), "2026-10-06T01:00:00Z")


@pytest.mark.parametrize(("file", "expected"), [
    (ClaimFile(claim_with("signed"), purification=PURIFIED, decisions=[decision("lanjut")], verification=PENDING),
     ("attention", "pending-bpjs", "answer-pending", "pending")),
    (ClaimFile(answering(claim_with(None)), purification=PURIFIED, decisions=[decision("lanjut")],
               verification=PENDING), ("progress", None, "wait-eklaim", "received")),  # the answer runs again
    (ClaimFile(answering(claim_with("signed")), purification=PURIFIED, decisions=[decision("lanjut")],
               verification=PENDING), ("progress", None, "wait-bpjs", "signed")),
    (ClaimFile(answering(claim_with("signed"), response_id="older"), purification=PURIFIED, verification=PENDING),
     ("attention", "pending-bpjs", "answer-pending", "pending")),  # an answer to another pending one is not this one's
    (ClaimFile(answering(claim_with("signed")), purification=answered_at(purification(True), "2026-10-07T01:00:00Z"),
               verification=PENDING), ("attention", "decision-due", "answer-purification", "purified")),
    (ClaimFile(answering(claim_with("signed")), purification=PURIFIED,
               verification=answered_at({"resourceType": "ClaimResponse", "id": "v2"}, "2026-10-08T01:00:00Z")),
     ("done", None, "none", "verified")),
])
def test_a_pending_verification_needs_the_hospitals_answer_then_a_new_round(file, expected):
    line = worklist_entry(file, "10000004", NOW)
    assert (line["stage"], line["attention"], line["next_action"], line["status"]) == expected


def test_pending_reasons_count_as_causes_and_nothing_is_paid():
    file = ClaimFile(claim_with("signed"), purification=PURIFIED, verification=PENDING)
    line = worklist_entry(file, "10000004", NOW)
    assert line["causes"] == "PENDING-readmission,PENDING-document-missing" and line["paid_at"] is None
