"""A change is `fresh` only when the server generated the id of what it creates (POST): nothing stored can refer to
it yet, so the worklist projection reads no answers for it. A client's id (PUT) or a transaction's is not fresh,
and an answer written in the same transaction before its Claim still shows on the Claim's line."""

from __future__ import annotations

from fhirclaim.bpjs.worklist_projection import SUBTYPES
from fhirclaim.interactions.service import FhirServices
from fhirclaim.interactions.transaction import process
from fhirclaim.store.scope import tenant_scope


class Recorder:
    def __init__(self):
        self.changes = []

    def resource_changed(self, change, uow):
        self.changes.append(change)


CLAIM = {"resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-10-01",
         "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
         "patient": {"reference": "Patient/p1"}, "provider": {"reference": "Organization/rs"},
         "priority": {"coding": [{"code": "normal"}]}, "insurance": [
             {"sequence": 1, "focal": True, "coverage": {"display": "JKN"}}]}


def test_only_a_post_with_a_generated_id_is_fresh(runtime):
    recorder = Recorder()
    services = FhirServices(listeners=[recorder])
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        service = services.for_caller(uow, "test")
        service.create({"resourceType": "Patient"})
        service.update("Patient", "p1", {"resourceType": "Patient", "id": "p1"})
        service.create({"resourceType": "Patient"}, resource_id="p2")
    assert [c.fresh for c in recorder.changes] == [True, False, False]


def test_an_answer_written_before_its_claim_in_one_transaction_is_on_the_claims_line(runtime):
    grouping = {"resourceType": "ClaimResponse", "status": "active", "use": "claim", "outcome": "complete",
                "created": "2026-10-02", "type": CLAIM["type"], "patient": {"reference": "Patient/p1"},
                "insurer": {"reference": "Organization/rs"}, "request": {"reference": "urn:uuid:c1"},
                "subType": {"coding": [{"system": SUBTYPES, "code": "grouping"}]},
                "total": [{"category": {"coding": [{"code": "benefit"}]},
                           "amount": {"value": 1500, "currency": "IDR"}}]}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Organization", "id": "rs", "name": "RS"},
         "request": {"method": "PUT", "url": "Organization/rs"}},
        {"resource": {"resourceType": "Patient", "id": "p1"}, "request": {"method": "PUT", "url": "Patient/p1"}},
        {"fullUrl": "urn:uuid:g1", "resource": grouping, "request": {"method": "POST", "url": "ClaimResponse"}},
        {"fullUrl": "urn:uuid:c1", "resource": CLAIM, "request": {"method": "POST", "url": "Claim"}}]}
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        service = runtime.services.for_caller(uow, "test")
        answer = process(service, bundle, "http://localhost/fhir")
    claim_id = answer["entry"][3]["response"]["location"].split("/Claim/")[1].split("/")[0]
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        line = uow.worklist.get("rs-a", claim_id)
    assert line is not None and line["tariff"] == 1500


def test_a_fresh_answer_to_a_stored_claim_is_on_the_claims_line(runtime):
    """`fresh` says nothing answers the resource created: for a ClaimResponse, its Claim may well be answered."""
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        service = runtime.services.for_caller(uow, "test")
        service.update("Organization", "rs", {"resourceType": "Organization", "id": "rs", "name": "RS"})
        service.update("Patient", "p1", {"resourceType": "Patient", "id": "p1"})
        claim, _ = service.create(CLAIM)
    grouping = {"resourceType": "ClaimResponse", "status": "active", "use": "claim", "outcome": "complete",
                "created": "2026-10-02", "type": CLAIM["type"], "patient": {"reference": "Patient/p1"},
                "insurer": {"reference": "Organization/rs"}, "request": {"reference": f"Claim/{claim.id}"},
                "subType": {"coding": [{"system": SUBTYPES, "code": "grouping"}]},
                "total": [{"category": {"coding": [{"code": "benefit"}]},
                           "amount": {"value": 1500, "currency": "IDR"}}]}
    with runtime.store.unit_of_work(tenant_scope("rs-a")) as uow:
        runtime.services.server(uow, "system:test").create(grouping)
    with runtime.store.unit_of_work(tenant_scope("rs-a"), write=False) as uow:
        line = uow.worklist.get("rs-a", claim.id)
    assert line is not None and line["tariff"] == 1500
