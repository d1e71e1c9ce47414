"""FHIR → E-Klaim 5.10 set_claim_data: no coding, and each field 5.10 added read from its FHIR source."""

from __future__ import annotations

import json

import pytest
from claims_cases import CARD, changed, icd10, info, inpatient_case
from satusehat_examples import FIXTURES

from fhirclaim.claims.mapping import (
    CODING_FIELDS,
    MappingError,
    TenantClaimSettings,
    mapping_issues,
    mapping_warnings,
    needs_generated_claim_number,
    sitb_registration,
    to_set_claim_data,
)

LOINC = "http://loinc.org"
ICD9 = "http://hl7.org/fhir/sid/icd-9-cm"
OWN = "https://fhirclaim.org/fhir"
MANUAL = json.loads((FIXTURES / "eklaim" / "eklaim_5.10_manual_examples.json").read_text(encoding="utf-8"))
MANUAL_SET_CLAIM_DATA = MANUAL["sections"]["04-set-claim-data.md"]["examples"][0]["json"]["data"]


def _510(ctx, settings=None):
    return to_set_claim_data(ctx, settings or TenantClaimSettings(), protocol="5.10")


def _with_claim(edit, ctx=None):
    ctx = ctx or inpatient_case()
    claim = json.loads(json.dumps(ctx.claim))
    edit(claim)
    return changed(ctx, claim=claim)


def _observation(id_, code, effective="2024-05-01T09:00:00+07:00", status="final", **value):
    return {"resourceType": "Observation", "id": id_, "status": status,
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": effective, **value}


def _component(code, **value):
    return {"code": {"coding": [{"system": LOINC, "code": code}]}, **value}


def _mmhg(value):
    return {"valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}


def _observations(*resources):
    return {f"Observation/{r['id']}": r for r in resources}


# --- the payload as a whole ------------------------------------------------------------------------------------

def test_510_payload_carries_no_coding_and_only_fields_the_manual_names():
    data = _510(inpatient_case())
    assert not set(CODING_FIELDS) & set(data)
    assert set(data) <= set(MANUAL_SET_CLAIM_DATA)
    assert set(data["tarif_rs"]) == set(MANUAL_SET_CLAIM_DATA["tarif_rs"])
    assert data["ventilator"] == {"use_ind": "0"}  # no ventilation: E-Klaim is told so
    assert data["cob_cd"] == "#"  # no coordination of benefit: "#" clears it
    assert (data["payor_id"], data["payor_cd"], data["nomor_kartu"]) == ("3", "JKN", CARD)


def test_51_output_is_unchanged_and_the_default():
    ctx = inpatient_case()
    assert to_set_claim_data(ctx) == to_set_claim_data(ctx, protocol="5.1")
    assert to_set_claim_data(ctx)["diagnosa"] == "S72.0#W19#I10"
    assert "tarif_rs" in to_set_claim_data(ctx) and isinstance(to_set_claim_data(ctx)["tarif_rs"], str)


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="protocol"):
        to_set_claim_data(inpatient_case(), protocol="5.2")


def test_510_does_not_refuse_a_claim_whose_only_problem_is_its_coding():
    ctx = _with_claim(lambda c: c.update(diagnosis=[]))
    with pytest.raises(MappingError):
        to_set_claim_data(ctx, protocol="5.1")
    assert "diagnosa" not in _510(ctx)  # coding goes through idrg_coding, which refuses it there


# --- cara_masuk ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("system,code,expected", [
    ("http://terminology.hl7.org/CodeSystem/admit-source", "emd", "emd"),
    ("http://terminology.hl7.org/CodeSystem/admit-source", "gp", "gp"),
    (f"{OWN}/CodeSystem/eklaim-cara-masuk", "inp", "inp"),
])
def test_cara_masuk_from_admit_source(system, code, expected):
    ctx = inpatient_case()
    encounter = {**ctx.encounter, "hospitalization": {**ctx.encounter["hospitalization"],
                                                      "admitSource": {"coding": [{"system": system, "code": code}]}}}
    assert _510(changed(ctx, encounter=encounter))["cara_masuk"] == expected


def test_cara_masuk_absent_is_left_out_and_unknown_is_refused():
    ctx = inpatient_case()
    assert "cara_masuk" not in _510(ctx)
    encounter = {**ctx.encounter, "hospitalization": {**ctx.encounter["hospitalization"], "admitSource": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": "walk-in"}]}}}
    with pytest.raises(MappingError) as refused:
        _510(changed(ctx, encounter=encounter))
    assert [i.expression for i in refused.value.issues] == [("Encounter.hospitalization.admitSource",)]


# --- blood pressure ----------------------------------------------------------------------------------------------

def test_blood_pressure_from_the_panel_components():
    panel = _observation("bp", "85354-9", component=[_component("8480-6", **_mmhg(132)),
                                                     _component("8462-4", **_mmhg(84.6))])
    data = _510(changed(inpatient_case(), observations=_observations(panel)))
    assert (data["sistole"], data["diastole"]) == (132, 85)


def test_blood_pressure_from_separate_observations_the_first_of_the_stay():
    later = _observation("s2", "8480-6", "2024-05-03T09:00:00+07:00", **_mmhg(150))
    first = _observation("s1", "8480-6", "2024-05-01T08:40:00+07:00", **_mmhg(120))
    wrong = _observation("s0", "8480-6", "2024-05-01T08:00:00+07:00", status="entered-in-error", **_mmhg(999))
    diastole = _observation("d1", "8462-4", valueInteger=70)
    data = _510(changed(inpatient_case(), observations=_observations(later, first, wrong, diastole)))
    assert (data["sistole"], data["diastole"]) == (120, 70)


def test_no_blood_pressure_leaves_both_out():
    data = _510(changed(inpatient_case(), observations=_observations(_observation("hr", "8867-4", valueInteger=80))))
    assert "sistole" not in data and "diastole" not in data


# --- ventilator --------------------------------------------------------------------------------------------------

def test_ventilator_from_supporting_info_period_in_the_hospital_zone():
    def edit(claim):
        claim["supportingInfo"] = [i for i in claim["supportingInfo"] if "ventilator" not in json.dumps(i)]
        claim["supportingInfo"].append(info(9, "ventilator", timingPeriod={
            "start": "2024-05-02T01:00:00Z", "end": "2024-05-02T10:30:00+07:00"}))
    data = _510(_with_claim(edit))
    assert data["ventilator"] == {"use_ind": "1", "start_dttm": "2024-05-02 08:00:00",
                                  "stop_dttm": "2024-05-02 10:30:00"}
    assert data["ventilator_hour"] == "3"  # 2.5 h rounded up, as no ventilator-hours entry gives it


def test_ventilator_hours_sent_by_the_hospital_win():
    period = {"start": "2024-05-02T08:00:00+07:00", "end": "2024-05-02T20:00:00+07:00"}
    data = _510(_with_claim(lambda c: c["supportingInfo"].append(info(9, "ventilator", timingPeriod=period))))
    assert data["ventilator_hour"] == "5"  # the case's own ventilator-hours entry


def test_ventilator_from_a_ventilation_procedure():
    procedure = {"resourceType": "Procedure", "id": "vent", "status": "completed",
                 "code": {"coding": [{"system": ICD9, "code": "96.72"}]},
                 "performedPeriod": {"start": "2024-05-02T08:00:00+07:00", "end": "2024-05-06T09:00:00+07:00"}}
    ctx = _with_claim(lambda c: c["procedure"].append({"sequence": 3, "procedureReference":
                                                       {"reference": "Procedure/vent"}}))
    data = _510(changed(ctx, procedures={"Procedure/vent": procedure}))
    assert data["ventilator"] == {"use_ind": "1", "start_dttm": "2024-05-02 08:00:00",
                                  "stop_dttm": "2024-05-06 09:00:00"}


def test_ventilation_ending_before_it_starts_is_refused():
    ctx = _with_claim(lambda c: c["supportingInfo"].append(
        info(9, "ventilator", timingPeriod={"start": "2024-05-03T08:00:00+07:00", "end": "2024-05-02T08:00:00+07:00"})))
    with pytest.raises(MappingError) as refused:
        _510(ctx)
    assert refused.value.issues[0].expression[0].endswith(".timingPeriod")


# --- class upgrade payer, COB, payor, card type --------------------------------------------------------------

def _upgrade(claim, payer=None):
    kemkes = "http://terminology.kemkes.go.id/CodeSystem/claiminformationcategory"
    claim["supportingInfo"] = [i for i in claim["supportingInfo"] if "upgrade" not in json.dumps(i)] + [
        info(10, "upgrade-class-indicator", system=kemkes, code={"coding": [
            {"system": "http://terminology.kemkes.go.id/CodeSystem/upgradeClassIndicator", "code": "upgrade"}]}),
        info(11, "upgrade-class-class", system=kemkes, valueString="kelas_1"),
        info(12, "upgrade-class-los", valueQuantity={"value": 3, "code": "d"}),
    ]
    if payer:
        claim["supportingInfo"].append(info(13, "upgrade-class-payor", valueString=payer))


def test_upgrade_class_payor_from_supporting_info():
    data = _510(_with_claim(lambda c: _upgrade(c, "pemberi_kerja")))
    assert (data["upgrade_class_ind"], data["upgrade_class_payor"]) == ("1", "pemberi_kerja")


def test_upgrade_payor_defaults_to_the_patient_with_a_warning_and_to_a_second_insurer():
    ctx = _with_claim(_upgrade)
    assert _510(ctx)["upgrade_class_payor"] == "peserta"
    assert [i.expression for i in mapping_warnings(ctx) if "peserta" in i.text] == [("Claim.supportingInfo",)]

    def second_insurer(claim):
        _upgrade(claim)
        claim["insurance"].append({"sequence": 2, "focal": False, "coverage": {"display": "Asuransi X"}})
    assert _510(_with_claim(second_insurer))["upgrade_class_payor"] == "asuransi_tambahan"


def test_upgrade_payor_outside_the_value_set_is_refused():
    with pytest.raises(MappingError, match="upgrade-class-payor 'bpjs'"):
        _510(_with_claim(lambda c: _upgrade(c, "bpjs")))


def test_no_upgrade_sends_no_payor():
    assert "upgrade_class_payor" not in _510(inpatient_case())


def test_cob_code_from_the_non_focal_insurance():
    ctx = _with_claim(lambda c: c["insurance"].append({"sequence": 2, "focal": False, "coverage": {
        "identifier": {"system": f"{OWN}/sid/eklaim-cob", "value": "0001"}}}))
    assert _510(ctx)["cob_cd"] == "0001"


def test_covid_claim_payor_card_type_and_generated_number():
    ctx = inpatient_case()
    coverage = json.loads(json.dumps(ctx.coverage))
    coverage["type"] = {"coding": [{"system": f"{OWN}/CodeSystem/eklaim-payor", "code": "71"}]}
    coverage["subscriberId"] = "3171014402800003"
    coverage["identifier"] = [{"system": "https://fhir.kemkes.go.id/id/nik", "value": "3171014402800003"}]
    covid = changed(ctx, coverage=coverage)
    data = _510(covid)
    assert (data["payor_id"], data["payor_cd"], data["nomor_kartu_t"]) == ("71", "COVID-19", "nik")
    assert needs_generated_claim_number(covid) and not needs_generated_claim_number(ctx)
    assert "nomor_kartu_t" not in _510(ctx)  # a JKN card on a JKN claim: not asked


def test_card_type_named_on_the_identifier_wins():
    ctx = inpatient_case()
    coverage = json.loads(json.dumps(ctx.coverage))
    coverage["type"] = {"coding": [{"system": f"{OWN}/CodeSystem/eklaim-payor", "code": "73"}]}
    coverage["identifier"] = [{"system": "https://example.org/claims", "value": CARD, "type": {"coding": [
        {"system": f"{OWN}/CodeSystem/eklaim-card-type", "code": "klaim_ibu"}]}}]
    data = _510(changed(ctx, coverage=coverage))
    assert (data["payor_id"], data["nomor_kartu_t"], data["bayi_lahir_status_cd"]) == ("73", "klaim_ibu", 1)


def test_newborn_with_a_congenital_anomaly():
    ctx = inpatient_case()
    coverage = {**ctx.coverage, "type": {"coding": [{"system": f"{OWN}/CodeSystem/eklaim-payor", "code": "73"}]}}
    ctx = _with_claim(lambda c: c["diagnosis"].append(icd10(4, "Q21.0")), changed(ctx, coverage=coverage))
    assert _510(ctx)["bayi_lahir_status_cd"] == 2


# --- newborn APGAR and delivery ----------------------------------------------------------------------------------

def test_apgar_from_loinc_answers_and_integer_components():
    one = _observation("a1", "9272-6", valueInteger=7, component=[
        _component("32406-1", valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA6723-6"}]}),
        _component("32407-9", valueInteger=2), _component("32409-5", valueInteger=1),
        _component("32408-7", valueInteger=1), _component("32410-3", valueInteger=2)])
    five = [_observation(f"f{n}", code, valueInteger=2) for n, code in
            enumerate(("32411-1", "32412-9", "32414-5", "32413-7", "32415-2"))]
    data = _510(changed(inpatient_case(), observations=_observations(one, *five)))
    assert data["apgar"] == {
        "menit_1": {"appearance": 1, "pulse": 2, "grimace": 1, "activity": 1, "respiration": 2},
        "menit_5": {"appearance": 2, "pulse": 2, "grimace": 2, "activity": 2, "respiration": 2}}


def test_apgar_missing_a_sign_is_not_sent_and_warned():
    partial = _observation("a1", "9272-6", component=[_component("32406-1", valueInteger=1)])
    ctx = changed(inpatient_case(), observations=_observations(partial))
    assert "apgar" not in _510(ctx)
    assert any("menit 1" in i.text for i in mapping_warnings(ctx))


def test_persalinan_from_obstetric_observations_and_delivery_procedures():
    caesarean = {"resourceType": "Procedure", "id": "sc", "status": "completed",
                 "code": {"coding": [{"system": ICD9, "code": "74.1"}]}, "performedDateTime": "2024-05-02T10:05:00Z"}
    vacuum = {"resourceType": "Procedure", "id": "vac", "status": "completed",
              "code": {"coding": [{"system": ICD9, "code": "72.71"}]}, "performedDateTime": "2024-05-02T16:40:00+07:00"}
    named = [{"sequence": n, "procedureReference": {"reference": f"Procedure/{id_}"}}
             for n, id_ in ((1, "sc"), (2, "vac"))]
    ctx = _with_claim(lambda c: c.update(procedure=named))
    observations = _observations(_observation("ga", "11884-4", valueQuantity={"value": 38, "unit": "wk"}),
                                 _observation("g", "11996-6", valueInteger=2),
                                 _observation("p", "11977-6", valueInteger=1),
                                 _observation("ab", "11612-1", valueInteger=0))
    procedures = {"Procedure/sc": caesarean, "Procedure/vac": vacuum}
    data = _510(changed(ctx, procedures=procedures, observations=observations))
    assert data["persalinan"] == {
        "usia_kehamilan": "38", "gravida": "2", "partus": "1", "abortus": "0",
        "delivery": [
            {"delivery_sequence": "1", "delivery_method": "vaginal", "delivery_dttm": "2024-05-02 16:40:00",
             "use_manual": "0", "use_forcep": "0", "use_vacuum": "1"},
            {"delivery_sequence": "2", "delivery_method": "sc", "delivery_dttm": "2024-05-02 17:05:00",
             "use_manual": "0", "use_forcep": "0", "use_vacuum": "0"}]}
    assert "persalinan" not in _510(inpatient_case())


# --- SITB -----------------------------------------------------------------------------------------------------------

def test_sitb_registration_and_the_tb_claim_without_it():
    tb = _with_claim(lambda c: c.update(diagnosis=[icd10(1, "A15.0", "principal")]))
    warned = [i for i in mapping_warnings(tb) if "E2066" in i.text]
    assert warned and warned[0].expression == ("Claim.supportingInfo",)
    assert sitb_registration(tb) is None
    number = info(9, "sitb-registration", valueString=" 00000001 ")
    registered = _with_claim(lambda c: c["supportingInfo"].append(number), tb)
    assert sitb_registration(registered) == "00000001"
    assert not [i for i in mapping_warnings(registered) if "E2066" in i.text]
    assert mapping_issues(registered, protocol="5.10") == []
    not_tb = _with_claim(lambda c: c["supportingInfo"].append(number))
    assert sitb_registration(not_tb) is None  # E-Klaim validates SITB for TB diagnoses (A15-A19) only
