"""Batch and transaction Bundles at the base: urn:uuid resolution, per-entry responses, all-or-nothing."""

from __future__ import annotations

from pipelinekit import statements_sent
from testkit import load_fixture, outcome_text

ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _case_bundle(patient_identifier: str = "RM-0001") -> dict:
    """Patient, Encounter, Account and a conditional Organization, linked by urn:uuid fullUrls."""
    return {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000003",
             "resource": {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "IMP"},
                          "subject": {"reference": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000001"},
                          "serviceProvider": {"reference": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000002"}},
             "request": {"method": "POST", "url": "Encounter"}},
            {"fullUrl": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient",
                          "identifier": [{"system": "http://hospital.example/rm", "value": patient_identifier}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000002",
             "resource": {"resourceType": "Organization", "name": "RSUD Sehat",
                          "identifier": [{"system": "http://hospital.example/org", "value": "RS1"}]},
             "request": {"method": "POST", "url": "Organization",
                         "ifNoneExist": "identifier=http://hospital.example/org|RS1"}},
            {"fullUrl": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000004",
             "resource": {"resourceType": "Account", "status": "active",
                          "subject": [{"reference": "urn:uuid:9b8f0a5e-0000-4000-8000-000000000001"}]},
             "request": {"method": "POST", "url": "Account"}},
        ],
    }


def test_transaction_resolves_urn_uuid_references(fhir):
    response = fhir.post("", _case_bundle())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created"] * 4
    for entry in body["entry"]:
        assert entry["response"]["location"].count("/_history/1") == 1
        assert entry["response"]["etag"] == 'W/"1"'
    encounter_id = body["entry"][0]["response"]["location"].split("/Encounter/")[1].split("/")[0]
    patient_id = body["entry"][1]["response"]["location"].split("/Patient/")[1].split("/")[0]
    encounter = fhir.get(f"/Encounter/{encounter_id}").get_json()
    assert encounter["subject"]["reference"] == f"Patient/{patient_id}"


def test_conditional_create_inside_a_transaction_reuses_the_match(fhir):
    fhir.post("", _case_bundle("RM-1"))
    second = fhir.post("", _case_bundle("RM-2")).get_json()
    assert second["entry"][2]["response"]["status"] == "200 OK"
    assert fhir.get("/Organization?identifier=http://hospital.example/org|RS1").get_json()["total"] == 1
    assert fhir.get("/Patient").get_json()["total"] == 2


def test_a_failing_entry_rolls_back_the_whole_transaction(fhir):
    bundle = _case_bundle()
    bundle["entry"][3]["resource"]["status"] = "sideways"  # not an account-status code
    response = fhir.post("", bundle)
    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["expression"][0].startswith("Bundle.entry[3]")
    assert "Entry 3 (POST Account)" in issue["details"]["text"]
    for resource_type in ("Patient", "Encounter", "Account"):
        assert fhir.get(f"/{resource_type}").get_json()["total"] == 0, resource_type
    assert fhir.get("/Organization?identifier=http://hospital.example/org|RS1").get_json()["total"] == 0
    assert fhir.writes() == 0


def test_unresolvable_reference_rolls_back(fhir):
    bundle = _case_bundle()
    bundle["entry"][0]["resource"]["subject"]["reference"] = "Patient/ghost"
    response = fhir.post("", bundle)
    assert response.status_code == 422 and "Patient/ghost" in outcome_text(response)
    assert fhir.get("/Patient").get_json()["total"] == 0


def test_every_entrys_missing_references_are_named_in_order_from_one_check(fhir, runtime):
    """The entries' references are checked once all are written, every entry's targets in one statement; each
    missing one is named with its entry's path, in entry order."""
    bundle = _case_bundle()
    bundle["entry"][0]["resource"]["subject"]["reference"] = "Patient/ghost"
    bundle["entry"][3]["resource"]["subject"][0]["reference"] = "Patient/phantom"
    with statements_sent(runtime.database.engine) as sent:
        response = fhir.post("", bundle)
    assert response.status_code == 422
    issues = [issue["expression"][0] for issue in response.get_json()["issue"]]
    assert issues == ["Encounter.subject.reference", "Account.subject[0].reference"]
    texts = [issue["details"]["text"] for issue in response.get_json()["issue"]]
    assert "Patient/ghost" in texts[0] and "Patient/phantom" in texts[1]
    # alone, or on PostgreSQL the final query of the statement that also carries the last entry's held-back rows
    checks = [s for s in sent if "SELECT resource.resource_type, resource.logical_id" in " ".join(s.split())]
    assert len(checks) == 1  # four entries' references: one statement
    assert fhir.get("/Patient").get_json()["total"] == 0


def test_put_delete_and_get_entries(fhir):
    fhir.put_resource({"resourceType": "Patient", "id": "gone"})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Patient?_id=keep"}},
        {"resource": {"resourceType": "Patient", "id": "keep"}, "request": {"method": "PUT", "url": "Patient/keep"}},
        {"request": {"method": "DELETE", "url": "Patient/gone"}},
    ]}
    body = fhir.post("", bundle).get_json()
    assert [e["response"]["status"] for e in body["entry"]] == ["200 OK", "201 Created", "204 No Content"]
    assert body["entry"][0]["resource"]["total"] == 1  # GET runs after the PUT, as FHIR orders them
    assert fhir.get("/Patient/gone").status_code == 410


def test_batch_reports_each_entry_and_keeps_the_good_ones(fhir):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female"}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "robot"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/nope"}},
    ]}
    response = fhir.post("", bundle)
    assert response.status_code == 200
    entries = response.get_json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("422")
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[2]["response"]["status"].startswith("404")
    assert fhir.get("/Patient").get_json()["total"] == 1


def test_satusehat_transaction_response_shape(fhir):
    sample = load_fixture("satusehat/api-official-postman/bundle-transaction-response.sample.json")
    body = fhir.post("", _case_bundle()).get_json()
    # SATUSEHAT answers a transaction with a response per entry carrying status, location and etag, as we do
    sample_entry = next(e for e in sample.get("entry", []) if "response" in e) if "entry" in sample else None
    for entry in body["entry"]:
        assert {"status", "location", "etag", "lastModified"} <= set(entry["response"])
    if sample_entry:
        assert "status" in sample_entry["response"]


def test_bundle_must_be_transaction_or_batch(fhir):
    response = fhir.post("", {"resourceType": "Bundle", "type": "collection"})
    assert response.status_code == 400
    no_request = {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {}}]}
    assert fhir.post("", no_request).status_code == 400
