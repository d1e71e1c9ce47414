"""The signed claim Bundle carries the medical record behind every billed code (issue 12, "Bundle klaim dan RME").

Each example case carries the record SATUSEHAT would hold for its encounter (examples/README.md): a Condition per
diagnosis and a Procedure per procedure, coded the SATUSEHAT way (ICD codes inline in the Claim, no
`diagnosisReference`), its documents, results and vital signs. The tests post a case as its hospital would, plus
things that must stay out (a code the Claim does not bill, an entered-in-error Condition, a discharge summary
Composition of the encounter that must come along). The Bundle is assembled from the real store through the
tenant's scope.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhirclaim.claims.assembly import ClaimAssembler
from fhirclaim.store.scope import Scope

from testkit import HOSPITAL, authorized

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = ("01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn")
ICD10, ICD9CM = "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-9-cm"
RECORD = ("Condition", "Procedure", "Observation", "DiagnosticReport", "DocumentReference")


def _transaction(name: str) -> dict:
    return json.loads((EXAMPLES / name / "transaction.json").read_text(encoding="utf-8"))


def _of(bundle: dict, resource_type: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def _ids(bundle: dict, resource_type: str) -> set[str]:
    return {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type}


def _extras(claim: dict, encounter: str, patient: str, prefix: str) -> list[dict]:
    """Beside the case's own record: two Conditions that must not travel (a code the Claim does not bill, one
    entered in error) and a discharge summary Composition of the encounter that must."""
    subject, context = {"reference": patient}, {"reference": encounter}
    return [
        {"resourceType": "Condition", "id": f"{prefix}-cond-unbilled", "subject": subject, "encounter": context,
         "code": {"coding": [{"system": ICD10, "code": "R51"}]}},
        {"resourceType": "Condition", "id": f"{prefix}-cond-error", "subject": subject, "encounter": context,
         "code": claim["diagnosis"][0]["diagnosisCodeableConcept"],
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                      "condition-ver-status", "code": "entered-in-error"}]}},
        {"resourceType": "Composition", "id": f"{prefix}-discharge-summary", "status": "final", "subject": subject,
         "encounter": context, "date": "2025-07-01T10:00:00+07:00", "title": "Ringkasan Pulang",
         "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
         "author": [{"reference": "Practitioner/dr-bima"}]},
    ]


def _without_record(transaction: dict) -> dict:
    """The case as a hospital that records nothing but the financing resources would send it."""
    bare = copy.deepcopy(transaction)
    bare["entry"] = [e for e in bare["entry"] if e["resource"]["resourceType"] not in ("Condition", "Procedure")]
    for entry in bare["entry"]:
        entry["resource"].pop("service", None)
    return bare


def _post_case(client, name: str, *, drop_invoice_info: bool = False) -> tuple[dict, list[dict]]:
    transaction = _transaction(name)
    claim = _of(transaction, "Claim")
    if drop_invoice_info:  # SATUSEHAT links the Invoice only through Invoice.account
        claim["supportingInfo"] = [s for s in claim["supportingInfo"]
                                   if s["category"]["coding"][0]["code"] != "invoice"]
    answer = client.post("", transaction)
    assert answer.status_code == 200, answer.get_json()
    encounter = f"Encounter/{_of(transaction, 'Encounter')['id']}"
    patient = f"Patient/{_of(transaction, 'Patient')['id']}"
    extras = _extras(claim, encounter, patient, name[:4])
    for resource in extras:
        assert client.put(f"/{resource['resourceType']}/{resource['id']}", resource).status_code == 201
    return transaction, extras


def _bundle_resources(runtime, claim_id: str) -> list[dict]:
    with runtime.store.unit_of_work(Scope(tenant=HOSPITAL, all_tenants=False), write=False) as uow:
        assembler = ClaimAssembler(uow.resources, runtime.settings.timezone)
        claim = uow.resources.find("Claim", claim_id).content
        return assembler.bundle_resources(assembler.context(claim), None)


def _keys(resources: list[dict], resource_type: str) -> set[str]:
    return {r["id"] for r in resources if r["resourceType"] == resource_type}


@pytest.mark.parametrize("name", CASES)
def test_each_case_carries_the_record_of_its_encounter(app, runtime, name):
    transaction, _ = _post_case(authorized(app), name)
    claim = _of(transaction, "Claim")

    resources = _bundle_resources(runtime, claim["id"])

    for resource_type in RECORD:  # the case's own record, and nothing the Claim does not bill
        assert _keys(resources, resource_type) == _ids(transaction, resource_type), resource_type
    assert len(_keys(resources, "Condition")) == len(claim["diagnosis"])
    assert _keys(resources, "Composition") == {f"{name[:4]}-discharge-summary"}
    assert _keys(resources, "Invoice") == {_of(transaction, "Invoice")["id"]}
    assert _keys(resources, "ChargeItem") == _ids(transaction, "ChargeItem")
    assert "OperationOutcome" not in {r["resourceType"] for r in resources}  # every billed code has its record


def test_the_invoice_is_found_through_the_account_when_no_supporting_info_names_it(app, runtime):
    transaction, _ = _post_case(authorized(app), CASES[0], drop_invoice_info=True)

    resources = _bundle_resources(runtime, _of(transaction, "Claim")["id"])

    assert _keys(resources, "Invoice") == {_of(transaction, "Invoice")["id"]}
    assert _keys(resources, "ChargeItem") == _ids(transaction, "ChargeItem")


def test_a_billed_code_without_a_record_is_named_in_the_bundle(app, runtime):
    client = authorized(app)
    transaction = _without_record(_transaction(CASES[1]))
    claim = _of(transaction, "Claim")
    assert client.post("", transaction).status_code == 200

    resources = _bundle_resources(runtime, claim["id"])

    [outcome] = [r for r in resources if r["resourceType"] == "OperationOutcome"]
    texts = [issue["details"]["text"] for issue in outcome["issue"]]
    encounter = f"Encounter/{_of(transaction, 'Encounter')['id']}"
    assert texts == [f"Claim.diagnosis[0] code S720 has no Condition recorded for {encounter}",
                     f"Claim.diagnosis[1] code W19 has no Condition recorded for {encounter}",
                     f"Claim.diagnosis[2] code I10 has no Condition recorded for {encounter}",
                     f"Claim.procedure[0] code 8151 has no Procedure recorded for {encounter}"]
    assert [issue["expression"] for issue in outcome["issue"]] == [
        ["Claim.diagnosis[0]"], ["Claim.diagnosis[1]"], ["Claim.diagnosis[2]"], ["Claim.procedure[0]"]]


def test_billed_drugs_bring_their_dispense_and_prescription(app, runtime):
    client = authorized(app)
    transaction, _ = _post_case(client, CASES[0])
    encounter = {"reference": f"Encounter/{_of(transaction, 'Encounter')['id']}"}
    patient = {"reference": f"Patient/{_of(transaction, 'Patient')['id']}"}
    drug = {"coding": [{"system": "http://sys-ids.kemkes.go.id/kfa", "code": "93001019"}]}
    writes = [
        {"resourceType": "MedicationRequest", "id": "ex1-rx", "status": "completed", "intent": "order",
         "subject": patient, "encounter": encounter, "medicationCodeableConcept": drug},
        {"resourceType": "MedicationRequest", "id": "ex1-rx-unbilled", "status": "completed", "intent": "order",
         "subject": patient, "encounter": encounter,
         "medicationCodeableConcept": {"coding": [{"system": "http://sys-ids.kemkes.go.id/kfa", "code": "1"}]}},
        {"resourceType": "MedicationDispense", "id": "ex1-dispense", "status": "completed", "subject": patient,
         "context": encounter, "medicationCodeableConcept": drug,
         "authorizingPrescription": [{"reference": "MedicationRequest/ex1-rx"}]},
    ]
    for resource in writes:
        assert client.put(f"/{resource['resourceType']}/{resource['id']}", resource).status_code == 201
    item = next(e["resource"] for e in transaction["entry"] if e["resource"]["resourceType"] == "ChargeItem")
    item = {**copy.deepcopy(item), "service": [{"reference": "MedicationDispense/ex1-dispense"}]}
    assert client.put(f"/ChargeItem/{item['id']}", item).status_code == 200

    resources = _bundle_resources(runtime, _of(transaction, "Claim")["id"])

    assert _keys(resources, "MedicationDispense") == {"ex1-dispense"}
    assert _keys(resources, "MedicationRequest") == {"ex1-rx"}


def test_server_bookkeeping_stays_out_of_the_signed_claim():
    from fhirclaim.claims.assembly import signed_content
    from fhirclaim.claims.server_fields import with_processing

    claim = {"resourceType": "Claim", "id": "c", "extension": [{"url": "https://x/keep", "valueString": "k"}]}

    assert signed_content(with_processing(claim, "signed")) == claim
    assert signed_content(with_processing({"resourceType": "Claim", "id": "c"}, "grouped")) == {
        "resourceType": "Claim", "id": "c"}


def test_money_beyond_what_a_signed_bundle_carries_is_refused_at_write_time(app):
    client = authorized(app)
    transaction = _transaction(CASES[0])
    assert client.post("", transaction).status_code == 200
    claim = copy.deepcopy(_of(transaction, "Claim"))
    claim["total"] = {"value": "MONEY", "currency": "IDR"}

    def put_total(total: str):
        return client.request("PUT", f"/Claim/{claim['id']}",
                              raw=json.dumps(claim).replace('"MONEY"', total).encode())

    refused = put_total("12345678.123456789")
    assert refused.status_code == 422
    [issue] = [i for i in refused.get_json()["issue"] if i["severity"] == "error"]
    assert issue["expression"] == ["Claim.total.value"]
    assert issue["details"]["text"].startswith("Claim.total.value = 12345678.123456789 has 17 significant digits")
    assert put_total("123456789012345").status_code == 200  # 15 digits: carried exactly


def test_the_record_is_searched_only_for_what_can_be_found_in_it():
    """Issue 17: the encounter's Procedures are searched only for a procedure line that names codes and no record,
    its orders and dispenses only when a ChargeItem bills a product; what is found is the same."""
    from fhirclaim.claims.claim_context import ClaimContext
    from fhirclaim.claims.evidence import MedicalRecord

    encounter = {"resourceType": "Encounter", "id": "e1"}
    condition = {"resourceType": "Condition", "id": "c1", "code": {"coding": [{"system": ICD10, "code": "I10"}]}}
    order = {"resourceType": "MedicationRequest", "id": "rx1", "medicationCodeableConcept": {"coding": [
        {"system": "http://sys-ids.kemkes.go.id/kfa", "code": "93001019"}]}}
    stored = {"Condition": [condition], "Procedure": [], "MedicationRequest": [order], "MedicationDispense": []}
    searched: list[str] = []

    def search(resource_type: str, parameters: list[tuple[str, str]]) -> list[dict]:
        searched.append(resource_type)
        return stored.get(resource_type, [])

    def evidence(claim: dict, charge_items: list[dict]):
        searched.clear()
        ctx = ClaimContext(claim=claim, patient=None, encounter=encounter, coverage=None, practitioners={})
        return MedicalRecord(lambda reference: None, search).evidence(ctx, charge_items)

    diagnosis = [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "I10"}]}}]
    found = evidence({"resourceType": "Claim", "id": "x", "diagnosis": diagnosis}, [{"resourceType": "ChargeItem"}])
    assert searched == ["Condition", "Composition", "DocumentReference"]
    assert (found.conditions, found.procedures, found.medications, found.gaps) == ([condition], [], [], [])

    procedure = [{"sequence": 1, "procedureCodeableConcept": {"coding": [{"system": ICD9CM, "code": "8151"}]}}]
    billed = [{"resourceType": "ChargeItem", "productCodeableConcept": order["medicationCodeableConcept"]}]
    found = evidence({"resourceType": "Claim", "id": "x", "diagnosis": diagnosis, "procedure": procedure}, billed)
    assert searched == ["Condition", "Procedure", "Composition", "DocumentReference", "MedicationRequest",
                        "MedicationDispense"]
    assert (found.medications, [gap.codes for gap in found.gaps]) == ([order], [("8151",)])
