"""The insurer's seed when processes start together on a new database (the production server's workers): each may
find the Organization missing, and all but the first then lose the write to it."""

from __future__ import annotations

from fhirclaim.bpjs.insurer import insurer, seed_insurer
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions.service import FhirService
from fhirclaim.store.repository import SqlResourceRepository


def test_a_seed_that_lost_the_race_leaves_the_first_ones_insurer(runtime, settings, monkeypatch):
    organization_id = settings.bpjs_organization_id
    found = SqlResourceRepository.find
    # this process looked before the other's commit: the insurer is missing to it, stored in the database
    monkeypatch.setattr(SqlResourceRepository, "find", lambda self, resource_type, resource_id: None
                        if (resource_type, resource_id) == ("Organization", organization_id)
                        else found(self, resource_type, resource_id))
    seed_insurer(runtime.store, runtime.services.for_caller, organization_id)  # raised the 409 before
    monkeypatch.undo()
    with runtime.store.unit_of_work(write=False) as uow:
        stored = uow.resources.find("Organization", organization_id)
    assert stored.version_id == 1 and stored.content["name"] == insurer(organization_id)["name"]


def test_any_other_refusal_of_the_seed_still_fails_the_start(runtime, settings, monkeypatch):
    def refuse(*args, **kwargs):
        raise FhirError.of(409, "conflict", "a version conflict")

    monkeypatch.setattr(SqlResourceRepository, "find", lambda self, resource_type, resource_id: None)
    monkeypatch.setattr(FhirService, "update", refuse)
    try:
        seed_insurer(runtime.store, runtime.services.for_caller, settings.bpjs_organization_id)
    except FhirError as error:
        assert error.issues[0].code == "conflict"
    else:
        raise AssertionError("a 409 that is not a duplicate was swallowed")
