"""A hospital's `precheck_errors` setting (issue 15, `PUT /admin/tenants/{org}`): the precheck warnings it names stop
that hospital's submitted claims like errors; unknown rule ids are refused. Over REST, through the real pipeline."""

from __future__ import annotations

import json

import pytest

from testkit import HOSPITAL, REPO_ROOT, authorized

CASE = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"
WARNING = "PRECHECK-CODE-WITHOUT-RECORD"


def _case_without_its_condition(number: int) -> dict:
    """Example 01 as a new claim (ids and SEP made unique) whose record lacks the Condition of its billed A09:
    a warning, nothing more."""
    text = CASE.read_text(encoding="utf-8").replace("ex1-", f"ex1-n{number}-")
    text = text.replace("0301R0011026V000101", f"0301R0011026V{number:06d}")
    bundle = json.loads(text)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    return bundle


def _put_setting(app, value) -> object:
    return authorized(app, "admin").request("PUT", f"/admin/tenants/{HOSPITAL}", {"precheck_errors": value},
                                            content_type="application/json", base="")


def _submit(app, bundle: dict) -> dict:
    answer = authorized(app).post("/Claim/$submit", bundle)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["entry"][0]["resource"]  # the grouping ClaimResponse


def _errors(grouping: dict) -> list[str]:
    return [c["code"] for e in grouping.get("error", []) for c in e["code"]["coding"]]


def test_a_listed_warning_stops_the_claim_and_removing_it_lets_claims_through(app):
    assert _put_setting(app, [WARNING]).get_json()["precheck_errors"] == [WARNING]
    stopped = _submit(app, _case_without_its_condition(901))
    assert (stopped["outcome"], _errors(stopped)) == ("error", [WARNING])

    cleared = _put_setting(app, None)
    assert cleared.status_code == 200 and cleared.get_json()["precheck_errors"] == []
    through = _submit(app, _case_without_its_condition(902))
    assert through["outcome"] == "complete" and _errors(through) == []


def test_without_the_setting_the_warning_does_not_stop_the_claim(app):
    grouping = _submit(app, _case_without_its_condition(903))
    assert grouping["outcome"] == "complete"


@pytest.mark.parametrize("value", [["PRECHECK-NO-SUCH-RULE"], [WARNING, "precheck-code-without-record"]])
def test_unknown_rule_ids_are_422(app, value):
    answer = _put_setting(app, value)
    assert answer.status_code == 422
    issue = answer.get_json()["issue"][0]
    assert issue["expression"] == ["precheck_errors"] and value[-1] in json.dumps(issue)


@pytest.mark.parametrize("value", ["PRECHECK-CODE-WITHOUT-RECORD", [1], ["x" * 65], {"a": 1}])
def test_a_setting_of_the_wrong_shape_is_400(app, value):
    answer = _put_setting(app, value)
    assert answer.status_code == 400 and answer.get_json()["resourceType"] == "OperationOutcome"
