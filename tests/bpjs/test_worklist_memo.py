"""The worklist projection reads a claim file once per transaction (`RememberingView`, issue 17): the pipeline
writes a Claim and its grouping ClaimResponse in one transaction, and the second line is written from what the first
read. A change in the transaction is what the next line reads; a savepoint rolled back forgets everything. Writes made
together (`FhirService.writing_together`: a pipeline step's, a transaction Bundle's) write each line once, from the
last change concerning it, once all are written."""

from __future__ import annotations

import contextlib

import pytest

from fhirclaim.bpjs.worklist_projection import SUBTYPES
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.interactions import transaction
from fhirclaim.store.scope import SYSTEM

from pipelinekit import statements_sent

CLAIM = {"resourceType": "Claim", "id": "c1", "status": "active", "use": "claim", "created": "2026-10-01",
         "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
         "patient": {"reference": "Patient/p1"}, "provider": {"reference": "Organization/rs"},
         "priority": {"coding": [{"code": "normal"}]}, "insurance": [
             {"sequence": 1, "focal": True, "coverage": {"display": "JKN"}}]}
GROUPING = {"resourceType": "ClaimResponse", "id": "g1", "status": "active", "use": "claim", "outcome": "complete",
            "created": "2026-10-02", "type": CLAIM["type"], "patient": {"reference": "Patient/p1"},
            "insurer": {"reference": "Organization/rs"}, "request": {"reference": "Claim/c1"},
            "subType": {"coding": [{"system": SUBTYPES, "code": "grouping"}]},
            "total": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": 1500, "currency": "IDR"}}]}
PROCESSING = {"url": "https://fhirclaim.org/fhir/StructureDefinition/claim-processing", "valueCode": "grouped"}


@pytest.fixture
def claim(runtime):
    """Claim/c1 of Patient/p1 ("Siti Aminah"), as the system's own (no tenant) writes it, like the benchmarks."""
    with runtime.store.unit_of_work(SYSTEM) as uow:
        service = runtime.services.for_caller(uow, "test")
        service.update("Organization", "rs", {"resourceType": "Organization", "id": "rs", "name": "RS"})
        service.update("Patient", "p1", {"resourceType": "Patient", "id": "p1", "name": [{"text": "Siti Aminah"}]})
        service.update("Claim", "c1", CLAIM)
    return runtime


def _line(runtime) -> dict:
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        return uow.worklist.get(None, "c1")


def test_a_claim_and_its_answer_written_in_one_transaction_read_the_patient_and_the_claim_once(claim, finds):
    with claim.store.unit_of_work(SYSTEM) as uow:  # the pipeline's grouping write
        server = claim.services.server(uow, "system:test")
        server.update("Claim", "c1", {**CLAIM, "extension": [PROCESSING]})
        finds.clear()
        server.update("ClaimResponse", "g1", GROUPING)
    assert ("Patient", "p1") not in finds and ("Claim", "c1") not in finds
    line = _line(claim)
    assert (line["patient_name"], line["tariff"], line["status"]) == ("Siti Aminah", 1500, "grouped")


def _line_writes(runtime, write) -> int:
    """How many statements `write()` sends that write a worklist line."""
    with statements_sent(runtime.database.engine) as sent:
        write()
    return sum("claim_worklist" in s and not s.lstrip().upper().startswith("SELECT") for s in sent)


def test_a_claim_and_its_answer_written_together_write_the_line_once_from_the_last(claim):
    def grouping(together: bool):
        def write():
            with claim.store.unit_of_work(SYSTEM) as uow:  # the pipeline's grouping write
                server = claim.services.server(uow, "system:test")
                created = f"2026-10-0{2 + together}"  # a change each time
                with server.writing_together() if together else contextlib.nullcontext():
                    server.update("Claim", "c1", {**CLAIM, "extension": [PROCESSING], "created": created})
                    server.update("ClaimResponse", "g1", {**GROUPING, "created": created})
        return write

    assert _line_writes(claim, grouping(False)) == 2  # one write after the other: a line each
    assert _line_writes(claim, grouping(True)) == 1
    line = _line(claim)
    assert (line["patient_name"], line["tariff"], line["status"]) == ("Siti Aminah", 1500, "grouped")


def test_a_transaction_bundle_writes_the_line_once_from_what_it_left(claim):
    """The Claim's entry comes before its Patient's: the line, written once every entry is, has the new name."""
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**CLAIM, "created": "2026-10-04"}, "request": {"method": "PUT", "url": "Claim/c1"}},
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"text": "Siti Rahayu"}]},
         "request": {"method": "PUT", "url": "Patient/p1"}}]}

    def write():
        with claim.store.unit_of_work(SYSTEM) as uow:
            transaction.process(claim.services.for_caller(uow, "test"), bundle, "http://localhost/fhir")

    assert _line_writes(claim, write) == 1
    assert _line(claim)["patient_name"] == "Siti Rahayu"


def test_a_change_in_the_transaction_is_what_the_next_line_reads(claim):
    with claim.store.unit_of_work(SYSTEM) as uow:
        client = claim.services.for_caller(uow, "test")
        client.update("Claim", "c1", {**CLAIM, "created": "2026-10-03"})  # the line read Patient/p1
        client.update("Patient", "p1", {"resourceType": "Patient", "id": "p1", "name": [{"text": "Siti Rahma"}]})
        claim.services.server(uow, "system:test").update("ClaimResponse", "g1", GROUPING)
    assert (_line(claim)["patient_name"], _line(claim)["tariff"]) == ("Siti Rahma", 1500)


def test_a_savepoint_rolled_back_forgets_what_the_transaction_remembered(claim):
    with claim.store.unit_of_work(SYSTEM) as uow:
        client = claim.services.for_caller(uow, "test")
        client.update("Claim", "c1", {**CLAIM, "created": "2026-10-03"})
        with pytest.raises(FhirError), uow.savepoint():  # a batch entry that changed the Patient, then failed
            client.update("Patient", "p1", {"resourceType": "Patient", "id": "p1", "name": [{"text": "Undone"}]})
            raise FhirError.of(422, "processing", "a later check of the entry refused it")
        claim.services.server(uow, "system:test").update("ClaimResponse", "g1", GROUPING)
    assert (_line(claim)["patient_name"], _line(claim)["tariff"]) == ("Siti Aminah", 1500)


def test_a_memo_lives_as_long_as_its_transaction_and_a_savepoint_that_holds_keeps_it(runtime):
    with runtime.store.unit_of_work(SYSTEM) as uow:
        uow.remembered("test")["seen"] = 1
        with uow.savepoint():
            pass
        assert uow.viewing(SYSTEM.within("rs-a")).remembered("test") == {"seen": 1}  # every view of it
    with runtime.store.unit_of_work(SYSTEM) as uow:
        assert uow.remembered("test") == {}
