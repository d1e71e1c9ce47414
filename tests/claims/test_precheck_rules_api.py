"""`POST /fhir/Claim/$precheck` (issue 15): a stored Claim's claim file is gathered on the server, a Bundle's from its
entries, the hospital's own history is searched (duplicate SEP), and every issue carries a rule id."""

from __future__ import annotations

import copy
import json

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


def test_a_stored_claim_is_checked_with_its_claim_file(fhir):
    bundle = transaction("03-class-upgrade")
    assert fhir.post("", bundle).status_code == 200
    claim = claim_of(bundle)
    found = rules(fhir.post("/Claim/$precheck", claim).get_json())
    assert {"PRECHECK-RESUME-MISSING", "PRECHECK-SUPPORTING-RESULT-MISSING", "PRECHECK-REFERRAL-MISSING"} <= set(found)
    dpjp = claim["careTeam"][0]["provider"]["reference"]
    stored = fhir.put("/DocumentReference/resume-1", discharge_summary(claim, dpjp))
    assert stored.status_code in (200, 201), stored.get_data(as_text=True)
    assert "PRECHECK-RESUME-MISSING" not in rules(fhir.post("/Claim/$precheck", claim).get_json())


def test_a_bundle_is_checked_with_its_own_entries_first(fhir):
    bundle = transaction("03-class-upgrade")
    claim = claim_of(bundle)
    collection = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": e["resource"]}
                            for i, e in enumerate(bundle["entry"])]}
    without = rules(fhir.post("/Claim/$precheck", collection).get_json())
    assert "PRECHECK-RESUME-MISSING" in without and "PRECHECK-PATIENT-UNRESOLVED" not in without
    unsigned = discharge_summary(claim, claim["careTeam"][0]["provider"]["reference"])
    del unsigned["authenticator"]
    collection["entry"].append({"fullUrl": "urn:uuid:resume", "resource": unsigned})
    found = rules(fhir.post("/Claim/$precheck", collection).get_json())
    assert "PRECHECK-RESUME-MISSING" not in found and "PRECHECK-RESUME-UNSIGNED" in found


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
