"""The three ways a SIMRS sends a case over the FHIR API — one transaction Bundle, the resources one by one, or the
resources and then `POST Claim/$submit` — give the same result. Few tests here go through HTTP (the Flask app via
the `fhir` test client); the rest of the pipeline tests work on the runtime directly."""

from __future__ import annotations

import threading

import pytest
from pipeline_kit import grouping_response, load_case, outcome, package, run_jobs, signed_bundle

from fhirclaim.claims.pipeline import derived_id

HIP = "02-hip-replacement-special-cmg"


def _send_one_by_one(fhir, resources) -> None:
    for resource in resources:
        fhir.put_resource(resource)


def _submit(fhir, claim) -> dict:
    answer = fhir.post("/Claim/$submit", claim)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


@pytest.fixture
def settings(settings, request):
    """$submit waits for its job up to two minutes here, so that it answers 200 however loaded the machine; a test
    changes that (or other settings) by parametrizing `settings` indirectly with a dict of changes."""
    return settings.model_copy(update={"submit_wait_seconds": 120, **getattr(request, "param", {})})


def test_transaction_one_by_one_and_submit_give_the_same_result(fhir, runtime):
    original = load_case(HIP)
    by_transaction, one_by_one, submitted = original.copy(1), original.copy(2), original.copy(3)

    answer = fhir.post("", by_transaction.transaction)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [e["response"]["status"] for e in answer.get_json()["entry"]].count("201 Created") == len(
        by_transaction.transaction["entry"])
    _send_one_by_one(fhir, one_by_one.resources())
    assert len(run_jobs(runtime)) == 2
    *rest, claim = submitted.resources()
    _send_one_by_one(fhir, rest)
    body = _submit(fhir, claim)

    results = {outcome(runtime, case, original) for case in (by_transaction, one_by_one, submitted)}
    assert len(results) == 1
    assert package(fhir.get(f"/Claim/{submitted.claim_id}").get_json())["base"] == ("M-1-04-I", 31_404_200)

    # $submit's answer: a collection Bundle, the grouping ClaimResponse first, then the Claim and its signed Bundle
    assert body["resourceType"] == "Bundle" and body["type"] == "collection"
    first, second, third = (e["resource"] for e in body["entry"])
    assert first == grouping_response(runtime, submitted.claim_id)
    assert (first["resourceType"], first["outcome"]) == ("ClaimResponse", "complete")
    assert (second["resourceType"], second["id"]) == ("Claim", submitted.claim_id)
    assert third == signed_bundle(runtime, submitted.claim_id)
    assert body["entry"][0]["fullUrl"].endswith(f"/ClaimResponse/{derived_id('grouping', submitted.claim_id)}")


# $submit waits only briefly here, so that the held E-Klaim makes it answer 202
@pytest.mark.parametrize("settings", [{"submit_wait_seconds": 0.2}], indirect=True, ids=["short-wait"])
def test_submit_answers_202_with_a_status_url_while_e_klaim_is_slow(fhir, runtime, flaky):
    case = load_case("01-outpatient-visit")
    *rest, claim = case.resources()
    _send_one_by_one(fhir, rest)
    flaky.hold_at("grouper")
    try:
        answer = fhir.post("/Claim/$submit", claim)
        assert answer.status_code == 202, answer.get_data(as_text=True)
        assert flaky.holding.wait(60)  # the job goes on to the grouper (however slowly) and is held there
        status_url = answer.headers["Content-Location"]
        assert status_url.endswith(f"/fhir/Claim/{case.claim_id}/$submit-status")
        pending = fhir.get(f"/Claim/{case.claim_id}/$submit-status")
        assert pending.status_code == 202
        assert pending.get_json()["resourceType"] == "OperationOutcome"
    finally:
        flaky.release()
    # the job (in $submit's own thread, claims.pipeline_worker.run_job_within) finishes once E-Klaim answers
    for thread in threading.enumerate():
        if thread.name.startswith("submit-"):
            thread.join(60)
    done = fhir.get(f"/Claim/{case.claim_id}/$submit-status")
    assert done.status_code == 200
    first = done.get_json()["entry"][0]["resource"]
    assert (first["resourceType"], first["outcome"]) == ("ClaimResponse", "complete")
