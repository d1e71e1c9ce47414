"""PurificationDecision over the FHIR REST API (/fhir/PurificationDecision): create, read, vread, history, update,
search by each parameter (GET and POST _search), errors as OperationOutcomes, the CapabilityStatement."""

from __future__ import annotations

import pytest
from bpjs_kit import BATAL, LANJUT, OTHER_HOSPITAL, answers, claim_of, decision, example, simulate

from fhirclaim.claims.pipeline_worker import PipelineWorker

import testkit
from testkit import outcome_text

PD = "/PurificationDecision"


@pytest.fixture
def purification(simulator, runtime, fhir, clock) -> str:
    """The id of the simulator's purification of the hospital's published outpatient claim."""
    case = example("01-outpatient-visit")
    assert fhir.post("", case).status_code == 200
    PipelineWorker(runtime.pipeline).run_until_idle()
    assert simulate(runtime, clock) == 1
    [found] = answers(runtime, claim_of(case)["id"], "purifikasi")
    return found.id


@pytest.fixture
def created(fhir, purification) -> dict:
    response = fhir.post(PD, decision(purification))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"].endswith(f"/fhir/PurificationDecision/{response.get_json()['id']}/_history/1")
    return response.get_json()


def test_create_read_vread_history(fhir, created):
    url = f"{PD}/{created['id']}"
    read = fhir.get(url)
    assert read.status_code == 200 and read.get_json() == created
    assert read.get_json()["meta"]["versionId"] == "1"
    changed = fhir.put(url, {**created, "status": {"coding": [BATAL]}})
    assert changed.status_code == 200 and changed.headers["ETag"] == 'W/"2"'
    assert fhir.get(f"{url}/_history/1").get_json()["status"]["coding"] == [LANJUT]
    assert fhir.get(f"{url}/_history/2").get_json()["status"]["coding"] == [BATAL]
    history = fhir.get(f"{url}/_history").get_json()
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert fhir.get(f"{url}/_history/3").status_code == 404


def _ids(fhir, query: str, method: str = "GET") -> list[str]:
    if method == "POST":
        response = fhir.request("POST", f"{PD}/_search", raw=query.encode(),
                                content_type="application/x-www-form-urlencoded")
    else:
        response = fhir.get(f"{PD}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [e["resource"]["id"] for e in response.get_json().get("entry", [])]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_by_each_parameter(fhir, created, purification, method):
    found = [created["id"]]
    system = "http://sys-ids.kemkes.go.id/purificationdecision/10000004"
    for query, expected in [
        (f"identifier={system}|PD-2026-000123", found), ("identifier=PD-2026-000123", found),
        (f"identifier={system}|PD-9", []),
        (f"claimResponse=ClaimResponse/{purification}", found), (f"claimResponse={purification}", found),
        ("claimResponse=ClaimResponse/other", []),
        ("status=http://terminology.kemkes.go.id|TK000049", found), ("status=TK000049", found), ("status=batal", []),
        ("created=2026-10-20", found), ("created=ge2026-10-20T09:00:00%2B07:00", found), ("created=lt2026-10-20", []),
        ("provider=Organization/10000004", found), ("insurer=Organization/100025555", found),
        ("provider=Organization/100025555", []),
        (f"_id={created['id']}", found),
    ]:
        assert _ids(fhir, query, method) == expected, query


def test_search_includes_the_purification(fhir, created, purification):
    bundle = fhir.get(f"{PD}?_id={created['id']}&_include=PurificationDecision:claimResponse").get_json()
    assert [(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]] == [
        ("PurificationDecision", "match"), ("ClaimResponse", "include")]
    assert bundle["entry"][1]["resource"]["id"] == purification


def test_an_unknown_search_parameter_is_refused(fhir, created):
    response = fhir.get(f"{PD}?verdict=Lanjut")
    assert response.status_code == 400 and "verdict" in outcome_text(response)


def test_a_bad_decision_is_a_400_naming_every_element(fhir, purification):
    body = decision(purification, created="kemarin", verdict="Lanjut")
    response = fhir.post(PD, body)
    assert response.status_code == 400
    issues = response.get_json()["issue"]
    assert sorted((i["code"], i["expression"][0]) for i in issues) == [
        ("structure", "PurificationDecision.verdict"), ("value", "PurificationDecision.created")]
    assert fhir.get(PD).get_json()["total"] == 0  # nothing written


def test_business_rules_answer_with_an_operation_outcome(fhir, created, purification):
    second = fhir.post(PD, decision(purification))
    assert second.status_code == 409
    assert second.get_json()["issue"][0]["code"] == "duplicate"
    unknown = fhir.post(PD, decision(purification, status={"system": "urn:x", "code": "x"}))
    assert unknown.status_code == 422 and unknown.get_json()["issue"][0]["code"] == "code-invalid"
    missing = fhir.post(PD, decision("nope"))
    assert missing.status_code == 422 and missing.get_json()["issue"][0]["expression"] == [
        "PurificationDecision.claimResponse"]


def test_the_capability_statement_lists_it(fhir):
    statement = fhir.get("/metadata").get_json()
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == "PurificationDecision"]
    assert {p["name"]: p["type"] for p in entry["searchParam"]}.items() >= {
        "identifier": "token", "claimResponse": "reference", "status": "token", "created": "date",
        "provider": "reference", "insurer": "reference"}.items()


def test_another_hospital_neither_reads_nor_finds_it(app, created):
    authorized = getattr(testkit, "authorized", None)
    if authorized is None:
        pytest.skip("no OAuth2 clients in this tree")
    other = authorized(app, "facility", OTHER_HOSPITAL)
    assert other.get(f"{PD}/{created['id']}").status_code == 404
    assert other.get(f"{PD}/{created['id']}/_history/1").status_code == 404
    assert other.get(PD).get_json()["total"] == 0


def test_batal_is_final(fhir, created):
    """Lanjut may become Batal before verification; Batal withdraws the claim and never flips back."""
    url = f"{PD}/{created['id']}"
    cancelled = fhir.put(url, {**created, "status": {"coding": [BATAL]}})
    assert cancelled.status_code == 200
    again = fhir.put(url, {**cancelled.get_json(), "status": {"coding": [LANJUT]}})
    assert again.status_code == 409 and "final" in again.get_data(as_text=True)
    assert fhir.get(url).get_json()["status"]["coding"] == [BATAL]
