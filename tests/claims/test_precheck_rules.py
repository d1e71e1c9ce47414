"""Issue 15 rules: each fires on its one-defect case and stays silent on the matching clean case of the corpus
(`benchmarks/precheck_corpus.py`), with a rule id, its severity, a FHIRPath and Indonesian / English text."""

from __future__ import annotations

import copy
import random
import sys
from dataclasses import dataclass
from datetime import date

import pytest

from fhirclaim.claims.claim_context import TenantClaimSettings
from fhirclaim.claims.code_tables import data_table
from fhirclaim.claims.precheck import precheck, rule_ids
from fhirclaim.claims.rules import identity
from fhirclaim.claims.rules.base import precheck_table

from testkit import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from precheck_corpus import DEFECTS, TEMPLATES, CorpusCase, clean_cases, nik  # noqa: E402

RULE_SYSTEM = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"
BY_NAME = {template(random.Random(0), 0).name: template for template in TEMPLATES}


def run(case: CorpusCase, *, record: bool = True, settings=None):
    return precheck(case.context(), case.history(), settings, with_mapping=True,
                    record=case.record() if record else None)


def clean(template: str, seed: int = 7) -> CorpusCase:
    return BY_NAME[template](random.Random(seed), 500 + seed)


def defective(rule: str, seed: int = 7) -> CorpusCase:
    template, inject = DEFECTS[rule]
    case = clean(template, seed)
    case.resources = copy.deepcopy(case.resources)
    inject(case, random.Random(seed))
    return case


@pytest.mark.parametrize("rule", sorted(DEFECTS))
def test_rule_fires_on_its_defect_and_not_on_the_clean_case(rule):
    assert run(clean(DEFECTS[rule][0])) == []
    issues = [i for i in run(defective(rule)) if i.details_code == rule]
    assert issues, rule
    definition = data_table("precheck_rules")["rules"][rule]
    for issue in issues:
        assert issue.severity == definition["severity"] and issue.details_system == RULE_SYSTEM
        assert issue.expression and all(e.startswith(("Claim", "Patient", "Encounter", "Coverage", "Invoice",
                                                      "ChargeItem", "DocumentReference")) for e in issue.expression)
        indonesian, english = issue.text.split(" / ", 1)
        assert indonesian and english and indonesian != english and "{" not in issue.text


def test_every_rule_has_a_defect_in_the_corpus():
    assert set(DEFECTS) == set(rule_ids())


def test_clean_corpus_raises_nothing():
    noisy = {case.name: [i.details_code for i in run(case)] for case in clean_cases(60, seed=3) if run(case)}
    assert noisy == {}


def test_inpatient_chemotherapy_is_correct_coding():
    """Z51.1 principal with the tumour as secondary (seed 004), and the next cycle 21 days later, are not flagged."""
    case = clean("chemotherapy")
    codes = [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in case.resources["claim"]["diagnosis"]]
    assert codes == ["Z51.1", "C50.9"] and case.episodes
    assert run(case) == []


def test_claim_file_rules_need_the_claim_file():
    """The pipeline passes no record yet: the document rules stay quiet rather than guess."""
    case = defective("PRECHECK-RESUME-MISSING")
    assert "PRECHECK-RESUME-MISSING" in [i.details_code for i in run(case)]
    assert "PRECHECK-RESUME-MISSING" not in [i.details_code for i in run(case, record=False)]


def test_messages_say_what_to_fix_and_name_the_evidence():
    issue = next(i for i in run(defective("PRECHECK-SPECIAL-DRUG-PRESCRIPTION"))
                 if i.details_code == "PRECHECK-SPECIAL-DRUG-PRESCRIPTION")
    assert "MedicationRequest" in issue.text and "ChargeItem.supportingInformation" in issue.text
    assert issue.text.endswith("]") and "[ChargeItem/" in issue.text
    assert issue.expression[0].endswith(".supportingInformation")


def test_combination_code_names_the_code_to_use():
    case = defective("PRECHECK-COMBINATION-CODE")
    issue = next(i for i in run(case) if i.details_code == "PRECHECK-COMBINATION-CODE")
    assert "N18.5 + I11.9" in issue.text and "I12.0" in issue.text


def test_nik_encodes_birth_date_and_sex():
    assert nik(date(1990, 11, 20), "female", random.Random(1))[6:12] == "601190"
    assert nik(date(1971, 7, 7), "male", random.Random(1))[6:12] == "070771"
    assert identity._nik_birth("3171016011900007", date(1990, 11, 20)) == date(1990, 11, 20)
    assert identity._nik_birth("3171019913900007", None) == date(1, 1, 1)  # no such day: a mismatch


def test_hospital_settings_may_make_a_warning_stop_the_claim():
    @dataclass(frozen=True)
    class Strict(TenantClaimSettings):
        precheck_errors: tuple[str, ...] = ("PRECHECK-NIK-SEX",)

    case = defective("PRECHECK-NIK-SEX")
    severities = {i.details_code: i.severity for i in run(case)}
    assert severities["PRECHECK-NIK-SEX"] == "warning"
    assert {i.details_code: i.severity for i in run(case, settings=Strict())}["PRECHECK-NIK-SEX"] == "error"


def test_tables_note_their_source_and_load_once():
    for name in ("code_sex_age", "combination_codes", "procedure_support", "diagnosis_evidence", "special_drugs"):
        assert precheck_table(name)["_source"]
        assert precheck_table(name) is precheck_table(name)


def test_duplicate_sep_ignores_a_resend_of_the_same_claim():
    case = defective("PRECHECK-DUPLICATE-SEP")
    assert "PRECHECK-DUPLICATE-SEP" in [i.details_code for i in run(case)]
    case.episodes = [e.__class__(**{**e.__dict__, "claim_id": case.resources["claim"]["id"]}) for e in case.episodes]
    assert run(case) == []


def test_a_stay_starting_the_day_another_ended_is_split_not_overlapping():
    codes = [i.details_code for i in run(defective("PRECHECK-EPISODE-SPLIT"))]
    assert "PRECHECK-EPISODE-SPLIT" in codes and "PRECHECK-DOUBLE-RITL-RITL" not in codes


def test_a_preliminary_resume_is_unsigned():
    case = clean("delivery")
    case.resources["documents"][0]["docStatus"] = "preliminary"
    assert [i.details_code for i in run(case)] == ["PRECHECK-RESUME-UNSIGNED"]


def test_a_newborn_needs_no_referral_even_without_an_admit_source():
    case = clean("newborn")
    del case.resources["encounter"]["hospitalization"]["admitSource"]
    assert run(case) == []
    adult = clean("delivery")
    adult.resources["claim"].pop("referral")
    assert [i.details_code for i in run(adult)] == ["PRECHECK-REFERRAL-MISSING"]


def test_a_result_under_a_code_the_table_does_not_know_counts_as_support():
    case = defective("PRECHECK-SUPPORTING-RESULT-MISSING")
    case.resources["results"].append({"resourceType": "Observation", "id": "obs-x", "status": "final",
                                      "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]}})
    case.resources["claim"]["supportingInfo"].append({"sequence": 99, "category": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "info"}]},
        "valueReference": {"reference": "Observation/obs-x"}})
    assert run(case) == []


def _earlier_episode_resume(case: CorpusCase, signer: str) -> None:
    """Attach another stay's discharge summary (a readmission's confirmation evidence), signed by `signer`."""
    earlier = copy.deepcopy(next(d for d in case.resources["documents"]
                                 if d["resourceType"] == "DocumentReference" or d.get("encounter")))
    earlier["id"] = "earlier-resume"
    earlier.pop("attester", None)
    earlier.pop("authenticator", None)
    earlier["author"] = [{"reference": signer}]
    if earlier["resourceType"] == "Composition":
        earlier["encounter"] = {"reference": "Encounter/earlier-stay"}
    else:
        earlier["context"] = {"encounter": [{"reference": "Encounter/earlier-stay"}]}
        earlier["authenticator"] = {"reference": signer}
    case.resources["documents"].append(earlier)
    case.resources["claim"].setdefault("supportingInfo", []).append({
        "sequence": 99, "category": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "attachment"}]},
        "valueReference": {"reference": f"{earlier['resourceType']}/earlier-resume"}})


def test_an_earlier_stays_resume_by_another_dpjp_is_evidence_not_this_stays_resume():
    case = clean("chemotherapy")
    case.resources = copy.deepcopy(case.resources)
    _earlier_episode_resume(case, "Practitioner/another-dpjp")
    assert [i.details_code for i in run(case)] == []
    case.resources["documents"] = [d for d in case.resources["documents"] if d["id"] == "earlier-resume"]
    assert "PRECHECK-RESUME-MISSING" in [i.details_code for i in run(case)]
