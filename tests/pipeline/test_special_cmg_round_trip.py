"""The special CMG round trip (architecture §4 step 4): options offered and none chosen → a `partial` ClaimResponse
listing them and a waiting job; the SIMRS names its choice in supportingInfo `special-cmg` and updates the Claim
→ grouper stage 2, the special CMG tariffs as additionalPackage, final, signed."""

from __future__ import annotations

from pipeline_kit import (
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
    special_cmg_choice,
    steps_of,
    totals,
    without,
)

from fhirclaim.signing import verify_bundle

HIP = "02-hip-replacement-special-cmg"
OFFERED = ["RR04Hip", "RR04Knee", "YY01"]
OPTION_URL = "https://fhirclaim.org/fhir/StructureDefinition/special-cmg-option"


def _hip_without_choice(runtime):
    case = load_case(HIP)
    bundle = case.transaction
    bundle["entry"][-1]["resource"] = without(bundle["entry"][-1]["resource"], "special-cmg")
    post_transaction(runtime, bundle)
    return case


def test_options_offered_and_none_chosen_wait_for_the_hospital(runtime, ledger):
    case = _hip_without_choice(runtime)
    [job] = run_jobs(runtime)

    [row] = jobs_of(runtime, case.claim_id)
    assert (row.status, steps_of(runtime, job.id)) == ("waiting", ["precheck", "new_claim", "set_claim_data",
                                                                   "grouper"])
    response = grouping_response(runtime, case.claim_id)
    assert response["outcome"] == "partial"
    offered = [e["valueCoding"]["code"] for e in response["extension"] if e["url"] == OPTION_URL]
    assert offered == OFFERED
    assert any("special-cmg" in note["text"] and "RR04Knee" in note["text"] for note in response["processNote"])
    assert totals(response)["benefit"] == 31_404_200  # stage 1: the CBG alone
    claim = read(runtime, "Claim", case.claim_id)
    assert processing(claim) == "awaiting-special-cmg"
    assert package(claim) == {"tariffClass": "BP", "base": ("M-1-04-I", 31_404_200), "additional": []}
    [held] = ledger.claims(case.sep)
    assert (held.klaim_status_cd, held.grouping_stage) == ("normal", 1)
    assert signed_bundle(runtime, case.claim_id) is None


def test_the_hospitals_choice_runs_stage_2_and_finishes_the_claim(runtime, ledger):
    case = _hip_without_choice(runtime)
    run_jobs(runtime)

    put(runtime, special_cmg_choice(read(runtime, "Claim", case.claim_id), "RR04Hip#YY01"))
    [job] = run_jobs(runtime)

    assert (jobs_of(runtime, case.claim_id)[-1].status, steps_of(runtime, job.id)) == ("done", SUBMIT_STEPS)
    [held] = ledger.claims(case.sep)
    assert (held.grouping_stage, held.special_cmg, held.klaim_status_cd) == (2, "RR04Hip#YY01", "final")
    claim = read(runtime, "Claim", case.claim_id)
    assert package(claim) == {"tariffClass": "BP", "base": ("M-1-04-I", 31_404_200),
                              "additional": [("RR-04-III-Hip", 18_000_000), ("YY-01-II", 13_099_000)]}
    assert processing(claim) == "signed"
    response = grouping_response(runtime, case.claim_id)
    assert (response["outcome"], totals(response)["benefit"]) == ("complete", 62_503_200)
    assert "extension" not in response  # no options left to choose
    assert verify_bundle(signed_bundle(runtime, case.claim_id), trust=runtime.signing.trust_policy()).valid
    assert ledger.events(case.sep).count("new_claim") == 1


def test_a_choice_that_was_not_offered_keeps_the_claim_waiting(runtime, ledger):
    case = _hip_without_choice(runtime)
    run_jobs(runtime)

    put(runtime, special_cmg_choice(read(runtime, "Claim", case.claim_id), "DD01"))
    run_jobs(runtime)

    assert jobs_of(runtime, case.claim_id)[-1].status == "waiting"
    response = grouping_response(runtime, case.claim_id)
    assert response["outcome"] == "partial"
    assert ("warning: Special CMG DD01 named in supportingInfo special-cmg is not among the options E-Klaim offered "
            "(RR04Hip, RR04Knee, YY01) and was not applied [Claim.supportingInfo]") in [
        note["text"] for note in response["processNote"]]
    assert ledger.claims(case.sep)[0].grouping_stage == 1
    assert signed_bundle(runtime, case.claim_id) is None


def test_a_choice_partly_offered_applies_what_was_offered_and_says_what_was_not(runtime, ledger):
    case = _hip_without_choice(runtime)
    run_jobs(runtime)

    put(runtime, special_cmg_choice(read(runtime, "Claim", case.claim_id), "RR04Hip#DD01"))
    run_jobs(runtime)

    assert jobs_of(runtime, case.claim_id)[-1].status == "done"
    assert package(read(runtime, "Claim", case.claim_id))["additional"] == [("RR-04-III-Hip", 18_000_000)]
    response = grouping_response(runtime, case.claim_id)
    assert response["outcome"] == "complete"
    assert [n["text"] for n in response["processNote"] if "DD01" in n["text"]] == [
        "warning: Special CMG DD01 named in supportingInfo special-cmg is not among the options E-Klaim offered "
        "(RR04Hip, RR04Knee, YY01) and was not applied [Claim.supportingInfo]"]
    assert ledger.claims(case.sep)[0].special_cmg == "RR04Hip"
