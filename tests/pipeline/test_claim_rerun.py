"""Claims that can be retried (issue 14 part 4): a claim that ended in error runs again when the hospital fixes
what the error named — an update of what it rests on (here the Patient's medical-record number) reruns it without
touching the Claim, and `$submit` of the unchanged Claim reruns it when anything it rests on changed since its last
run. A resend of the same data runs nothing; a claim that went through is not rerun because its Patient changed."""

from __future__ import annotations

import copy
import json
from typing import Any

from pipeline_kit import (
    GROUPED,
    grouping_response,
    jobs_of,
    load_case,
    post_transaction,
    processing,
    put,
    read,
    run_jobs,
    steps_of,
    time_passes,
    versions,
)
from sqlalchemy import update

from fhirclaim.claims import claim_operations
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR
from fhirclaim.claims.trigger import RERUN, UNCHANGED
from fhirclaim.store.jobs import ClaimJobRow, JobQueue

from pipelinekit import statements_sent

CASE = load_case(GROUPED[0])
MR_SYSTEM = "http://sys-ids.kemkes.go.id/mr/10000004"


def resource(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def without_mr() -> dict[str, Any]:
    """Example 01 with a Patient that has no medical-record number (E-Klaim needs nomor_rm)."""
    bundle = copy.deepcopy(CASE.transaction)
    patient = resource(bundle, "Patient")
    patient["identifier"] = [i for i in patient["identifier"] if i.get("system") != MR_SYSTEM]
    return bundle


def with_mr(patient: dict[str, Any]) -> dict[str, Any]:
    fixed = {k: v for k, v in copy.deepcopy(patient).items() if k != "meta"}
    fixed["identifier"].append({"use": "usual", "type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "system": MR_SYSTEM, "value": "RM-000101"})
    return fixed


def failed_on_mr(runtime) -> dict[str, Any]:
    bundle = without_mr()
    post_transaction(runtime, bundle)
    run_jobs(runtime)
    [job] = jobs_of(runtime, CASE.claim_id)
    assert job.status == "failed"
    assert "RM" in str(grouping_response(runtime, CASE.claim_id)["error"]) or "medical" in job.last_error.lower()
    return resource(bundle, "Patient")


def client_versions(runtime) -> list[int]:
    return [v.version_id for v in versions(runtime, "Claim", CASE.claim_id) if v.author != PIPELINE_AUTHOR]


def test_fixing_the_patient_reruns_the_failed_claim_without_touching_the_claim(runtime):
    patient = failed_on_mr(runtime)
    before = client_versions(runtime)

    put(runtime, with_mr(patient))
    [failed, rerun] = jobs_of(runtime, CASE.claim_id)
    assert (rerun.status, rerun.claim_version, rerun.run) == ("queued", failed.claim_version, 1)
    run_jobs(runtime)

    [_, rerun] = jobs_of(runtime, CASE.claim_id)
    assert (rerun.status, rerun.last_error) == ("done", None)
    assert processing(read(runtime, "Claim", CASE.claim_id)) == "signed"
    assert grouping_response(runtime, CASE.claim_id)["outcome"] == "complete"
    assert client_versions(runtime) == before  # the hospital never wrote the Claim again
    assert any(i.startswith(f"Patient/{patient['id']}/_history/") for i in rerun_inputs(runtime))


def rerun_inputs(runtime) -> list[str]:
    with runtime.store.unit_of_work(write=False) as uow:
        return list(claim_operations.latest_job(uow, CASE.claim_id).inputs)


def test_the_fix_sent_as_a_simrs_transaction_reruns_the_claim_asking_once_for_all_its_entries(runtime):
    """The hospital resends the whole case with the Patient fixed and its bill's items noted: the claim is rerun once,
    and the failed claims resting on the transaction's entries are asked for in one statement once every entry is
    written (issue 17), not once per changed entry."""
    failed_on_mr(runtime)
    bundle = without_mr()
    patient = resource(bundle, "Patient")
    patient["identifier"] = with_mr(patient)["identifier"]
    items = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ChargeItem"]
    for item in items:  # the bill's items checked again and noted: each a new version of something the claim read
        item["note"] = [{"text": "checked against the ward's register"}]
    assert len(items) >= 2
    with statements_sent(runtime.database.engine) as sent:
        post_transaction(runtime, bundle)
    assert len([s for s in sent if "claim_job" in s and "LIKE" in s]) == 1
    [failed, rerun] = jobs_of(runtime, CASE.claim_id)
    assert (failed.status, rerun.status, rerun.claim_version, rerun.run) == ("failed", "queued",
                                                                              failed.claim_version, 1)
    run_jobs(runtime)
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["failed", "done"]


def test_a_resend_of_the_same_patient_runs_nothing(runtime):
    patient = failed_on_mr(runtime)
    put(runtime, {k: v for k, v in patient.items() if k != "meta"})
    post_transaction(runtime, without_mr())  # the whole unchanged Bundle again
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["failed"]


def test_resubmitting_an_unchanged_claim_reruns_it_only_when_what_it_rests_on_changed(runtime):
    patient = failed_on_mr(runtime)
    with runtime.store.unit_of_work() as uow:
        assert claim_operations.resubmit(uow, CASE.claim_id, "Asia/Jakarta").outcome == UNCHANGED
    assert len(jobs_of(runtime, CASE.claim_id)) == 1

    with runtime.store.unit_of_work() as uow:  # a change the trigger does not see (written as the server itself)
        runtime.services.server(uow, PIPELINE_AUTHOR).update("Patient", patient["id"], with_mr(patient))
    assert len(jobs_of(runtime, CASE.claim_id)) == 1
    with runtime.store.unit_of_work() as uow:
        rerun = claim_operations.resubmit(uow, CASE.claim_id, "Asia/Jakarta")
    assert rerun.outcome == RERUN and rerun.job.run == 1
    run_jobs(runtime)
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["failed", "done"]
    with runtime.store.unit_of_work() as uow:  # a second $submit: the last run read what is there now
        assert claim_operations.resubmit(uow, CASE.claim_id, "Asia/Jakarta").outcome != RERUN


def test_submit_over_rest_with_the_fixed_patient_and_the_unchanged_claim_sends_it(fhir, runtime):
    assert fhir.post("", without_mr()).status_code == 200
    run_jobs(runtime)
    assert jobs_of(runtime, CASE.claim_id)[0].status == "failed"

    fixed = copy.deepcopy(without_mr())  # the SIMRS sends the same Bundle, its Patient fixed
    for entry in fixed["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"] = with_mr(entry["resource"])
    answer = fhir.post("/Claim/$submit", fixed)
    assert answer.status_code == 200, answer.get_json()
    first = answer.get_json()["entry"][0]["resource"]
    assert (first["resourceType"], first["outcome"]) == ("ClaimResponse", "complete")
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["failed", "done"]

    again = fhir.post("/Claim/$submit", fixed)  # the same data again: nothing runs
    assert again.status_code == 200
    assert len(jobs_of(runtime, CASE.claim_id)) == 2


def test_a_claim_that_went_through_is_not_rerun_by_a_patient_update(runtime):
    post_transaction(runtime, CASE.transaction)
    run_jobs(runtime)
    patient = resource(CASE.transaction, "Patient")
    changed = {**copy.deepcopy(patient), "telecom": [{"system": "phone", "value": "+62-21-555-0101"}]}
    put(runtime, changed)
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["done"]


def test_a_failed_claim_is_found_by_what_it_read_in_its_own_hospital_only(runtime):
    patient = failed_on_mr(runtime)
    [job] = jobs_of(runtime, CASE.claim_id)
    with runtime.store.unit_of_work(write=False) as uow:
        queue = JobQueue(uow.session)
        assert [j.id for j in queue.failed_reading(job.tenant, [f"Patient/{patient['id']}"])] == [job.id]
        assert queue.failed_reading("10000099", [f"Patient/{patient['id']}"]) == []
        assert queue.failed_reading(job.tenant, ["Patient/someone-else"]) == []


def test_a_missing_discharge_summary_posted_later_reruns_the_claim(runtime):
    """The claim file counts too: an inpatient claim stopped for its missing resume (PRECHECK-RESUME-MISSING) runs
    again when the hospital posts the DocumentReference of the encounter; the Claim is not touched."""
    case = load_case(GROUPED[2])
    bundle = copy.deepcopy(case.transaction)
    document = resource(bundle, "DocumentReference")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"] is not document]
    claim = resource(bundle, "Claim")
    claim["supportingInfo"] = [s for s in claim["supportingInfo"] if (s.get("valueReference") or {}).get(
        "reference") != f"DocumentReference/{document['id']}"]
    post_transaction(runtime, bundle)
    run_jobs(runtime)
    [failed] = jobs_of(runtime, case.claim_id)
    assert failed.status == "failed" and "PRECHECK-RESUME-MISSING" in str(
        grouping_response(runtime, case.claim_id)["error"])

    put(runtime, document)
    run_jobs(runtime)
    assert [j.status for j in jobs_of(runtime, case.claim_id)] == ["failed", "done"]
    assert processing(read(runtime, "Claim", case.claim_id)) == "signed"


def test_what_a_failed_claim_read_is_matched_literally(runtime):
    """The references are LIKE patterns escaped once (the statement is built once per count of references): `_`
    and `%` in an id match only themselves, and several references find the job through any of them."""
    with runtime.store.unit_of_work() as uow:
        queue = JobQueue(uow.session)
        job = queue.enqueue("c_1", 1, None, "submit")
        uow.session.execute(update(ClaimJobRow).where(ClaimJobRow.id == job.id)
                            .values(inputs=json.dumps(["Patient/p_1%/_history/2"])))
        queue.finish(job, "failed", "precheck")
    with runtime.store.unit_of_work(write=False) as uow:
        queue = JobQueue(uow.session)
        assert [j.id for j in queue.failed_reading(None, ["Patient/p_1%"])] == [job.id]
        assert [j.id for j in queue.failed_reading(None, ["Encounter/e", "Patient/p_1%"])] == [job.id]
        assert queue.failed_reading(None, ["Patient/pX1%"]) == []  # `_` is no wildcard
        assert queue.failed_reading(None, ["Patient/p_1"]) == []  # neither is `%`, and the version follows the id
        assert queue.failed_reading("10000099", ["Patient/p_1%"]) == []
        # more references than one statement matches: asked in turns, the job found once
        many = [f"Encounter/e{n}" for n in range(150)] + ["Patient/p_1%"] + [f"Encounter/f{n}" for n in range(70)]
        assert [j.id for j in queue.failed_reading(None, many)] == [job.id]
        assert [j.id for j in queue.failed_reading(None, ["Patient/p_1%"] * 130)] == [job.id]


def test_a_job_put_back_in_the_queue_keeps_what_its_last_run_read(runtime, flaky):
    """A run notes what it read with its first write (`JobQueue.hold`); when E-Klaim goes down after that, the job
    goes back to the queue with the steps whose markers waited — and what it notes stays this run's reading, not
    the one of the run before it, which the job held when it was claimed."""
    post_transaction(runtime, CASE.transaction)
    patient = resource(CASE.transaction, "Patient")
    flaky.down_at("grouper")  # the first run notes Patient version 1 before the grouper, then E-Klaim is down
    [job] = run_jobs(runtime)
    assert rerun_inputs(runtime) and f"Patient/{patient['id']}/_history/1" in rerun_inputs(runtime)

    flaky.restore()
    put(runtime, {**copy.deepcopy(patient), "telecom": [{"system": "phone", "value": "+62-21-555-0101"}]})
    flaky.down_at("send_claim_individual")  # the second run groups (its first write), claim_final waits, send fails
    time_passes(runtime, job.id)
    assert [j.id for j in run_jobs(runtime)] == [job.id]
    [row] = jobs_of(runtime, CASE.claim_id)
    assert (row.status, row.attempts) == ("queued", 2)
    assert "claim_final" in steps_of(runtime, job.id)  # its waiting marker was written with the retry
    assert f"Patient/{patient['id']}/_history/2" in rerun_inputs(runtime)
    assert f"Patient/{patient['id']}/_history/1" not in rerun_inputs(runtime)

    flaky.restore()
    time_passes(runtime, job.id)
    run_jobs(runtime)
    assert [j.status for j in jobs_of(runtime, CASE.claim_id)] == ["done"]
    assert f"Patient/{patient['id']}/_history/2" in rerun_inputs(runtime)
