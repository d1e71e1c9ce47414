"""Absolute references (R4 references.html): one to another server is legal and is stored as sent, unresolved;
one to this server's own base is local — it must resolve, in the caller's tenant, and is stored relative. The
resources are the official HL7 R4 examples Coverage/9876B1 (coverage-example.json) and Claim/760151
(claim-example-pharmacy-medication.json), written out here."""

from __future__ import annotations

import copy

import pytest

from testkit import OTHER_HOSPITAL, authorized, outcome_text

POLICY_HOLDER = "http://benefitsinc.com/FHIR/Organization/CBI35"
PRESCRIPTION = "http://pharmacy.org/MedicationRequest/AB1234G"
BASE = "http://localhost/fhir"  # Flask's test client calls http://localhost/

COVERAGE_9876B1 = {
    "resourceType": "Coverage",
    "id": "9876B1",
    "text": {"status": "generated",
             "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">A human-readable rendering of the coverage</div>"},
    "identifier": [{"system": "http://benefitsinc.com/certificate", "value": "12345"}],
    "status": "active",
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EHCPOL",
                         "display": "extended healthcare"}]},
    "policyHolder": {"reference": POLICY_HOLDER},
    "subscriber": {"reference": "Patient/4"},
    "beneficiary": {"reference": "Patient/4"},
    "dependent": "0",
    "relationship": {"coding": [{"code": "self"}]},
    "period": {"start": "2011-05-23", "end": "2012-05-23"},
    "payor": [{"reference": "Organization/2"}],
    "class": [
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]},
         "value": "CB135", "name": "Corporate Baker's Inc. Local #35"},
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]},
         "value": "B37FC", "name": "Full Coverage: Medical, Dental, Pharmacy, Vision, EHC"},
    ],
}

CLAIM_760151 = {
    "resourceType": "Claim",
    "id": "760151",
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
                                           "A human-readable rendering of the Pharmacy Claim</div>"},
    "identifier": [{"system": "http://happypharma.com/claim", "value": "7612345"}],
    "status": "active",
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "pharmacy"}]},
    "use": "claim",
    "patient": {"reference": "Patient/1"},
    "created": "2014-08-16",
    "insurer": {"reference": "Organization/2"},
    "provider": {"reference": "Organization/1"},
    "priority": {"coding": [{"code": "stat"}]},
    "prescription": {"reference": PRESCRIPTION},
    "originalPrescription": {"reference": "http://pharmacy.org/MedicationRequest/AB1202B"},
    "payee": {"type": {"coding": [{"code": "provider"}]}},
    "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/example"}}],
    "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "654456"}]}}],
    "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/9876B1"}}],
    "item": [{
        "sequence": 1, "careTeamSequence": [1],
        "productOrService": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "562721",
                                         "display": "Alprazolam 0.25mg (Xanax)"}]},
        "servicedDate": "2014-08-16",
        "quantity": {"value": 90, "unit": "TAB",
                     "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"},
        "net": {"value": 90.00, "currency": "USD"},
    }],
    "total": {"value": 90.00, "currency": "USD"},
}

STUBS = [
    {"resourceType": "Organization", "id": "1", "name": "Happy Valley Clinic"},
    {"resourceType": "Organization", "id": "2", "name": "Acme Insurance"},
    {"resourceType": "Patient", "id": "1"},
    {"resourceType": "Patient", "id": "4"},
    {"resourceType": "Practitioner", "id": "example"},
]


@pytest.fixture
def stubs(fhir):
    for stub in STUBS:
        fhir.put_resource(stub)
    return fhir


def _without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k != "meta"}


def _coverage(**changes) -> dict:
    """The example with `changes`; a change to None removes the element."""
    changed = {**copy.deepcopy(COVERAGE_9876B1), **changes}
    return {k: v for k, v in changed.items() if v is not None}


def _ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") != "include"}


# --- another server's resource: stored as sent --------------------------------------------------------------------


def test_the_official_coverage_9876B1_is_stored_as_sent_and_reads_back(stubs):
    response = stubs.put("/Coverage/9876B1", COVERAGE_9876B1)
    assert response.status_code == 201, response.get_data(as_text=True)
    read_back = stubs.get("/Coverage/9876B1").get_json()
    assert _without_meta(read_back) == COVERAGE_9876B1
    assert read_back["policyHolder"] == {"reference": POLICY_HOLDER}


def test_the_official_claim_760151_is_stored_with_its_pharmacys_prescriptions(stubs):
    stubs.put_resource(COVERAGE_9876B1)
    created = stubs.post("/Claim", {k: v for k, v in CLAIM_760151.items() if k != "id"})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["prescription"] == {"reference": PRESCRIPTION}
    assert stubs.put("/Claim/760151", CLAIM_760151).status_code == 201
    assert _without_meta(stubs.get("/Claim/760151").get_json()) == CLAIM_760151


def test_a_post_create_and_a_transaction_keep_an_external_reference_too(stubs):
    created = stubs.post("/Coverage", _coverage(id=None))
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["policyHolder"]["reference"] == POLICY_HOLDER
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:7a1c8d1e-0000-4000-8000-000000000001", "resource": _coverage(id=None),
         "request": {"method": "POST", "url": "Coverage"}}]}
    answer = stubs.post("", bundle)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    location = answer.get_json()["entry"][0]["response"]["location"]
    stored = stubs.get("/" + location.split("/fhir/", 1)[1].split("/_history")[0]).get_json()
    assert stored["policyHolder"]["reference"] == POLICY_HOLDER


def test_search_finds_an_external_reference_by_its_url_and_only_by_it(stubs):
    stubs.put_resource(_coverage(payor=[{"reference": POLICY_HOLDER}]))
    stubs.put_resource({"resourceType": "Organization", "id": "CBI35", "name": "a local namesake"})
    stubs.put_resource(_coverage(id="local-payor", payor=[{"reference": "Organization/CBI35"}]))

    def found(query: str) -> set[str]:
        response = stubs.get(f"/Coverage?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return _ids(response.get_json())

    assert found(f"payor={POLICY_HOLDER}") == {"9876B1"}
    assert found(f"payor:Organization={POLICY_HOLDER}") == {"9876B1"}
    assert found(f"policy-holder={POLICY_HOLDER}") == {"9876B1", "local-payor"}
    assert found(f"policy-holder={POLICY_HOLDER}/_history/3") == {"9876B1", "local-payor"}  # any version of it
    assert found("payor=Organization/CBI35") == found("payor=CBI35") == {"local-payor"}  # not the other server's
    assert found(f"payor={BASE}/Organization/CBI35") == {"local-payor"}  # this server's own base: local
    assert found("payor=http://benefitsinc.com/FHIR/weird/path") == set()  # not Type/id: found nowhere, no error
    included = stubs.get("/Coverage?_id=9876B1&_include=Coverage:payor").get_json()
    assert [e["resource"]["id"] for e in included["entry"]] == ["9876B1"]  # the namesake is not the payor


def test_an_external_reference_does_not_hold_a_local_namesake(stubs):
    """Referential integrity protects what local references point at; another server's resource of the same
    type and id is not a referrer of the local one."""
    stubs.put_resource({"resourceType": "Organization", "id": "CBI35", "name": "a local namesake"})
    stubs.put_resource(COVERAGE_9876B1)
    assert stubs.delete("/Organization/CBI35").status_code in (200, 204)


def test_validate_reports_neither_external_references_nor_resolved_ones(stubs):
    issues = stubs.post("/Coverage/$validate", COVERAGE_9876B1).get_json()["issue"]
    assert [i for i in issues if i["severity"] in ("error", "fatal")] == []


# --- references that must resolve ---------------------------------------------------------------------------------


def test_a_relative_reference_to_a_missing_resource_is_still_refused(stubs):
    response = stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": "Patient/nobody"}))
    assert response.status_code == 422
    assert "Patient/nobody does not exist on this server" in outcome_text(response)


@pytest.mark.parametrize("base", [BASE, "https://localhost/fhir", "http://LOCALHOST:80/fhir/"])
def test_an_absolute_reference_to_this_server_must_resolve(stubs, base):
    missing = stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": f"{base.rstrip('/')}/Patient/nobody"}))
    assert missing.status_code == 422
    assert "Patient/nobody does not exist on this server" in outcome_text(missing)
    assert stubs.get("/Coverage/9876B1").status_code == 404


def test_an_absolute_reference_to_this_server_that_exists_is_accepted_and_stored_relative(stubs):
    response = stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": f"{BASE}/Patient/4"},
                                                       payor=[{"reference": f"{BASE}/Organization/2/_history/1"}]))
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = stubs.get("/Coverage/9876B1").get_json()
    assert stored["beneficiary"] == {"reference": "Patient/4"}
    assert stored["payor"] == [{"reference": "Organization/2/_history/1"}]
    assert stored["policyHolder"] == {"reference": POLICY_HOLDER}  # another server's: as sent
    found = stubs.get("/Coverage?beneficiary=Patient/4").get_json()
    assert _ids(found) == {"9876B1"}


def test_the_configured_public_base_is_this_server_too(app, settings, runtime, stubs):
    from fhirclaim.app import create_app

    public = settings.model_copy(update={"public_base_url": "https://fhir.rs.example.id/r4/fhir"})
    behind_proxy = authorized(create_app(public, runtime))
    missing = behind_proxy.put("/Coverage/9876B1", _coverage(
        beneficiary={"reference": "https://fhir.rs.example.id/r4/fhir/Patient/nobody"}))
    assert missing.status_code == 422
    ok = behind_proxy.put("/Coverage/9876B1", _coverage(
        beneficiary={"reference": "https://fhir.rs.example.id/r4/fhir/Patient/4"}))
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert ok.get_json()["beneficiary"] == {"reference": "Patient/4"}


def test_inside_a_transaction_this_servers_base_must_resolve_and_others_are_kept(stubs):
    def transaction(coverage: dict):
        return stubs.post("", {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": coverage, "request": {"method": "PUT", "url": f"Coverage/{coverage['id']}"}}]})

    refused = transaction(_coverage(beneficiary={"reference": f"{BASE}/Patient/nobody"}))
    assert refused.status_code == 422
    assert "Patient/nobody does not exist on this server" in outcome_text(refused)
    stored = transaction(_coverage(beneficiary={"reference": f"{BASE}/Patient/4"}))
    assert stored.status_code == 200, stored.get_data(as_text=True)
    read_back = stubs.get("/Coverage/9876B1").get_json()
    assert (read_back["beneficiary"], read_back["policyHolder"]) == ({"reference": "Patient/4"},
                                                                     {"reference": POLICY_HOLDER})


def test_another_hospitals_resource_is_not_reached_through_this_servers_absolute_url(app, stubs):
    other = authorized(app, org=OTHER_HOSPITAL)
    other.put_resource({"resourceType": "Patient", "id": "theirs"})
    response = stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": f"{BASE}/Patient/theirs"}))
    assert response.status_code == 422
    assert "Patient/theirs does not exist on this server" in outcome_text(response)


def test_an_external_url_naming_another_hospitals_resource_touches_nothing_of_it(app, stubs):
    other = authorized(app, org=OTHER_HOSPITAL)
    other.put_resource({"resourceType": "Patient", "id": "theirs"})
    external = "http://other-server.example/fhir/Patient/theirs"
    assert stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": external})).status_code == 201
    mine = stubs.get("/Coverage?_include=Coverage:beneficiary&beneficiary=Patient/theirs").get_json()
    assert mine.get("entry", []) == []
    included = stubs.get("/Coverage?_id=9876B1&_include=Coverage:beneficiary").get_json()
    assert [e["resource"]["resourceType"] for e in included["entry"]] == ["Coverage"]
    assert other.delete("/Patient/theirs").status_code in (200, 204)  # not held by the other tenant's reference


# --- the other kinds of reference, as before ------------------------------------------------------------------------


def test_urn_references_outside_a_transaction_are_still_refused(stubs):
    for urn in ("urn:uuid:7a1c8d1e-0000-4000-8000-000000000009", "urn:oid:1.2.3.4"):
        response = stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": urn}))
        assert response.status_code == 422
        assert "only meaningful inside a transaction Bundle" in outcome_text(response)


def test_contained_and_identifier_only_references_still_work(stubs):
    contained = _coverage(
        contained=[{"resourceType": "Organization", "id": "holder", "name": "Corporate Baker's Inc. Local #35"}],
        policyHolder={"reference": "#holder"})
    assert stubs.put("/Coverage/9876B1", contained).status_code == 201
    logical = _coverage(id="logical", policyHolder={
        "identifier": {"system": "http://benefitsinc.com/employer", "value": "CBI35"}, "display": "CBI Local 35"})
    response = stubs.put("/Coverage/logical", logical)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _without_meta(stubs.get("/Coverage/logical").get_json()) == logical


def test_each_host_a_request_comes_to_is_its_own_base(stubs):
    def put(host: str, reference: str):
        return stubs.put("/Coverage/9876B1", _coverage(beneficiary={"reference": reference}),
                         base_url=f"https://{host}")

    for host, other in (("fhir-a.example", "fhir-b.example"), ("fhir-b.example", "fhir-a.example")) * 2:
        here = put(host, f"https://{host}/fhir/Patient/4")
        assert here.status_code in (200, 201), here.get_data(as_text=True)
        assert here.get_json()["beneficiary"] == {"reference": "Patient/4"}  # this server: local
        assert put(host, f"https://{other}/fhir/Patient/4").get_json()["beneficiary"] == {
            "reference": f"https://{other}/fhir/Patient/4"}  # the other name is another server's here
        found = stubs.get("/Coverage?beneficiary=Patient/4", base_url=f"https://{host}").get_json()
        assert found["link"][0]["url"].startswith(f"https://{host}/fhir/Coverage?")


def test_this_servers_absolute_url_inside_a_contained_resource_is_stored_relative_too(stubs):
    """Localising looks everywhere, contained resources included, before it copies anything (issue 17: a resource
    with no absolute reference is stored as it came)."""
    contained = _coverage(
        contained=[{"resourceType": "Organization", "id": "holder", "partOf": {"reference": f"{BASE}/Organization/2"}}],
        policyHolder={"reference": "#holder"})
    assert stubs.put("/Coverage/9876B1", contained).status_code == 201
    stored = stubs.get("/Coverage/9876B1").get_json()
    assert stored["contained"] == [{"resourceType": "Organization", "id": "holder",
                                    "partOf": {"reference": "Organization/2"}}]
    assert stored["payor"] == [{"reference": "Organization/2"}] and stored["policyHolder"] == {"reference": "#holder"}
