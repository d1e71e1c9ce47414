"""BPJS-K's verifier as pure rules (fhirclaim.bpjs.verification, data/verification_rules.json): which claims it
returns as pending, with which reason, and the pending ClaimResponse; the hospital's confirmation that waives a
readmission. Claims are the example cases as signed claim Bundles carry them (test_purification_rules.signed)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone

import pytest
from bpjs_kit import claim_of, example, renamed, resource_of, with_principal, with_sep, with_stay
from fhir.resources.R4B.claimresponse import ClaimResponse
from test_purification_rules import INPATIENT, received

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.confirmation import answer_extension, pending_answer
from fhirclaim.bpjs.verification import pending_findings, pending_response, verification_rules
from fhirclaim.fhir.profiles import check_profiles

CREATED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
SURGICAL = "02-hip-replacement-special-cmg"  # hip replacement, with its operation report and discharge summary


def readmitted(admitted: str = "2026-11-01", principal=("J18.0", "Lobar pneumonia, unspecified")) -> dict:
    """The inpatient case again (another Claim, SEP and Encounter) from `admitted`, three days."""
    end = f"{admitted[:8]}{int(admitted[8:]) + 3:02d}T10:00:00+07:00"
    return with_principal(with_stay(with_sep(renamed(example(INPATIENT), "re-"), "0301R0011126V000302"),
                                    f"{admitted}T09:00:00+07:00", end), *principal)


def reasons(case: dict, *others: dict) -> list[str]:
    return [f.reason for f in pending_findings(received(case), [received(o) for o in others])]


def without(case: dict, loinc: str) -> dict:
    """The case without its documents of a LOINC type (entries and supportingInfo links)."""
    copied = copy.deepcopy(case)
    gone = {f"DocumentReference/{e['resource']['id']}" for e in copied["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"
            and e["resource"]["type"]["coding"][0]["code"] == loinc}
    copied["entry"] = [e for e in copied["entry"]
                       if f"{e['resource']['resourceType']}/{e['resource']['id']}" not in gone]
    claim = claim_of(copied)
    claim["supportingInfo"] = [i for i in claim["supportingInfo"]
                               if (i.get("valueReference") or {}).get("reference") not in gone]
    return copied


def confirmed(case: dict, answer: str = codes.CONFIRMED, *, earlier_resume: bool = True) -> dict:
    """The readmission answered by the hospital: the pending-answer extension and, linked from the Claim, the
    earlier episode's resume (its DocumentReference names the earlier Encounter)."""
    copied = copy.deepcopy(case)
    claim = claim_of(copied)
    claim.setdefault("extension", []).append(answer_extension("pending-1", answer, "Episode berbeda"))
    if earlier_resume:
        resume = copy.deepcopy(resource_of(example(INPATIENT), "DocumentReference"))
        signer = {"reference": claim["careTeam"][0]["provider"]["reference"]}  # the same DPJP, renamed with the case
        resume.update(author=[signer], authenticator=signer)
        copied["entry"].append({"resource": resume})
        claim["supportingInfo"].append({"sequence": 99, "category": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "attachment"}]},
            "valueReference": {"reference": f"DocumentReference/{resume['id']}"}})
    return copied


# --- the rules ------------------------------------------------------------------------------------------------------

def test_the_example_cases_are_verified():
    for name in (INPATIENT, SURGICAL, "01-outpatient-visit", "04-newborn"):
        assert reasons(example(name)) == [], name


@pytest.mark.parametrize("admitted,principal,expected", [
    ("2026-11-01", ("J18.0", "Lobar pneumonia, unspecified"), ["readmission"]),
    ("2026-11-13", ("J18.1", "Lobar pneumonia, unspecified"), ["readmission"]),  # 30 days after discharge
    ("2026-11-14", ("J18.0", "Lobar pneumonia, unspecified"), []),  # 31 days
    ("2026-11-01", ("J20.9", "Acute bronchitis, unspecified"), []),  # another category
])
def test_readmission_within_30_days_with_the_same_principal_category_is_pending(admitted, principal, expected):
    later, earlier = received(readmitted(admitted, principal)), received(example(INPATIENT))
    found = pending_findings(later, [earlier])
    assert [f.reason for f in found] == expected
    if expected:
        days = (date.fromisoformat(admitted) - date(2026, 10, 14)).days
        assert found[0].text.startswith(f"Potensi readmisi: pasien pulang {days} hari sebelumnya (SEP "
                                        "0301R0011026V000301) dengan diagnosis utama kategori J18 yang sama")
        assert found[0].display == "Readmission to confirm"
    assert pending_findings(earlier, [later]) == []  # a readmission is the later stay


def test_another_participants_stay_is_no_readmission():
    card_changed = copy.deepcopy(example(INPATIENT))
    resource_of(card_changed, "Coverage")["subscriberId"] = "0009999999999"
    assert reasons(readmitted(), card_changed) == []


def test_a_confirmed_readmission_with_the_earlier_resume_is_verified():
    assert reasons(confirmed(readmitted()), example(INPATIENT)) == []
    answer = pending_answer(claim_of(confirmed(readmitted())))
    assert (answer.claim_response, answer.code, answer.text) == ("ClaimResponse/pending-1", "confirmed",
                                                                 "Episode berbeda")


@pytest.mark.parametrize("answer,earlier_resume", [(codes.CORRECTED, True), (codes.CONFIRMED, False)])
def test_a_readmission_stays_pending_without_a_confirmation_and_the_earlier_resume(answer, earlier_resume):
    case = confirmed(readmitted(), answer, earlier_resume=earlier_resume)
    assert reasons(case, example(INPATIENT)) == ["readmission"]


@pytest.mark.parametrize("name,loinc", [(INPATIENT, "18842-5"), (SURGICAL, "18842-5"), (SURGICAL, "11504-8")])
def test_a_missing_resume_or_operation_report_is_pending(name, loinc):
    found = pending_findings(received(without(example(name), loinc)), [])
    assert [f.reason for f in found] == ["document-missing"]
    assert loinc in found[0].text and found[0].display == "Document missing"


def test_implausible_coding_is_pending():
    case = example(INPATIENT)  # a man
    claim_of(case)["diagnosis"].append({"sequence": 3, "diagnosisCodeableConcept": {"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "N70.9", "display": "Salpingitis and oophoritis"}]}})
    found = pending_findings(received(case), [])
    assert [f.reason for f in found] == ["coding"]
    assert "N70.9" in found[0].text


def test_data_that_disagree_are_pending():
    case = example(INPATIENT)
    claim_of(case)["total"]["value"] += 100_000  # the Claim's tarif RS is not the Invoice's total
    assert reasons(case) == ["data-mismatch"]


def test_the_rules_table_names_a_reason_of_the_code_system_for_each_rule():
    from fhirclaim.claims import code_tables
    from fhirclaim.claims.precheck import rule_ids

    for reason, rule in verification_rules().items():
        assert code_tables.concept(codes.VERIFICATION_PENDING, reason) is not None, reason
        assert set(rule.get("precheck", ())) <= set(rule_ids()), reason


# --- the pending ClaimResponse ----------------------------------------------------------------------------------------

def test_the_pending_verification_names_each_reason_and_pays_nothing():
    claim = received(readmitted())
    found = pending_findings(claim, [received(example(INPATIENT))])
    response = pending_response(claim, found, created=CREATED)
    ClaimResponse.model_validate(response)
    assert check_profiles(response) == []
    assert (response["outcome"], response["subType"]["coding"][0]["code"]) == ("partial", "verifikasi")
    assert response["adjudication"][0]["reason"]["coding"] == [codes.PENDING]
    assert codes.verification_pending(response) and codes.pending_reasons(response) == ["readmission"]
    assert response["error"][0]["code"]["text"] == found[0].text
    assert response["disposition"] == "Pending: Readmission to confirm"
    assert "payment" not in response and [t["category"]["coding"][0]["code"] for t in response["total"]] == [
        "submitted"]


@pytest.mark.parametrize("change,expression", [
    (lambda r: r.update(payment={"type": {"coding": [codes.PAYMENT_COMPLETE]},
                                 "amount": {"value": 1, "currency": "IDR"}}), "ClaimResponse.payment"),
    (lambda r: r.pop("error"), "ClaimResponse.error"),
])
def test_the_profile_holds_a_pending_verification_to_its_shape(change, expression):
    claim = received(readmitted())
    response = pending_response(claim, pending_findings(claim, [received(example(INPATIENT))]), created=CREATED)
    change(response)
    assert [i.expression for i in check_profiles(response)] == [(expression,)]


def test_a_paid_verification_still_needs_its_payment():
    claim = received(example(INPATIENT))
    response = pending_response(claim, [], created=CREATED)
    response["outcome"] = "complete"
    assert {i.expression[0] for i in check_profiles(response)} >= {"ClaimResponse.payment"}


def test_answers_carry_the_claims_batch_number():
    case = example(INPATIENT)
    batch = {"system": "http://sys-ids.kemkes.go.id/claim-batch-number/100025555", "value": "B2026110001"}
    claim_of(case)["identifier"].insert(0, batch)
    response = pending_response(received(case), [], created=CREATED)
    assert response["identifier"][0] == batch and response["identifier"][1]["value"] == "0301R0011026V000301"


def test_the_pending_answer_extension_is_declared_as_an_r4_structure_definition():
    import json
    from importlib import resources

    from fhir.resources.R4B.structuredefinition import StructureDefinition

    path = resources.files("fhirclaim.profiles").joinpath("StructureDefinition-pending-answer.json")
    definition = json.loads(path.read_text(encoding="utf-8"))
    StructureDefinition.model_validate(definition)
    assert (definition["url"], definition["type"]) == (codes.PENDING_ANSWER_EXT, "Extension")
    parts = {e["fixedUri"] for e in definition["differential"]["element"] if e["path"] == "Extension.extension.url"}
    assert parts == {p["url"] for p in answer_extension("x", codes.CONFIRMED, "t")["extension"]}
