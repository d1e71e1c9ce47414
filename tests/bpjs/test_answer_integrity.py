"""The integrity of BPJS-K's answers (issue 14 part 3) on the server's FHIR service, each writer in its own role:
one live answer of each kind per claim Bundle version, parties that match the Claim, a benefit within the INA-CBG
total, answers frozen once the other party acted, never deleted then (withdrawal is a status change)."""

from __future__ import annotations

import copy

import pytest
from bpjs_kit import (
    BATAL,
    HOSPITAL,
    claim_of,
    decision,
    example,
    hospital_update,
    hospital_write,
    publish,
    reference_answer,
    stored,
    verification_answer,
)
from test_answer_rules import as_bpjs, as_bpjs_update, issue, refused

from fhirclaim.store.scope import tenant_scope

OUTPATIENT = "01-outpatient-visit"  # INA-CBG Q-5-42-0, Rp 325,400
BATCH = {"system": "http://sys-ids.kemkes.go.id/claim-batch-number/100025555", "value": "B2026100001"}


@pytest.fixture
def claim(rules):
    case = example(OUTPATIENT)
    claim_of(case)["identifier"].insert(0, dict(BATCH))  # E-Klaim's batch number, as SATUSEHAT carries it
    publish(rules, case)
    return claim_of(case)


@pytest.fixture
def purification(rules, claim):
    return as_bpjs(rules, reference_answer("purifikasi", claim))


@pytest.fixture
def verification(rules, claim, purification):
    hospital_write(rules, decision(purification.id))
    return as_bpjs(rules, verification_answer(rules, claim))


def delete(runtime, resource_type, resource_id, *, author="bpjs:test"):
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:
        return runtime.fhir_service(uow, author=author).delete(resource_type, resource_id)


# --- one live answer per Bundle version ------------------------------------------------------------------------------

def test_a_second_purification_of_the_same_version_is_refused_and_the_first_is_updated(rules, claim, purification):
    error = refused(as_bpjs, rules, reference_answer("purifikasi", claim))
    assert issue(error) == (409, "duplicate", ("ClaimResponse",))
    assert f"already has a purifikasi: ClaimResponse/{purification.id}" in error.issues[0].text
    corrected = as_bpjs_update(rules, {**purification.content, "disposition": "Lolos purifikasi (koreksi)"})
    assert (corrected.id, corrected.version_id) == (purification.id, 2)


def test_a_second_verification_is_refused(rules, claim, verification):
    assert issue(refused(as_bpjs, rules, verification_answer(rules, claim)))[:2] == (409, "duplicate")
    assert verification.content["payment"]["amount"]["value"] == 325_400


def test_an_update_keeps_the_kind_of_an_answer(rules, claim, purification):
    answer = verification_answer(rules, claim)
    answer["id"] = purification.id
    assert issue(refused(as_bpjs_update, rules, answer)) == (422, "business-rule", ("ClaimResponse.subType",))


# --- the parties and the amounts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("element,value", [("patient", {"reference": "Patient/ex2-patient"}),
                                           ("insurer", {"reference": "Organization/10000004"})])
def test_an_answer_names_the_claims_patient_and_insurer(rules, claim, element, value):
    answer = {**reference_answer("purifikasi", claim), element: value}
    error = refused(as_bpjs, rules, answer)
    assert issue(error) == (422, "business-rule", (f"ClaimResponse.{element}",))


def test_an_answer_carries_the_claims_batch_number(rules, claim):
    answer = reference_answer("purifikasi", claim, batch="B2026109999")
    assert issue(refused(as_bpjs, rules, answer)) == (422, "business-rule", ("ClaimResponse.identifier",))
    assert as_bpjs(rules, reference_answer("purifikasi", claim, batch=BATCH["value"])).version_id == 1


@pytest.mark.parametrize("where", ["ClaimResponse.total", "ClaimResponse.payment.amount"])
def test_the_benefit_never_exceeds_the_inacbg_total(rules, claim, purification, where):
    hospital_write(rules, decision(purification.id))
    answer = verification_answer(rules, claim)
    if where == "ClaimResponse.total":
        answer["total"][1]["amount"]["value"] = 9_999_999
    else:
        answer["payment"]["amount"]["value"] = 325_401
    error = refused(as_bpjs, rules, answer)
    assert issue(error) == (422, "business-rule", (where,))
    assert "exceeds the INA-CBG total of the published claim, Rp 325,400" in error.issues[0].text


def test_a_correction_of_the_verification_is_held_to_the_cap_too(rules, claim, verification):
    answer = copy.deepcopy(verification.content)
    answer["total"][1]["amount"]["value"] = 9_999_999
    assert issue(refused(as_bpjs_update, rules, answer))[:2] == (422, "business-rule")


# --- frozen once the other party acted ------------------------------------------------------------------------------

def test_a_decided_purification_is_frozen_but_may_be_withdrawn(rules, purification):
    hospital_write(rules, decision(purification.id))
    changed = {**purification.content, "disposition": "Tidak Lolos Purifikasi"}
    error = refused(as_bpjs_update, rules, changed)
    assert issue(error) == (409, "conflict", ("ClaimResponse",)) and "frozen" in error.issues[0].text
    withdrawn = as_bpjs_update(rules, {**purification.content, "status": "entered-in-error"})
    assert (withdrawn.version_id, withdrawn.content["status"]) == (2, "entered-in-error")


def test_after_verification_the_decision_is_frozen(rules, purification, verification):
    [decided] = [d for d in _decisions(rules, purification.id)]
    error = refused(hospital_update, rules, {**decided.content, "status": {"coding": [BATAL]}})
    assert issue(error) == (409, "conflict", ("PurificationDecision.claimResponse",))
    assert f"ClaimResponse/{verification.id} verified the claim" in error.issues[0].text


# --- never deleted once acted on --------------------------------------------------------------------------------------

def test_an_undecided_purification_may_be_deleted(rules, purification):
    assert delete(rules, "ClaimResponse", purification.id).deleted


def test_a_decided_purification_is_not_deleted(rules, purification):
    hospital_write(rules, decision(purification.id))
    error = refused(delete, rules, "ClaimResponse", purification.id)
    assert (error.status, error.issues[0].code) == (409, "conflict")  # the decision refers to it, too
    assert not stored(rules, "ClaimResponse", purification.id).deleted


def test_a_verification_is_not_deleted_nor_the_decision_before_it(rules, purification, verification):
    error = refused(delete, rules, "ClaimResponse", verification.id)
    assert error.status == 409 and "withdraw it with a status change" in error.issues[0].text
    assert not stored(rules, "ClaimResponse", verification.id).deleted
    [decided] = _decisions(rules, purification.id)
    assert refused(delete, rules, "PurificationDecision", decided.id, author="facility:test").status == 409
    withdrawn = as_bpjs_update(rules, {**verification.content, "status": "cancelled"})
    assert withdrawn.content["status"] == "cancelled"


def _decisions(runtime, purification_id):
    from fhirclaim.bpjs import lookups

    with runtime.store.unit_of_work(tenant_scope(HOSPITAL), write=False) as uow:
        return lookups.decisions(uow.resources, purification_id)
