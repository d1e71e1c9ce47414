"""Each REST interaction of architecture §3, one class per interaction, asserting status, headers and bodies."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from testkit import load_fixture, outcome_text

PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "https://fhir.kemkes.go.id/id/nik", "value": "3171234567890001"}],
    "name": [{"text": "Siti Suryani", "family": "Suryani", "given": ["Siti"]}],
    "gender": "female",
    "birthDate": "1980-02-03",
}


def _encounter(patient_id: str) -> dict:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": "2026-11-01T08:00:00+07:00", "end": "2026-11-05T10:00:00+07:00"}}


class TestCreate:
    def test_create_assigns_id_version_and_headers(self, fhir):
        response = fhir.post("/Patient", PATIENT)
        assert response.status_code == 201
        body = response.get_json()
        assert body["id"] and body["meta"]["versionId"] == "1"
        assert response.headers["ETag"] == 'W/"1"'
        assert response.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
        # an HTTP-date (RFC 9110), the second of meta.lastUpdated: not a FHIR instant
        updated = datetime.fromisoformat(body["meta"]["lastUpdated"]).astimezone(timezone.utc)
        assert response.headers["Last-Modified"] == updated.strftime("%a, %d %b %Y %H:%M:%S GMT")
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        assert body["name"] == PATIENT["name"]

    def test_client_id_on_post_is_replaced(self, fhir):
        body = fhir.create({**PATIENT, "id": "mine"})
        assert body["id"] != "mine"

    def test_if_none_exist_returns_the_existing_match(self, fhir):
        first = fhir.create(PATIENT)
        response = fhir.post("/Patient", PATIENT, headers={
            "If-None-Exist": "identifier=https://fhir.kemkes.go.id/id/nik|3171234567890001"})
        assert response.status_code == 200
        assert response.get_json()["id"] == first["id"]
        assert fhir.get("/Patient").get_json()["total"] == 1

    def test_if_none_exist_creates_when_nothing_matches(self, fhir):
        response = fhir.post("/Patient", PATIENT, headers={"If-None-Exist": "identifier=x|y"})
        assert response.status_code == 201

    def test_if_none_exist_with_two_matches_is_412(self, fhir):
        fhir.create(PATIENT)
        fhir.create(PATIENT)
        response = fhir.post("/Patient", PATIENT, headers={"If-None-Exist": "family=suryani"})
        assert response.status_code == 412

    def test_prefer_minimal_and_operation_outcome(self, fhir):
        minimal = fhir.post("/Patient", PATIENT, headers={"Prefer": "return=minimal"})
        assert minimal.status_code == 201 and minimal.data == b""
        assert minimal.headers["Location"]
        outcome = fhir.post("/Patient", PATIENT, headers={"Prefer": "return=OperationOutcome"})
        assert outcome.get_json()["resourceType"] == "OperationOutcome"
        assert outcome.get_json()["issue"][0]["severity"] == "information"

    def test_reference_to_a_missing_resource_is_refused(self, fhir):
        response = fhir.post("/Encounter", _encounter("does-not-exist"))
        assert response.status_code == 422
        issue = response.get_json()["issue"][0]
        assert issue["code"] == "not-found"
        assert issue["expression"] == ["Encounter.subject.reference"]
        assert fhir.get("/Encounter").get_json()["total"] == 0


class TestRead:
    def test_read_and_vread(self, fhir):
        created = fhir.create(PATIENT)
        pid = created["id"]
        fhir.put(f"/Patient/{pid}", {**created, "gender": "other"})
        assert fhir.get(f"/Patient/{pid}").get_json()["gender"] == "other"
        v1 = fhir.get(f"/Patient/{pid}/_history/1")
        assert v1.status_code == 200 and v1.get_json()["gender"] == "female"
        assert v1.headers["ETag"] == 'W/"1"'
        assert fhir.get(f"/Patient/{pid}/_history/9").status_code == 404
        assert fhir.get(f"/Patient/{pid}/_history/x").status_code == 404

    def test_unknown_id_and_unknown_type(self, fhir):
        assert fhir.get("/Patient/nope").status_code == 404
        response = fhir.get("/Spaceship/1")
        assert response.status_code == 404 and "does not store Spaceship" in outcome_text(response)


class TestUpdate:
    def test_update_makes_a_new_version(self, fhir):
        created = fhir.create(PATIENT)
        response = fhir.put(f"/Patient/{created['id']}", {**created, "gender": "male"})
        assert response.status_code == 200
        assert response.get_json()["meta"]["versionId"] == "2"
        assert response.headers["ETag"] == 'W/"2"'

    def test_update_as_create_with_client_id(self, fhir):
        response = fhir.put("/Patient/rm-001", {**PATIENT, "id": "rm-001"})
        assert response.status_code == 201
        assert response.headers["Location"].endswith("/Patient/rm-001/_history/1")

    def test_if_match_current_version_succeeds_and_stale_is_412(self, fhir):
        created = fhir.create(PATIENT)
        ok = fhir.put(f"/Patient/{created['id']}", {**created, "gender": "male"}, headers={"If-Match": 'W/"1"'})
        assert ok.status_code == 200
        stale = fhir.put(f"/Patient/{created['id']}", {**created, "gender": "other"}, headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412
        assert fhir.get(f"/Patient/{created['id']}").get_json()["gender"] == "male"

    def test_unchanged_resend_writes_no_version(self, fhir):
        created = fhir.create(PATIENT)
        again = fhir.put(f"/Patient/{created['id']}", created)
        assert again.status_code == 200 and again.headers["ETag"] == 'W/"1"'
        assert fhir.get(f"/Patient/{created['id']}/_history").get_json()["total"] == 1

    def test_id_mismatch_and_missing_id(self, fhir):
        created = fhir.create(PATIENT)
        mismatch = fhir.put(f"/Patient/{created['id']}", {**created, "id": "other"})
        assert mismatch.status_code == 400 and mismatch.get_json()["issue"][0]["expression"] == ["id"]
        missing = fhir.put(f"/Patient/{created['id']}", PATIENT)
        assert missing.status_code == 400

    def test_conditional_update(self, fhir):
        created = fhir.create(PATIENT)
        response = fhir.put("/Patient?identifier=https://fhir.kemkes.go.id/id/nik|3171234567890001",
                            {**PATIENT, "gender": "male"})
        assert response.status_code == 200 and response.get_json()["id"] == created["id"]
        new = fhir.put("/Patient?identifier=x|none", PATIENT)
        assert new.status_code == 201


class TestPatch:
    def test_json_patch_adds_encounter_account_as_satusehat_does(self, fhir):
        patient = fhir.create(PATIENT)
        encounter = fhir.create(_encounter(patient["id"]))
        account = fhir.create({"resourceType": "Account", "status": "active",
                               "subject": [{"reference": f"Patient/{patient['id']}"}]})
        # the shape of tests/fixtures/satusehat/examples-derived/khanza_encounter-patch-account.json
        operations = load_fixture("satusehat/examples-derived/khanza_encounter-patch-account.json")
        operations = json.loads(json.dumps(operations).replace("{{Account_id}}", account["id"]))
        operations = operations["body"] if isinstance(operations, dict) and "body" in operations else operations
        response = fhir.patch(f"/Encounter/{encounter['id']}", operations, headers={"If-Match": 'W/"1"'})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["account"] == [{"reference": f"Account/{account['id']}"}]
        assert body["meta"]["versionId"] == "2"
        found = fhir.get(f"/Encounter?account=Account/{account['id']}").get_json()
        assert found["total"] == 1

    def test_patch_needs_json_patch_content_type(self, fhir):
        patient = fhir.create(PATIENT)
        response = fhir.request("PATCH", f"/Patient/{patient['id']}", [{"op": "remove", "path": "/gender"}],
                                content_type="application/fhir+json")
        assert response.status_code == 400  # an array is a JSON Patch, which has its own content type

    def test_json_merge_patch(self, fhir):
        patient = fhir.create(PATIENT)
        response = fhir.request("PATCH", f"/Patient/{patient['id']}", {"gender": "male", "birthDate": None},
                                content_type="application/merge-patch+json")
        assert response.status_code == 200
        body = response.get_json()
        assert body["gender"] == "male" and "birthDate" not in body and body["name"] == PATIENT["name"]

    def test_patch_that_breaks_the_resource_is_refused(self, fhir):
        patient = fhir.create(PATIENT)
        bad = fhir.patch(f"/Patient/{patient['id']}", [{"op": "add", "path": "/gender", "value": 7}])
        assert bad.status_code == 400
        wrong_path = fhir.patch(f"/Patient/{patient['id']}", [{"op": "remove", "path": "/nothing"}])
        assert wrong_path.status_code == 422
        failed_test = fhir.patch(f"/Patient/{patient['id']}", [{"op": "test", "path": "/gender", "value": "male"}])
        assert failed_test.status_code == 412
        id_change = fhir.patch(f"/Patient/{patient['id']}", [{"op": "replace", "path": "/id", "value": "x"}])
        assert id_change.status_code == 422
        assert fhir.get(f"/Patient/{patient['id']}").get_json()["meta"]["versionId"] == "1"

    def test_stale_if_match_on_patch_is_412(self, fhir):
        patient = fhir.create(PATIENT)
        response = fhir.patch(f"/Patient/{patient['id']}", [{"op": "replace", "path": "/gender", "value": "male"}],
                              headers={"If-Match": 'W/"5"'})
        assert response.status_code == 412


class TestDelete:
    def test_delete_then_read_is_410_and_history_keeps_it(self, fhir):
        patient = fhir.create(PATIENT)
        response = fhir.delete(f"/Patient/{patient['id']}")
        assert response.status_code == 200 and response.headers["ETag"] == 'W/"2"'
        assert fhir.get(f"/Patient/{patient['id']}").status_code == 410
        assert fhir.get("/Patient").get_json()["total"] == 0
        history = fhir.get(f"/Patient/{patient['id']}/_history").get_json()
        assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
        assert "resource" not in history["entry"][0]
        assert fhir.get(f"/Patient/{patient['id']}/_history/1").status_code == 200
        assert fhir.get(f"/Patient/{patient['id']}/_history/2").status_code == 410

    def test_delete_is_idempotent_and_unknown_is_404(self, fhir):
        patient = fhir.create(PATIENT)
        assert fhir.delete(f"/Patient/{patient['id']}").status_code == 200
        assert fhir.delete(f"/Patient/{patient['id']}").status_code == 200
        assert fhir.delete("/Patient/nope").status_code == 404

    def test_delete_of_a_referenced_resource_is_409(self, fhir):
        patient = fhir.create(PATIENT)
        encounter = fhir.create(_encounter(patient["id"]))
        response = fhir.delete(f"/Patient/{patient['id']}")
        assert response.status_code == 409 and f"Encounter/{encounter['id']}" in outcome_text(response)

    def test_recreate_after_delete(self, fhir):
        fhir.put("/Patient/p1", {**PATIENT, "id": "p1"})
        fhir.delete("/Patient/p1")
        again = fhir.put("/Patient/p1", {**PATIENT, "id": "p1"})
        assert again.status_code == 201 and again.get_json()["meta"]["versionId"] == "3"


class TestHistory:
    def test_type_history_since_and_count(self, fhir):
        first = fhir.create(PATIENT)
        fhir.put(f"/Patient/{first['id']}", {**first, "gender": "male"})
        fhir.create(PATIENT)
        history = fhir.get("/Patient/_history").get_json()
        assert history["type"] == "history" and history["total"] == 3
        paged = fhir.get("/Patient/_history?_count=2").get_json()
        assert len(paged["entry"]) == 2
        assert any(link["relation"] == "next" for link in paged["link"])
        later = fhir.get("/Patient/_history?_since=2999-01-01").get_json()
        assert later["total"] == 0
        assert fhir.writes() == 3

    def test_history_of_unknown_resource_is_404(self, fhir):
        assert fhir.get("/Patient/nope/_history").status_code == 404


class TestValidateAndMetadata:
    def test_validate_reports_every_issue_with_expressions(self, fhir):
        bad = {"resourceType": "Patient", "gender": "robot", "birthDate": "soon", "colour": "blue"}
        response = fhir.post("/Patient/$validate", bad)
        assert response.status_code == 200
        expressions = {e for i in response.get_json()["issue"] for e in i.get("expression", [])}
        assert {"Patient.birthDate", "Patient.colour"} <= expressions
        assert fhir.get("/Patient").get_json()["total"] == 0

    def test_validate_accepts_parameters(self, fhir):
        response = fhir.post("/Patient/$validate", {"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": PATIENT}]})
        assert response.get_json()["issue"][0]["severity"] == "information"

    def test_capability_statement_lists_types_params_and_interactions(self, fhir):
        statement = fhir.get("/metadata").get_json()
        assert statement["fhirVersion"] == "4.0.1"
        resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
        for resource_type in ("Coverage", "Account", "ChargeItem", "Invoice", "Claim", "ClaimResponse", "Patient",
                              "Encounter", "Subscription", "Bundle"):
            assert resource_type in resources
        claim = resources["Claim"]
        assert {"read", "vread", "create", "update", "patch", "delete", "search-type"} <= {
            i["code"] for i in claim["interaction"]}
        assert {"identifier", "patient", "status", "_lastUpdated"} <= {p["name"] for p in claim["searchParam"]}
        assert {"transaction", "batch"} <= {i["code"] for i in statement["rest"][0]["interaction"]}


def test_binary_patch_in_transaction(fhir):
    patient = fhir.create(PATIENT)
    ops = base64.b64encode(json.dumps([{"op": "replace", "path": "/gender", "value": "male"}]).encode()).decode()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": ops},
         "request": {"method": "PATCH", "url": f"Patient/{patient['id']}"}}]}
    response = fhir.post("", bundle)
    assert response.status_code == 200, response.get_json()
    assert fhir.get(f"/Patient/{patient['id']}").get_json()["gender"] == "male"
