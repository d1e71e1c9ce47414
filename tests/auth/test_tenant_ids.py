"""Logical ids are scoped to the tenant (issue 13 part 8), the way HAPI's partitions are: two hospitals hold the
same ids, neither learns whether the other has one, shared resources keep theirs and stay admin's, and BPJS-K
names the hospital (`X-Fhirclaim-Tenant`) when an id it can read is in more than one. BPJS-K sees only the versions
that were disclosed to it (issue 14 part 3)."""

from __future__ import annotations

import json

import pytest

from testkit import FIXTURES, HOSPITAL, OTHER_HOSPITAL, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"
BPJS_ORGANIZATION = "Organization/100025555"
HEADER = "X-Fhirclaim-Tenant"


@pytest.fixture
def both(world, runtime):
    """Hospital B loads the example A loaded (the same ids) and its claim is published too."""
    from fhirclaim.claims.pipeline_worker import PipelineWorker

    b = world["clients"]["facility-B"]
    answer = b.post("", raw=EXAMPLE.read_bytes())
    assert answer.status_code == 200, answer.get_json()
    assert {e["response"]["status"] for e in answer.get_json()["entry"]} == {"201 Created"}
    assert PipelineWorker(runtime.pipeline).run_until_idle() == 1
    return world


def _purification(claim: dict) -> dict:
    """fixtures/satusehat/examples-derived/reconstructed_claimresponse-purifikasi.json filled for `claim`."""
    text = (FIXTURES / "satusehat" / "examples-derived" / "reconstructed_claimresponse-purifikasi.json").read_text()
    values = {"{{Org_BPJS}}": "100025555", "{{No_Batch}}": "B2026100001", "{{No_SEP}}": claim["identifier"][0]["value"],
              "{{Patient_id}}": claim["patient"]["reference"].split("/")[1], "{{Org_id}}": HOSPITAL,
              "{{Claim_id}}": claim["id"], "{{dateTime}}": "2026-10-20T09:00:00+07:00",
              "{{free text}}": "Lolos purifikasi", "{{YYYY-MM-DD}}": "2026-10-20"}
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)

    def without_comments(value):
        if isinstance(value, dict):
            return {k: without_comments(v) for k, v in value.items() if not k.startswith("_")}
        return [without_comments(v) for v in value] if isinstance(value, list) else value
    return without_comments(json.loads(text))


def _shape(response, identifier: str) -> tuple:
    """What a caller learns from an answer: its status, issue codes and text, with the id asked about masked."""
    body = response.get_json(silent=True) or {}
    issues = [(i.get("code"), ((i.get("details") or {}).get("text") or "").replace(identifier, "X"))
              for i in body.get("issue") or []]
    entries = [e.get("response", {}).get("status") for e in body.get("entry") or []]
    return response.status_code, issues, body.get("total"), entries


# --- two hospitals, the same ids ---------------------------------------------------------------------------------

def test_two_hospitals_load_the_same_example_and_each_reads_its_own(both):
    a, b = both["clients"]["facility-A"], both["clients"]["facility-B"]
    b.put("/Patient/ex1-patient", {**a.get("/Patient/ex1-patient").get_json(), "gender": "other", "meta": {}})
    assert a.get("/Patient/ex1-patient").get_json()["gender"] == "female"
    assert b.get("/Patient/ex1-patient").get_json()["gender"] == "other"
    for client in (a, b):
        claim = client.get("/Claim/ex1-claim").get_json()
        bundle = client.get("/Bundle?claim=Claim/ex1-claim").get_json()
        assert claim["id"] == "ex1-claim" and bundle["total"] == 1
        patients = client.get("/Claim?_id=ex1-claim&_include=Claim:patient").get_json()
        assert [e["resource"]["gender"] for e in patients["entry"] if e["resource"]["resourceType"] == "Patient"] \
            == (["female"] if client is a else ["other"])
        assert client.get("/Patient/ex1-patient/_history").get_json()["total"] == (1 if client is a else 2)
        assert client.get("/Claim?patient.gender=other").get_json()["total"] == (0 if client is a else 1)
    signer = b.get("/Bundle?claim=Claim/ex1-claim").get_json()["entry"][0]["resource"]["signature"]["who"]
    assert OTHER_HOSPITAL in json.dumps(signer)


def test_a_delete_in_one_hospital_leaves_the_other_untouched(both):
    a, b = both["clients"]["facility-A"], both["clients"]["facility-B"]
    b.put("/Practitioner/dr-extra", {"resourceType": "Practitioner", "id": "dr-extra"})
    a.put("/Practitioner/dr-extra", {"resourceType": "Practitioner", "id": "dr-extra"})
    assert b.delete("/Practitioner/dr-extra").status_code == 200
    assert a.get("/Practitioner/dr-extra").status_code == 200
    refused = b.delete("/Patient/ex1-patient")  # B's Claim points at B's Patient: only B's referrers count
    assert refused.status_code == 409 and "Claim/ex1-claim" in refused.get_json()["issue"][0]["details"]["text"]


# --- no oracle: "exists in A" answers as "exists nowhere" ------------------------------------------------------

def test_b_cannot_tell_whether_a_has_an_id(world):
    b = world["clients"]["facility-B"]
    patient = {"resourceType": "Patient", "gender": "male"}
    for probe in (
        lambda i: b.get(f"/Patient/{i}"),
        lambda i: b.get(f"/Patient/{i}/_history"),
        lambda i: b.get(f"/Patient/{i}/_history/1"),
        lambda i: b.delete(f"/Patient/{i}"),
        lambda i: b.patch(f"/Patient/{i}", [{"op": "replace", "path": "/gender", "value": "male"}]),
        lambda i: b.get(f"/Patient?_id={i}"),
    ):
        assert _shape(probe("ex1-patient"), "ex1-patient") == _shape(probe("nowhere"), "nowhere")
    for identifier in ("ex1-patient", "nowhere"):  # writes that create: the id is free in B's partition either way
        created = b.put(f"/Patient/{identifier}", {**patient, "id": identifier})
        assert created.status_code == 201
        again = b.post("/Patient", patient, headers={"If-None-Exist": f"_id={identifier}"})
        assert again.status_code == 200 and again.get_json()["id"] == identifier  # B's own match
    def transaction(identifier: str, kind: str):
        return b.post("", {"resourceType": "Bundle", "type": kind, "entry": [
            {"request": {"method": "GET", "url": f"Coverage/{identifier}"}},
            {"request": {"method": "DELETE", "url": f"Account/{identifier}"}},
            {"resource": {"resourceType": "Encounter", "id": identifier, "status": "finished", "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
             "request": {"method": "PUT", "url": f"Encounter/{identifier}"}}]})
    for kind in ("transaction", "batch"):
        assert _shape(transaction("ex1-coverage", kind), "ex1-coverage") == _shape(transaction("x", kind), "x")
    assert world["clients"]["facility-A"].get("/Patient/ex1-patient").get_json()["gender"] == "female"


def test_conditional_create_does_not_match_another_hospitals_resource(world):
    b = world["clients"]["facility-B"]
    found = b.post("/Patient", {"resourceType": "Patient"}, headers={"If-None-Exist": "_id=ex1-patient"})
    assert found.status_code == 201 and found.get_json()["id"] != "ex1-patient"


# --- shared resources ------------------------------------------------------------------------------------------

def test_the_shared_organization_is_read_by_both_and_written_by_neither(both):
    a, b, admin = both["clients"]["facility-A"], both["clients"]["facility-B"], both["clients"]["admin"]
    shared = a.get(f"/{BPJS_ORGANIZATION}").get_json()
    assert b.get(f"/{BPJS_ORGANIZATION}").get_json() == shared
    for client in (a, b):
        assert client.put(f"/{BPJS_ORGANIZATION}", {**shared, "name": "taken"}).status_code == 403
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {**shared, "name": "taken"}, "request": {"method": "PUT", "url": BPJS_ORGANIZATION}}]}
        assert client.post("", bundle).status_code == 403
        assert client.delete(f"/{BPJS_ORGANIZATION}").status_code == 403
    assert admin.get(f"/{BPJS_ORGANIZATION}").get_json()["name"] == shared["name"]
    claims = b.get("/Claim?insurer=Organization/100025555").get_json()
    assert claims["total"] == 1  # B's claim names the shared insurer; A's is not B's to see


# --- BPJS-K names the hospital -------------------------------------------------------------------------------------

def test_bpjs_names_the_hospital_when_an_id_is_in_two(both):
    bpjs = both["clients"]["bpjs"]
    ambiguous = bpjs.get("/Claim/ex1-claim")
    assert ambiguous.status_code == 400 and HEADER in ambiguous.get_json()["issue"][0]["details"]["text"]
    assert ambiguous.get_json()["issue"][0]["code"] == "multiple-matches"
    for tenant in (HOSPITAL, OTHER_HOSPITAL):
        claim = bpjs.get("/Claim/ex1-claim", headers={HEADER: tenant})
        assert claim.status_code == 200
        assert claim.get_json()["provider"]["reference"] == f"Organization/{HOSPITAL}"  # the example's as loaded
        bundles = bpjs.get("/Bundle?claim=Claim/ex1-claim", headers={HEADER: tenant}).get_json()
        assert bundles["total"] == 1
        assert tenant in json.dumps(bundles["entry"][0]["resource"]["signature"]["who"])
    assert bpjs.get("/Bundle?claim=Claim/ex1-claim").get_json()["total"] == 2  # a search is not ambiguous
    assert bpjs.get("/Claim/ex1-claim", headers={HEADER: "@bpjs"}).status_code == 400
    assert bpjs.get("/Claim/ex1-claim", headers={HEADER: "10000077"}).status_code == 404


def test_bpjs_answers_the_claim_of_the_hospital_it_names(both, runtime):
    bpjs = both["clients"]["bpjs"]
    a, b = both["clients"]["facility-A"], both["clients"]["facility-B"]
    purification = _purification(both["claim"])
    refused = bpjs.post("/ClaimResponse", purification)
    assert refused.status_code == 400, refused.get_json()  # which hospital's claim?
    written = bpjs.post("/ClaimResponse", purification, headers={HEADER: OTHER_HOSPITAL})
    assert written.status_code == 201, written.get_json()
    answers = {client: client.get("/ClaimResponse?request=Claim/ex1-claim&_count=50").get_json()
               for client in (a, b)}
    assert [e["resource"]["id"] for e in answers[b]["entry"]].count(written.get_json()["id"]) == 1
    assert written.get_json()["id"] not in json.dumps(answers[a])


def test_hospitals_ignore_the_header(world):
    b = world["clients"]["facility-B"]
    assert b.get("/Patient/ex1-patient", headers={HEADER: HOSPITAL}).status_code == 404
    assert b.get("/Patient/patient-b", headers={HEADER: HOSPITAL}).status_code == 200


# --- BPJS-K sees only disclosed versions ---------------------------------------------------------------------------

def test_bpjs_reads_only_the_versions_that_were_disclosed(world):
    a, bpjs = world["clients"]["facility-A"], world["clients"]["bpjs"]
    claim_versions = a.get("/Claim/ex1-claim/_history").get_json()
    assert claim_versions["total"] > 1  # the client's version, then the server's (grouped, signed)
    seen = bpjs.get("/Claim/ex1-claim/_history").get_json()
    assert seen["total"] == 1  # only the version that is in the published Bundle
    published = seen["entry"][0]["resource"]
    bundle = bpjs.get("/Bundle?claim=Claim/ex1-claim").get_json()["entry"][0]["resource"]
    in_bundle = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    assert published["meta"]["versionId"] == in_bundle["meta"]["versionId"]
    assert bpjs.get("/Claim/ex1-claim/_history/1").status_code == 404  # the client's, before publication
    assert bpjs.get(f"/Claim/ex1-claim/_history/{published['meta']['versionId']}").status_code == 200
    before = a.get("/Patient/ex1-patient").get_json()
    a.put("/Patient/ex1-patient", {**before, "gender": "other"})
    assert bpjs.get("/Patient/ex1-patient/_history/2").status_code == 404  # changed after publication
    assert [e["resource"]["meta"]["versionId"] for e in bpjs.get("/Patient/_history").get_json()["entry"]
            if e["resource"]["id"] == "ex1-patient"] == [before["meta"]["versionId"]]
    assert a.get("/Patient/ex1-patient/_history/2").status_code == 200
    # the current read and the search show BPJS-K the version it was shown, never the newer unpublished one
    current = bpjs.get("/Patient/ex1-patient").get_json()
    assert (current["meta"]["versionId"], current["gender"]) == (before["meta"]["versionId"], before["gender"])
    found = bpjs.get("/Patient?_id=ex1-patient").get_json()
    assert all(e["resource"].get("gender") != "other" for e in found.get("entry") or [])


# --- webhooks match in the changed resource's partition -----------------------------------------------------------

def test_bpjs_is_not_told_of_another_hospitals_resource_with_a_disclosed_id(world, runtime):
    from sqlalchemy import select

    from fhirclaim.store.outbox import DeliveryRow

    bpjs, b = world["clients"]["bpjs"], world["clients"]["facility-B"]
    subscription = bpjs.post("/Subscription", {
        "resourceType": "Subscription", "status": "requested", "reason": "patients", "criteria": "Patient",
        "extension": [{"url": "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret",
                       "valueString": "bpjs-webhook-secret-0123456789"}],
        "channel": {"type": "rest-hook", "endpoint": "https://bpjs.example/webhook"}}).get_json()["id"]
    b.put("/Patient/ex1-patient", {"resourceType": "Patient", "id": "ex1-patient", "gender": "male"})
    with runtime.store.unit_of_work(write=False) as uow:  # A's Patient/ex1-patient is disclosed; B's is not
        told = list(uow.session.execute(select(DeliveryRow.id).where(DeliveryRow.subscription_id == subscription)))
    assert told == []
    a = world["clients"]["facility-A"]
    a.put("/Patient/ex1-patient", {**a.get("/Patient/ex1-patient").get_json(), "gender": "unknown"})
    with runtime.store.unit_of_work(write=False) as uow:  # a version of A's after publication: not disclosed
        told = list(uow.session.execute(select(DeliveryRow.id).where(DeliveryRow.subscription_id == subscription)))
    assert told == []
