"""A client update arriving while a job for the previous version is between two E-Klaim calls: the running job must
neither write the old content back over the new one nor leave the new version unprocessed."""

from __future__ import annotations

import threading

import pytest
from pipeline_kit import (
    jobs_of,
    load_case,
    package,
    post_transaction,
    processing,
    put,
    read,
    run_jobs,
    signed_bundle,
    versions,
    with_principal_diagnosis,
)

from fhirclaim.claims.assembly import signed_content
from fhirclaim.signing import verify_bundle

OUTPATIENT = "01-outpatient-visit"


def _code(claim: dict) -> str:
    return claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"]


@pytest.mark.parametrize("held_at", ["set_claim_data", "grouper", "claim_final", "send_claim_individual"])
def test_a_client_update_during_a_job_is_not_lost(runtime, flaky, ledger, held_at):
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    flaky.hold_at(held_at)
    first = threading.Thread(target=run_jobs, args=(runtime, "worker-1"))
    first.start()
    try:
        assert flaky.holding.wait(30)
        updated = put(runtime, with_principal_diagnosis(case.claim, "J06.9", "URTI"))
        assert updated.version_id >= 2
    finally:
        flaky.release()
        first.join(30)
    run_jobs(runtime, "worker-2")

    claim = read(runtime, "Claim", case.claim_id)
    assert _code(claim) == "J06.9"  # the client's last word
    assert [j.status for j in jobs_of(runtime, case.claim_id)][-1] == "done"
    assert processing(claim) == "signed"
    record = runtime.tenant_policy.eklaim_gateway(None).client.get_claim_data(case.sep)
    assert (record.data["diagnosa"], record.is_final) == ("J06.9", True)
    assert package(claim)["base"] == (record.grouping.cbg.code, record.grouping.cbg.tariff)
    bundle = signed_bundle(runtime, case.claim_id)
    assert bundle["entry"][0]["resource"] == signed_content(claim)
    assert verify_bundle(bundle, trust=runtime.signing.trust_policy()).valid
    client_versions = [v for v in versions(runtime, "Claim", case.claim_id) if v.author == "client:simrs"]
    assert [_code(v.content) for v in client_versions] == ["A09", "J06.9"]
    assert len(ledger.claims(case.sep)) == 1
