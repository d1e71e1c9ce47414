"""Issue 4 "done when": from an empty server, a whole case posted as the SIMRS would yields a grouped, final Claim
with the Package extension, a grouping ClaimResponse, E-Klaim's own claim final and sent, and a signed Bundle that
an independent JWS implementation verifies — on the embedded E-Klaim and on an E-Klaim reached over HTTP."""

from __future__ import annotations

import pytest
from pipeline_kit import (
    CODER_NAME,
    CODER_NIK,
    GROUPED,
    REJECTED,
    SIMRS,
    SUBMIT_STEPS,
    grouping_response,
    jobs_of,
    load_case,
    package,
    post_transaction,
    processing,
    read,
    run_jobs,
    signed_bundle,
    steps_of,
    totals,
    verify_independently,
    versions,
)
from sqlalchemy import delete

from fhirclaim.claims.assembly import signed_content
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR
from fhirclaim.eklaim.emulator.models import Personnel
from fhirclaim.signing import verify_bundle
from fhirclaim.store.scope import SYSTEM

# What the INA-CBG grouper makes of each case with the hospital's default tariff class (BP): CBG and its tariff,
# the special CMGs chosen (stage 2), and the ClaimResponse totals (tarif_rs submitted, INA-CBG benefit).
EXPECTED = {
    "01-outpatient-visit": {"base": ("Q-5-42-0", 325_400), "additional": [], "submitted": 285_000,
                            "benefit": 325_400, "charge_items": 4},
    "02-hip-replacement-special-cmg": {"base": ("M-1-04-I", 31_404_200),
                                       "additional": [("RR-04-III-Hip", 18_000_000), ("YY-01-II", 13_099_000)],
                                       "submitted": 42_830_000, "benefit": 62_503_200, "charge_items": 6},
    "03-class-upgrade": {"base": ("J-4-10-II", 3_701_100), "additional": [], "submitted": 3_650_000,
                         "benefit": 3_701_100, "charge_items": 5},
    "04-newborn": {"base": ("P-8-11-II", 6_109_400), "additional": [], "submitted": 5_590_000,
                   "benefit": 6_109_400, "charge_items": 3},
}


@pytest.mark.parametrize("name", GROUPED)
def test_a_case_becomes_a_final_signed_claim(stack, name):
    runtime, case, expected = stack.runtime, load_case(name), EXPECTED[name]

    post_transaction(runtime, case.transaction)
    [job] = run_jobs(runtime)

    # the job: done in one go, every step once, in order
    [row] = jobs_of(runtime, case.claim_id)
    assert (row.id, row.status, row.attempts, row.last_error) == (job.id, "done", 0, None)
    assert steps_of(runtime, job.id) == SUBMIT_STEPS

    # the Claim: the Package as the grouper gave it, and the processing state
    claim = read(runtime, "Claim", case.claim_id)
    assert package(claim) == {"tariffClass": "BP", "base": expected["base"], "additional": expected["additional"]}
    assert processing(claim) == "signed"
    assert claim["diagnosis"] == case.claim["diagnosis"]  # the client's content is untouched
    assert [(v.version_id, v.author) for v in versions(runtime, "Claim", case.claim_id)] == [
        (1, SIMRS), (2, PIPELINE_AUTHOR), (3, PIPELINE_AUTHOR)]

    # E-Klaim's own record: one claim, final, sent to the data centre, grouped exactly as the Package says
    [held] = stack.ledger.claims(case.sep)
    assert held.deleted_at is None
    record = runtime.tenant_policy.eklaim_gateway(None).client.get_claim_data(case.sep)
    assert (record.is_final, record.kemenkes_dc_status_cd) == (True, "sent")
    grouping = record.grouping
    assert (grouping.cbg.code, grouping.cbg.tariff) == expected["base"]
    assert sorted((s.code, s.tariff) for s in grouping.special_cmg) == expected["additional"]
    assert stack.ledger.events(case.sep).count("new_claim") == 1
    assert (record.data["coder_nik"], record.data["coder_nm"]) == (CODER_NIK, CODER_NAME)  # the coder, not DPJP

    # the grouping ClaimResponse
    response = grouping_response(runtime, case.claim_id)
    assert (response["outcome"], response["status"]) == ("complete", "active")
    assert response["request"] == {"reference": f"Claim/{case.claim_id}"}
    assert totals(response) == {"submitted": expected["submitted"], "benefit": expected["benefit"]}
    assert expected["benefit"] == expected["base"][1] + sum(t for _, t in expected["additional"])
    assert response["identifier"][0]["value"] == case.sep
    assert "error" not in response

    # the signed Bundle: the final Claim first, everything it rests on, our verifier and an independent one agree
    bundle = signed_bundle(runtime, case.claim_id)
    assert bundle["identifier"]["value"] == case.sep and bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0] == signed_content(claim)  # without the server's claim-processing bookkeeping
    assert resources[-1] == response
    kinds = [r["resourceType"] for r in resources]
    # the case's medical record travels with it; every billed code has its record (no "no record" OperationOutcome)
    record = [e["resource"]["resourceType"] for e in case.transaction["entry"] if e["resource"]["resourceType"] in
              ("Condition", "Procedure", "Observation", "DiagnosticReport", "DocumentReference")]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "Claim": 1, "Patient": 1, "Coverage": 1, "Account": 1, "Encounter": 1, "Invoice": 1,
        "ChargeItem": expected["charge_items"], "Practitioner": 2, "Organization": 1, "ClaimResponse": 1,
        **{k: record.count(k) for k in set(record)}}
    result = verify_bundle(bundle, trust=runtime.signing.trust_policy())
    assert result.valid, result.reason
    header = verify_independently(bundle)
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in runtime.signing.jwks()["keys"]}
    assert header["sigT"] == bundle["signature"]["when"]


@pytest.mark.parametrize("name", GROUPED[:1])
def test_the_signed_bundle_is_found_by_sep_and_by_claim(runtime, name):
    case = load_case(name)
    post_transaction(runtime, case.transaction)
    run_jobs(runtime)

    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:
        service = runtime.fhir_service(uow, author=None)
        by_sep = service.search("Bundle", [("identifier", case.sep)])[1].matches
        by_claim = service.search("Bundle", [("claim", f"Claim/{case.claim_id}")])[1].matches
        other = service.search("Bundle", [("identifier", "0301R0011026V999999")])[1].matches
    assert [b.id for b in by_sep] == [b.id for b in by_claim] == [signed_bundle(runtime, case.claim_id)["id"]]
    assert other == []


def test_a_rejected_case_ends_with_an_error_claim_response_listing_the_rules(stack):
    runtime, case = stack.runtime, load_case(REJECTED)

    post_transaction(runtime, case.transaction)
    [job] = run_jobs(runtime)

    [row] = jobs_of(runtime, case.claim_id)
    assert row.status == "failed"
    assert steps_of(runtime, job.id) == ["precheck-failed"]
    response = grouping_response(runtime, case.claim_id)
    assert response["outcome"] == "error"
    rules = [c["code"] for e in response["error"] for c in e["code"]["coding"]]
    assert rules == ["PRECHECK-DISCHARGE-BEFORE-ADMISSION", "PRECHECK-TARIF-MINIMUM", "PRECHECK-HEALTHY-NEWBORN"]
    assert {c["system"] for e in response["error"] for c in e["code"]["coding"]} == {
        "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"}
    assert "E2012" in response["error"][0]["code"]["text"]  # the E-Klaim error the rule prevents
    claim = read(runtime, "Claim", case.claim_id)
    assert processing(claim) == "error"
    assert not [e for e in claim.get("extension", []) if e["url"].endswith("/Package")]
    assert signed_bundle(runtime, case.claim_id) is None
    assert stack.ledger.claims(case.sep) == []  # nothing reached E-Klaim


def test_an_unregistered_coder_on_a_real_e_klaim_says_what_to_do(settings, http_eklaim):
    """A hospital's own E-Klaim knows only the coders registered in its Personnel menu (E2006); unlike the embedded
    sandbox, the server does not register them there, so the error tells the hospital to."""
    from fhirclaim.runtime import Runtime

    with http_eklaim.app.store.transaction() as session:
        session.execute(delete(Personnel))
    runtime = Runtime(settings.model_copy(update={"eklaim_url": http_eklaim.url, "eklaim_key": http_eklaim.key}))
    try:
        case = load_case(GROUPED[0])
        post_transaction(runtime, case.transaction)
        [job] = run_jobs(runtime)
        assert (jobs_of(runtime, case.claim_id)[0].status, steps_of(runtime, job.id)[-1]) == (
            "failed", "set_claim_data-failed")
        [error] = grouping_response(runtime, case.claim_id)["error"]
        [coding] = error["code"]["coding"]
        assert coding["code"] == "E2006"
        assert "Personnel" in error["code"]["text"] or "personil" in error["code"]["text"].lower()
    finally:
        runtime.close()
