"""The rules on BPJS-K's answers and the hospital's decisions, on the server's FHIR service (every interceptor and
listener of the runtime) in each writer's tenant: what may answer what, in which order, and once."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from bpjs_kit import (
    BATAL,
    HOSPITAL,
    OTHER_HOSPITAL,
    claim_of,
    decision,
    example,
    hospital_update,
    hospital_write,
    publish,
    reference_answer,
    verification_answer,
    write,
)

from fhirclaim.claims.pipeline import derived_id
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import SYSTEM

OUTPATIENT = "01-outpatient-visit"


@pytest.fixture
def claim(rules):
    """A published claim of the hospital (its signed Bundle is out)."""
    case = example(OUTPATIENT)
    publish(rules, case)
    return claim_of(case)


def as_bpjs(runtime, resource, tenant=HOSPITAL):
    """BPJS-K's write, placed in the hospital's tenant as the server places BPJS-K's answers."""
    return hospital_write(runtime, resource, tenant, author="bpjs:test")


def as_bpjs_update(runtime, resource, tenant=HOSPITAL):
    return hospital_update(runtime, resource, tenant, author="bpjs:test")


def refused(call, *args, **kwargs) -> FhirError:
    with pytest.raises(FhirError) as raised:
        call(*args, **kwargs)
    return raised.value


def issue(error: FhirError) -> tuple[int, str, tuple[str, ...]]:
    assert len(error.issues) == 1, error.issues
    return error.status, error.issues[0].code, error.issues[0].expression


@pytest.fixture
def purification(rules, claim):
    return as_bpjs(rules, reference_answer("purifikasi", claim))


# --- purification ---------------------------------------------------------------------------------------------------

def test_a_purification_of_a_published_claim_is_stored_in_the_hospitals_tenant(purification, claim):
    assert (purification.tenant, purification.version_id) == (HOSPITAL, 1)
    assert purification.content["request"] == {"reference": f"Claim/{claim['id']}"}


def test_no_purification_before_the_bundle_is_published(rules):
    case = example(OUTPATIENT)
    write(rules, case)
    error = refused(as_bpjs, rules, reference_answer("purifikasi", claim_of(case)))
    assert issue(error) == (409, "conflict", ("ClaimResponse.request",))
    assert "has no signed claim Bundle yet" in error.issues[0].text
    PipelineWorker(rules.pipeline).run_until_idle()
    assert as_bpjs(rules, reference_answer("purifikasi", claim_of(case))).version_id == 1


def test_a_claim_stopped_by_the_precheck_is_never_purified(rules):
    case = example("05-precheck-rejected")
    publish(rules, case)
    assert issue(refused(as_bpjs, rules, reference_answer("purifikasi", claim_of(case))))[:2] == (409, "conflict")


def test_an_unknown_or_invisible_claim_is_not_found(rules, claim):
    answer = reference_answer("purifikasi", {**claim, "id": "no-such-claim"})
    assert issue(refused(as_bpjs, rules, answer)) == (422, "not-found", ("ClaimResponse.request",))
    # another hospital's writer does not see this hospital's claim at all
    other = refused(as_bpjs, rules, reference_answer("purifikasi", claim), OTHER_HOSPITAL)
    assert issue(other) == (422, "not-found", ("ClaimResponse.request",))


def test_another_servers_claim_is_not_answered_even_when_its_id_names_a_published_one(rules, claim):
    """An absolute URL names a resource of the server at that base; only its own base would mean this server."""
    answer = reference_answer("purifikasi", claim)
    answer["request"] = {"reference": f"http://other-server.example/fhir/Claim/{claim['id']}"}
    error = refused(as_bpjs, rules, answer)
    assert issue(error)[:2] == (422, "required")
    assert "must reference the Claim it answers" in error.issues[0].text


def test_a_purification_with_money_or_without_status_is_refused(rules, claim):
    answer = reference_answer("purifikasi", claim)
    answer["payment"] = verification_answer(rules, claim)["payment"]
    assert issue(refused(as_bpjs, rules, answer)) == (422, "business-rule", ("ClaimResponse.payment",))
    answer = reference_answer("purifikasi", claim)
    del answer["adjudication"]
    assert issue(refused(as_bpjs, rules, answer)) == (422, "required", ("ClaimResponse.adjudication",))


def test_other_claim_responses_are_not_bpjs_answers(rules, claim):
    plain = reference_answer("purifikasi", claim)
    del plain["subType"], plain["adjudication"]
    plain["identifier"] = [{"system": "urn:hospital:cr", "value": "1"}]
    plain["request"] = {"reference": "Claim/no-such-claim-either"}
    error = refused(as_bpjs, rules, plain)
    assert issue(error) == (422, "not-found", ("ClaimResponse.request.reference",))  # the generic reference check


# --- decisions ------------------------------------------------------------------------------------------------------

def test_the_hospital_decides_on_its_purification(rules, purification):
    stored = hospital_write(rules, decision(purification.id))
    assert (stored.tenant, stored.version_id, stored.content["status"]["coding"][0]["code"]) == (
        HOSPITAL, 1, "TK000049")


def test_an_unknown_decision_status_is_refused(rules, purification):
    body = decision(purification.id, status={"system": "http://terminology.kemkes.go.id", "code": "TK000050"})
    error = refused(hospital_write, rules, body)
    assert issue(error) == (422, "code-invalid", ("PurificationDecision.status",))
    assert "TK000049 'Lanjut'" in error.issues[0].text and "batal" in error.issues[0].text


def test_only_a_purification_can_be_decided_on(rules, claim, purification):
    grouping = derived_id("grouping", claim["id"])
    error = refused(hospital_write, rules, decision(grouping))
    assert issue(error) == (422, "business-rule", ("PurificationDecision.claimResponse",))
    assert f"ClaimResponse/{grouping} is not a BPJS-K purification" in error.issues[0].text
    hospital_write(rules, decision(purification.id))
    verification = as_bpjs(rules, verification_answer(rules, claim))
    error = refused(hospital_write, rules, decision(verification.id))
    assert f"ClaimResponse/{verification.id} is a verifikasi" in error.issues[0].text


def test_another_hospitals_purification_reads_as_not_found(rules, purification):
    error = refused(hospital_write, rules, decision(purification.id, provider={"reference": "Organization/x"}),
                    OTHER_HOSPITAL)
    missing = refused(hospital_write, rules, decision("no-such-response"), OTHER_HOSPITAL)
    assert issue(error) == issue(missing) == (422, "not-found", ("PurificationDecision.claimResponse",))
    assert error.issues[0].text == missing.issues[0].text.replace("no-such-response", purification.id)


def test_the_system_cannot_file_a_decision_outside_the_hospital(rules, purification):
    with rules.store.unit_of_work(SYSTEM) as uow:
        error = refused(rules.fhir_service(uow, author="admin:test").create, decision(purification.id))
    assert issue(error) == (422, "not-found", ("PurificationDecision.claimResponse",))


def test_provider_and_insurer_are_the_claims(rules, purification):
    body = decision(purification.id, provider={"reference": f"Organization/{OTHER_HOSPITAL}"},
                    insurer={"reference": "Organization/999"})
    error = refused(hospital_write, rules, body)
    assert error.status == 422
    assert [(i.code, i.expression) for i in error.issues] == [
        ("business-rule", ("PurificationDecision.provider",)), ("business-rule", ("PurificationDecision.insurer",))]


def test_one_live_decision_per_purification(rules, purification):
    first = hospital_write(rules, decision(purification.id))
    error = refused(hospital_write, rules, decision(purification.id, status=BATAL))
    assert issue(error) == (409, "duplicate", ("PurificationDecision.claimResponse",))
    assert f"PurificationDecision/{first.id}" in error.issues[0].text
    changed = hospital_update(rules, {**first.content, "status": {"coding": [BATAL]}})
    assert changed.version_id == 2
    with rules.store.unit_of_work(SYSTEM) as uow:
        rules.fhir_service(uow, author="facility:test").delete("PurificationDecision", first.id)
    assert hospital_write(rules, decision(purification.id)).version_id == 1  # the deleted one is not live


# --- verification ---------------------------------------------------------------------------------------------------

def test_no_verification_before_a_purification(rules, claim):
    error = refused(as_bpjs, rules, verification_answer(rules, claim))
    assert issue(error) == (409, "conflict", ("ClaimResponse.request",))
    assert "has no purification yet" in error.issues[0].text


def test_no_verification_before_the_hospitals_decision(rules, claim, purification, clock):
    error = refused(as_bpjs, rules, verification_answer(rules, claim))
    assert issue(error) == (409, "conflict", ("ClaimResponse.request",))
    assert f"has not yet answered ClaimResponse/{purification.id}" in error.issues[0].text
    hospital_write(rules, decision(purification.id))
    verification = as_bpjs(rules, verification_answer(rules, claim))
    assert (verification.tenant, verification.content["payment"]["amount"]["value"]) == (HOSPITAL, 325_400)


def test_batal_means_no_verification(rules, claim, purification):
    hospital_write(rules, decision(purification.id, status=BATAL))
    error = refused(as_bpjs, rules, verification_answer(rules, claim))
    assert issue(error) == (409, "conflict", ("ClaimResponse.request",))
    assert "decided 'Batal'" in error.issues[0].text


def test_without_a_decision_verification_waits_for_the_decision_period(rules, claim, purification, clock):
    # The period runs from the purification's lastUpdated, which the store stamps with the real time: the clock is
    # set from that stamp, not moved on from its own start (publishing the claim before takes a while under load).
    stamped = purification.last_updated.replace(tzinfo=timezone.utc)
    clock.now = stamped + timedelta(hours=71, minutes=59, seconds=59)
    assert issue(refused(as_bpjs, rules, verification_answer(rules, claim)))[:2] == (409, "conflict")
    clock.now = stamped + timedelta(hours=72, seconds=1)
    assert as_bpjs(rules, verification_answer(rules, claim)).version_id == 1


def test_the_latest_purification_decides_the_order(rules, claim, purification):
    hospital_write(rules, decision(purification.id))
    as_bpjs_update(rules, {**purification.content, "status": "entered-in-error"})  # withdrawn, then purified anew
    again = reference_answer("purifikasi", claim, created="2026-10-25T09:00:00+07:00")
    newer = as_bpjs(rules, again)
    error = refused(as_bpjs, rules, verification_answer(rules, claim))
    assert f"has not yet answered ClaimResponse/{newer.id}" in error.issues[0].text


def test_a_verification_must_state_totals_and_payment(rules, claim, purification):
    hospital_write(rules, decision(purification.id))
    answer = verification_answer(rules, claim)
    del answer["payment"]
    answer["total"] = answer["total"][:1]
    error = refused(as_bpjs, rules, answer)
    assert error.status == 422
    assert sorted((i.code, i.expression[0]) for i in error.issues) == [
        ("required", "ClaimResponse.payment"), ("required", "ClaimResponse.total")]
