"""Prechecks: each rule fires on a crafted case, stays quiet on clean ones, and speaks Indonesian and English."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from claims_cases import KEMKES, SEP, icd9, icd10, info, inpatient_case, outpatient_case, quantity

from fhirclaim.claims.precheck import HISTORY_RULES, RULES, PastEpisode, precheck, rule_ids

WIB = ZoneInfo("Asia/Jakarta")
RULE_SYSTEM = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"


def fired(ctx, history=None):
    return [(i.details_code, i.severity, i.expression) for i in precheck(ctx, history)]


def test_clean_inpatient_and_outpatient_claims_pass():
    assert precheck(inpatient_case()) == []
    assert precheck(outpatient_case()) == []


def _diagnoses(ctx, *codes):
    ctx.claim["diagnosis"] = [icd10(n, code) for n, code in enumerate(codes, 1)]
    return ctx


def _procedures(ctx, *codes):
    ctx.claim["procedure"] = [icd9(n, code) for n, code in enumerate(codes, 1)]
    return ctx


def _newborn(ctx, birth_date="2024-04-28"):
    ctx.patient["birthDate"] = birth_date
    ctx.patient["identifier"] = ctx.patient["identifier"][1:]  # no NIK of its own yet (and not the mother's)
    return ctx


def _no_sep(ctx):
    del ctx.claim["insurance"][0]["identifier"]
    ctx.claim["identifier"] = ctx.claim["identifier"][:1]
    return ctx


def _no_enterer(ctx):
    del ctx.claim["enterer"]
    return ctx


def _discharge_first(ctx):
    ctx.encounter["period"]["end"] = "2024-04-30T23:00:00+07:00"
    return ctx


def _icu(ctx, days=7):
    ctx.claim["supportingInfo"][4] = info(5, "icu-days", **quantity(days, "d"))
    return ctx


def _upgrade(ctx, los=9, klass="2"):
    ctx.claim["supportingInfo"][0]["code"]["coding"][0]["code"] = "upgrade"
    ctx.claim["supportingInfo"] += [info(7, "upgrade-class-class", KEMKES, valueString="kelas_1"),
                                    info(8, "upgrade-class-los", **quantity(los, "d"))]
    ctx.coverage["class"][1]["value"] = klass
    return ctx


def _tariff(ctx, amount=12000):
    ctx.claim["total"]["value"] = amount
    return ctx


def _adl(ctx):
    ctx.claim["supportingInfo"] += [info(7, "adl-sub-acute", **quantity(11, "{score}")),
                                    info(8, "adl-chronic", **quantity(70, "{score}"))]
    return ctx


def _no_dpjp(ctx):
    del ctx.claim["careTeam"]
    del ctx.encounter["participant"]
    return ctx


CASES = [
    ("PRECHECK-SEP-MISSING", _no_sep, [("error", ("Claim.insurance[0].identifier.value",))]),
    ("PRECHECK-CODER-NIK", _no_enterer, [("error", ("Claim.enterer",))]),
    ("PRECHECK-DISCHARGE-BEFORE-ADMISSION", _discharge_first,
     [("error", ("Encounter.period.start", "Encounter.period.end"))]),
    ("PRECHECK-ICU-DAYS", _icu, [("error", ("Claim.supportingInfo[4]", "Encounter.period.start",
                                            "Encounter.period.end"))]),
    ("PRECHECK-UPGRADE-LOS", _upgrade, [("error", ("Claim.supportingInfo[7]", "Encounter.period.start",
                                                   "Encounter.period.end"))]),
    ("PRECHECK-UPGRADE-FROM-CLASS-3", lambda c: _upgrade(c, los=2, klass="3"),
     [("error", ("Claim.supportingInfo[0]", "Coverage.class[1].value"))]),
    ("PRECHECK-TARIF-MINIMUM", _tariff, [("error", ("Claim.total",))]),
    ("PRECHECK-ADL-RANGE", _adl, [("error", ("Claim.supportingInfo[6]",)), ("error", ("Claim.supportingInfo[7]",))]),
    ("PRECHECK-ICD10-INVALID", lambda c: _diagnoses(c, "S72.0", "W19", "ZZZ"),
     [("error", ("Claim.diagnosis[2].diagnosisCodeableConcept.coding[0].code",))]),
    ("PRECHECK-ICD9CM-INVALID", lambda c: _procedures(c, "81.51", "99.999"),
     [("error", ("Claim.procedure[1].procedureCodeableConcept.coding[0].code",))]),
    ("PRECHECK-NEWBORN-BIRTH-WEIGHT", lambda c: _diagnoses(_newborn(c), "P07.1"),
     [("error", ("Patient.birthDate", "Claim.supportingInfo"))]),
    ("PRECHECK-DPJP-MISSING", _no_dpjp, [("error", ("Claim.careTeam",))]),
    ("PRECHECK-ASTERISK-PRINCIPAL", lambda c: _diagnoses(c, "J17.1", "B05.2"),
     [("error", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code",))]),
    ("PRECHECK-SYMPTOM-PRINCIPAL", lambda c: _diagnoses(c, "R50.9", "A01.0", "Z86.1"),
     [("warning", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code",
                   "Claim.diagnosis[1].diagnosisCodeableConcept.coding[0].code"))]),
    ("PRECHECK-PERINATAL-PRINCIPAL", lambda c: _diagnoses(c, "P07.1"),
     [("error", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code", "Patient.birthDate"))]),
    ("PRECHECK-HEALTHY-NEWBORN", lambda c: _diagnoses(c, "Z38.0"),
     [("error", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code",))]),
    ("PRECHECK-CAESAREAN-WITHOUT-O82", lambda c: _procedures(_diagnoses(c, "O80.0"), "74.1"),
     [("error", ("Claim.procedure[0].procedureCodeableConcept.coding[0].code", "Claim.diagnosis"))]),
    ("PRECHECK-INJURY-EXTERNAL-CAUSE", lambda c: _diagnoses(c, "S72.0", "I10"),
     [("warning", ("Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code",))]),
]


@pytest.mark.parametrize("rule,craft,expected", CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_crafted_case_only(rule, craft, expected):
    issues = precheck(craft(inpatient_case()))
    mine = [(i.severity, i.expression) for i in issues if i.details_code == rule]
    assert mine == expected
    assert all(i.details_system == RULE_SYSTEM for i in issues)


def test_every_rule_has_a_crafted_case():
    """The data and coding rules here; the rule families of claims/rules/ in test_precheck_rules*.py."""
    assert {c[0] for c in CASES} <= set(RULES)


@pytest.mark.parametrize("rule,craft,expected", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_messages_are_indonesian_and_english(rule, craft, expected):
    issue = next(i for i in precheck(craft(inpatient_case())) if i.details_code == rule)
    indonesian, english = issue.text.split(" / ", 1)
    assert indonesian and english and indonesian != english


def test_message_values_are_filled():
    texts = {i.details_code: i.text for i in precheck(_icu(_tariff(inpatient_case())))}
    assert texts["PRECHECK-ICU-DAYS"] == (
        "Lama rawat intensif 7 hari melebihi total lama rawat 5 hari / "
        "ICU stay of 7 days exceeds the length of stay of 5 days (E-Klaim E2013)")
    assert texts["PRECHECK-TARIF-MINIMUM"] == (
        "Tarif rumah sakit Rp 12,000 kurang dari minimal Rp 15,000 / "
        "Hospital tariff Rp 12,000 is below the minimum of Rp 15,000 (E-Klaim X-0-94-X)")


def test_quiet_variants_of_the_coding_rules():
    assert precheck(_procedures(_diagnoses(inpatient_case(), "O82.0", "Z37.0"), "74.1")) == []  # SC with O82
    newborn = _procedures(_diagnoses(_newborn(inpatient_case()), "P07.1"))
    newborn.claim["supportingInfo"].append(info(7, "birth-weight", **quantity(2100, "g")))
    assert precheck(newborn) == []  # P code under 28 days with a birth weight
    outpatient = _diagnoses(outpatient_case(), "R50.9", "A01.0")
    assert precheck(outpatient) == []  # R principal is fine outside an inpatient stay
    assert precheck(_icu(inpatient_case(), days=5)) == []  # ICU the whole stay


def test_errors_come_before_warnings():
    issues = precheck(_diagnoses(_no_enterer(inpatient_case()), "S72.0", "I10"))
    assert [i.severity for i in issues] == ["error", "warning"]


class MemoryHistory:
    """A ClaimHistory over a list, as the store-backed one will behave."""

    def __init__(self, *episodes: PastEpisode) -> None:
        self.all, self.asked = list(episodes), []

    def episodes(self, patient, *, start, end):
        self.asked.append((patient, start, end))
        return [e for e in self.all if e.admission <= end and e.discharge >= start]


def _at(day, hour=9):
    return datetime(2024, 5, day, hour, tzinfo=WIB) if day > 0 else datetime(2024, 4, 30 + day, hour, tzinfo=WIB)


def test_history_readmission_within_30_days_with_the_same_category():
    history = MemoryHistory(PastEpisode("SEP-OLD", "1", datetime(2024, 4, 10, 8, tzinfo=WIB),
                                        datetime(2024, 4, 20, 11, tzinfo=WIB), "S72.1"))
    issues = [i for i in precheck(inpatient_case(), history) if i.details_code == "PRECHECK-READMISSION"]
    assert [(i.severity, i.expression) for i in issues] == [
        ("warning", ("Claim.diagnosis[1].diagnosisCodeableConcept.coding[0].code",))]
    assert "11 days earlier (SEP SEP-OLD)" in issues[0].text and "S72" in issues[0].text
    patient, start, end = history.asked[0]
    assert patient == "Patient/pat-1" and (end - start).days == 35


def test_history_other_category_or_older_stay_is_not_readmission():
    history = MemoryHistory(
        PastEpisode("SEP-A", "1", datetime(2024, 4, 10, tzinfo=WIB), datetime(2024, 4, 20, tzinfo=WIB), "J18.9"),
        PastEpisode("SEP-B", "1", datetime(2024, 3, 1, tzinfo=WIB), datetime(2024, 3, 20, tzinfo=WIB), "S72.0"),
    )
    assert precheck(inpatient_case(), history) == []


def test_history_double_claims():
    inpatient = MemoryHistory(
        PastEpisode(SEP, "1", _at(1), _at(6), "S72.0"),  # the claim itself: skipped
        PastEpisode("SEP-RITL", "1", _at(3), _at(8), "J18.9"),
        PastEpisode("SEP-RJTL", "2", _at(2), _at(2, 11), "M25.5"),
    )
    assert sorted(c for c, *_ in fired(inpatient_case(), inpatient)) == [
        "PRECHECK-DOUBLE-RITL-RITL", "PRECHECK-DOUBLE-RJTL-RITL"]

    outpatient = MemoryHistory(
        PastEpisode("SEP-RITL", "1", _at(5), _at(9), "J18.9"),
        PastEpisode("SEP-RJTL", "2", _at(7, 13), _at(7, 14), "M25.5"),
    )
    found = fired(outpatient_case(), outpatient)
    assert sorted((c, s) for c, s, _ in found) == [
        ("PRECHECK-DOUBLE-RJTL-RITL", "error"), ("PRECHECK-DOUBLE-RJTL-RJTL", "warning")]
    texts = [i.text for i in precheck(outpatient_case(), outpatient)]
    assert any("2024-05-07 (SEP " in t and "SEP SEP-RITL" in t for t in texts)


def test_history_is_not_asked_without_dates():
    ctx = inpatient_case()
    del ctx.encounter["period"], ctx.claim["billablePeriod"]
    history = MemoryHistory()
    precheck(ctx, history)
    assert history.asked == []


def test_published_code_system_matches_the_rules():
    published = json.loads(resources.files("fhirclaim.profiles").joinpath("CodeSystem-precheck-rule.json")
                           .read_text(encoding="utf-8"))
    table = json.loads(resources.files("fhirclaim.claims").joinpath("data", "precheck_rules.json")
                       .read_text(encoding="utf-8"))["rules"]
    severities = {c["code"]: next(p["valueCode"] for p in c["property"] if p["code"] == "severity")
                  for c in published["concept"]}
    registered = set(RULES) | set(HISTORY_RULES) | {"PRECHECK-EKLAIM-PAYLOAD"}
    assert set(severities) == set(rule_ids()) == set(table) == registered
    assert severities == {code: rule["severity"] for code, rule in table.items()}


def test_with_mapping_adds_what_the_payloads_lack_without_repeating_rules():
    ctx = _no_sep(inpatient_case())
    del ctx.coverage["subscriberId"]
    ctx.coverage["identifier"] = []
    ctx.encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] = "moved"
    assert [i.details_code for i in precheck(ctx)] == ["PRECHECK-SEP-MISSING"]
    issues = precheck(ctx, with_mapping=True)
    assert [(i.details_code, i.code, i.expression) for i in issues] == [
        ("PRECHECK-SEP-MISSING", "required", ("Claim.insurance[0].identifier.value",)),
        ("PRECHECK-EKLAIM-PAYLOAD", "required", ("Coverage.subscriberId",)),
        ("PRECHECK-EKLAIM-PAYLOAD", "code-invalid", ("Encounter.hospitalization.dischargeDisposition",)),
    ]
    assert precheck(inpatient_case(), with_mapping=True) == []
