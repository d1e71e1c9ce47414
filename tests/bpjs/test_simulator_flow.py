"""The BPJS-K simulator on the example cases, end to end: the hospital's transaction, the claim pipeline to the
signed Bundle, purification, the hospital's decision, verification with the excess — the claims BPJS-K sends
back: a readmission (pending at verification), a double claim in another hospital, the same SEP twice — and the
simulator itself: it answers only what no BPJS-K client answered within its grace period, once, and contains its
failures. Its clock is the test's (`clock`): nothing sleeps."""

from __future__ import annotations

import time

import pytest
from bpjs_kit import (
    BATAL,
    HOSPITAL,
    OTHER_HOSPITAL,
    amount,
    answers,
    author_of,
    bundle_of,
    claim_of,
    copay,
    decision,
    example,
    grouping_of,
    hospital_write,
    publish,
    reference_answer,
    renamed,
    resource_of,
    simulate,
    verification_answer,
    with_card,
    with_principal,
    with_sep,
    with_stay,
)

from fhirclaim import bpjs
from fhirclaim.bpjs import codes
from fhirclaim.config import Settings
from fhirclaim.runtime import Runtime

GROUPED = ["01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn"]


def the_purification(runtime, claim_id: str):
    [found] = answers(runtime, claim_id, "purifikasi")
    return found


def findings(purification) -> list[str]:
    return [e["code"]["coding"][0]["code"] for e in purification.content.get("error", [])]


@pytest.mark.parametrize("name", GROUPED)
def test_claim_purification_decision_verification(simulator, runtime, clock, name):
    case = example(name)
    claim_id = publish(runtime, case)
    assert simulate(runtime, clock) == 1
    purification = the_purification(runtime, claim_id)
    assert (author_of(runtime, purification), purification.tenant, purification.version_id) == (
        bpjs.SIMULATOR_AUTHOR, HOSPITAL, 1)
    assert codes.purification_passed(purification.content) and "error" not in purification.content
    assert answers(runtime, claim_id, "verifikasi") == []  # the hospital has not decided yet

    hospital_write(runtime, decision(purification.id))
    assert simulate(runtime, clock) == 1

    [verification] = answers(runtime, claim_id, "verifikasi")
    response, grouping = verification.content, grouping_of(runtime, claim_id)
    record = runtime.tenant_policy.eklaim_gateway(HOSPITAL).record(claim_of(case)["identifier"][0]["value"]).data
    assert (author_of(runtime, verification), verification.tenant) == (bpjs.SIMULATOR_AUTHOR, HOSPITAL)
    assert amount(response, "submitted") == claim_of(case)["total"]["value"] == amount(grouping, "submitted")
    assert amount(response, "benefit") == amount(grouping, "benefit")  # INA-CBG: base + additional packages
    assert response["payment"]["amount"]["value"] == amount(response, "benefit")
    assert copay(response) == int(record["add_payment_amt"])  # the excess is E-Klaim's add_payment_amt
    assert (copay(response) > 0) is (name == "03-class-upgrade")
    assert response["adjudication"][0]["reason"]["coding"][0]["code"] == "CRA000001"


def test_the_class_upgrade_case_in_figures(simulator, runtime, clock):
    claim_id = publish(runtime, example("03-class-upgrade"))
    simulate(runtime, clock)
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id))
    simulate(runtime, clock)
    [verification] = answers(runtime, claim_id, "verifikasi")
    assert (amount(verification.content, "submitted"), amount(verification.content, "benefit"),
            copay(verification.content)) == (3_650_000, 3_701_100, 314_500)
    assert verification.content["disposition"] == (
        "Layak: INA-CBG Rp 3,701,100, selisih biaya (excess) pasien Rp 314,500")


def test_special_cmg_packages_are_part_of_the_benefit(simulator, runtime, clock):
    claim_id = publish(runtime, example("02-hip-replacement-special-cmg"))
    simulate(runtime, clock)
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id))
    simulate(runtime, clock)
    [verification] = answers(runtime, claim_id, "verifikasi")
    packages = [a["net"]["value"] for a in grouping_of(runtime, claim_id)["addItem"]]
    assert len(packages) > 1 and amount(verification.content, "benefit") == sum(packages)


def test_a_claim_stopped_before_e_klaim_reaches_no_bpjs(simulator, runtime, clock):
    claim_id = publish(runtime, example("05-precheck-rejected"))
    assert simulate(runtime, clock) == 0
    assert bundle_of(runtime, claim_id) is None and answers(runtime, claim_id, "purifikasi") == []


def test_batal_is_not_verified(simulator, runtime, clock):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    simulate(runtime, clock)
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id, status=BATAL))
    assert simulate(runtime, clock) == 0
    assert answers(runtime, claim_id, "verifikasi") == []


# --- claims BPJS-K sends back ----------------------------------------------------------------------------------------

def test_a_readmission_passes_purification_and_is_returned_as_pending(simulator, runtime, clock):
    publish(runtime, example("03-class-upgrade"))  # J18.9, discharged 2026-10-14
    simulate(runtime, clock)
    again = with_principal(with_stay(with_sep(renamed(example("03-class-upgrade"), "re-"), "0301R0011126V000302"),
                                     "2026-11-01T09:00:00+07:00", "2026-11-05T11:00:00+07:00"),
                           "J18.0", "Bronchopneumonia, unspecified")
    claim_id = publish(runtime, again)
    assert simulate(runtime, clock) == 1
    purification = the_purification(runtime, claim_id)
    assert codes.purification_passed(purification.content) and findings(purification) == []
    hospital_write(runtime, decision(purification.id))
    assert simulate(runtime, clock) == 1
    [pending] = answers(runtime, claim_id, "verifikasi")
    assert (pending.content["outcome"], codes.pending_reasons(pending.content)) == ("partial", ["readmission"])
    assert "payment" not in pending.content
    assert pending.content["processNote"][0]["text"].startswith(
        "Potensi readmisi: pasien pulang 18 hari sebelumnya (SEP 0301R0011026V000301) dengan diagnosis utama "
        "kategori J18")


def test_an_outpatient_claim_in_another_hospital_during_the_stay_is_a_double_claim(simulator, runtime, clock):
    publish(runtime, example("03-class-upgrade"))  # inpatient 2026-10-10 – 2026-10-14, card 0001234567003
    visit = with_stay(with_card(renamed(example("01-outpatient-visit"), "rs2-", organization=OTHER_HOSPITAL),
                                "0001234567003"), "2026-10-12T09:00:00+07:00", "2026-10-12T10:30:00+07:00")
    claim_id = publish(runtime, visit, OTHER_HOSPITAL)
    assert simulate(runtime, clock) == 2
    purification = the_purification(runtime, claim_id)
    assert (purification.tenant, findings(purification)) == (OTHER_HOSPITAL, ["double-rjtl-ritl"])
    assert resource_of(visit, "Claim")["provider"]["reference"] == f"Organization/{OTHER_HOSPITAL}"


def test_the_same_sep_claimed_by_another_hospital(simulator, runtime, clock):
    publish(runtime, example("03-class-upgrade"))
    claim_id = publish(runtime, renamed(example("03-class-upgrade"), "rs2-", organization=OTHER_HOSPITAL),
                       OTHER_HOSPITAL)
    simulate(runtime, clock)
    assert findings(the_purification(runtime, claim_id)) == ["duplicate-sep"]


# --- the grace period: BPJS-K clients answer first -------------------------------------------------------------------

def test_nothing_is_answered_before_the_grace_period_ends(simulator, runtime, clock):
    assert simulator.delay.total_seconds() == 10  # the settings' default
    claim_id = publish(runtime, example("01-outpatient-visit"))
    assert simulate(runtime, clock, seconds=9) == 0
    assert answers(runtime, claim_id, "purifikasi") == []
    assert simulate(runtime, clock, seconds=11) == 1
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id))
    assert simulate(runtime, clock, seconds=9) == 0  # 9 s after the decision
    assert answers(runtime, claim_id, "verifikasi") == []
    assert simulate(runtime, clock, seconds=11) == 1


def test_a_bpjs_clients_answers_within_the_grace_period_are_left_alone(simulator, runtime, clock):
    claim = claim_of(example("01-outpatient-visit"))
    publish(runtime, example("01-outpatient-visit"))
    own = hospital_write(runtime, reference_answer("purifikasi", claim), author="bpjs:test")
    assert simulate(runtime, clock) == 0  # purified by BPJS-K: nothing to add
    hospital_write(runtime, decision(own.id))
    hospital_write(runtime, verification_answer(runtime, claim), author="bpjs:test")
    assert simulate(runtime, clock) == 0 and simulate(runtime, clock, hours=80) == 0
    assert [author_of(runtime, r) for r in answers(runtime, claim["id"], "purifikasi")] == ["bpjs:test"]
    assert [author_of(runtime, r) for r in answers(runtime, claim["id"], "verifikasi")] == ["bpjs:test"]


def test_a_decision_on_a_bpjs_clients_purification_left_unverified_is_verified(simulator, runtime, clock):
    claim = claim_of(example("03-class-upgrade"))
    publish(runtime, example("03-class-upgrade"))
    own = hospital_write(runtime, reference_answer("purifikasi", claim), author="bpjs:test")
    hospital_write(runtime, decision(own.id))
    assert simulate(runtime, clock) == 1
    [verification] = answers(runtime, claim["id"], "verifikasi")
    assert author_of(runtime, verification) == bpjs.SIMULATOR_AUTHOR and copay(verification.content) == 314_500


# --- the simulator itself ---------------------------------------------------------------------------------------------

def test_answers_once_however_often_it_runs(simulator, runtime, clock):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    assert simulate(runtime, clock) == 1
    assert simulate(runtime, clock) == 0
    assert _simulate_restarted(runtime, clock) == 0  # a restarted server: no memory of its passes
    purification = the_purification(runtime, claim_id)
    assert purification.version_id == 1 and answers(runtime, claim_id, "verifikasi") == []


def test_a_bundle_a_client_stores_is_not_a_publication(simulator, runtime, clock):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    copy_ = {**bundle_of(runtime, claim_id).content, "id": "client-copy"}
    del copy_["meta"]
    hospital_write(runtime, copy_)
    assert simulate(runtime, clock) == 1
    assert len(answers(runtime, claim_id, "purifikasi")) == 1


def test_undecided_purifications_are_verified_after_the_decision_period(simulator, runtime, clock):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    assert simulate(runtime, clock) == 1
    clock.advance(hours=71)
    assert simulator.verify_overdue(runtime.store) == 0
    clock.advance(hours=1, seconds=11)  # the decision period, then the grace period
    assert simulator.verify_overdue(runtime.store) == 1
    [verification] = answers(runtime, claim_id, "verifikasi")
    assert verification.tenant == HOSPITAL
    assert simulator.run_due(runtime.store) == 0  # verified once


def test_a_failing_answer_is_contained_and_retried_a_few_times(simulator, runtime, clock, monkeypatch, caplog):
    good = publish(runtime, example("01-outpatient-visit"))
    failing = claim_of(example("04-newborn"))["id"]
    publish(runtime, example("04-newborn"))
    real = bpjs.simulator.purify

    def broken(claim, others):
        if claim.claim_id == failing:
            raise RuntimeError("simulated BPJS-K outage")
        return real(claim, others)

    monkeypatch.setattr("fhirclaim.bpjs.simulator.purify", broken)
    assert simulate(runtime, clock) == 1  # the other claim is answered
    assert [len(answers(runtime, c, "purifikasi")) for c in (good, failing)] == [1, 0]
    assert bundle_of(runtime, failing) is not None
    assert "bpjs simulator could not purify" in caplog.text
    for _ in range(4):
        simulate(runtime, clock)
    assert caplog.text.count("bpjs simulator could not purify") == bpjs.simulator.MAX_ATTEMPTS
    monkeypatch.setattr("fhirclaim.bpjs.simulator.purify", real)
    assert _simulate_restarted(runtime, clock) == 1  # a restart tries again


def _simulate_restarted(runtime, clock) -> int:
    """One pass of a restarted server's simulator: no memory of the earlier passes, nor of their failures."""
    restarted = bpjs.simulator_for(runtime.settings, runtime.services.for_caller, clock)
    clock.catch_up(seconds=restarted.delay.total_seconds() + 1)
    return restarted.run_due(runtime.store)


def test_the_simulator_follows_the_settings(runtime):
    service = runtime.services.for_caller
    off = runtime.settings.model_copy(update={"bpjs_simulator": False, "sandbox": False})
    assert runtime.bpjs_simulator is None and bpjs.simulator_for(off, service) is None  # neither setting is on
    assert isinstance(bpjs.simulator_for(off.model_copy(update={"sandbox": True}), service), bpjs.BpjsSimulator)
    on = off.model_copy(update={"bpjs_simulator": True, "bpjs_simulator_delay_seconds": 2.5})
    assert bpjs.simulator_for(on, service).delay.total_seconds() == 2.5
    assert not any(isinstance(listener, bpjs.BpjsSimulator) for listener in runtime.listeners)  # a poller


def test_the_server_runs_it_in_a_worker_thread(tmp_path, database_url):
    """`start_workers` (serve --sandbox, fhirclaim worker) polls the simulator; `stop_workers` ends the thread."""
    settings = Settings(data_dir=tmp_path / "sandbox", database_url=database_url, sandbox=True,
                        bpjs_simulator_delay_seconds=0)
    runtime = Runtime(settings)
    try:
        runtime.start_workers()
        [worker] = [w for w in runtime.workers if isinstance(w, bpjs.SimulatorWorker)]
        assert worker.poll_seconds == 0.2 and worker._thread.is_alive()
        claim_id = publish(runtime, example("01-outpatient-visit"))
        deadline = time.monotonic() + 30
        while not answers(runtime, claim_id, "purifikasi") and time.monotonic() < deadline:
            time.sleep(0.05)
        [purification] = answers(runtime, claim_id, "purifikasi")
        assert author_of(runtime, purification) == bpjs.SIMULATOR_AUTHOR
        thread = worker._thread
        runtime.stop_workers()
        assert not thread.is_alive() and runtime.workers == []
    finally:
        runtime.close()
