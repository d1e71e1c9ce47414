"""examples/: every case as one transaction and as resources in file order, valid against the server's profiles, and
ending in the pipeline as examples/expected-results.json (and the README) document it; the rejected case's
OperationOutcome is the one the server gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from testkit import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
EXPECTED = json.loads((EXAMPLES / "expected-results.json").read_text(encoding="utf-8"))["cases"]
CASES = sorted(EXPECTED)
PRECHECK_RULES = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"
FILE_NAME = re.compile(r"^(\d\d)-([A-Za-z]+)-([A-Za-z0-9\-.]{1,64})\.json$")


def transaction(case: str) -> dict:
    return json.loads((EXAMPLES / case / "transaction.json").read_text(encoding="utf-8"))


def resource_files(case: str) -> list[Path]:
    return sorted((EXAMPLES / case / "resources").glob("*.json"))


def claim_of(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")


def test_the_documented_cases_are_the_example_directories():
    assert CASES == sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert CASES == ["01-outpatient-visit", "02-hip-replacement-special-cmg", "03-class-upgrade", "04-newborn",
                     "05-precheck-rejected", "06-pending-readmission"]


@pytest.mark.parametrize("case", CASES)
def test_the_resource_files_are_the_transactions_entries_in_order(case):
    bundle = transaction(case)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "transaction")
    files = resource_files(case)
    assert len(files) == len(bundle["entry"])
    for number, (path, entry) in enumerate(zip(files, bundle["entry"], strict=True), start=1):
        resource = entry["resource"]
        match = FILE_NAME.match(path.name)
        assert match and match.groups() == (f"{number:02d}", resource["resourceType"], resource["id"]), path.name
        assert json.loads(path.read_text(encoding="utf-8")) == resource, path.name
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}


@pytest.mark.parametrize("case", CASES)
def test_each_file_is_valid_and_stored_one_by_one_in_file_order(fhir, case):
    """$validate (base spec, then this server's profiles, references resolved) before each PUT, as the README says
    a SIMRS may post them: all errors of a file would be listed, none is expected."""
    for path in resource_files(case):
        resource = json.loads(path.read_text(encoding="utf-8"))
        kind = resource["resourceType"]
        outcome = fhir.post(f"/{kind}/$validate", resource).get_json()
        errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
        assert errors == [], f"{path.name}: {errors}"
        stored = fhir.put(f"/{kind}/{resource['id']}", resource)
        assert stored.status_code in (200, 201), f"{path.name}: {stored.get_data(as_text=True)}"


@pytest.mark.parametrize("case", CASES)
def test_each_transaction_is_stored_whole(fhir, case):
    answer = fhir.post("", transaction(case))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    statuses = [e["response"]["status"][:3] for e in answer.get_json()["entry"]]
    assert statuses == ["201"] * len(transaction(case)["entry"])


@pytest.mark.parametrize("case", CASES)
def test_each_case_ends_in_the_pipeline_as_documented(fhir, case):
    expected = EXPECTED[case]
    answer = fhir.post("/Claim/$submit", transaction(case))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    grouping = answer.get_json()["entry"][0]["resource"]
    assert grouping["outcome"] == expected["outcome"]
    sep = claim_of(transaction(case))["identifier"][0]["value"]
    assert grouping["identifier"][0]["value"] == expected["sep"] == sep
    packages = {a["productOrService"]["coding"][0]["code"]: a["net"]["value"] for a in grouping.get("addItem", [])}
    assert packages == expected["packages"]
    if expected["outcome"] == "error":
        assert [c["code"] for e in grouping["error"] for c in e["code"]["coding"]] == expected["precheck_errors"]
        assert [e["resource"]["resourceType"] for e in answer.get_json()["entry"]] == ["ClaimResponse", "Claim"]
        return
    assert grouping["addItem"][0]["productOrService"]["coding"][0]["code"] == expected["cbg"]
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in grouping["total"]}
    assert (totals["submitted"], totals["benefit"]) == (expected["submitted"], expected["tariff"])
    copay = sum(a["amount"]["value"] for item in grouping["item"] for a in item["adjudication"]
                if a["category"]["coding"][0]["code"] == "copay")
    assert copay == expected["copay"]  # the class upgrade's add_payment_amt, BPJS-K's copay at verification
    bundle = fhir.get(f"/Bundle?identifier={expected['sep']}").get_json()
    assert bundle["total"] == 1 and bundle["entry"][0]["resource"]["signature"]["sigFormat"] == "application/jose"


def test_the_rejected_case_gets_the_saved_operation_outcome(fhir):
    saved = json.loads((EXAMPLES / "05-precheck-rejected" / "expected-outcome.json").read_text(encoding="utf-8"))
    OperationOutcome.model_validate(saved)  # a valid R4 OperationOutcome
    case = transaction("05-precheck-rejected")
    assert fhir.post("", case).status_code == 200
    answer = fhir.post("/Claim/$precheck", claim_of(case))
    assert answer.status_code == 200

    def rules(outcome: dict) -> list[tuple[str, str, str, list[str]]]:
        return [(i["severity"], i["code"], c["code"], i["expression"]) for i in outcome["issue"]
                for c in i["details"]["coding"] if c["system"] == PRECHECK_RULES]

    assert rules(answer.get_json()) == rules(saved)
    assert [rule for severity, _, rule, _ in rules(saved) if severity == "error"] == (
        EXPECTED["05-precheck-rejected"]["precheck_errors"])
    assert answer.get_json() == saved  # the texts too: the README quotes them


def test_the_readme_states_each_cases_documented_figures():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for case, expected in EXPECTED.items():
        assert f"`{case}/`" in readme, case
        for code, value in expected["packages"].items():
            assert code in readme and f"Rp {value:,}" in readme, (case, code)
        if expected["tariff"]:
            assert f"Rp {expected['tariff']:,}" in readme, case
        if expected["copay"]:
            assert f"Rp {expected['copay']:,}" in readme, case
        for rule in expected.get("precheck_errors", []):
            assert rule in readme, rule
