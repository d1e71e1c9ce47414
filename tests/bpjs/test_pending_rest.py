"""The pending round trip over REST with three parties, each with its own token (issue 14, examples/06): the
hospital publishes an earlier episode and a readmission (on E-Klaim 5.10 and 5.1), BPJS-K purifies and returns the
verification as pending (reason readmission), the hospital confirms with the earlier episode's resume (a new Claim
version; it changes nothing E-Klaim is told, so it is signed with E-Klaim's grouping without a re-edit: a new signed
Bundle version linked to the pending answer), BPJS-K purifies and verifies the new version and pays. Webhooks tell
each side at each step; another hospital sees nothing of it."""

from __future__ import annotations

import json

import pytest
from bpjs_kit import LANJUT, OTHER_HOSPITAL, decision, reference_answer

from fhirclaim.bpjs import codes
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.store.jobs import JobQueue
from fhirclaim.store.scope import SYSTEM
from fhirclaim.webhooks import SECRET_EXTENSION, list_deliveries

from testkit import HOSPITAL, REPO_ROOT, authorized

CASE = REPO_ROOT / "examples" / "06-pending-readmission"
CLAIM = "ex6-claim"
EARLIER_RESUME = "DocumentReference/ex6a-discharge-summary"
BATCH = "B2026110602"
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(params=["5.10", "5.1"])
def settings(settings, request):
    """Both protocols: the confirmation changes nothing E-Klaim is told, so the new version is signed with the
    grouping E-Klaim gave before, without a re-edit (which a 5.10 E-Klaim refuses for a sent claim, E2039)."""
    return settings.model_copy(update={"eklaim_protocol": request.param})


@pytest.fixture
def parties(app, rules, fhir):
    return {"hospital": fhir, "bpjs": authorized(app, "bpjs", None),
            "other": authorized(app, "facility", OTHER_HOSPITAL)}


def _load(name: str) -> dict:
    return json.loads((CASE / name).read_text(encoding="utf-8"))


def _ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_data(True)
    return response.get_json()


def _subscribe(client, criteria: str, name: str) -> str:
    body = {"resourceType": "Subscription", "status": "requested", "reason": name, "criteria": criteria,
            "channel": {"type": "rest-hook", "endpoint": f"{HOOK}/{name}", "payload": "application/fhir+json"},
            "extension": [{"url": SECRET_EXTENSION, "valueString": "s3cret-of-the-pending-round-trip-0123456789"}]}
    return _ok(client.post("/Subscription", body))["id"]


def _told(runtime, subscription: str) -> list[str]:
    """A Subscription's deliveries (with their envelopes) as text, oldest first."""
    deliveries = list_deliveries(runtime.store, subscription=subscription, include_body=True)
    return [json.dumps(delivery) for delivery in reversed(deliveries)]


def _answer(bpjs, claim: dict, kind: str, **changes) -> dict:
    body = {**reference_answer(kind, claim, batch=BATCH), **changes}
    return _ok(bpjs.post("/ClaimResponse", body), 201)


def test_the_pending_round_trip(rules, parties, runtime):
    hospital, bpjs, other = parties["hospital"], parties["bpjs"], parties["other"]
    watch_hospital = _subscribe(hospital, f"ClaimResponse?request=Claim/{CLAIM}", "hospital")
    watch_bpjs = _subscribe(bpjs, f"Bundle?claim=Claim/{CLAIM}", "bpjs")
    watch_other = _subscribe(other, "ClaimResponse?_id=x,y", "other")

    # the hospital: the earlier episode, then the readmission; the pipeline publishes both
    _ok(hospital.post("", _load("earlier-episode.json")))
    _ok(hospital.post("", _load("transaction.json")))
    PipelineWorker(runtime.pipeline).run_until_idle()
    claim = _ok(hospital.get(f"/Claim/{CLAIM}"))
    [bundle] = _ok(bpjs.get(f"/Bundle?claim=Claim/{CLAIM}"))["entry"]
    assert bundle["resource"]["meta"]["versionId"] == "1"

    # BPJS-K: purification passed; the hospital continues; the verification comes back pending (readmission)
    purification = _answer(bpjs, claim, "purifikasi")
    _ok(hospital.post("/PurificationDecision", decision(purification["id"], LANJUT)), 201)
    pending = {**reference_answer("verifikasi", claim, batch=BATCH), "outcome": "partial",
               "adjudication": [{"category": {"coding": [codes.VERIFICATION_CATEGORY]},
                                 "reason": {"coding": [codes.PENDING]}}],
               "error": [{"code": {"coding": [codes.coding(codes.VERIFICATION_PENDING, "readmission",
                                                           "Readmission to confirm")],
                                   "text": "Potensi readmisi: pasien pulang 18 hari sebelumnya (SEP "
                                           "0301R0011026V000601); konfirmasi episode"}}]}
    pending["total"] = pending["total"][:1]
    del pending["payment"], pending["item"]
    pending = _ok(bpjs.post("/ClaimResponse", pending), 201)
    assert codes.verification_pending(pending) and codes.pending_reasons(pending) == ["readmission"]

    # the hospital reads it and confirms: not a readmission, with the earlier episode's resume
    found = _ok(hospital.get(f"/ClaimResponse?request=Claim/{CLAIM}&outcome=partial"))
    assert [e["resource"]["id"] for e in found["entry"]] == [pending["id"]]
    answered = {**claim, "extension": [{"url": codes.PENDING_ANSWER_EXT, "extension": [
        {"url": "claimResponse", "valueReference": {"reference": f"ClaimResponse/{pending['id']}"}},
        {"url": "answer", "valueCoding": codes.coding(codes.VERIFICATION_PENDING, "confirmed")},
        {"url": "text", "valueString": "Bukan readmisi: episode berbeda (resume episode sebelumnya terlampir)"}]}]}
    answered["supportingInfo"] = [*claim["supportingInfo"], {
        "sequence": 99, "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                           "claiminformationcategory", "code": "attachment"}]},
        "valueReference": {"reference": EARLIER_RESUME}}]
    answered.pop("meta")
    _ok(hospital.put(f"/Claim/{CLAIM}", answered))
    PipelineWorker(runtime.pipeline).run_until_idle()
    with runtime.store.unit_of_work(SYSTEM, write=False) as uow:  # nothing new for E-Klaim: no re-edit, no E2039
        queue = JobQueue(uow.session)
        steps = queue.steps(queue.latest_for_claim(CLAIM, HOSPITAL).id)
    assert "republished" in steps and "new_claim" not in steps and "claim_final" not in steps, sorted(steps)

    # a new signed Bundle version, linked to the pending answer and carrying the earlier resume
    [bundle] = _ok(bpjs.get(f"/Bundle?claim=Claim/{CLAIM}"))["entry"]
    signed = bundle["resource"]
    assert signed["meta"]["versionId"] == "2"
    signed_claim = next(e["resource"] for e in signed["entry"] if e["resource"]["resourceType"] == "Claim")
    link = next(e for e in signed_claim["extension"] if e["url"] == codes.PENDING_ANSWER_EXT)
    assert link["extension"][0]["valueReference"] == {"reference": f"ClaimResponse/{pending['id']}"}
    assert EARLIER_RESUME in [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in signed["entry"]]

    # BPJS-K purifies the new version, the hospital continues, BPJS-K verifies and pays
    again = _answer(bpjs, signed_claim, "purifikasi")
    _ok(hospital.post("/PurificationDecision", decision(again["id"], LANJUT)), 201)
    package = 3_701_100
    paid = reference_answer("verifikasi", signed_claim, batch=BATCH)
    paid["total"][1]["amount"]["value"] = paid["payment"]["amount"]["value"] = package
    paid = _ok(bpjs.post("/ClaimResponse", paid), 201)
    assert paid["payment"]["amount"]["value"] == package and paid["identifier"][0]["value"] == BATCH

    # each side was told at each step; the other hospital sees nothing
    told_hospital = _told(runtime, watch_hospital)
    for answer in (purification, pending, again, paid):
        assert any(f"ClaimResponse/{answer['id']}" in text for text in told_hospital), answer["id"]
    assert len(_told(runtime, watch_bpjs)) == 2  # the Bundle, then its new version
    assert _told(runtime, watch_other) == []
    assert other.get(f"/ClaimResponse/{pending['id']}").status_code == 404
    assert _ok(other.get(f"/ClaimResponse?request=Claim/{CLAIM}")).get("entry", []) == []
    assert other.get(f"/Claim/{CLAIM}").status_code == 404


def test_a_pending_answer_must_answer_a_pending_verification_of_that_claim(rules, parties, runtime):
    hospital = parties["hospital"]
    _ok(hospital.post("", _load("transaction.json")))
    claim = _ok(hospital.get(f"/Claim/{CLAIM}"))
    claim.pop("meta")
    claim["extension"] = [
        {"url": codes.PENDING_ANSWER_EXT, "extension": [
            {"url": "claimResponse", "valueReference": {"reference": "ClaimResponse/nothing-here"}},
            {"url": "answer", "valueCoding": codes.coding(codes.VERIFICATION_PENDING, "confirmed")},
            {"url": "text", "valueString": "Episode berbeda"}]}]
    answer = hospital.put(f"/Claim/{CLAIM}", claim)
    assert answer.status_code == 422
    assert "ClaimResponse/nothing-here does not exist" in json.dumps(answer.get_json())
    claim["extension"][-1]["extension"][1]["valueCoding"]["code"] = "maybe"
    assert hospital.put(f"/Claim/{CLAIM}", claim).status_code == 422



def test_a_withdrawal_is_a_status_change_the_hospital_is_told_of(rules, parties, runtime):
    hospital, bpjs = parties["hospital"], parties["bpjs"]
    watch = _subscribe(hospital, f"ClaimResponse?request=Claim/{CLAIM}", "hospital")
    _ok(hospital.post("", _load("transaction.json")))
    PipelineWorker(runtime.pipeline).run_until_idle()
    purification = _answer(bpjs, _ok(hospital.get(f"/Claim/{CLAIM}")), "purifikasi")
    _ok(hospital.post("/PurificationDecision", decision(purification["id"], LANJUT)), 201)
    assert bpjs.delete(f"/ClaimResponse/{purification['id']}").status_code == 409  # decided on: never deleted
    withdrawn = _ok(bpjs.put(f"/ClaimResponse/{purification['id']}", {**purification, "status": "entered-in-error"}))
    assert (withdrawn["status"], withdrawn["meta"]["versionId"]) == ("entered-in-error", "2")
    told = [text for text in _told(runtime, watch) if f"ClaimResponse/{purification['id']}" in text]
    assert len(told) == 2 and '"entered-in-error"' in told[1]  # the purification, then its withdrawal
    assert hospital.get(f"/ClaimResponse/{purification['id']}").get_json()["status"] == "entered-in-error"
