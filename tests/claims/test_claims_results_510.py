"""E-Klaim 5.10 results: the iDRG answer on the Claim (`idrg-result` beside the Package) and in the ClaimResponse."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from claims_cases import inpatient_case
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from satusehat_examples import FIXTURES

from fhirclaim.claims.results import (
    grouping_claim_response,
    idrg_extension,
    read_idrg,
    with_idrg,
    with_package,
)
from fhirclaim.fhir.profiles import check_profiles

SECTIONS = json.loads((FIXTURES / "eklaim" / "eklaim_5.10_manual_examples.json").read_text())["sections"]
CREATED = datetime(2024, 5, 6, 10, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
IDRG_EXT = "https://fhirclaim.org/fhir/StructureDefinition/idrg-result"
VERSION_EXT = "https://fhirclaim.org/fhir/StructureDefinition/eklaim-grouper-version"
PACKAGE = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"


def _answer(section, caption):
    return next(e["json"] for e in SECTIONS[section]["examples"] if e["caption"] == caption)


IDRG = _answer("09-grouping-idrg-stage1.md", "Response")
IDRG_ERROR = _answer("09-grouping-idrg-stage1.md", "Jika hasil grouping adalah error")
IDRG_STAGE_2 = _answer("10-grouping-idrg-stage2.md", "Response")
INACBG = _answer("16-grouping-inacbg-stage1.md", "Response")


def _parts(extension):
    return {part["url"]: part.get("extension") or next(v for k, v in part.items() if k.startswith("value"))
            for part in extension["extension"]}


def test_idrg_answer_read_into_values_with_its_tariff():
    result = read_idrg(IDRG)
    assert (result.mdc, result.drg, str(result.total_cost_weight), result.nbr) == ("18", "1807119", "5.14", 8037060)
    assert result.tariff == 41310488  # 5.14 × 8,037,060 = 41,310,488.4, whole rupiah
    assert not result.ungroupable and read_idrg(IDRG_ERROR).ungroupable


def test_idrg_extension_field_by_field():
    assert _parts(idrg_extension(IDRG)) == {
        "mdc": {"system": "https://fhirclaim.org/fhir/CodeSystem/idrg-mdc", "code": "18",
                "display": "Diseases and Disorders of the Musculoskeletal System and Connective Tissue"},
        "drg": {"system": "https://fhirclaim.org/fhir/CodeSystem/idrg-drg", "code": "1807119",
                "display": "Hip Revision Proc."},
        "costWeight": 5.14, "totalCostWeight": 5.14,
        "nationalBaseRate": {"value": 8037060, "currency": "IDR"},
        "tariff": {"value": 41310488, "currency": "IDR"},
        "scriptVersion": "1.0.32", "logicVersion": "0.2.1806.202603311851", "status": "normal",
        "topupOption": [{"url": "code", "valueCoding": {"system": "https://fhirclaim.org/fhir/CodeSystem/idrg-topup",
                                                        "code": "13031", "display": "Hip Implant"}},
                        {"url": "type", "valueCode": "prosthesis"}, {"url": "costWeight", "valueDecimal": 1.97019644}],
    }


def test_idrg_stage_2_topups_applied_and_offered():
    parts = idrg_extension(IDRG_STAGE_2)["extension"]
    applied = [p for p in parts if p["url"] == "topup"]
    assert [e["valueCoding"]["code"] for p in applied for e in p["extension"] if e["url"] == "code"] == ["13031"]
    assert read_idrg(IDRG_STAGE_2).topups[0] == {"code": "13031", "description": "Hip Implant", "type": "prosthesis",
                                                 "cost_weight": "1.97019644"}
    assert read_idrg(IDRG_STAGE_2).tariff == 41310488  # total_cost_weight × nbr, as the server answered


def test_get_claim_data_shape_is_read_too():
    data = {"nomor_sep": "000R000TEST", "grouper": {  # get_claim_data of manual 5.10 (PDF p. 42), its grouper part
        "response_inacbg": {"cbg": {"code": "X-0-00-X", "description": "ERROR: NO CBG ASSIGN"}},
        "response_idrg": {"mdc_number": "33", "drg_code": "3303110", "total_cost_weight": "1.34", "nbr": "8037060",
                          "status_cd": "final"}}}
    result = read_idrg(data)
    assert (result.drg, result.tariff, result.status) == ("3303110", 10769660, "final")  # 1.34 × 8,037,060


def test_with_idrg_sits_beside_the_package_and_replaces_an_earlier_result():
    claim = with_package(inpatient_case().claim, INACBG, "AP")
    once = with_idrg(with_idrg(claim, IDRG_ERROR), IDRG)
    assert [e["url"] for e in once["extension"]] == [PACKAGE, IDRG_EXT]
    assert _parts(once["extension"][1])["drg"]["code"] == "1807119"
    assert claim["extension"][0] == once["extension"][0]  # the Package (what BPJS-K pays) untouched
    Claim.model_validate(once)
    assert [i for i in check_profiles(once) if i.is_error] == []


def test_grouping_claim_response_carries_idrg_and_the_grouper_versions():
    claim = inpatient_case().claim
    plain = grouping_claim_response(claim, grouping=INACBG, issues=[], outcome="partial", created=CREATED)
    response = grouping_claim_response(claim, grouping=INACBG, issues=[], outcome="partial", created=CREATED,
                                       idrg=IDRG)
    urls = [e["url"] for e in response["extension"]]
    assert urls.count("https://fhirclaim.org/fhir/StructureDefinition/special-cmg-option") == 3
    assert urls[-2:] == [IDRG_EXT, VERSION_EXT]
    assert _parts(response["extension"][-1]) == {"inacbg": INACBG["response_inacbg"]["inacbg_version"],
                                                  "idrgLogic": "0.2.1806.202603311851", "idrgScript": "1.0.32"}
    assert response["processNote"][0]["text"].startswith("iDRG 1807119 Hip Revision Proc. (MDC 18")
    assert "= Rp 41,310,488" in response["processNote"][0]["text"]
    # INA-CBG stays what is paid: items, addItems and totals are those of the plain answer
    assert (response["addItem"], response["total"]) == (plain["addItem"], plain["total"])
    ClaimResponse.model_validate(response)
    assert [i for i in check_profiles(response) if i.is_error] == []


def test_without_idrg_the_claim_response_is_as_before():
    claim = inpatient_case().claim
    response = grouping_claim_response(claim, grouping=INACBG, issues=[], outcome="complete", created=CREATED)
    assert all(e["url"] not in (IDRG_EXT, VERSION_EXT) for e in response.get("extension", []))
