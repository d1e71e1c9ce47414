"""The iDRG grouper emulator (fhirclaim.inacbg.idrg): the real DRG list and tariffs, MDC from the principal, surgical
DRGs for operating-room procedures, severity from secondary diagnoses, MDC 36 for the manual's ungroupable cases,
and the same answer for the same input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fhirclaim.inacbg.idrg import NBR, IdrgEpisode, IdrgGrouper, load_idrg_tables, weight_text


@pytest.fixture(scope="module")
def grouper() -> IdrgGrouper:
    return IdrgGrouper()


def episode(*diagnoses: str, procedures=(), gender="1", age_days=15000, inpatient=True, **more) -> IdrgEpisode:
    return IdrgEpisode(diagnoses=diagnoses, procedures=tuple((code, 1) for code in procedures), gender=gender,
                       age_days=age_days, inpatient=inpatient, **more)


def test_the_drg_list_is_the_real_one_with_its_tariffs():
    tables = load_idrg_tables()
    assert len(tables.drgs) == 1363
    revision = tables.drgs["1807119"]
    assert (revision.description, revision.tariff, weight_text(revision.cost_weight)) == \
        ("Hip Revision Proc.", 41310488, "5.14")  # the manual's grouper example: cost_weight "5.14"
    assert {code[:2] for code in tables.drgs} <= set(tables.mdc_names)


def test_the_answer_has_the_manuals_keys_and_number_forms(grouper):
    answer = grouper.group(episode("J18.9"))
    assert list(answer) == ["mdc_number", "mdc_description", "drg_code", "drg_description", "script_version",
                            "logic_version", "cost_weight", "sub_acute_weight", "chronic_weight",
                            "total_cost_weight", "nbr"]
    assert all(isinstance(value, str) for value in answer.values())
    assert answer["nbr"] == "8037060" and answer["mdc_number"] == "14" and answer["drg_code"].startswith("14")
    weight = load_idrg_tables().drgs[answer["drg_code"]].tariff / Decimal(NBR)
    assert Decimal(answer["cost_weight"]) == weight.quantize(Decimal(answer["cost_weight"]))


@pytest.mark.parametrize(("principal", "mdc"), [
    ("J18.9", "14"), ("I21.0", "15"), ("K35.8", "16"), ("M16.1", "18"), ("N18.5", "21"), ("S72.0", "33"),
    ("T20.2", "32"), ("Z51.1", "34"), ("E11.9", "20"), ("G40.9", "11"),
])
def test_the_principal_diagnosis_chooses_the_mdc(grouper, principal, mdc):
    assert grouper.group(episode(principal))["mdc_number"] == mdc


def test_an_or_procedure_makes_a_surgical_drg_and_none_a_medical_one(grouper):
    surgical = grouper.group(episode("K35.8", procedures=("47.09",)))
    medical = grouper.group(episode("K35.8"))
    assert int(surgical["drg_code"][2:4]) < 60 <= int(medical["drg_code"][2:4])
    assert surgical["drg_description"].startswith("Appendectomy")


def test_care_setting_and_severity_are_coded_in_the_drg(grouper):
    outpatient = grouper.group(episode("K35.8", inpatient=False))
    assert outpatient["drg_code"][5] == "2"
    plain = grouper.group(episode("M16.1", procedures=("81.51",)))
    with_cc = grouper.group(episode("M16.1", "I21.0", procedures=("81.51",)))
    assert (plain["drg_code"], with_cc["drg_code"]) == ("1814110", "1814111")
    assert Decimal(with_cc["cost_weight"]) > Decimal(plain["cost_weight"])


@pytest.mark.parametrize(("case", "drg_code"), [
    (episode("O80.9", gender="1"), "3611199"),
    (episode("N40", gender="2"), "3611199"),
    (episode("P07.3", age_days=400), "3611299"),
    (episode("J18.9", procedures=("81.52",)), "3600019"),
    (episode("J18.9", procedures=("81.52",), inpatient=False), "3600029"),
    (episode(), "3610099"),
    (episode("Z38.0"), "3610099"),
    (episode("C50.9", procedures=("99.25",)), "3600319"),
    (episode("Z51.0"), "3600119"),
    (episode("Z50.1"), "3635129"),
], ids=["female-principal-male", "male-principal-female", "neonatal-principal-adult", "unrelated-or",
        "unrelated-or-outpatient", "no-principal", "not-claimable", "chemotherapy-without-z51.1",
        "radiotherapy-session-without-procedure", "rehabilitation-without-procedure"])
def test_the_manuals_ungroupable_cases_are_mdc_36(grouper, case, drg_code):
    answer = grouper.group(case)
    assert (answer["mdc_number"], answer["mdc_description"], answer["drg_code"]) == \
        ("36", "Ungroupable or Unrelated", drg_code)
    assert (answer["cost_weight"], answer["total_cost_weight"]) == ("0.00", "0")


def test_injuries_of_two_regions_are_multiple_significant_trauma(grouper):
    assert grouper.group(episode("S72.0", "S22.3", procedures=("79.35",)))["mdc_number"] == "31"


def test_the_same_coding_always_groups_the_same(grouper):
    case = episode("S71.0", "A00.1", procedures=("81.52", "86.22", "90.090"))
    assert IdrgGrouper().group(case) == grouper.group(case) == grouper.group(case)
