"""`POST /fhir/Claim/$precheck` (issue 15): a stored Claim's claim file is gathered on the server, a Bundle's from its
entries, the hospital's own history is searched (duplicate SEP), and every issue carries a rule id."""

from __future__ import annotations

import copy
import json

import pytest

from testkit import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
RULES = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"


def transaction(case: str) -> dict:
    return json.loads((EXAMPLES / case / "transaction.json").read_text(encoding="utf-8"))


def claim_of(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")


def rules(outcome: dict) -> list[str]:
    codes = []
    for issue in outcome["issue"]:
        if issue["severity"] == "information":  # "All OK": nothing found
            continue
        coding = [c for c in issue.get("details", {}).get("coding", []) if c.get("system") == RULES]
        assert coding, issue  # every issue names its rule
        codes.append(coding[0]["code"])
    return codes


def discharge_summary(claim: dict, author: str) -> dict:
    encounter = next(i["valueReference"]["reference"] for i in claim["supportingInfo"]
                     if i["category"]["coding"][0]["code"] == "encounter")
    return {"resourceType": "DocumentReference", "id": "resume-1", "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
            "subject": claim["patient"], "author": [{"reference": author}], "authenticator": {"reference": author},
            "context": {"encounter": [{"reference": encounter}]},
            "content": [{"attachment": {"contentType": "application/pdf", "url": "https://rs.example/resume.pdf"}}]}


def without(bundle: dict, *resource_types: str) -> dict:
    """The case without its resources of `resource_types` (and the Claim's links to them)."""
    bare = copy.deepcopy(bundle)
    gone = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bare["entry"]
            if e["resource"]["resourceType"] in resource_types}
    bare["entry"] = [e for e in bare["entry"] if e["resource"]["resourceType"] not in resource_types]
    claim = claim_of(bare)
    claim["supportingInfo"] = [i for i in claim["supportingInfo"]
                               if (i.get("valueReference") or {}).get("reference") not in gone]
    for entry in bare["entry"]:
        if any(s.get("reference") in gone for s in entry["resource"].get("service", [])):
            del entry["resource"]["service"]
    return bare


@pytest.mark.parametrize("case", ["01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade",
                                  "04-newborn"])
def test_the_complete_example_claim_files_raise_nothing(fhir, case):
    bundle = transaction(case)
    assert fhir.post("", bundle).status_code == 200
    outcome = fhir.post("/Claim/$precheck", claim_of(bundle)).get_json()
    assert [i["severity"] for i in outcome["issue"]] == ["information"], outcome


def test_a_stored_claim_is_checked_with_its_claim_file(fhir):
    bundle = without(transaction("03-class-upgrade"), "DocumentReference", "DiagnosticReport")
    del claim_of(bundle)["referral"]
    assert fhir.post("", bundle).status_code == 200
    claim = claim_of(bundle)
    found = rules(fhir.post("/Claim/$precheck", claim).get_json())
    assert {"PRECHECK-RESUME-MISSING", "PRECHECK-SUPPORTING-RESULT-MISSING", "PRECHECK-REFERRAL-MISSING"} <= set(found)
    dpjp = claim["careTeam"][0]["provider"]["reference"]
    stored = fhir.put("/DocumentReference/resume-1", discharge_summary(claim, dpjp))
    assert stored.status_code in (200, 201), stored.get_data(as_text=True)
    assert "PRECHECK-RESUME-MISSING" not in rules(fhir.post("/Claim/$precheck", claim).get_json())


def test_a_bundle_is_checked_with_its_own_entries_first(fhir):
    bundle = without(transaction("03-class-upgrade"), "DocumentReference")
    claim = claim_of(bundle)
    collection = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": e["resource"]}
                            for i, e in enumerate(bundle["entry"])]}
    without_resume = rules(fhir.post("/Claim/$precheck", collection).get_json())
    assert "PRECHECK-RESUME-MISSING" in without_resume and "PRECHECK-PATIENT-UNRESOLVED" not in without_resume
    assert "PRECHECK-CODE-WITHOUT-RECORD" not in without_resume  # the Conditions are found among the entries
    unsigned = discharge_summary(claim, claim["careTeam"][0]["provider"]["reference"])
    del unsigned["authenticator"]
    collection["entry"].append({"fullUrl": "urn:uuid:resume", "resource": unsigned})
    found = rules(fhir.post("/Claim/$precheck", collection).get_json())
    assert "PRECHECK-RESUME-MISSING" not in found and "PRECHECK-RESUME-UNSIGNED" in found


def test_a_billed_code_without_a_recorded_condition_or_procedure_is_a_warning(fhir):
    bundle = without(transaction("02-hip-replacement-special-cmg"), "Procedure")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != "ex2-condition-3"]  # I10
    assert fhir.post("", bundle).status_code == 200
    issues = fhir.post("/Claim/$precheck", claim_of(bundle)).get_json()["issue"]
    gaps = [i for i in issues if i["details"]["coding"][0]["code"] == "PRECHECK-CODE-WITHOUT-RECORD"]
    assert [(i["severity"], i["expression"]) for i in gaps] == [
        ("warning", ["Claim.diagnosis[2]"]), ("warning", ["Claim.procedure[0]"])]
    assert "Kode I10 diklaim tetapi tidak ada Condition tercatat untuk Encounter/ex2-encounter" in \
        gaps[0]["details"]["text"]
    assert "Code 81.51 is billed but no Procedure is recorded for Encounter/ex2-encounter" in gaps[1]["details"]["text"]


def test_a_bundle_s_codes_are_matched_to_the_conditions_among_its_entries(fhir):
    bundle = transaction("04-newborn")
    collection = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": e["resource"]}
                            for i, e in enumerate(bundle["entry"]) if e["resource"]["id"] != "ex4-condition-2"]}
    found = rules(fhir.post("/Claim/$precheck", collection).get_json())
    assert found == ["PRECHECK-CODE-WITHOUT-RECORD"]  # P59.9; nothing of the case is stored


def test_unresolved_resources_carry_rule_ids(fhir):
    claim = claim_of(transaction("01-outpatient-visit"))
    found = rules(fhir.post("/Claim/$precheck", claim).get_json())  # nothing stored: nothing resolves
    assert {"PRECHECK-PATIENT-UNRESOLVED", "PRECHECK-ENCOUNTER-UNRESOLVED",
            "PRECHECK-COVERAGE-UNRESOLVED"} <= set(found)


def test_a_second_claim_with_the_same_sep_is_a_duplicate(fhir):
    bundle = transaction("01-outpatient-visit")
    assert fhir.post("", bundle).status_code == 200
    claim = claim_of(bundle)
    assert "PRECHECK-DUPLICATE-SEP" not in rules(fhir.post("/Claim/$precheck", claim).get_json())
    copy_of = copy.deepcopy(claim)
    copy_of["id"] = "ex1-claim-again"
    del copy_of["identifier"]  # the business identifier is unique; the SEP is on the insurance
    answer = fhir.put("/Claim/ex1-claim-again", copy_of)
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    issues = fhir.post("/Claim/$precheck", copy_of).get_json()["issue"]
    duplicate = [i for i in issues if i["details"]["coding"][0]["code"] == "PRECHECK-DUPLICATE-SEP"]
    assert duplicate and f"Claim/{claim['id']}" in duplicate[0]["details"]["text"]


def test_bad_bodies_are_400_outcomes(fhir):
    patient = fhir.post("/Claim/$precheck", {"resourceType": "Patient"})
    assert patient.status_code == 400 and patient.get_json()["resourceType"] == "OperationOutcome"
    empty = fhir.post("/Claim/$precheck", {"resourceType": "Bundle", "type": "collection", "entry": []})
    assert empty.status_code == 400 and empty.get_json()["issue"][0]["expression"] == ["Bundle.entry"]
    malformed = fhir.post("/Claim/$precheck", {**claim_of(transaction("01-outpatient-visit")), "diagnosis": {"x": 1}})
    assert malformed.status_code in (400, 422) and malformed.get_json()["issue"][0]["severity"] == "error"
