"""A write's reference check looks its references up once (`store/lookups.py`, issue 17): the same answer as
`existing` for the check, and `find`'s answer for each reference, which the worklist projection then reuses instead
of reading the Claim's Patient again. Only a hospital writing in its own tenant passes what it found on: its scope
sees exactly what the projection's view of that tenant sees."""

from __future__ import annotations

import pytest

from fhirclaim.bpjs.worklist_projection import SUBTYPES, WorklistListener
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import CallerAccess, FhirServices
from fhirclaim.store.lookups import lookup
from fhirclaim.store.repository import SqlResourceRepository
from fhirclaim.store.scope import SYSTEM, Scope, tenant_scope

CLAIM = {"resourceType": "Claim", "status": "active", "use": "claim", "created": "2026-10-01",
         "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
         "patient": {"reference": "Patient/p1"}, "provider": {"reference": "Organization/shared-org"},
         "priority": {"coding": [{"code": "normal"}]}, "insurance": [
             {"sequence": 1, "focal": True, "coverage": {"display": "JKN"}}]}
PATIENT = {"resourceType": "Patient", "name": [{"text": "Siti Aminah"}]}


class Recorder:
    def __init__(self, reads: frozenset[str] = frozenset({"Patient", "Organization"})):
        self.changes = []
        self.reads_referenced = reads

    def resource_changed(self, change, uow):
        self.changes.append(change)


@pytest.fixture
def stored(runtime):
    """Patient/p1 in rs-a and in rs-b (different people), Patient/gone deleted in rs-a, Organization/shared-org
    shared, Organization/both-org shared and in rs-a."""
    with runtime.store.unit_of_work(SYSTEM) as uow:
        service = FhirServices().for_caller(uow, "test")
        service.update("Organization", "shared-org", {"resourceType": "Organization", "id": "shared-org"})
        service.update("Organization", "both-org", {"resourceType": "Organization", "id": "both-org", "name": "S"})
    for tenant, name in (("rs-a", "Siti Aminah"), ("rs-b", "Budi")):
        with runtime.store.unit_of_work(tenant_scope(tenant)) as uow:
            service = FhirServices().for_caller(uow, "test")
            service.update("Patient", "p1", {**PATIENT, "id": "p1", "name": [{"text": name}]})
            if tenant == "rs-a":
                service.update("Patient", "gone", {"resourceType": "Patient", "id": "gone"})
                service.delete("Patient", "gone")
                service.update("Organization", "both-org", {"resourceType": "Organization", "id": "both-org",
                                                            "name": "A"})
    return runtime


KEYS = [("Patient", "p1"), ("Patient", "gone"), ("Patient", "nobody"), ("Organization", "shared-org"),
        ("Organization", "both-org")]
SCOPES = [tenant_scope("rs-a"), tenant_scope("rs-b"), SYSTEM, SYSTEM.within("rs-a"), SYSTEM.within("rs-b"),
          Scope(tenant="rs-a", all_tenants=False, shared_visible=False)]


@pytest.mark.parametrize("scope", SCOPES, ids=repr)
def test_a_lookup_answers_as_existing_and_find_do(stored, scope):
    with stored.store.unit_of_work(scope, write=False) as uow:
        resources: SqlResourceRepository = uow.resources
        answer = lookup(resources, KEYS)
        assert answer.existing == resources.existing(KEYS)
        for key in KEYS:
            try:
                expected = resources.find(*key)
            except FhirError:  # several hospitals' rows and none of them home: find refuses, lookup omits it
                assert key not in answer.found
                continue
            got = answer.found.get(key)
            if expected is None:
                assert got is None
            else:
                assert (got.tenant, got.version_id, got.deleted, got.content) == (
                    expected.tenant, expected.version_id, expected.deleted, expected.content)


def test_a_hospitals_claim_passes_what_its_reference_check_found_to_the_listeners(stored):
    recorder = Recorder()
    with stored.store.unit_of_work(tenant_scope("rs-a")) as uow:
        FhirServices(listeners=[recorder]).for_caller(uow, "test").create(CLAIM)
    referenced = recorder.changes[-1].referenced
    assert referenced[("Patient", "p1")].content["name"] == [{"text": "Siti Aminah"}]  # rs-a's, not rs-b's
    assert referenced[("Organization", "shared-org")].tenant is None


@pytest.mark.parametrize("scope", SCOPES[:2], ids=repr)
def test_a_lookup_reads_the_content_of_the_types_asked_for_only(stored, scope):
    with stored.store.unit_of_work(scope, write=False) as uow:
        resources: SqlResourceRepository = uow.resources
        whole, patients = lookup(resources, KEYS), lookup(resources, KEYS, content_of=frozenset({"Patient"}))
        assert patients.existing == whole.existing == resources.existing(KEYS)
        assert set(patients.found) == {key for key in whole.found if key[0] == "Patient"} != set(whole.found)
        assert {key: (got.version_id, got.content) for key, got in patients.found.items()} == {
            key: (got.version_id, got.content) for key, got in whole.found.items() if key[0] == "Patient"}


def test_only_the_types_a_listener_reads_are_passed_on(stored):
    patients, nothing = Recorder(frozenset({"Patient"})), Recorder(frozenset())
    services = FhirServices(listeners=[patients, nothing])
    assert services.referenced_content == {"Patient"}
    with stored.store.unit_of_work(tenant_scope("rs-a")) as uow:
        services.for_caller(uow, "test").create(CLAIM)
    referenced = patients.changes[-1].referenced
    assert list(referenced) == [("Patient", "p1")]  # the Organization is checked, its content not read
    assert referenced[("Patient", "p1")].content["name"] == [{"text": "Siti Aminah"}]
    worklist = [listener for listener in stored.services.listeners if isinstance(listener, WorklistListener)]
    assert FhirServices(listeners=worklist).referenced_content == {"Patient", "Encounter", "Claim", "ClaimResponse"}


@pytest.mark.parametrize("scope", [SYSTEM, Scope(tenant=None, all_tenants=True, partition="rs-a"),
                                   tenant_scope("rs-b")], ids=repr)
def test_a_writer_that_sees_more_or_other_than_the_tenants_view_passes_nothing_on(stored, scope):
    recorder = Recorder()
    lands_in_rs_a = CallerAccess(write_tenant=lambda resource, uow: "rs-a")
    services = FhirServices(listeners=[recorder], access=lambda principal, uow: lands_in_rs_a)
    with stored.store.unit_of_work(scope) as uow:
        services.for_caller(uow, "test", principal=object()).create(CLAIM)
    assert recorder.changes[-1].after.tenant == "rs-a"
    assert recorder.changes[-1].referenced == {}


def test_the_worklist_line_of_a_hospitals_claim_reads_no_patient_again(stored, finds):
    with stored.store.unit_of_work(tenant_scope("rs-a")) as uow:
        claim, _ = stored.services.for_caller(uow, "test").create(CLAIM)
    assert ("Patient", "p1") not in finds
    with stored.store.unit_of_work(SYSTEM, write=False) as uow:
        line = uow.worklist.get("rs-a", claim.id)
    assert line["patient_name"] == "Siti Aminah"


def test_a_claim_of_another_tenants_patient_is_still_refused(stored):
    with stored.store.unit_of_work(tenant_scope("rs-c")) as uow:
        with pytest.raises(FhirError) as refused:
            stored.services.for_caller(uow, "test").create(CLAIM)
    assert refused.value.status == 422


def test_the_worklist_line_of_an_answer_reads_neither_its_claim_nor_the_patient_again(stored, finds):
    with stored.store.unit_of_work(tenant_scope("rs-a")) as uow:
        claim, _ = stored.services.for_caller(uow, "test").create(CLAIM)
    grouping = {"resourceType": "ClaimResponse", "status": "active", "use": "claim", "outcome": "complete",
                "created": "2026-10-02", "type": CLAIM["type"], "patient": {"reference": "Patient/p1"},
                "insurer": {"reference": "Organization/shared-org"}, "request": {"reference": f"Claim/{claim.id}"},
                "subType": {"coding": [{"system": SUBTYPES, "code": "grouping"}]},
                "total": [{"category": {"coding": [{"code": "benefit"}]},
                           "amount": {"value": 1500, "currency": "IDR"}}]}
    finds.clear()  # only what writing the answer asks for
    with stored.store.unit_of_work(tenant_scope("rs-a")) as uow:  # the pipeline writes in the claim's tenant
        stored.services.server(uow, "system:test").create(grouping)
    assert ("Claim", claim.id) not in finds and ("Patient", "p1") not in finds
    with stored.store.unit_of_work(SYSTEM, write=False) as uow:
        line = uow.worklist.get("rs-a", claim.id)
    assert (line["tariff"], line["patient_name"]) == (1500, "Siti Aminah")
