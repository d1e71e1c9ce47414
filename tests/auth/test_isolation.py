"""No client reaches another tenant's data: through search, _include/_revinclude, chains, history, transactions,
conditional writes, references and webhooks' criteria all go through the same scope."""

from __future__ import annotations

ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def test_include_revinclude_and_chains_stop_at_the_tenant(world):
    a, b = world["clients"]["facility-A"], world["clients"]["facility-B"]
    claim_id = world["claim"]["id"]
    own = a.get(f"/Claim?_id={claim_id}&_include=Claim:patient&_revinclude=ClaimResponse:request").get_json()
    assert {e["resource"]["resourceType"] for e in own["entry"]} == {"Claim", "Patient", "ClaimResponse"}
    assert b.get(f"/Claim?_id={claim_id}&_include=Claim:patient").get_json()["total"] == 0
    assert b.get("/ClaimResponse?request.patient=Patient/ex1-patient").get_json()["total"] == 0
    assert a.get("/ClaimResponse?request.patient=Patient/ex1-patient").get_json()["total"] == 1
    assert b.get("/Patient?_revinclude=Claim:patient").get_json()["total"] == 1  # its own patient only
    assert "entry" not in b.get("/Claim?patient=Patient/ex1-patient").get_json()


def test_history_is_per_tenant(world):
    a, b = world["clients"]["facility-A"], world["clients"]["facility-B"]
    assert b.get("/Patient/ex1-patient/_history").status_code == 404
    assert b.get("/Patient/ex1-patient/_history/1").status_code == 404
    type_history = b.get("/Patient/_history").get_json()
    assert {e["resource"]["id"] for e in type_history["entry"]} == {"patient-b"}
    system = {e["resource"]["resourceType"] for e in b.get("/_history?_count=500").get_json()["entry"]}
    assert "Claim" not in system
    assert a.get("/Patient/ex1-patient/_history").status_code == 200


def test_transactions_cannot_read_or_write_across_tenants(world):
    b = world["clients"]["facility-B"]
    reading = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/ex1-patient"}}]}
    response = b.post("", reading)
    assert response.status_code == 404
    assert b.get("/Patient?_count=0").get_json()["total"] == 1  # the POST was rolled back with it
    writing = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "ex1-patient", "gender": "other"},
         "request": {"method": "PUT", "url": "Patient/ex1-patient"}}]}
    assert b.post("", writing).status_code == 200  # B's own Patient/ex1-patient: ids are per tenant
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/ex1-patient"}},
        {"request": {"method": "GET", "url": "Patient?_id=ex1-patient"}}]}
    entries = b.post("", batch).get_json()["entry"]
    assert entries[0]["response"]["status"].startswith("204")  # B's own, just written
    assert entries[1]["resource"]["total"] == 0
    assert world["clients"]["facility-A"].get("/Patient/ex1-patient").get_json()["gender"] == "female"


def test_references_and_conditional_writes_do_not_see_other_tenants(world):
    b = world["clients"]["facility-B"]
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"system": ACT, "code": "AMB"},
                 "subject": {"reference": "Patient/ex1-patient"}}
    refused = b.post("/Encounter", encounter)
    assert refused.status_code == 422 and refused.get_json()["issue"][0]["code"] == "not-found"
    nik = "https://fhir.kemkes.go.id/id/nik"
    created = b.post("/Patient", {"resourceType": "Patient", "identifier": [{"system": nik,
                                                                             "value": "3171015402800003"}]},
                     headers={"If-None-Exist": f"identifier={nik}|3171015402800003"})
    assert created.status_code == 201  # A's patient with that NIK is not a match for B
    conditional = b.put(f"/Patient?identifier={nik}|3171015402800003",
                        {"resourceType": "Patient", "identifier": [{"system": nik, "value": "3171015402800003"}],
                         "gender": "male"})
    assert conditional.status_code == 200 and conditional.get_json()["id"] == created.get_json()["id"]
    assert world["clients"]["facility-A"].get("/Patient/ex1-patient").get_json()["gender"] == "female"


def test_another_tenants_id_cannot_be_probed(world):
    b = world["clients"]["facility-B"]
    hidden, absent = b.get("/Patient/ex1-patient"), b.get("/Patient/never-existed")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.get_json()["issue"][0]["code"] == absent.get_json()["issue"][0]["code"] == "not-found"
    assert b.delete("/Patient/ex1-patient").status_code == 404
