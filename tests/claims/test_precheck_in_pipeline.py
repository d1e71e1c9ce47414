"""The pipeline runs the claim-file rules (issue 15): a submitted claim whose file lacks a document, a result or its
referral is stopped with the rule ids in its error ClaimResponse, the same findings `$precheck` gives — one rule
engine, one reader of the claim file. Over REST, through the real pipeline and store."""

from __future__ import annotations

import json

from testkit import REPO_ROOT, authorized

CASE = REPO_ROOT / "examples" / "03-class-upgrade" / "transaction.json"
RULES = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"


def _case(number: int, *, drop: tuple[str, ...] = (), referral: bool = True) -> dict:
    """Example 03 as a new claim (unique ids and SEP), without the resources of `drop` and their links."""
    text = CASE.read_text(encoding="utf-8").replace("ex3-", f"ex3-n{number}-")
    bundle = json.loads(text.replace("0301R0011026V000301", f"0301R0011026V{number:06d}"))
    gone = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
            if e["resource"]["resourceType"] in drop}
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] not in drop]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        resource["service"] = [s for s in resource.get("service", []) if s["reference"] not in gone]
        if not resource["service"]:
            del resource["service"]
        if resource["resourceType"] == "Claim":
            resource["supportingInfo"] = [i for i in resource["supportingInfo"]
                                          if i.get("valueReference", {}).get("reference") not in gone]
            if not referral:
                del resource["referral"]
    return bundle


def _errors(grouping: dict) -> list[str]:
    return [c["code"] for e in grouping.get("error", []) for c in e["code"]["coding"]]


def test_a_claim_file_without_resume_result_and_referral_is_stopped_before_eklaim(app, runtime):
    facility = authorized(app)
    bundle = _case(911, drop=("DocumentReference", "DiagnosticReport"), referral=False)
    answer = facility.post("/Claim/$submit", bundle)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    grouping = answer.get_json()["entry"][0]["resource"]
    assert grouping["outcome"] == "error"
    assert set(_errors(grouping)) == {"PRECHECK-RESUME-MISSING", "PRECHECK-SUPPORTING-RESULT-MISSING",
                                      "PRECHECK-REFERRAL-MISSING"}
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    prechecked = facility.post("/Claim/$precheck", claim).get_json()
    errors = [c["code"] for i in prechecked["issue"] if i["severity"] == "error" for c in i["details"]["coding"]
              if c["system"] == RULES]
    assert sorted(errors) == sorted(_errors(grouping))  # the same rule set judged it
    assert facility.get(f"/Bundle?identifier={claim['identifier'][0]['value']}").get_json()["total"] == 0


def test_the_complete_claim_file_goes_through(app):
    answer = authorized(app).post("/Claim/$submit", _case(912))
    grouping = answer.get_json()["entry"][0]["resource"]
    assert (grouping["outcome"], _errors(grouping)) == ("complete", [])
