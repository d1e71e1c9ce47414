"""The flow with three separate clients over REST: the hospital's SIMRS, BPJS-K, and another hospital — BPJS-K's
answers land in the hospital's tenant, in order, and nobody else sees them. (Needs the OAuth2 clients of
fhirclaim.auth; skipped in a tree without them.)"""

from __future__ import annotations

import pytest
from bpjs_kit import HOSPITAL, OTHER_HOSPITAL, claim_of, decision, example, reference_answer, verification_answer

from fhirclaim.claims.pipeline_worker import PipelineWorker

import testkit


@pytest.fixture
def clients(rules, app, fhir):
    authorized = getattr(testkit, "authorized", None)
    if authorized is None:
        pytest.skip("no OAuth2 clients in this tree")
    return {"hospital": fhir, "bpjs": authorized(app, "bpjs", None),
            "other": authorized(app, "facility", OTHER_HOSPITAL)}


def test_bpjs_answers_the_hospital_in_order(clients, runtime):
    hospital, bpjs_client, other = clients["hospital"], clients["bpjs"], clients["other"]
    case = example("01-outpatient-visit")
    assert hospital.post("", case).status_code == 200
    PipelineWorker(runtime.pipeline).run_until_idle()
    claim = claim_of(case)

    early = bpjs_client.post("/ClaimResponse", reference_answer("verifikasi", claim))
    assert early.status_code == 409 and "has no purification yet" in testkit.outcome_text(early)

    posted = bpjs_client.post("/ClaimResponse", reference_answer("purifikasi", claim))
    assert posted.status_code == 201, posted.get_data(as_text=True)
    purification = posted.get_json()["id"]
    assert hospital.get(f"/ClaimResponse/{purification}").status_code == 200  # in the hospital's tenant
    assert other.get(f"/ClaimResponse/{purification}").status_code == 404

    waiting = bpjs_client.post("/ClaimResponse", reference_answer("verifikasi", claim))
    assert waiting.status_code == 409 and "has not yet answered" in testkit.outcome_text(waiting)
    assert other.post("/PurificationDecision", decision(purification)).status_code == 422
    assert hospital.post("/PurificationDecision", decision(purification)).status_code == 201

    verified = bpjs_client.post("/ClaimResponse", verification_answer(runtime, claim))
    assert verified.status_code == 201, verified.get_data(as_text=True)
    found = hospital.get(f"/ClaimResponse?request=Claim/{claim['id']}").get_json()
    assert sorted(e["resource"]["subType"]["coding"][0]["code"] for e in found["entry"]) == [
        "grouping", "purifikasi", "verifikasi"]
    assert hospital.get(f"/PurificationDecision?claimResponse={purification}").get_json()["total"] == 1
    assert HOSPITAL in hospital.get(f"/ClaimResponse/{purification}").get_json()["requestor"]["reference"]
