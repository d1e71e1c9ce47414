"""PurificationDecision's shape: the marshmallow schema of the validation stage, every bad element reported at its
FHIRPath, and the published JSON Schema (profiles/PurificationDecision.schema.json) agreeing with it."""

from __future__ import annotations

import copy

import pytest
from bpjs_kit import BATAL, decision

from fhirclaim.fhir import validation
from fhirclaim.fhir.nonfhir import model_issues
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.fhir.profiles import check_schema

from testkit import load_fixture

PD = "PurificationDecision"


def test_the_satusehat_shape_is_valid():
    reference = load_fixture("satusehat/examples-derived/purification-decision.json")
    assert set(decision("cr-1")) == {k for k in reference if not k.startswith("_")}
    assert model_issues(PD, decision("cr-1")) == []
    assert validation.validate(decision("cr-1")) == []


@pytest.mark.parametrize("body", [
    decision("cr-1", status=BATAL),
    {k: v for k, v in decision("cr-1").items() if k in ("resourceType", "created", "status", "claimResponse")},
    decision("cr-1", created="2026-07-27"),
    decision("cr-1", created="2026-07-27T10:00:00.123Z", id="pd-1", meta={"versionId": "1"}),
    {**decision("cr-1", identifier=[{"use": "official", "system": "urn:x", "value": "1"}]),
     "status": {"coding": [{"system": "http://terminology.kemkes.go.id", "code": "TK000049", "display": "Lanjut",
                            "userSelected": True}], "text": "Lanjut"}},
], ids=["batal", "minimal", "date-only", "with-id-and-meta", "optional-elements"])
def test_valid_variants(body):
    assert model_issues(PD, body) == []


def _drop(*path):
    def change(body):
        target = body
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    return change


def _set(value, *path):
    def change(body):
        target = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


BAD = [
    ("no-created", _drop("created"), "PurificationDecision.created", "required"),
    ("no-status", _drop("status"), "PurificationDecision.status", "required"),
    ("no-claimResponse", _drop("claimResponse"), "PurificationDecision.claimResponse", "required"),
    ("resourceType", _set("Claim", "resourceType"), "PurificationDecision.resourceType", "invalid"),
    ("unknown-element", _set("Lanjut", "verdict"), "PurificationDecision.verdict", "structure"),
    ("bad-id", _set("not an id!", "id"), "PurificationDecision.id", "value"),
    ("meta-not-object", _set("v1", "meta"), "PurificationDecision.meta", "structure"),
    ("created-format", _set("27/07/2026", "created"), "PurificationDecision.created", "value"),
    ("created-impossible-day", _set("2026-02-30", "created"), "PurificationDecision.created", "value"),
    ("created-time-without-zone", _set("2026-07-27T10:00:00", "created"), "PurificationDecision.created", "value"),
    ("created-not-string", _set(20260727, "created"), "PurificationDecision.created", "structure"),
    ("created-null", _set(None, "created"), "PurificationDecision.created", "structure"),
    ("status-not-object", _set("Lanjut", "status"), "PurificationDecision.status", "structure"),
    ("status-no-coding", _set({"text": "Lanjut"}, "status"), "PurificationDecision.status.coding", "required"),
    ("status-empty-coding", _set([], "status", "coding"), "PurificationDecision.status.coding", "required"),
    ("status-coding-not-list", _set({"code": "TK000049"}, "status", "coding"),
     "PurificationDecision.status.coding", "structure"),
    ("status-code-missing", _drop("status", "coding", 0, "code"), "PurificationDecision.status.coding[0].code",
     "required"),
    ("status-system-empty", _set("", "status", "coding", 0, "system"),
     "PurificationDecision.status.coding[0].system", "value"),
    ("status-coding-unknown-element", _set("x", "status", "coding", 0, "kode"),
     "PurificationDecision.status.coding[0].kode", "structure"),
    ("identifier-not-list", _set({"system": "urn:x", "value": "1"}, "identifier"),
     "PurificationDecision.identifier", "structure"),
    ("identifier-no-value", _drop("identifier", 0, "value"), "PurificationDecision.identifier[0].value",
     "required"),
    ("identifier-bad-use", _set("primary", "identifier", 0, "use"), "PurificationDecision.identifier[0].use",
     "value"),
    ("identifier-item-not-object", _set(["PD-1"], "identifier"), "PurificationDecision.identifier[0]", "structure"),
    ("claimResponse-no-reference", _drop("claimResponse", "reference"),
     "PurificationDecision.claimResponse.reference", "required"),
    ("claimResponse-other-type", _set("Claim/c-1", "claimResponse", "reference"),
     "PurificationDecision.claimResponse.reference", "value"),
    ("claimResponse-not-literal", _set("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", "claimResponse",
                                       "reference"), "PurificationDecision.claimResponse.reference", "value"),
    ("claimResponse-unknown-element", _set("ClaimResponse", "claimResponse", "type"),
     "PurificationDecision.claimResponse.type", "structure"),
    ("insurer-not-organization", _set("Patient/p-1", "insurer", "reference"),
     "PurificationDecision.insurer.reference", "value"),
    ("provider-not-organization", _set("Practitioner/dr-1", "provider", "reference"),
     "PurificationDecision.provider.reference", "value"),
    ("provider-null", _set(None, "provider"), "PurificationDecision.provider", "structure"),
]


@pytest.mark.parametrize("change,expression,code", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_element_is_named(change, expression, code):
    body = copy.deepcopy(decision("cr-1"))
    change(body)
    issues = model_issues(PD, body)
    assert [(i.severity, i.code, i.expression) for i in issues] == [("error", code, (expression,))]
    assert issues[0].text.startswith(expression) or "Unknown element" in issues[0].text


@pytest.mark.parametrize("change", [b[1] for b in BAD if b[0] != "created-impossible-day"],
                         ids=[b[0] for b in BAD if b[0] != "created-impossible-day"])
def test_the_published_json_schema_refuses_them_too(change):
    body = copy.deepcopy(decision("cr-1"))
    change(body)
    # the one difference: a JSON Schema pattern cannot tell 2026-02-30 from a real day
    assert check_schema(PD, body), "profiles/PurificationDecision.schema.json accepts what the server refuses"


def test_every_problem_at_once():
    body = decision("cr-1", created="yesterday", verdict="Lanjut")
    del body["status"]
    body["claimResponse"] = {"reference": "Claim/c-1"}
    issues = model_issues(PD, body)
    assert sorted((i.code, i.expression[0]) for i in issues) == [
        ("required", "PurificationDecision.status"),
        ("structure", "PurificationDecision.verdict"),
        ("value", "PurificationDecision.claimResponse.reference"),
        ("value", "PurificationDecision.created"),
    ]


def test_the_validation_stage_answers_400_with_an_operation_outcome():
    with pytest.raises(FhirError) as raised:
        validation.raise_for_errors(validation.validate(decision("cr-1", created="27/07/2026")), status=400)
    outcome = raised.value.outcome()
    assert raised.value.status == 400
    assert outcome["issue"] == [{
        "severity": "error", "code": "value", "expression": ["PurificationDecision.created"],
        "details": {"text": "PurificationDecision.created must be a FHIR dateTime with at least a day, e.g. "
                            "2026-07-27 or 2026-07-27T10:00:00+07:00"}}]
