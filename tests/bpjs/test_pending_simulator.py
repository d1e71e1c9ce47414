"""The BPJS-K simulator as a verifier, end to end on examples/06-pending-readmission (on E-Klaim 5.10 and
5.1): the readmission is returned as pending, the hospital answers with `answer_pending` (the earlier
episode's resume), the new Bundle version is purified and verified 'Layak'. The web app and the REST API answer
through the same function."""

from __future__ import annotations

import json

import pytest
from bpjs_kit import HOSPITAL, answers, decision, hospital_write, simulate, write

from fhirclaim.bpjs import answer_pending, codes
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.store.scope import tenant_scope

from testkit import REPO_ROOT

CASE = REPO_ROOT / "examples" / "06-pending-readmission"
EARLIER, CLAIM = "ex6a-claim", "ex6-claim"
EARLIER_RESUME = "DocumentReference/ex6a-discharge-summary"


@pytest.fixture(params=["5.10", "5.1"])
def settings(settings, request):
    return settings.model_copy(update={"eklaim_protocol": request.param})


def _load(name: str) -> dict:
    return json.loads((CASE / name).read_text(encoding="utf-8"))


def _decide_and_verify(runtime, clock, claim_id: str):
    [purification] = [p for p in answers(runtime, claim_id, "purifikasi")
                      if not _decided(runtime, p.id)]
    assert codes.purification_passed(purification.content)
    hospital_write(runtime, decision(purification.id))
    simulate(runtime, clock)
    return max(answers(runtime, claim_id, "verifikasi"), key=lambda v: v.last_updated)


def _decided(runtime, purification_id: str) -> bool:
    from fhirclaim.bpjs import lookups

    with runtime.store.unit_of_work(tenant_scope(HOSPITAL), write=False) as uow:
        return bool(lookups.decisions(uow.resources, purification_id))


def _answer(runtime, pending_id: str, **kwargs):
    with runtime.store.unit_of_work(tenant_scope(HOSPITAL)) as uow:
        return answer_pending(runtime.fhir_service(uow, author="facility:test"), pending_id, **kwargs)


@pytest.fixture
def pending(simulator, runtime, clock):
    write(runtime, _load("earlier-episode.json"))
    write(runtime, _load("transaction.json"))
    PipelineWorker(runtime.pipeline).run_until_idle()
    assert simulate(runtime, clock) == 2
    assert not codes.verification_pending(_decide_and_verify(runtime, clock, EARLIER).content)
    found = _decide_and_verify(runtime, clock, CLAIM)
    assert codes.pending_reasons(found.content) == ["readmission"]
    return found


def test_a_confirmed_readmission_is_verified_and_paid(runtime, clock, pending):
    claim = _answer(runtime, pending.id, answer=codes.CONFIRMED, documents=[EARLIER_RESUME],
                    text="Bukan readmisi: episode berbeda, resume episode sebelumnya terlampir")
    assert claim.content["supportingInfo"][-1]["valueReference"] == {"reference": EARLIER_RESUME}
    PipelineWorker(runtime.pipeline).run_until_idle()
    assert simulate(runtime, clock) == 1  # the new Bundle version is purified
    verified = _decide_and_verify(runtime, clock, CLAIM)
    assert verified.id != pending.id and not codes.verification_pending(verified.content)
    assert verified.content["payment"]["amount"]["value"] == 3_701_100
    assert [i["value"] for i in verified.content["identifier"]] == ["B2026110602", "0301R0011126V000602"]


def test_a_correction_without_the_earlier_resume_stays_pending(runtime, clock, pending):
    _answer(runtime, pending.id, answer=codes.CORRECTED, text="Data diperbaiki")
    PipelineWorker(runtime.pipeline).run_until_idle()
    simulate(runtime, clock)
    again = _decide_and_verify(runtime, clock, CLAIM)
    assert again.id != pending.id and codes.pending_reasons(again.content) == ["readmission"]


@pytest.mark.parametrize("kwargs,status", [
    ({"answer": "maybe", "text": "?"}, 422),
    ({"answer": codes.CONFIRMED, "text": "x", "claim": {"resourceType": "Claim", "id": "ex6a-claim"}}, 422),
])
def test_bad_answers_are_refused(runtime, pending, kwargs, status):
    with pytest.raises(FhirError) as raised:
        _answer(runtime, pending.id, **kwargs)
    assert raised.value.status == status


def test_only_a_pending_verification_is_answered(runtime, clock, pending):
    [paid] = answers(runtime, EARLIER, "verifikasi")
    with pytest.raises(FhirError) as raised:
        _answer(runtime, paid.id, answer=codes.CONFIRMED, text="x")
    assert raised.value.status == 422 and "is not a verification returned as pending" in raised.value.issues[0].text
    with pytest.raises(FhirError) as raised:
        _answer(runtime, "no-such-answer", answer=codes.CONFIRMED, text="x")
    assert raised.value.status == 404
