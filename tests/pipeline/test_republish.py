"""A new version of a sent claim that changes nothing E-Klaim is told (attached documents, a pending confirmation) is
not re-edited — a 5.10 E-Klaim refuses that for a sent claim (E2039) — but signed again with E-Klaim's grouping; one
that changes what E-Klaim is told goes through E-Klaim again, and on 5.10 ends with E2039, named."""

from __future__ import annotations

import copy

from flow510_kit import submit
from pipeline_kit import GROUPED, grouping_response, jobs_of, load_case, signed_bundle, with_status

ATTACHMENT = {"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "attachment"}


def _claim(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")


def _sent(stack) -> tuple[dict, dict]:
    bundle = copy.deepcopy(load_case(GROUPED[2]).transaction)
    submit(stack, bundle)
    claim = _claim(bundle)
    assert [j.status for j in jobs_of(stack.runtime, claim["id"])] == ["done"]
    assert "send_claim_individual" in stack.wire.methods()
    stack.wire.clear()
    return bundle, claim


def test_a_version_with_nothing_new_for_e_klaim_is_signed_again_without_a_call(on510):
    bundle, claim = _sent(on510)
    package = grouping_response(on510.runtime, claim["id"])["addItem"]
    resume = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    changed = with_status(claim, "active")
    changed["supportingInfo"] = [*changed["supportingInfo"], {
        "sequence": 98, "category": {"coding": [ATTACHMENT]},
        "valueReference": {"reference": f"DocumentReference/{resume['id']}"}}]
    submit(on510, changed)
    assert [j.status for j in jobs_of(on510.runtime, claim["id"])] == ["done", "done"]
    assert on510.wire.methods() == []  # not one E-Klaim call: no re-edit, no E2039
    assert signed_bundle(on510.runtime, claim["id"])["meta"]["versionId"] == "2"
    assert grouping_response(on510.runtime, claim["id"])["addItem"] == package


def test_a_coding_change_after_sending_goes_to_e_klaim_which_refuses_on_5_10(on510):
    _, claim = _sent(on510)
    changed = with_status(claim, "active")
    changed["diagnosis"][-1]["diagnosisCodeableConcept"]["coding"][0]["code"] = "J18.0"
    submit(on510, changed)
    assert [j.status for j in jobs_of(on510.runtime, claim["id"])] == ["done", "failed"]
    assert on510.wire.methods()[:2] == ["new_claim", "reedit_claim"]
    response = grouping_response(on510.runtime, claim["id"])
    assert response["outcome"] == "error" and "E2039" in str(response)


def test_on_5_1_the_coding_change_is_re_edited_and_sent_again(on51):
    _, claim = _sent(on51)
    changed = with_status(claim, "active")
    changed["diagnosis"][-1]["diagnosisCodeableConcept"]["coding"][0]["code"] = "J18.0"
    submit(on51, changed)
    assert [j.status for j in jobs_of(on51.runtime, claim["id"])] == ["done", "done"]
    assert on51.wire.methods()[:2] == ["new_claim", "reedit_claim"] and "send_claim_individual" in on51.wire.methods()
