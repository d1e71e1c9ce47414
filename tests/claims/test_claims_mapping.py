"""FHIR → E-Klaim mapping: new_claim and set_claim_data field by field, and every missing element named."""

from __future__ import annotations

import pytest
from claims_cases import (
    CARD,
    KEMKES,
    NIK_CODER,
    SEP,
    changed,
    icd10,
    info,
    inpatient_case,
    outpatient_case,
    patient,
    quantity,
)

from fhirclaim.claims.mapping import (
    SET_CLAIM_DATA_FIELDS,
    ClaimContext,
    MappingError,
    TenantClaimSettings,
    claim_references,
    coder_nik,
    mapping_issues,
    nomor_sep,
    special_cmg,
    to_new_claim,
    to_set_claim_data,
)


def test_new_claim_of_an_inpatient():
    assert to_new_claim(inpatient_case()) == {
        "nomor_kartu": CARD,
        "nomor_sep": SEP,
        "nomor_rm": "RM-00123",
        "nama_pasien": "SITI AMINAH",  # the official name, not the usual one
        "tgl_lahir": "1980-02-14 00:00:00",
        "gender": "2",
    }


def test_set_claim_data_of_an_inpatient_field_by_field():
    data = to_set_claim_data(inpatient_case(), TenantClaimSettings())
    assert data == {
        "nomor_sep": SEP,
        "nomor_kartu": CARD,
        "tgl_masuk": "2024-05-01 08:30:00",  # 01:30Z in WIB
        "tgl_pulang": "2024-05-06 10:15:00",  # +07:00 kept
        "jenis_rawat": "1",
        "kelas_rawat": "2",  # Coverage.class of type class
        "adl_sub_acute": "0",
        "adl_chronic": "0",
        "icu_indikator": "1",
        "icu_los": "2",
        "ventilator_hour": "5",
        "upgrade_class_ind": "0",  # SATUSEHAT no-upgrade
        "upgrade_class_class": "",
        "upgrade_class_los": "0",
        "add_payment_pct": "0",
        "birth_weight": "0",
        "discharge_status": "1",
        "diagnosa": "S72.0#W19#I10",  # principal first, then by sequence; "i10" normalised
        "procedure": "81.51#88.38",  # by sequence; "8838" normalised
        "tarif_rs": "3500000",
        "tarif_poli_eks": "0",
        "nama_dokter": "dr. Rudy Hartono, Sp.OT",
        "kode_tarif": "BP",
        "payor_id": "3",
        "payor_cd": "JKN",
        "coder_nik": NIK_CODER,  # from the enterer Practitioner's NIK
    }
    assert tuple(data) == SET_CLAIM_DATA_FIELDS
    assert all(isinstance(v, str) for v in data.values())


def test_set_claim_data_of_an_executive_outpatient_visit():
    data = to_set_claim_data(outpatient_case(), TenantClaimSettings(kode_tarif="CS", payor_id="3", payor_cd="JKN"))
    assert {k: data[k] for k in ("tgl_masuk", "tgl_pulang", "jenis_rawat", "kelas_rawat", "discharge_status",
                                 "diagnosa", "procedure", "tarif_rs", "tarif_poli_eks", "nama_dokter",
                                 "coder_nik", "kode_tarif", "icu_indikator", "icu_los")} == {
        "tgl_masuk": "2024-05-07 08:00:00",  # 09:00+08:00 (WITA) in WIB
        "tgl_pulang": "2024-05-07 10:30:00",  # 03:30Z in WIB
        "jenis_rawat": "2",
        "kelas_rawat": "1",  # executive clinic
        "discharge_status": "1",  # an outpatient goes home
        "diagnosa": "J06.9",
        "procedure": "#",  # clear, never ""
        "tarif_rs": "250000",  # whole rupiah
        "tarif_poli_eks": "150000",
        "nama_dokter": "dr. Rudy Hartono, Sp.OT",  # Encounter participant ATND
        "coder_nik": NIK_CODER,  # Claim.enterer.identifier
        "kode_tarif": "CS",
        "icu_indikator": "0",
        "icu_los": "0",
    }


def test_regular_outpatient_is_class_3():
    ctx = outpatient_case()
    claim = ctx.claim
    executive = ("executive-clinic", "executive-clinic-tariff")
    claim["supportingInfo"] = [s for s in claim["supportingInfo"]
                               if s["category"]["coding"][0]["code"] not in executive]
    assert to_set_claim_data(changed(ctx, claim=claim))["kelas_rawat"] == "3"


def test_dates_follow_the_tenant_time_zone():
    data = to_set_claim_data(inpatient_case(), TenantClaimSettings(timezone="Asia/Makassar"))
    assert (data["tgl_masuk"], data["tgl_pulang"]) == ("2024-05-01 09:30:00", "2024-05-06 11:15:00")


def test_period_falls_back_to_billable_period_and_date_only_means_local_midnight():
    ctx = inpatient_case()
    del ctx.encounter["period"]
    ctx.claim["billablePeriod"] = {"start": "2024-05-01", "end": "2024-05-06T10:15:00+07:00"}
    data = to_set_claim_data(ctx)
    assert (data["tgl_masuk"], data["tgl_pulang"]) == ("2024-05-01 00:00:00", "2024-05-06 10:15:00")


@pytest.mark.parametrize("code,status", [("home", "1"), ("other-hcf", "2"), ("snf", "2"), ("aadvice", "3"),
                                         ("exp", "4"), ("oth", "5"), ("other", "5")])
def test_discharge_disposition(code, status):
    ctx = inpatient_case()
    ctx.encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] = code
    assert to_set_claim_data(ctx)["discharge_status"] == status


@pytest.mark.parametrize("klass,jenis", [("IMP", "1"), ("ACUTE", "1"), ("NONAC", "1"), ("AMB", "2"), ("EMER", "2")])
def test_encounter_class(klass, jenis):
    ctx = inpatient_case()
    ctx.encounter["class"]["code"] = klass
    assert to_set_claim_data(ctx)["jenis_rawat"] == jenis


def test_class_upgrade_to_vip_sends_the_four_fields_together():
    ctx = inpatient_case()
    ctx.claim["supportingInfo"][0]["code"]["coding"][0]["code"] = "upgrade"
    ctx.claim["supportingInfo"] += [
        info(7, "upgrade-class-class", KEMKES, valueString="VIP"),
        info(8, "upgrade-class-los", **quantity(3, "d")),
        info(9, "add-payment-pct", **quantity(35, "%")),
    ]
    data = to_set_claim_data(ctx)
    assert {k: data[k] for k in ("upgrade_class_ind", "upgrade_class_class", "upgrade_class_los",
                                 "add_payment_pct")} == {
        "upgrade_class_ind": "1", "upgrade_class_class": "vip", "upgrade_class_los": "3", "add_payment_pct": "35"}


def test_upgrade_without_its_companions_names_them():
    ctx = inpatient_case()
    ctx.claim["supportingInfo"][0]["code"]["coding"][0]["code"] = "upgrade"
    ctx.claim["supportingInfo"].append(info(7, "upgrade-class-class", KEMKES, valueString="vip"))
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    assert {i.text.split(":")[0] for i in raised.value.issues} == {
        "A class upgrade needs the days spent in the upgraded class (upgrade-class-los)",
        "An upgrade above class 1 needs the additional payment percentage (add-payment-pct)"}


def test_supporting_numbers_adl_birth_weight_in_kg_and_icu_stays_added_up():
    ctx = inpatient_case()
    ctx.claim["supportingInfo"] += [
        info(7, "adl-sub-acute", **quantity(15, "{score}")),
        info(8, "adl-chronic", valueQuantity={"value": 12}),
        info(9, "birth-weight", **quantity(2.45, "kg")),
        info(10, "icu-days", **quantity(1, "d")),
    ]
    data = to_set_claim_data(ctx)
    assert (data["adl_sub_acute"], data["adl_chronic"], data["birth_weight"], data["icu_los"]) == (
        "15", "12", "2450", "3")


def test_special_cmg_choice_as_one_string_or_one_entry_per_option():
    claim = inpatient_case().claim
    assert special_cmg(claim) is None
    claim["supportingInfo"].append(info(7, "special-cmg", valueString="RR04#YY01"))
    assert special_cmg(claim) == "RR04#YY01"
    claim["supportingInfo"][-1] = info(7, "special-cmg", code={"coding": [
        {"system": "http://terminology.kemkes.go.id/CodeSystem/inacbg-special-cmg-v5", "code": "YY01"}]})
    claim["supportingInfo"].append(info(8, "special-cmg", valueString="RR04Hip"))
    assert special_cmg(claim) == "YY01#RR04Hip"


def test_accessors():
    ctx = inpatient_case()
    assert nomor_sep(ctx.claim) == SEP
    assert coder_nik(ctx) == NIK_CODER
    del ctx.claim["insurance"][0]["identifier"]
    assert nomor_sep(ctx.claim) == SEP  # Claim.identifier with the claim-number system
    ctx.claim["identifier"] = ctx.claim["identifier"][:1]  # the batch number is not a SEP
    assert nomor_sep(ctx.claim) is None


def test_diagnosis_and_procedure_by_reference():
    ctx = inpatient_case(
        conditions={"Condition/c1": {"resourceType": "Condition", "code": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "K35.8"}]}}},
        procedures={"Procedure/p1": {"resourceType": "Procedure", "code": {"coding": [
            {"system": "http://snomed.info/sct", "code": "80146002"},
            {"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "47.09"}]}}},
    )
    ctx.claim["diagnosis"] = [{"sequence": 1, "diagnosisReference": {"reference": "Condition/c1"}}]
    ctx.claim["procedure"] = [{"sequence": 1, "procedureReference": {"reference": "Procedure/p1"}}]
    data = to_set_claim_data(ctx)
    assert (data["diagnosa"], data["procedure"]) == ("K35.8", "47.09")


def test_claim_references_name_what_to_fetch():
    ctx = inpatient_case()
    refs = claim_references(ctx.claim, ctx.encounter)
    assert (refs.patient, refs.encounter, refs.coverage, refs.organization) == (
        "Patient/pat-1", "Encounter/enc-1", "Coverage/cov-1", "Organization/10000004")
    assert refs.practitioners == ("Practitioner/prac-dpjp", "Practitioner/prac-coder")


def test_missing_data_lists_every_element_and_why():
    ctx = ClaimContext(
        claim={"resourceType": "Claim", "status": "active", "use": "claim", "insurance": [
            {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-1"}}],
            "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"text": "patah tulang"}}],
            "total": {"value": 120000, "currency": "USD"}},
        patient=patient(gender="unknown", identifier=[], birthDate="1980"),
        encounter={"resourceType": "Encounter", "class": {"code": "HH"}},
        coverage={"resourceType": "Coverage", "class": []},
        practitioners={},
    )
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    found = {(i.code, i.expression[0]) for i in raised.value.issues}
    assert found == {
        ("required", "Claim.insurance[0].identifier.value"),
        ("required", "Coverage.subscriberId"),
        ("required", "Encounter.period.start"),
        ("required", "Encounter.period.end"),
        ("code-invalid", "Encounter.class"),
        ("code-invalid", "Claim.diagnosis[0]"),
        ("required", "Claim.diagnosis"),
        ("value", "Claim.total.currency"),
        ("required", "Claim.careTeam"),
        ("required", "Claim.enterer"),
    }
    sep_issue = next(i for i in raised.value.issues if "nomor_sep" in i.text)
    assert "E-Klaim keys every claim by its SEP number (nomor_sep)" in sep_issue.text
    with pytest.raises(MappingError) as raised:
        to_new_claim(ctx)
    assert {i.expression[0] for i in raised.value.issues} == {
        "Claim.insurance[0].identifier.value", "Coverage.subscriberId", "Patient.identifier", "Patient.birthDate",
        "Patient.gender"}
    assert len(mapping_issues(ctx)) == 13  # 10 + 5, SEP and card number counted once


def test_missing_resources_are_named():
    ctx = inpatient_case(coverage=None, encounter=None, patient=None)
    with pytest.raises(MappingError) as raised:
        to_new_claim(ctx)
    assert {i.expression[0] for i in raised.value.issues} == {"Claim.insurance[0].coverage", "Claim.patient"}
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    # jenis_rawat cannot be known; the billable period still dates the stay
    assert {i.expression[0] for i in raised.value.issues} == {"Claim.insurance[0].coverage", "Claim.supportingInfo"}


def test_unknown_supporting_unit_and_duplicates_are_refused():
    ctx = inpatient_case()
    ctx.claim["supportingInfo"] += [info(7, "birth-weight", **quantity(5, "lb")),
                                    info(8, "adl-chronic", **quantity(20, "{score}")),
                                    info(9, "adl-chronic", **quantity(25, "{score}"))]
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    assert {(i.code, i.expression) for i in raised.value.issues} == {
        ("value", ("Claim.supportingInfo[6].valueQuantity",)),
        ("structure", ("Claim.supportingInfo[7]", "Claim.supportingInfo[8]")),
    }


def test_inpatient_without_discharge_disposition_or_class():
    ctx = inpatient_case()
    del ctx.encounter["hospitalization"]
    ctx.coverage["class"] = ctx.coverage["class"][:1]
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    assert {i.expression[0] for i in raised.value.issues} == {
        "Encounter.hospitalization.dischargeDisposition", "Coverage.class"}


def test_duplicate_diagnosis_is_sent_once():
    ctx = inpatient_case()
    ctx.claim["diagnosis"].append(icd10(4, "S72.0"))
    assert to_set_claim_data(ctx)["diagnosa"] == "S72.0#W19#I10"


@pytest.mark.parametrize("start", ["2024-05", "2024-13-01T08:00:00+07:00", "yesterday"])
def test_a_start_without_a_real_day_is_refused(start):
    ctx = inpatient_case()
    ctx.encounter["period"]["start"] = start
    with pytest.raises(MappingError) as raised:
        to_set_claim_data(ctx)
    assert [(i.code, i.expression) for i in raised.value.issues] == [("value", ("Encounter.period.start",))]
    assert repr(start) in raised.value.issues[0].text
