"""E-Klaim down at each step of each kind of job: the request lost on the way there, or E-Klaim doing the work and
its answer lost on the way back. The job goes back to the queue with a backoff; when E-Klaim returns it completes,
with one claim for the SEP in E-Klaim, no write done twice that must happen once, no lost Claim, every step recorded
once."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from pipeline_kit import (
    SUBMIT_STEPS,
    grouping_response,
    jobs_of,
    load_case,
    post_transaction,
    processing,
    put,
    read,
    run_jobs,
    signed_bundle,
    steps_of,
    time_passes,
    versions,
    with_principal_diagnosis,
    with_status,
)

from fhirclaim.claims.assembly import signed_content
from fhirclaim.clock import naive_utc_now as utcnow
from fhirclaim.signing import verify_bundle

HIP = "02-hip-replacement-special-cmg"  # its grouper runs twice: stage 1, then stage 2 with the chosen special CMGs
OUTPATIENT = "01-outpatient-visit"
LOST = ["request", "answer"]

# Every E-Klaim call a job makes, in order. A new claim's first call is new_claim and nothing reads back after it;
# an update's new_claim is refused (E2007: E-Klaim holds the SEP), and get_claim_data then reads the claim it holds.
SUBMIT_CALLS = [("new_claim", 1), ("set_claim_data", 1),
                ("grouper", 1), ("grouper", 2), ("claim_final", 1), ("send_claim_individual", 1)]
UPDATE_CALLS = [("new_claim", 1), ("get_claim_data", 1), ("reedit_claim", 1), ("set_claim_data", 1), ("grouper", 1),
                ("claim_final", 1), ("send_claim_individual", 1)]
CANCEL_CALLS = [("get_claim_data", 1), ("reedit_claim", 1), ("delete_claim", 1)]


def _goes_back_to_the_queue(runtime, flaky, claim_id: str, method: str) -> int:
    """Run the job with E-Klaim down: it is queued again, one attempt counted, due after the backoff."""
    started = utcnow()
    [job] = run_jobs(runtime)
    assert flaky.failed and flaky.failed[0] == method
    row = jobs_of(runtime, claim_id)[-1]
    assert row.id == job.id
    assert (row.status, row.attempts, row.locked_by) == ("queued", 1, None)
    assert row.last_error.startswith(f"E-Klaim unreachable: injected: E-Klaim unreachable ({method}")
    backoff = runtime.settings.job_backoff_initial_seconds
    assert started + timedelta(seconds=backoff) <= row.next_attempt_at <= utcnow() + timedelta(seconds=backoff)
    assert run_jobs(runtime) == []  # not due before its time
    return job.id


def _completes_when_e_klaim_returns(runtime, flaky, claim_id: str, job_id: int) -> list[str]:
    flaky.restore()
    time_passes(runtime, job_id)
    assert [j.id for j in run_jobs(runtime)] == [job_id]
    row = jobs_of(runtime, claim_id)[-1]
    assert (row.id, row.status, row.attempts) == (job_id, "done", 1)
    return steps_of(runtime, job_id)


def _signed_and_final(runtime, ledger, case) -> dict:
    claim = read(runtime, "Claim", case.claim_id)
    assert processing(claim) == "signed"
    assert claim["diagnosis"] == read_client_version(runtime, case.claim_id)["diagnosis"]  # no lost Claim content
    bundle = signed_bundle(runtime, case.claim_id)
    assert verify_bundle(bundle, trust=runtime.signing.trust_policy()).valid
    assert bundle["entry"][0]["resource"] == signed_content(claim)
    [held] = ledger.claims(case.sep)
    assert (held.deleted_at, held.klaim_status_cd, held.kemenkes_dc_status_cd) == (None, "final", "sent")
    return claim


def read_client_version(runtime, claim_id: str) -> dict:
    """The last version a client wrote."""
    return [v for v in versions(runtime, "Claim", claim_id) if v.author == "client:simrs"][-1].content


@pytest.mark.parametrize("lost", LOST)
@pytest.mark.parametrize(("method", "n"), SUBMIT_CALLS, ids=[f"{m}#{n}" for m, n in SUBMIT_CALLS])
def test_a_new_claim_survives_e_klaim_down(runtime, flaky, ledger, method, n, lost):
    case = load_case(HIP)
    post_transaction(runtime, case.transaction)
    flaky.down_at(method, n, lost)

    job_id = _goes_back_to_the_queue(runtime, flaky, case.claim_id, method)
    assert read(runtime, "Claim", case.claim_id)["id"] == case.claim_id
    assert signed_bundle(runtime, case.claim_id) is None
    steps = _completes_when_e_klaim_returns(runtime, flaky, case.claim_id, job_id)

    assert steps == SUBMIT_STEPS
    _signed_and_final(runtime, ledger, case)
    events = ledger.events(case.sep)
    assert (events.count("new_claim"), events.count("claim_final")) == (1, 1)
    assert events[-1] == "send_claim_individual"
    assert grouping_response(runtime, case.claim_id)["outcome"] == "complete"


@pytest.mark.parametrize("lost", LOST)
@pytest.mark.parametrize(("method", "n"), UPDATE_CALLS, ids=[f"{m}#{n}" for m, n in UPDATE_CALLS])
def test_an_update_of_a_final_claim_survives_e_klaim_down(runtime, flaky, ledger, method, n, lost):
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    run_jobs(runtime)
    put(runtime, with_principal_diagnosis(read(runtime, "Claim", case.claim_id), "J06.9",
                                          "Acute upper respiratory infection, unspecified"))
    flaky.down_at(method, n, lost)

    job_id = _goes_back_to_the_queue(runtime, flaky, case.claim_id, method)
    steps = _completes_when_e_klaim_returns(runtime, flaky, case.claim_id, job_id)

    assert steps == SUBMIT_STEPS
    claim = _signed_and_final(runtime, ledger, case)
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "J06.9"
    record = runtime.tenant_policy.eklaim_gateway(None).client.get_claim_data(case.sep)
    assert record.data["diagnosa"] == "J06.9"
    events = ledger.events(case.sep)
    assert events.count("new_claim") == 1
    assert (events.count("reedit_claim"), events.count("claim_final")) == (1, 2)
    assert len(versions(runtime, "Bundle", signed_bundle(runtime, case.claim_id)["id"])) == 2


@pytest.mark.parametrize("lost", LOST)
@pytest.mark.parametrize(("method", "n"), CANCEL_CALLS, ids=[f"{m}#{n}" for m, n in CANCEL_CALLS])
def test_a_cancellation_survives_e_klaim_down(runtime, flaky, ledger, method, n, lost):
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    run_jobs(runtime)
    put(runtime, with_status(read(runtime, "Claim", case.claim_id), "cancelled"))
    flaky.down_at(method, n, lost)

    job_id = _goes_back_to_the_queue(runtime, flaky, case.claim_id, method)
    steps = _completes_when_e_klaim_returns(runtime, flaky, case.claim_id, job_id)

    assert steps == ["withdraw", "withdrawn"]
    [held] = ledger.claims(case.sep)
    assert held.deleted_at is not None
    assert ledger.events(case.sep)[-2:] == ["reedit_claim", "delete_claim"]
    claim = read(runtime, "Claim", case.claim_id)
    assert (claim["status"], processing(claim)) == ("cancelled", "withdrawn")
    assert grouping_response(runtime, case.claim_id)["status"] == "cancelled"


def test_the_backoff_doubles_while_e_klaim_stays_down(runtime, flaky, ledger):
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    flaky.down_at("new_claim")
    initial = runtime.settings.job_backoff_initial_seconds

    delays = []
    for attempt in (1, 2, 3, 4):
        [job] = run_jobs(runtime)
        row = jobs_of(runtime, case.claim_id)[-1]
        assert (row.status, row.attempts) == ("queued", attempt)
        # the delay the job was given when it was put back (not wall time, which a loaded machine stretches)
        delays.append(round((row.next_attempt_at - row.updated_at).total_seconds()))
        time_passes(runtime, job.id)
    assert delays == [initial * 2 ** k for k in range(4)]
    assert flaky.failed[0] == "new_claim"  # then every attempt fails at its first call, reading the claim
    flaky.restore()
    run_jobs(runtime)
    assert (jobs_of(runtime, case.claim_id)[-1].status, ledger.events(case.sep).count("new_claim")) == ("done", 1)


def test_an_unexpected_failure_is_retried_with_backoff_and_shown(runtime, flaky, ledger):
    """Not E-Klaim's fault nor the claim's: a bug. The job is not left leased and silent: it is queued again with
    the attempt counted and what broke in last_error, and completes once the failure is gone."""
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    flaky.down_at("set_claim_data", lost="bug")

    [job] = run_jobs(runtime)

    row = jobs_of(runtime, case.claim_id)[-1]
    assert (row.status, row.attempts, row.locked_by) == ("queued", 1, None)
    assert row.last_error == "internal error: RuntimeError: injected: a bug while calling set_claim_data"
    assert row.next_attempt_at > utcnow()
    flaky.restore()
    time_passes(runtime, job.id)
    run_jobs(runtime)
    assert jobs_of(runtime, case.claim_id)[-1].status == "done"
    assert steps_of(runtime, job.id) == SUBMIT_STEPS
    assert ledger.events(case.sep).count("new_claim") == 1


def test_the_backoff_stops_growing_at_its_maximum(runtime, flaky):
    # minutes, not seconds: a job put back is not due again within one run_jobs(), however slow the machine
    runtime.pipeline.settings = dataclasses.replace(runtime.pipeline.settings, backoff_initial_seconds=60,
                                                    backoff_max_seconds=150)
    case = load_case(OUTPATIENT)
    post_transaction(runtime, case.transaction)
    flaky.down_at("new_claim")

    delays = []
    for _ in range(4):
        [job] = run_jobs(runtime)
        row = jobs_of(runtime, case.claim_id)[-1]
        # from when the queue put the job back (updated_at), not from before the run: a run takes its time,
        # more on a loaded machine
        delays.append(round((row.next_attempt_at - row.updated_at).total_seconds()))
        time_passes(runtime, job.id)
    assert delays == [60, 120, 150, 150]
