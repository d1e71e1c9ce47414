"""The BPJS-K simulator on the example cases, end to end: the hospital's transaction, the claim pipeline to the
signed Bundle, purification, the hospital's decision, verification with the excess — and the claims BPJS-K sends
back: a readmission, a double claim in another hospital, the same SEP twice."""

from __future__ import annotations

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
    renamed,
    resource_of,
    with_card,
    with_principal,
    with_sep,
    with_stay,
)

from fhirclaim import bpjs
from fhirclaim.bpjs import codes
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR
from fhirclaim.fhir.service import ResourceChange
from fhirclaim.store.scope import tenant_scope

GROUPED = ["01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn"]


def the_purification(runtime, claim_id: str):
    [found] = answers(runtime, claim_id, "purifikasi")
    return found


def findings(purification) -> list[str]:
    return [e["code"]["coding"][0]["code"] for e in purification.content.get("error", [])]


@pytest.mark.parametrize("name", GROUPED)
def test_claim_purification_decision_verification(simulator, runtime, name):
    case = example(name)
    claim_id = publish(runtime, case)
    purification = the_purification(runtime, claim_id)
    assert (author_of(runtime, purification), purification.tenant, purification.version_id) == (
        bpjs.SIMULATOR_AUTHOR, HOSPITAL, 1)
    assert codes.purification_passed(purification.content) and "error" not in purification.content
    assert answers(runtime, claim_id, "verifikasi") == []  # the hospital has not decided yet

    hospital_write(runtime, decision(purification.id))

    [verification] = answers(runtime, claim_id, "verifikasi")
    response, grouping = verification.content, grouping_of(runtime, claim_id)
    record = runtime.eklaim_gateway(HOSPITAL).record(claim_of(case)["identifier"][0]["value"]).data
    assert (author_of(runtime, verification), verification.tenant) == (bpjs.SIMULATOR_AUTHOR, HOSPITAL)
    assert amount(response, "submitted") == claim_of(case)["total"]["value"] == amount(grouping, "submitted")
    assert amount(response, "benefit") == amount(grouping, "benefit")  # INA-CBG: base + additional packages
    assert response["payment"]["amount"]["value"] == amount(response, "benefit")
    assert copay(response) == int(record["add_payment_amt"])  # the excess is E-Klaim's add_payment_amt
    assert (copay(response) > 0) is (name == "03-class-upgrade")
    assert response["adjudication"][0]["reason"]["coding"][0]["code"] == "CRA000001"


def test_the_class_upgrade_case_in_figures(simulator, runtime):
    claim_id = publish(runtime, example("03-class-upgrade"))
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id))
    [verification] = answers(runtime, claim_id, "verifikasi")
    assert (amount(verification.content, "submitted"), amount(verification.content, "benefit"),
            copay(verification.content)) == (3_650_000, 3_701_100, 314_500)
    assert verification.content["disposition"] == (
        "Layak: INA-CBG Rp 3,701,100, selisih biaya (excess) pasien Rp 314,500")


def test_special_cmg_packages_are_part_of_the_benefit(simulator, runtime):
    claim_id = publish(runtime, example("02-hip-replacement-special-cmg"))
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id))
    [verification] = answers(runtime, claim_id, "verifikasi")
    packages = [a["net"]["value"] for a in grouping_of(runtime, claim_id)["addItem"]]
    assert len(packages) > 1 and amount(verification.content, "benefit") == sum(packages)


def test_a_claim_stopped_before_e_klaim_reaches_no_bpjs(simulator, runtime):
    claim_id = publish(runtime, example("05-precheck-rejected"))
    assert bundle_of(runtime, claim_id) is None and answers(runtime, claim_id, "purifikasi") == []


def test_batal_is_not_verified(simulator, runtime):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    hospital_write(runtime, decision(the_purification(runtime, claim_id).id, status=BATAL))
    assert answers(runtime, claim_id, "verifikasi") == []


# --- claims BPJS-K sends back ----------------------------------------------------------------------------------------

def test_a_readmission_does_not_pass_and_is_not_verified(simulator, runtime):
    publish(runtime, example("03-class-upgrade"))  # J18.9, discharged 2026-10-14
    again = with_principal(with_stay(with_sep(renamed(example("03-class-upgrade"), "re-"), "0301R0011126V000302"),
                                     "2026-11-01T09:00:00+07:00", "2026-11-04T10:00:00+07:00"),
                           "J18.0", "Bronchopneumonia, unspecified")
    claim_id = publish(runtime, again)
    purification = the_purification(runtime, claim_id)
    assert not codes.purification_passed(purification.content)
    assert findings(purification) == ["readmission"]
    assert purification.content["processNote"][0]["text"].startswith(
        "Readmisi: pasien pulang 18 hari sebelumnya (SEP 0301R0011026V000301) dengan diagnosis utama kategori J18")
    hospital_write(runtime, decision(purification.id))
    assert answers(runtime, claim_id, "verifikasi") == []


def test_an_outpatient_claim_in_another_hospital_during_the_stay_is_a_double_claim(simulator, runtime):
    publish(runtime, example("03-class-upgrade"))  # inpatient 2026-10-10 – 2026-10-14, card 0001234567003
    visit = with_stay(with_card(renamed(example("01-outpatient-visit"), "rs2-", organization=OTHER_HOSPITAL),
                                "0001234567003"), "2026-10-12T09:00:00+07:00", "2026-10-12T10:30:00+07:00")
    claim_id = publish(runtime, visit, OTHER_HOSPITAL)
    purification = the_purification(runtime, claim_id)
    assert (purification.tenant, findings(purification)) == (OTHER_HOSPITAL, ["double-rjtl-ritl"])
    assert resource_of(visit, "Claim")["provider"]["reference"] == f"Organization/{OTHER_HOSPITAL}"


def test_the_same_sep_claimed_by_another_hospital(simulator, runtime):
    publish(runtime, example("03-class-upgrade"))
    claim_id = publish(runtime, renamed(example("03-class-upgrade"), "rs2-", organization=OTHER_HOSPITAL),
                       OTHER_HOSPITAL)
    assert findings(the_purification(runtime, claim_id)) == ["duplicate-sep"]


# --- the simulator itself ---------------------------------------------------------------------------------------------

def test_answers_once_and_never_to_itself(simulator, runtime):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    bundle = bundle_of(runtime, claim_id)
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:  # the same publication told again
        simulator.resource_changed(ResourceChange("update", None, bundle, PIPELINE_AUTHOR), uow)
    purification = the_purification(runtime, claim_id)
    assert purification.version_id == 1
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:  # its own answer does not trigger it
        simulator.resource_changed(ResourceChange("create", None, purification, bpjs.SIMULATOR_AUTHOR), uow)
    assert len(answers(runtime, claim_id, "purifikasi")) == 1 and answers(runtime, claim_id, "verifikasi") == []


def test_a_bundle_a_client_stores_is_not_a_publication(simulator, runtime):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    copy_ = {**bundle_of(runtime, claim_id).content, "id": "client-copy"}
    del copy_["meta"]
    hospital_write(runtime, copy_)
    assert len(answers(runtime, claim_id, "purifikasi")) == 1


def test_undecided_purifications_are_verified_after_the_decision_period(simulator, runtime, clock):
    claim_id = publish(runtime, example("01-outpatient-visit"))
    clock.advance(hours=71)
    assert simulator.verify_overdue(runtime.store) == 0
    clock.advance(hours=1, seconds=1)
    assert simulator.verify_overdue(runtime.store) == 1
    [verification] = answers(runtime, claim_id, "verifikasi")
    assert verification.tenant == HOSPITAL
    assert simulator.verify_overdue(runtime.store) == 0  # verified once


def test_a_failing_simulator_never_stops_the_publication(simulator, runtime, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated BPJS-K outage")

    monkeypatch.setattr("fhirclaim.bpjs.simulator.purify", broken)
    claim_id = publish(runtime, example("01-outpatient-visit"))
    assert bundle_of(runtime, claim_id) is not None
    assert answers(runtime, claim_id, "purifikasi") == []
    assert "bpjs simulator could not purify" in caplog.text


def test_install_follows_the_settings_and_replaces_itself(runtime):
    assert bpjs.install(runtime) is None  # neither bpjs_simulator nor sandbox
    first = bpjs.install(runtime, simulator=True)
    second = bpjs.install(runtime, simulator=True)
    assert [type(i).__name__ for i in runtime.interceptors].count("ClaimResponseOrder") == 1
    assert [listener for listener in runtime.listeners if isinstance(listener, bpjs.BpjsSimulator)] == [second]
    assert first is not second
    runtime.settings.bpjs_simulator = True
    assert bpjs.install(runtime) is not None
