"""The 5.10 code tables agree with the published CodeSystems and extensions of profiles/, and with the manual."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from claims_cases import inpatient_case
from fhir.resources.R4B.structuredefinition import StructureDefinition
from satusehat_examples import FIXTURES

from fhirclaim.claims import code_tables, systems
from fhirclaim.fhir.profiles import check_profiles

PROFILES = resources.files("fhirclaim.profiles")
MANUAL = json.loads((FIXTURES / "eklaim" / "eklaim_5.10_manual_examples.json").read_text(encoding="utf-8"))
SET_CLAIM_DATA = MANUAL["sections"]["04-set-claim-data.md"]["examples"][0]["json"]["data"]


def _codes(url):
    return [c["code"] for c in code_tables.code_system(url)["concept"]]


def test_tariff_categories_are_the_manuals_keys_in_table_and_code_system():
    table = code_tables.data_table("tariff_breakdown")
    assert table["categories"] == _codes(systems.EKLAIM_TARIFF_CATEGORY) == list(SET_CLAIM_DATA["tarif_rs"])
    placed = {c for codes in table["codes"].values() for c in codes.values()} | set(table["systems"].values())
    assert placed | {table["default_category"]} <= set(table["categories"])


def test_cara_masuk_table_and_code_system_hold_the_eleven_manual_codes():
    mapping = code_tables.data_table("eklaim_510_mapping")["cara_masuk"]
    assert set(mapping["codes"]) == set(_codes(systems.EKLAIM_CARA_MASUK)) == {
        "gp", "hosp-trans", "mp", "outp", "inp", "emd", "born", "nursing", "psych", "rehab", "other"}
    assert SET_CLAIM_DATA["cara_masuk"] in mapping["codes"]


def test_payor_card_type_and_payer_tables_match_their_code_systems():
    mapping = code_tables.data_table("eklaim_510_mapping")
    assert {k for k in mapping["payors"] if not k.startswith("_")} == set(_codes(systems.EKLAIM_PAYOR))
    assert mapping["card_types"]["codes"] == _codes(systems.EKLAIM_CARD_TYPE)
    assert SET_CLAIM_DATA["nomor_kartu_t"] in mapping["card_types"]["codes"]
    assert SET_CLAIM_DATA["upgrade_class_payor"] in mapping["upgrade_class_payor"]["codes"]


def test_im_code_systems_list_the_manuals_im_only_codes():
    assert {"S87.9"} <= set(_codes(systems.ICD10_IM)) and {"91.799"} <= set(_codes(systems.ICD9CM_IM))
    assert code_tables.code_system(systems.ICD10_IM)["content"] == "fragment"


@pytest.mark.parametrize("url", [systems.IDRG_RESULT_EXT, systems.GROUPER_VERSION_EXT, systems.TARIFF_CATEGORY_EXT,
                                 systems.PROCEDURE_MULTIPLICITY_EXT])
def test_extensions_are_declared_as_r4_structure_definitions(url):
    name = f"StructureDefinition-{url.rsplit('/', 1)[1]}.json"
    definition = json.loads(PROFILES.joinpath(name).read_text(encoding="utf-8"))
    StructureDefinition.model_validate(definition)
    assert definition["url"] == url and definition["type"] == "Extension"


def test_new_information_categories_are_published_and_allowed_by_the_claim_profile():
    published = set(_codes(systems.INFO_CATEGORY))
    assert {"ventilator", "upgrade-class-payor", "sitb-registration"} <= published
    assert "sitb-registration" in PROFILES.joinpath("Claim-jkn.profile.json").read_text(encoding="utf-8")


def test_the_claim_profile_takes_im_codings():
    claim = inpatient_case().claim
    claim["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
        {"system": systems.ICD10_IM, "code": "S87.9"}]}}]
    claim["procedure"] = [{"sequence": 1, "procedureCodeableConcept": {"coding": [
        {"system": systems.ICD9CM_IM, "code": "91.799"}]}}]
    assert [i for i in check_profiles(claim) if i.is_error] == []
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["system"] = "http://snomed.info/sct"
    assert [i.expression for i in check_profiles(claim) if i.is_error] == [("Claim.diagnosis[0]",)]
