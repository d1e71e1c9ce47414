"""The purification rules and BPJS-K's answers as pure functions of what BPJS-K received: claims of the example
cases, as signed claim Bundles carry them, compared with a participant's other claims in any hospital."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone

import pytest
from bpjs_kit import (
    claim_of,
    example,
    renamed,
    resource_of,
    with_card,
    with_principal,
    with_sep,
    with_stay,
)
from fhir.resources.R4B.claimresponse import ClaimResponse

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.purification import purification_response, purify
from fhirclaim.bpjs.submitted_claim import excess, is_claim_bundle, package_total, read_submission
from fhirclaim.bpjs.verification import verification_response, verified_amounts
from fhirclaim.claims import systems
from fhirclaim.fhir.profiles import check_profiles

ZONE = "Asia/Jakarta"
CREATED = datetime(2026, 10, 20, 2, 0, tzinfo=timezone.utc)
INPATIENT = "03-class-upgrade"  # J18.9, 2026-10-10 09:00 – 2026-10-14 11:00, card 0001234567003
OUTPATIENT = "01-outpatient-visit"  # A09, 2026-10-05, card 0001234567001
CARD = "0001234567003"


def signed(transaction: dict, *, base: int = 3_701_100, additional: tuple[int, ...] = (),
           add_payment_amt: int = 0) -> dict:
    """The collection Bundle the pipeline would publish for a case: the Claim with its Package extension, the
    grouping ClaimResponse, everything the claim rests on, a signature."""
    claim = copy.deepcopy(claim_of(transaction))
    parts = [{"url": "basePackage", "extension": [{"url": "value", "valueInteger": base}]}]
    parts += [{"url": "additionalPackage", "extension": [{"url": "value", "valueInteger": v}]} for v in additional]
    claim["extension"] = [*claim.get("extension", []), {"url": systems.PACKAGE_EXT, "extension": parts}]
    grouping = {"resourceType": "ClaimResponse", "id": f"g-{claim['id']}",
                "request": {"reference": f"Claim/{claim['id']}"},
                "subType": {"coding": [{"system": systems.CLAIMRESPONSE_SUBTYPE, "code": "grouping"}]}}
    if add_payment_amt:
        grouping["item"] = [{"itemSequence": 1, "adjudication": [
            {"category": {"coding": [{"system": systems.ADJUDICATION, "code": "copay"}]},
             "amount": {"value": add_payment_amt, "currency": "IDR"}}]}]
    resources = [claim] + [e["resource"] for e in transaction["entry"] if e["resource"]["resourceType"] != "Claim"]
    return {"resourceType": "Bundle", "id": f"b-{claim['id']}", "type": "collection",
            "signature": {"data": "c2lnbmVk"}, "entry": [{"resource": r} for r in resources + [grouping]]}


def received(transaction: dict, **package):
    return read_submission(signed(transaction, **package), ZONE)


def inpatient(prefix: str):
    """The inpatient case as another claim (ids prefixed), same participant."""
    return renamed(example(INPATIENT), prefix)


def findings(claim, *others) -> list[str]:
    return [f.code for f in purify(claim, others)]


# --- what BPJS-K reads --------------------------------------------------------------------------------------------

def test_what_bpjs_reads_from_a_signed_bundle():
    claim = received(example(INPATIENT), base=3_000_000, additional=(500_000, 200_000), add_payment_amt=314_500)
    assert (claim.claim_id, claim.sep, claim.card) == ("ex3-claim", "0301R0011026V000301", CARD)
    assert (claim.package_total, claim.add_payment_amt) == (3_700_000, 314_500)
    episode = claim.episode
    assert (episode.jenis_rawat, episode.principal_diagnosis) == ("1", "J18.9")
    assert (episode.admission.isoformat(), episode.discharge.isoformat()) == (
        "2026-10-10T09:00:00+07:00", "2026-10-14T11:00:00+07:00")
    assert claim.facts.dpjp_name and claim.facts.tarif_rs == 3_650_000


@pytest.mark.parametrize("change,expected", [
    (lambda b: None, True),
    (lambda b: b.pop("signature"), False),
    (lambda b: b.update(type="transaction"), False),
    (lambda b: b.update(entry=[e for e in b["entry"] if e["resource"]["resourceType"] != "Claim"]), False),
])
def test_only_signed_collection_bundles_with_a_claim_are_claims(change, expected):
    bundle = signed(example(OUTPATIENT))
    change(bundle)
    assert is_claim_bundle(bundle) is expected


def test_package_total_and_excess_read_the_extension_and_copay_only():
    claim = {"extension": [{"url": "urn:other", "valueInteger": 9}, {"url": systems.PACKAGE_EXT, "extension": [
        {"url": "tariffClass", "valueCodeableConcept": {"text": "BP"}},
        {"url": "basePackage", "extension": [{"url": "code", "valueCodeableConcept": {"text": "M-1-04-II"}},
                                             {"url": "value", "valueInteger": 40_388_100}]},
        {"url": "additionalPackage", "extension": [{"url": "value", "valueInteger": 5_027_400}]}]}]}
    assert package_total(claim) == 45_415_500
    assert package_total({}) == 0
    response = {"item": [{"adjudication": [
        {"category": {"coding": [{"system": systems.ADJUDICATION, "code": "benefit"}]}, "amount": {"value": 9}},
        {"category": {"coding": [{"system": systems.ADJUDICATION, "code": "copay"}]}, "amount": {"value": 100}}]},
        {"adjudication": [{"category": {"coding": [{"code": "copay"}]}, "amount": {"value": 50}}]}]}
    assert excess(response) == 150


# --- the rules ----------------------------------------------------------------------------------------------------

def test_a_claim_alone_passes():
    assert purify(received(example(INPATIENT)), []) == []


def test_other_versions_of_the_same_claim_are_not_doubles():
    claim = received(example(INPATIENT))
    assert purify(claim, [claim, received(example(INPATIENT), base=1)]) == []


def test_the_same_sep_in_another_claim():
    claim = received(example(INPATIENT))
    elsewhere = received(renamed(example(INPATIENT), "rs2-", organization="10000099"))
    found = purify(claim, [elsewhere])
    assert [f.code for f in found] == ["duplicate-sep"]  # not also judged as an overlapping stay
    assert found[0].text == ("SEP 0301R0011026V000301 sudah diajukan dalam klaim lain / "
                             "SEP 0301R0011026V000301 has already been claimed in another claim")
    assert found[0].expression == ("Claim.insurance[0].identifier.value",)


def test_overlapping_inpatient_stays_of_one_participant():
    other = with_stay(with_sep(inpatient("o-"), "0301R0011026V009999"), "2026-10-12T08:00:00+07:00",
                      "2026-10-16T10:00:00+07:00")
    found = purify(received(example(INPATIENT)), [received(other)])
    assert [f.code for f in found] == ["double-ritl-ritl"]
    assert "SEP 0301R0011026V009999 (2026-10-12 08:00 – 2026-10-16 10:00)" in found[0].text


def test_a_transfer_on_the_discharge_day_is_not_an_overlap():
    other = with_stay(with_sep(inpatient("o-"), "0301R0011026V009999"), "2026-10-14T13:00:00+07:00",
                      "2026-10-16T10:00:00+07:00")
    assert findings(received(example(INPATIENT)), received(other)) == []


def test_another_participant_is_no_double():
    other = with_card(with_sep(inpatient("o-"), "0301R0011026V009999"), "0009999999999")
    assert findings(received(example(INPATIENT)), received(other)) == []


def _visit(day: str, sep: str = "0301R0011026V008888", card: str = CARD):
    visit = with_card(with_sep(renamed(example(OUTPATIENT), f"v{day}-{sep[-4:]}-"), sep), card)
    return with_stay(visit, f"2026-10-{day}T09:00:00+07:00", f"2026-10-{day}T10:30:00+07:00")


def test_an_outpatient_visit_inside_an_inpatient_stay_either_way():
    stay, visit = received(example(INPATIENT)), received(_visit("12"))
    assert findings(visit, stay) == ["double-rjtl-ritl"]
    assert findings(stay, visit) == ["double-rjtl-ritl"]
    text = purify(visit, [stay])[0].text
    assert "kunjungan rawat jalan 2026-10-12 (SEP 0301R0011026V008888)" in text and "SEP 0301R0011026V000301" in text


def test_an_outpatient_visit_on_the_discharge_day_is_a_new_visit():
    assert findings(received(_visit("14")), received(example(INPATIENT))) == []


def test_two_outpatient_claims_on_one_day():
    first, second = received(_visit("20")), received(_visit("20", sep="0301R0011026V007777"))
    assert findings(second, first) == ["double-rjtl-rjtl"]
    assert findings(received(_visit("21", sep="0301R0011026V007777")), first) == []


def test_a_readmission_is_no_purification_finding():
    """BPJS-K's verifier returns it as pending instead (test_pending_rules.py)."""
    later = with_principal(with_stay(with_sep(inpatient("re-"), "0301R0011126V000302"), "2026-11-01T09:00:00+07:00",
                                     "2026-11-04T10:00:00+07:00"), "J18.0", "Lobar pneumonia, unspecified")
    assert findings(received(later), received(example(INPATIENT))) == []


def test_no_dpjp():
    case = example(INPATIENT)
    del claim_of(case)["careTeam"]
    resource_of(case, "Encounter").pop("participant", None)
    found = purify(received(case), [])
    assert [(f.code, f.expression) for f in found] == [("dpjp-missing", ("Claim.careTeam",))]
    assert found[0].display == "DPJP missing"


def test_every_finding_is_reported():
    case = with_stay(_visit("12"), "2026-10-12T09:00:00+07:00", "2026-10-12T10:30:00+07:00")
    del claim_of(case)["careTeam"]
    resource_of(case, "Encounter").pop("participant", None)
    claim = received(case)
    assert findings(claim, received(example(INPATIENT)), received(_visit("12", sep="0301R0011026V007777"))) == [
        "double-rjtl-ritl", "double-rjtl-rjtl", "dpjp-missing"]


# --- the answers ----------------------------------------------------------------------------------------------------

def _valid(response: dict) -> dict:
    ClaimResponse.model_validate(response)
    assert check_profiles(response) == []
    return response


def test_a_passed_purification_in_satusehat_shape():
    claim = received(example(INPATIENT))
    response = _valid(purification_response(claim, [], created=CREATED))
    assert response["subType"]["coding"] == [{"system": codes.KEMKES, "code": "purifikasi", "display": "Purifikasi"}]
    assert response["adjudication"] == [{
        "category": {"coding": [{"system": codes.KEMKES, "code": "TK000046", "display": "Status Purifikasi"}]},
        "reason": {"coding": [{"system": codes.KEMKES, "code": "TK000047", "display": "Lolos Purifikasi"}]}}]
    assert response["identifier"] == [{"system": "http://sys-ids.kemkes.go.id/claim-number/100025555",
                                       "value": "0301R0011026V000301"}]
    assert (response["request"], response["requestor"], response["insurer"]["reference"], response["outcome"]) == (
        {"reference": "Claim/ex3-claim"}, claim.claim["provider"], "Organization/100025555", "complete")
    assert response["created"] == "2026-10-20T02:00:00+00:00"
    assert "payment" not in response and "error" not in response and codes.purification_passed(response)


def test_a_failed_purification_names_each_finding():
    claim = received(_visit("12"))
    found = purify(claim, [received(example(INPATIENT))])
    response = _valid(purification_response(claim, found, created=CREATED))
    assert response["adjudication"][0]["reason"]["coding"] == [{
        "system": "https://fhirclaim.org/fhir/CodeSystem/purification-result", "code": "tidak-lolos-purifikasi",
        "display": "Tidak Lolos Purifikasi"}]
    assert response["disposition"] == "Tidak Lolos Purifikasi: Double claim RJTL-RITL"
    assert [e["code"]["coding"][0]["code"] for e in response["error"]] == ["double-rjtl-ritl"]
    assert response["processNote"] == [{"number": 1, "type": "display", "text": found[0].text}]
    assert not codes.purification_passed(response)


@pytest.mark.parametrize("add_payment_amt", [314_500, 0])
def test_verification_pays_the_inacbg_total_and_states_the_excess(add_payment_amt):
    claim = received(example(INPATIENT), base=3_701_100, additional=(1_000_000,), add_payment_amt=add_payment_amt)
    amounts = verified_amounts(claim)
    assert (amounts.submitted, amounts.benefit, amounts.copay, amounts.payment) == (
        3_650_000, 4_701_100, add_payment_amt, 4_701_100)
    response = _valid(verification_response(claim, amounts, created=CREATED, payment_date=date(2026, 10, 21)))
    assert response["subType"]["coding"][0]["code"] == "verifikasi"
    assert response["adjudication"] == [{"category": {"coding": [{"system": "http://snomed.info/sct",
                                                                  "code": "309010003"}]},
                                         "reason": {"coding": [codes.LAYAK]}}]
    assert [(t["category"]["coding"][0]["code"], t["amount"]) for t in response["total"]] == [
        ("submitted", {"value": 3_650_000, "currency": "IDR"}), ("benefit", {"value": 4_701_100, "currency": "IDR"})]
    assert response["payment"] == {"type": {"coding": [codes.PAYMENT_COMPLETE]}, "date": "2026-10-21",
                                   "amount": {"value": 4_701_100, "currency": "IDR"}}
    assert excess(response) == add_payment_amt
    assert ("item" in response) is bool(add_payment_amt)
