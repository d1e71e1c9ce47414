"""Claims without SEP on E-Klaim 5.10 (COVID-19, KIPI, newborn, co-incidence): generate_claim_number numbers them
once, the number is their nomor_sep for every later call and rides on the Claim, the grouping ClaimResponse and the
signed Bundle as a server-written identifier; a client update keeps it; a normal JKN claim never asks for one. And
E2102 ("coding sudah final") on a coding setter or grouper: the coding was finalised outside the flow, which
re-edits it and goes on."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from flow510_kit import submit
from pipeline_kit import (
    GROUPED,
    grouping_response,
    jobs_of,
    load_case,
    post_transaction,
    processing,
    read,
    run_jobs,
    signed_bundle,
    time_passes,
    with_status,
)

from fhirclaim.claims import systems
from fhirclaim.fhir.outcome import FhirError

NEWBORN = GROUPED[3]
PAYOR_SYSTEM = "https://fhirclaim.org/fhir/CodeSystem/eklaim-payor"


def without_sep(payor: str = "73") -> dict[str, Any]:
    """Example 04 (a newborn) as a claim of E-Klaim payor `payor` (73: the newborn's own, BBL) with no SEP."""
    bundle = copy.deepcopy(load_case(NEWBORN).transaction)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Coverage":
            resource["type"]["coding"].append({"system": PAYOR_SYSTEM, "code": payor})
        if resource["resourceType"] == "Claim":
            for insurance in resource["insurance"]:  # "numbered by E-Klaim" (the profile's third way)
                insurance["identifier"] = {"system": systems.EKLAIM_CLAIM_NUMBER}
            resource.pop("identifier", None)
    return bundle


def claim_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")


def generated(resource: dict[str, Any]) -> list[str]:
    return [i["value"] for i in resource.get("identifier") or [] if i.get("system") == systems.EKLAIM_CLAIM_NUMBER]


def test_a_newborn_claim_without_sep_is_numbered_by_e_klaim_then_sent_and_signed(on510):
    bundle = without_sep()
    claim_id = claim_of(bundle)["id"]
    [job] = submit(on510, bundle)

    [row] = jobs_of(on510.runtime, claim_id)
    assert (row.status, row.last_error) == ("done", None)
    assert on510.wire.methods()[:3] == ["generate_claim_number", "new_claim", "set_claim_data"]
    assert on510.wire.methods()[-3:] == ["inacbg_grouper_final", "claim_final", "send_claim_individual"]
    [number] = generated(read(on510.runtime, "Claim", claim_id))
    assert "ICC" in number  # kode RS + ICC + yymm + counter, as the manual's example reads
    calls = [m for name, m in on510.wire.calls if name not in ("generate_claim_number",)]
    seps = {m.get("data", {}).get("nomor_sep") or m["metadata"].get("nomor_sep") for m in calls}
    assert seps == {number}  # the number is the nomor_sep of every later call
    [new_claim] = [m for name, m in on510.wire.calls if name == "new_claim"]
    assert new_claim["data"]["nomor_sep"] == number

    claim = read(on510.runtime, "Claim", claim_id)
    assert processing(claim) == "signed"
    response = grouping_response(on510.runtime, claim_id)
    assert response["outcome"] == "complete"
    assert response["identifier"] == [{"system": systems.EKLAIM_CLAIM_NUMBER, "value": number}]
    bundle_signed = signed_bundle(on510.runtime, claim_id)
    assert bundle_signed["identifier"] == {"system": systems.EKLAIM_CLAIM_NUMBER, "value": number}
    assert "signature" in bundle_signed
    record = on510.client.get_claim_data(number)
    assert (record.is_final, record.kemenkes_dc_status_cd) == (True, "sent")
    assert record.data["payor_id"] == "73"


def test_a_lost_answer_after_the_number_was_taken_reuses_it(on510):
    """E-Klaim answered generate_claim_number; the next call's answer is lost (new_claim did its work): the rerun
    takes no second number and opens no second claim."""
    bundle = without_sep()
    claim_id = claim_of(bundle)["id"]
    on510.wire.lose_answer_once("new_claim")
    [job] = submit(on510, bundle)
    assert jobs_of(on510.runtime, claim_id)[0].status == "queued"
    [number] = generated(read(on510.runtime, "Claim", claim_id))

    time_passes(on510.runtime, job.id)
    run_jobs(on510.runtime)
    [row] = jobs_of(on510.runtime, claim_id)
    assert (row.status, row.attempts) == ("done", 1)
    assert on510.wire.methods().count("generate_claim_number") == 1
    # the rerun's new_claim under the same number is refused (E-Klaim holds it): one claim, read back and carried on
    assert on510.wire.methods().count("new_claim") == 2
    assert on510.wire.refused[0] == ("new_claim", "E2007")  # then the re-edits' "belum final" (nothing to reopen)
    assert on510.wire.methods(reads=True).count("get_claim_data") == 1
    assert generated(read(on510.runtime, "Claim", claim_id)) == [number]
    assert on510.client.get_claim_data(number).is_final


def test_a_lost_answer_of_generate_claim_number_itself_leaves_only_an_unused_number(on510):
    """The one thing no client can undo: E-Klaim numbered the claim and the answer never came. The rerun takes a
    second number; the first opens no claim in E-Klaim (new_claim only ever uses a recorded number)."""
    bundle = without_sep()
    claim_id = claim_of(bundle)["id"]
    on510.wire.lose_answer_once("generate_claim_number")
    [job] = submit(on510, bundle)
    assert generated(read(on510.runtime, "Claim", claim_id)) == []
    time_passes(on510.runtime, job.id)
    run_jobs(on510.runtime)
    [number] = generated(read(on510.runtime, "Claim", claim_id))
    assert on510.wire.methods().count("generate_claim_number") == 2
    assert [m["data"]["nomor_sep"] for name, m in on510.wire.calls if name == "new_claim"] == [number]


def test_an_update_of_the_claim_keeps_its_number(on510):
    """The hospital corrects the claim after it went final (not yet sent): the new job re-edits the claim E-Klaim
    holds under the same number, and never asks for another."""
    settings = on510.runtime.pipeline.settings
    on510.runtime.pipeline.settings = dataclasses.replace(settings, send_to_data_centre=False)
    bundle = without_sep()
    claim_id = claim_of(bundle)["id"]
    submit(on510, bundle)
    [number] = generated(read(on510.runtime, "Claim", claim_id))
    on510.wire.clear()

    changed = with_status(claim_of(bundle), "active")
    changed["diagnosis"][1]["diagnosisCodeableConcept"]["coding"][0]["code"] = "P59.8"  # a coding correction
    submit(on510, changed)
    assert [j.status for j in jobs_of(on510.runtime, claim_id)] == ["done", "done"]
    assert generated(read(on510.runtime, "Claim", claim_id)) == [number]
    assert "generate_claim_number" not in on510.wire.methods()
    # new_claim under the number is refused (E-Klaim holds that claim), which is then re-edited
    assert on510.wire.methods()[:4] == ["new_claim", "reedit_claim", "inacbg_grouper_reedit", "idrg_grouper_reedit"]
    assert on510.wire.refused[:1] == [("new_claim", "E2007")]
    assert {m.get("data", {}).get("nomor_sep") or m["metadata"].get("nomor_sep") for _, m in on510.wire.calls} == {
        number}


def test_a_client_cannot_set_the_generated_number(on510):
    bundle = without_sep()
    claim = claim_of(bundle)
    claim["identifier"] = [{"system": systems.EKLAIM_CLAIM_NUMBER, "value": "0000000ICC99990001"}]
    post_transaction(on510.runtime, bundle)
    assert generated(read(on510.runtime, "Claim", claim["id"])) == []


def test_a_jkn_claim_with_its_sep_never_asks_for_a_number(on510):
    case = load_case(GROUPED[0])
    submit(on510, case.transaction)
    assert jobs_of(on510.runtime, case.claim_id)[0].status == "done"
    assert "generate_claim_number" not in on510.wire.methods()
    assert generated(read(on510.runtime, "Claim", case.claim_id)) == []


def test_a_jkn_claim_without_sep_still_stops_at_the_precheck(on510):
    bundle = without_sep(payor="3")
    claim_id = claim_of(bundle)["id"]
    submit(on510, bundle)
    assert jobs_of(on510.runtime, claim_id)[0].status == "failed"
    response = grouping_response(on510.runtime, claim_id)
    assert "PRECHECK-SEP-MISSING" in str(response["error"])
    assert on510.wire.calls == []


def test_on_51_a_claim_without_sep_is_a_clear_error(on51):
    bundle = without_sep()
    claim_id = claim_of(bundle)["id"]
    submit(on51, bundle)
    assert jobs_of(on51.runtime, claim_id)[0].status == "failed"
    assert "generate_claim_number" in grouping_response(on51.runtime, claim_id)["error"][0]["code"]["text"]
    assert on51.wire.calls == []


# --- E2102 on a coding setter or grouper -------------------------------------------------------------------------


def test_a_coding_finalised_outside_the_flow_is_reedited_and_coded_again(on510):
    """Someone finalises the iDRG coding in E-Klaim's own screens between the diagnosis and the procedure setter:
    E2102 "iDRG coding sudah final". The flow re-edits (INA-CBG first, then iDRG, as the manual orders) and repeats
    the setter; the claim goes through."""
    case = load_case(GROUPED[0])
    on510.wire.before["idrg_procedure_set"] = lambda: (on510.client.grouper_idrg(case.sep),
                                                       on510.client.idrg_grouper_final(case.sep))
    submit(on510, case.transaction)

    assert jobs_of(on510.runtime, case.claim_id)[0].status == "done"
    methods = on510.wire.methods()
    start = methods.index("idrg_procedure_set")
    assert methods[start:start + 4] == ["idrg_procedure_set", "inacbg_grouper_reedit", "idrg_grouper_reedit",
                                        "idrg_procedure_set"]
    assert on510.client.get_claim_data(case.sep).is_final


def test_a_claim_naming_its_own_generated_number_is_refused(on510):
    """The number is E-Klaim's to give: Claim.insurance.identifier of that system names no value."""
    bundle = without_sep()
    claim_of(bundle)["insurance"][0]["identifier"]["value"] = "0000000ICC99990001"
    with pytest.raises(FhirError) as refused:
        post_transaction(on510.runtime, bundle)
    assert refused.value.status == 422
