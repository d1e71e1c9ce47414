"""Grouper answers → Package extension and grouping ClaimResponse, from the manuals' own stage-1/2 answers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from claims_cases import SEP, inpatient_case
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from satusehat_examples import FIXTURES, ORG_BPJS

from fhirclaim.claims.results import (
    eklaim_error_issue,
    grouper_error_issue,
    grouper_issues,
    grouping_claim_response,
    grouping_outcome,
    package_extension,
    read_grouping,
    with_package,
)
from fhirclaim.fhir.profiles import check_profiles

ANSWERS_5_1 = json.loads((Path(__file__).parent / "grouper_answers_5_1.json").read_text(encoding="utf-8"))
CREATED = datetime(2024, 5, 6, 10, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
PACKAGE = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"


def _answer_5_10(section, caption):
    sections = json.loads((FIXTURES / "eklaim" / "eklaim_5.10_manual_examples.json").read_text())["sections"]
    return next(e["json"] for e in sections[section]["examples"] if e["caption"] == caption)


def test_stage_1_answer_read_into_values():
    grouping = read_grouping(ANSWERS_5_1["stage1"])
    assert (grouping.cbg.code, grouping.cbg.tariff) == ("M-1-04-II", 40388100)
    assert [(a.kind, a.code, a.tariff) for a in grouping.additional] == [
        ("sub-acute", "SF-4-10-I", 5027400), ("chronic", "CF-4-10-I", 1802200)]
    assert grouping.total == 40388100 + 5027400 + 1802200 == 47217700
    assert [o["code"] for o in grouping.special_cmg_options] == ["RR04", "YY01"]
    assert grouping.awaits_special_cmg and not grouping.is_error
    assert grouping_outcome(grouping, []) == "partial"


def test_package_extension_of_stage_1():
    assert package_extension(ANSWERS_5_1["stage1"], "AP") == {
        "url": PACKAGE,
        "extension": [
            {"url": "tariffClass", "valueCodeableConcept": {"coding": [{
                "system": "http://terminology.kemkes.go.id/CodeSystem/tariffClass", "code": "AP",
                "display": "Tarif Kelas A Pemerintah"}]}},
            {"url": "basePackage", "extension": [
                {"url": "code", "valueCodeableConcept": {"coding": [{
                    "system": "http://terminology.kemkes.go.id/CodeSystem/inacbg-v5", "code": "M-1-04-II",
                    "display": "PROSEDUR PADA SENDI TUNGKAI BAWAH (SEDANG)"}]}},
                {"url": "value", "valueInteger": 40388100}]},
            {"url": "additionalPackage", "extension": [
                {"url": "code", "valueCodeableConcept": {"coding": [{
                    "system": "http://terminology.kemkes.go.id/CodeSystem/inacbg-sac-v5", "code": "SF-4-10-I",
                    "display": "ADL Score: 15 (61 hari)"}]}},
                {"url": "value", "valueInteger": 5027400}]},
            {"url": "additionalPackage", "extension": [
                {"url": "code", "valueCodeableConcept": {"coding": [{
                    "system": "http://terminology.kemkes.go.id/CodeSystem/inacbg-sac-v5", "code": "CF-4-10-I",
                    "display": "ADL Score: 12 (41 hari)"}]}},
                {"url": "value", "valueInteger": 1802200}]},
        ],
    }


def test_stage_2_answer_adds_the_chosen_special_cmgs():
    grouping = read_grouping(ANSWERS_5_1["stage2"])
    assert [(a.system.rsplit("/", 1)[1], a.code, a.tariff, a.type) for a in grouping.additional] == [
        ("inacbg-special-cmg-v5", "YY-01-II", 13099000, "Special Procedure"),
        ("inacbg-special-cmg-v5", "RR-04-III", 26197900, "Special Prosthesis"),
    ]
    assert grouping.total == 79685000
    assert not grouping.awaits_special_cmg and grouping_outcome(grouping, []) == "complete"
    extension = package_extension(grouping, "BP")
    assert [e["url"] for e in extension["extension"]] == [
        "tariffClass", "basePackage", "additionalPackage", "additionalPackage"]


def test_5_10_answers_agree_with_e_klaims_own_total():
    stage2 = _answer_5_10("17-grouping-inacbg-stage2.md", "Response")
    grouping = read_grouping(stage2)
    assert grouping.cbg.tariff == 31713400  # base_tariff, not the total
    assert grouping.total == int(stage2["response_inacbg"]["tariff"]) == 62812400
    stage1 = read_grouping(_answer_5_10("16-grouping-inacbg-stage1.md", "Response"))
    assert [o["code"] for o in stage1.special_cmg_options] == ["RR04Hip", "RR04Knee", "YY01"]
    assert grouping_outcome(stage1, []) == "partial"


def test_error_cbg_is_an_error_outcome_without_package():
    answer = _answer_5_10("16-grouping-inacbg-stage1.md", "Jika hasil grouping adalah error")
    issues = grouper_issues(answer)
    assert [(i.severity, i.code, i.details_code, i.details_system) for i in issues] == [
        ("error", "business-rule", "X-0-13-X", "https://fhirclaim.org/fhir/CodeSystem/inacbg-error-group")]
    assert "MALE WITH GROUPING CRITERIA NOT MET" in issues[0].text
    assert grouping_outcome(answer, []) == "error"
    with pytest.raises(ValueError):
        package_extension(answer, "AP")


def test_eklaim_and_grouper_errors_as_issues():
    issue = eklaim_error_issue("E2006", "NIK Coder tidak ditemukan")
    assert (issue.code, issue.details_code, issue.details_system) == (
        "business-rule", "E2006", "https://fhirclaim.org/fhir/CodeSystem/eklaim-error")
    assert issue.text.startswith("E-Klaim E2006: NIK Coder tidak ditemukan. Register the coder's NIK in E-Klaim")
    assert eklaim_error_issue("E2012").text.startswith("E-Klaim E2012: Tanggal Pulang mendahului Tanggal Masuk")
    assert eklaim_error_issue("E2004").code == "not-found"
    assert eklaim_error_issue("E2999", "Baru").text == "E-Klaim E2999: Baru"
    tarif = grouper_error_issue("X-0-94-X")
    assert (tarif.code, tarif.text) == ("required", "INA-CBG grouper X-0-94-X: GAGAL: DATA TIDAK LENGKAP. Complete "
                                        "the claim data; tarif_rs (Claim.total) must be at least Rp 15,000.")


def test_grouping_claim_response_partial_lists_the_options():
    claim = inpatient_case().claim
    response = grouping_claim_response(claim, grouping=ANSWERS_5_1["stage1"], issues=[], outcome="partial",
                                       created=CREATED)
    assert response["subType"] == {"coding": [{"system": "https://fhirclaim.org/fhir/CodeSystem/claimresponse-subtype",
                                               "code": "grouping"}]}
    assert response["request"] == {"reference": "Claim/claim-1"}
    assert response["identifier"] == [{"system": f"http://sys-ids.kemkes.go.id/claim-number/{ORG_BPJS}", "value": SEP}]
    assert (response["patient"], response["insurer"], response["requestor"]) == (
        claim["patient"], claim["insurer"], claim["provider"])
    assert (response["outcome"], response["created"]) == ("partial", "2024-05-06T10:30:00+07:00")
    assert [(t["category"]["coding"][0]["code"], t["amount"]["value"]) for t in response["total"]] == [
        ("submitted", 3500000), ("benefit", 47217700)]
    copay = {"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "copay",
                                      "display": "CoPay"}]}, "amount": {"value": 18792000, "currency": "IDR"}}
    assert response["item"] == [{"itemSequence": 1, "adjudication": [*response["total"], copay]}]
    assert [a["net"]["value"] for a in response["addItem"]] == [40388100, 5027400, 1802200]
    assert [e["valueCoding"]["code"] for e in response["extension"]] == ["RR04", "YY01"]
    assert any(n["text"].startswith("Pilih special CMG / choose special CMG") and "YY01" in n["text"]
               for n in response["processNote"])
    assert [n["number"] for n in response["processNote"]] == list(range(1, len(response["processNote"]) + 1))
    assert "error" not in response
    ClaimResponse.model_validate(response)
    assert check_profiles(response) == []


def test_grouping_claim_response_complete():
    response = grouping_claim_response(inpatient_case().claim, grouping=ANSWERS_5_1["stage2"], issues=[],
                                       outcome="complete", created=CREATED, tarif_rs=80000000)
    assert response["disposition"] == (
        "Grouped M-1-04-II (PROSEDUR PADA SENDI TUNGKAI BAWAH (SEDANG)), INA-CBG Rp 79,685,000")
    assert [t["amount"]["value"] for t in response["total"]] == [80000000, 79685000]
    assert "extension" not in response
    ClaimResponse.model_validate(response)
    assert check_profiles(response) == []


def test_grouping_claim_response_error_carries_codes_and_text():
    issues = [eklaim_error_issue("E2006", "NIK Coder tidak ditemukan")]
    response = grouping_claim_response(inpatient_case().claim, grouping=None, issues=issues, outcome="error",
                                       created=CREATED)
    assert response["outcome"] == "error"
    assert response["error"] == [{"code": {
        "text": issues[0].text,
        "coding": [{"system": "https://fhirclaim.org/fhir/CodeSystem/eklaim-error", "code": "E2006",
                    "display": "NIK Coder tidak ditemukan"}]}}]
    assert response["disposition"].startswith("Not grouped: E-Klaim E2006")
    assert "total" not in response and "item" not in response
    ClaimResponse.model_validate(response)
    assert check_profiles(response) == []


def test_grouping_claim_response_for_a_grouper_error():
    answer = {"response": {"cbg": {"code": "X-0-94-X", "description": "GAGAL: DATA TIDAK LENGKAP"}}}
    outcome = grouping_outcome(answer, [])
    response = grouping_claim_response(inpatient_case().claim, grouping=answer, issues=[], outcome=outcome,
                                       created=CREATED)
    assert [e["code"]["coding"][0]["code"] for e in response["error"]] == ["X-0-94-X"]
    assert "total" not in response
    ClaimResponse.model_validate(response)


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError):
        grouping_claim_response({}, grouping=None, issues=[], outcome="pending", created=CREATED)


def test_claim_with_package_is_valid_r4_and_conforms():
    claim = with_package(inpatient_case().claim, ANSWERS_5_1["stage2"], "BP")
    claim = with_package(claim, ANSWERS_5_1["stage1"], "BP")  # regrouped: the Package is replaced
    packages = [e for e in claim["extension"] if e["url"] == PACKAGE]
    assert len(packages) == 1 and packages[0]["extension"][1]["extension"][1] == {
        "url": "value", "valueInteger": 40388100}
    Claim.model_validate(claim)
    assert check_profiles(claim) == []
