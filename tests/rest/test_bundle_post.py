"""A transaction or batch Bundle sent to /fhir/Bundle is a mistake (it belongs at the base, POST /fhir): stored,
it would do nothing and say nothing. It is refused with a 400 saying where to send it — on POST, on PUT, and as a
Bundle entry of a transaction. Other Bundles (a collection, a search result) are stored as before."""

from __future__ import annotations

import pytest

from testkit import outcome_text

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}


def _bundle(kind: str, **extra) -> dict:
    return {"resourceType": "Bundle", "type": kind, **extra, "entry": [
        {"fullUrl": "urn:uuid:5c3f2a10-0000-4000-8000-000000000001", "resource": PATIENT,
         "request": {"method": "PUT", "url": "Patient/p1"}}]}


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_posting_a_transaction_or_batch_to_bundle_is_refused_with_where_to_send_it(fhir, kind):
    before = fhir.writes()
    response = fhir.post("/Bundle", _bundle(kind))
    assert response.status_code == 400
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    [issue] = body["issue"]
    assert (issue["severity"], issue["code"], issue["expression"]) == ("error", "invalid", ["Bundle.type"])
    assert f"A Bundle of type {kind} is processed, not stored" in outcome_text(response)
    assert "POST it to the FHIR base (POST /fhir)" in outcome_text(response)
    assert fhir.writes() == before  # nothing stored, nothing processed
    assert fhir.get("/Patient/p1").status_code == 404
    assert fhir.get("/Bundle").get_json().get("total", 0) == 0


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_putting_one_is_refused_too(fhir, kind):
    response = fhir.put("/Bundle/b1", _bundle(kind, id="b1"))
    assert response.status_code == 400
    assert "POST /fhir" in outcome_text(response)
    assert fhir.get("/Bundle/b1").status_code == 404


def test_a_conditional_create_is_refused_before_its_criteria_are_looked_at(fhir):
    response = fhir.post("/Bundle", _bundle("transaction"), headers={"If-None-Exist": "identifier=x|1"})
    assert response.status_code == 400
    assert "POST /fhir" in outcome_text(response)


def test_a_transaction_that_would_store_one_is_refused_whole(fhir):
    inner = _bundle("batch", id="inner")
    outer = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**PATIENT, "id": "p2"}, "request": {"method": "PUT", "url": "Patient/p2"}},
        {"resource": inner, "request": {"method": "PUT", "url": "Bundle/inner"}}]}
    response = fhir.post("", outer)
    assert response.status_code == 400
    text = outcome_text(response)
    assert "Entry 1 (PUT Bundle): A Bundle of type batch is processed, not stored" in text
    assert fhir.get("/Patient/p2").status_code == 404  # the whole transaction rolled back


def test_the_same_bundle_posted_to_the_base_is_processed(fhir):
    response = fhir.post("", _bundle("transaction"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["type"] == "transaction-response"
    assert fhir.get("/Patient/p1").status_code == 200


@pytest.mark.parametrize("kind", ["collection", "searchset", "transaction-response"])
def test_other_bundles_are_stored_as_before(fhir, kind):
    bundle = {"resourceType": "Bundle", "type": kind, "entry": [{"fullUrl": "http://localhost/fhir/Patient/p1",
                                                                 "resource": PATIENT}]}
    if kind == "searchset":
        bundle["entry"][0]["search"] = {"mode": "match"}
    response = fhir.post("/Bundle", bundle)
    assert response.status_code == 201, response.get_data(as_text=True)
