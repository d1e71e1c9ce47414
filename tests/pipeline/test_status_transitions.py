"""Claim.status and client updates drive the pipeline (architecture §4): draft previews, active finalises and signs, an
update of a final claim re-edits and signs a new Bundle version, cancelled withdraws; the server's own writes never
re-trigger it, an unchanged resend does nothing, and the server's fields stay the server's."""

from __future__ import annotations

import copy

import pytest
from pipeline_kit import (
    SIMRS,
    SUBMIT_STEPS,
    grouping_response,
    jobs_of,
    load_case,
    package,
    post_transaction,
    processing,
    put,
    read,
    run_jobs,
    signed_bundle,
    steps_of,
    verify_independently,
    versions,
    with_principal_diagnosis,
    with_status,
)

from fhirclaim.claims.assembly import signed_content
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR, derived_id
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.signing import verify_bundle

OUTPATIENT = "01-outpatient-visit"
PREVIEW_STEPS = ["precheck", "new_claim", "set_claim_data", "grouper"]
PACKAGE_URL = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"


def _posted(runtime, status: str = "active"):
    case = load_case(OUTPATIENT)
    bundle = case.transaction
    bundle["entry"][-1]["resource"]["status"] = status
    post_transaction(runtime, bundle)
    return case


def _eklaim_record(runtime, sep):
    return runtime.tenant_policy.eklaim_gateway(None).client.get_claim_data(sep)


def test_a_draft_is_grouped_as_a_preview_only(runtime, ledger):
    case = _posted(runtime, "draft")
    [job] = run_jobs(runtime)

    assert (jobs_of(runtime, case.claim_id)[0].status, steps_of(runtime, job.id)) == ("done", PREVIEW_STEPS)
    claim = read(runtime, "Claim", case.claim_id)
    assert (claim["status"], processing(claim)) == ("draft", "grouped")
    assert package(claim)["base"] == ("Q-5-42-0", 325_400)
    assert grouping_response(runtime, case.claim_id)["outcome"] == "complete"
    assert _eklaim_record(runtime, case.sep).klaim_status_cd == "normal"  # grouped, never final
    assert "claim_final" not in ledger.events(case.sep)
    assert signed_bundle(runtime, case.claim_id) is None


def test_a_draft_made_active_is_finalised_and_signed(runtime, ledger):
    case = _posted(runtime, "draft")
    run_jobs(runtime)

    put(runtime, with_status(read(runtime, "Claim", case.claim_id), "active"))
    [job] = run_jobs(runtime)

    assert steps_of(runtime, job.id) == SUBMIT_STEPS
    claim = read(runtime, "Claim", case.claim_id)
    assert (claim["status"], processing(claim)) == ("active", "signed")
    record = _eklaim_record(runtime, case.sep)
    assert (record.is_final, record.kemenkes_dc_status_cd) == (True, "sent")
    assert ledger.events(case.sep).count("new_claim") == 1
    assert verify_bundle(signed_bundle(runtime, case.claim_id), trust=runtime.signing.trust_policy()).valid


def test_an_update_of_a_final_claim_regroups_and_signs_a_new_bundle_version(runtime, ledger):
    case = _posted(runtime)
    run_jobs(runtime)
    first_bundle = signed_bundle(runtime, case.claim_id)
    assert package(read(runtime, "Claim", case.claim_id))["base"] == ("Q-5-42-0", 325_400)

    put(runtime, with_principal_diagnosis(read(runtime, "Claim", case.claim_id), "J06.9",
                                          "Acute upper respiratory infection, unspecified"))
    [job] = run_jobs(runtime)

    assert steps_of(runtime, job.id) == SUBMIT_STEPS
    claim = read(runtime, "Claim", case.claim_id)
    assert processing(claim) == "signed"
    record = _eklaim_record(runtime, case.sep)
    assert (record.data["diagnosa"], record.is_final) == ("J06.9", True)
    assert package(claim)["base"] == (record.grouping.cbg.code, record.grouping.cbg.tariff)
    events = ledger.events(case.sep)
    assert events[events.index("reedit_claim"):] == ["reedit_claim", "set_claim_data", "grouper", "claim_final",
                                                     "send_claim_individual"]
    bundle_versions = versions(runtime, "Bundle", derived_id("bundle", case.claim_id))
    assert [v.version_id for v in bundle_versions] == [1, 2]
    old, new = (v.content for v in bundle_versions)
    assert old == first_bundle
    assert new["entry"][0]["resource"] == signed_content(claim)
    assert new["entry"][0]["resource"]["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "J06.9"
    for signed in (old, new):  # each version stands on its own signature
        assert verify_bundle(signed, trust=runtime.signing.trust_policy()).valid
        verify_independently(signed)
    assert old["signature"]["data"] != new["signature"]["data"]


def test_a_cancelled_claim_is_withdrawn_from_e_klaim(runtime, ledger):
    case = _posted(runtime)
    run_jobs(runtime)

    put(runtime, with_status(read(runtime, "Claim", case.claim_id), "cancelled"))
    [job] = run_jobs(runtime)

    assert (job.kind, steps_of(runtime, job.id)) == ("cancel", ["withdraw", "withdrawn"])
    [held] = ledger.claims(case.sep)
    assert held.deleted_at is not None
    assert ledger.events(case.sep)[-2:] == ["reedit_claim", "delete_claim"]  # final: re-edited, then deleted
    assert grouping_response(runtime, case.claim_id)["status"] == "cancelled"
    claim = read(runtime, "Claim", case.claim_id)
    assert (claim["status"], processing(claim)) == ("cancelled", "withdrawn")


def test_a_cancelled_draft_is_deleted_without_re_editing(runtime, ledger):
    case = _posted(runtime, "draft")
    run_jobs(runtime)

    put(runtime, with_status(read(runtime, "Claim", case.claim_id), "entered-in-error"))
    run_jobs(runtime)

    assert ledger.events(case.sep)[-2:] == ["grouper", "delete_claim"]
    assert ledger.claims(case.sep)[0].deleted_at is not None


def test_the_pipelines_own_writes_never_trigger_it_and_history_names_the_writer(runtime):
    case = _posted(runtime)
    run_jobs(runtime)

    assert len(jobs_of(runtime, case.claim_id)) == 1
    assert [(v.version_id, v.author) for v in versions(runtime, "Claim", case.claim_id)] == [
        (1, SIMRS), (2, PIPELINE_AUTHOR), (3, PIPELINE_AUTHOR)]


@pytest.mark.parametrize("resend", ["as first sent", "as read back"])
def test_an_unchanged_resend_starts_nothing(runtime, resend):
    case = _posted(runtime)
    run_jobs(runtime)
    current = read(runtime, "Claim", case.claim_id)

    body = case.claim if resend == "as first sent" else copy.deepcopy(current)
    stored = put(runtime, body)

    assert stored.version_id == int(current["meta"]["versionId"])  # no new version at all
    assert read(runtime, "Claim", case.claim_id) == current  # the server's Package and state kept
    assert len(jobs_of(runtime, case.claim_id)) == 1
    assert run_jobs(runtime) == []


def test_a_client_update_based_on_a_version_older_than_the_servers_write_is_refused(runtime):
    case = _posted(runtime)
    run_jobs(runtime)
    current = read(runtime, "Claim", case.claim_id)
    assert current["meta"]["versionId"] == "3"

    with pytest.raises(FhirError) as refused:
        put(runtime, with_principal_diagnosis(current, "J06.9", "URTI"), if_match=1)

    assert refused.value.status == 412
    assert "read it again" in str(refused.value)
    assert read(runtime, "Claim", case.claim_id) == current
    assert len(jobs_of(runtime, case.claim_id)) == 1
    accepted = put(runtime, with_principal_diagnosis(current, "J06.9", "URTI"), if_match=3)
    assert accepted.version_id == 4 and len(jobs_of(runtime, case.claim_id)) == 2


def _forged_package(claim: dict) -> dict:
    forged = copy.deepcopy(claim)
    forged.pop("meta", None)
    forged["extension"] = [e for e in forged.get("extension", []) if e["url"] != PACKAGE_URL] + [{
        "url": PACKAGE_URL,
        "extension": [{"url": "tariffClass", "valueCodeableConcept": {"coding": [
            {"system": "http://terminology.kemkes.go.id/CodeSystem/tariffClass", "code": "AP"}]}},
                      {"url": "basePackage", "extension": [
            {"url": "code", "valueCodeableConcept": {"coding": [{"code": "A-4-10-III"}]}},
            {"url": "value", "valueInteger": 99_000_000}]}]}]
    return forged


def test_a_package_sent_by_the_client_is_not_kept(runtime):
    case = _posted(runtime)
    run_jobs(runtime)
    current = read(runtime, "Claim", case.claim_id)

    # nothing else changed: the resend is a no-op, the server's Package stays
    assert put(runtime, _forged_package(current)).version_id == 3
    assert package(read(runtime, "Claim", case.claim_id))["base"] == ("Q-5-42-0", 325_400)

    # a real change with a forged Package: stored without any server field, until the pipeline groups it again
    changed = _forged_package(with_principal_diagnosis(current, "J06.9", "URTI"))
    stored = put(runtime, changed)
    assert [e["url"] for e in stored.content.get("extension", [])] == []
    run_jobs(runtime)
    claim = read(runtime, "Claim", case.claim_id)
    record = _eklaim_record(runtime, case.sep)
    assert package(claim)["base"] == (record.grouping.cbg.code, record.grouping.cbg.tariff)
    assert package(claim)["base"] != ("A-4-10-III", 99_000_000)
    assert processing(claim) == "signed"
