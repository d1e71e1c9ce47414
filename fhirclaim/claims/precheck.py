"""Pre-submission checks (architecture §9): the reasons E-Klaim refuses a claim or BPJS-K sends it back, found first.

Rules are a table of small functions, one per rule id. Each reads a `Case` — the claim's facts
(`fhirclaim.claims.facts`), its resolved resources and, when the caller gathered it, the claim file
(`rules.record`: documents, results, charge items, prescriptions) — and returns findings: the evidence (FHIRPath
expressions and the resources that prove it) and the values its message needs; severity, issue type and the
Indonesian / English message templates come from `data/precheck_rules.json`. The rule families beyond the data and
coding rules below live in `fhirclaim/claims/rules/` (docs/prechecks.md lists every rule). Rules that need the
patient's other claims run only when the caller passes a `ClaimHistory`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.claim_context import ClaimContext, TenantClaimSettings, focal_insurance, reference_of
from fhirclaim.claims.facts import ClaimFacts, Coded, read_facts
from fhirclaim.claims.mapping import NEW_CLAIM_FIELDS, SET_CLAIM_DATA_FIELDS
from fhirclaim.claims.rules import billing, coding, documents, history, identity
from fhirclaim.claims.rules.base import Case, Finding, PastEpisode
from fhirclaim.claims.rules.record import ClaimRecord
from fhirclaim.fhir.outcome import Issue
from fhirclaim.terminology import icd10

__all__ = ["ClaimHistory", "ClaimRecord", "Finding", "PastEpisode", "precheck", "rule_ids"]


class ClaimHistory(Protocol):
    """The patient's other claims; implemented over the store by the pipeline."""

    def episodes(self, patient: str, *, start: datetime, end: datetime) -> Iterable[PastEpisode]:
        """Claims of `patient` (a Patient reference) whose stay touches [start, end], the current claim included
        or not (rules skip the claim's own SEP)."""
        ...


MAPPED_FIELDS = NEW_CLAIM_FIELDS + SET_CLAIM_DATA_FIELDS
EKLAIM_PAYLOAD = "PRECHECK-EKLAIM-PAYLOAD"  # what would stop E-Klaim's payloads, when no rule says it already

Rule = Callable[[Case, dict[str, Any]], Iterable[Finding]]
HistoryRule = Callable[[Case, dict[str, Any], list[PastEpisode]], Iterable[Finding]]


def precheck(ctx: ClaimContext, history: ClaimHistory | None = None,
             settings: TenantClaimSettings | None = None, *, with_mapping: bool = False,
             record: ClaimRecord | None = None) -> list[Issue]:
    """Every finding of every rule, errors first; an empty list means the claim may go to E-Klaim.

    `record` is the claim file (documents, results, charge items, gaps in the record), else the one the context
    carries (the pipeline gathers it with the context); the claim-file rules run only with one.
    `with_mapping` adds what would stop the E-Klaim payloads themselves (`mapping.mapping_issues`: a missing
    card number, an unknown discharge code, ...) unless a rule already cites the same element, so one call tells
    the hospital everything before the first web-service call; each carries rule id PRECHECK-EKLAIM-PAYLOAD.
    A hospital's settings may name warnings that stop its claims (`precheck_errors`, rule ids).
    """
    settings = settings or TenantClaimSettings()
    case = Case(read_facts(ctx, settings.timezone), ctx, record if record is not None else ctx.record)
    issues = [issue for rule_id, rule in RULES.items() for issue in _run(rule_id, rule(case, _params(rule_id)))]
    if with_mapping:
        cited = {expression for issue in issues for expression in issue.expression}
        issues.extend(_payload_issue(i) for i in case.facts.issues_for(MAPPED_FIELDS)
                      if not cited.intersection(i.expression))
    issues.extend(_history_issues(case, history))
    stopping = set(settings.precheck_errors)
    issues = [dataclasses.replace(i, severity="error") if i.details_code in stopping else i for i in issues]
    return sorted(issues, key=lambda issue: not issue.is_error)


def rule_ids() -> list[str]:
    return [*RULES, *HISTORY_RULES, EKLAIM_PAYLOAD]


def _history_issues(case: Case, history: ClaimHistory | None) -> list[Issue]:
    facts, ctx = case.facts, case.ctx
    patient = reference_of(ctx.claim.get("patient"))
    if history is None or not (patient and facts.admission and facts.discharge):
        return []
    # From the readmission window before admission to the end of the discharge day (same-day visits).
    start = facts.admission - timedelta(days=_params("PRECHECK-READMISSION")["window_days"])
    end = datetime.combine(facts.discharge.date() + timedelta(days=1), time.min, facts.discharge.tzinfo)
    own = ctx.claim.get("id")
    around = [e for e in history.episodes(patient, start=start, end=end)
              if not (e.claim_id and e.claim_id == own) and not (e.claim_id is None and e.nomor_sep == facts.nomor_sep)]
    others = [e for e in around if e.nomor_sep != facts.nomor_sep]
    issues: list[Issue] = []
    for rule_id, history_rule in HISTORY_RULES.items():
        episodes = around if rule_id == "PRECHECK-DUPLICATE-SEP" else others
        issues.extend(_run(rule_id, history_rule(case, _params(rule_id), episodes)))
    return issues


def _payload_issue(issue: Issue) -> Issue:
    """A mapping issue (English, naming the E-Klaim field) under its rule id, with the Indonesian lead."""
    return dataclasses.replace(issue, text=f"{_definition(EKLAIM_PAYLOAD)['id']} / {issue.text}",
                               details_code=EKLAIM_PAYLOAD, details_system=systems.PRECHECK_RULE)


def _definition(rule_id: str) -> dict[str, Any]:
    return code_tables.data_table("precheck_rules")["rules"][rule_id]


def _params(rule_id: str) -> dict[str, Any]:
    return _definition(rule_id).get("params", {})


def _run(rule_id: str, findings: Iterable[Finding]) -> Iterator[Issue]:
    definition = _definition(rule_id)
    for finding in findings:
        values = {**definition.get("params", {}), **finding.values}
        text = f"{definition['id'].format(**values)} / {definition['en'].format(**values)}"
        if definition.get("anticipates"):
            text += f" (E-Klaim {definition['anticipates']})"
        if finding.evidence:
            text += f" [{', '.join(finding.evidence)}]"
        yield Issue(definition["severity"], definition["issue_type"], text, finding.expression, rule_id,
                    systems.PRECHECK_RULE)


def _on_facts(rule: Callable[[ClaimFacts, dict[str, Any]], Iterable[Finding]]) -> Rule:
    """A data or coding rule that reads the facts only."""
    return lambda case, params: rule(case.facts, params)


def _on_episodes(rule: Callable[[ClaimFacts, dict[str, Any], list[PastEpisode]], Iterable[Finding]]) -> HistoryRule:
    return lambda case, params, episodes: rule(case.facts, params, episodes)


# --- the resources the claim rests on: resolved, or the rules have nothing to read -----------------------------

def patient_unresolved(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.ctx.patient is None:
        yield Finding(("Claim.patient",), evidence=tuple(filter(None, [reference_of(case.ctx.claim.get("patient"))])))


def encounter_unresolved(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.ctx.encounter is None:
        yield Finding(("Claim.supportingInfo",))


def coverage_unresolved(case: Case, params: dict[str, Any]) -> Iterator[Finding]:
    if case.ctx.coverage is None:
        insurance = focal_insurance(case.ctx.claim)
        yield Finding((f"Claim.insurance[{insurance[0]}].coverage" if insurance else "Claim.insurance",))


# --- data rules: what E-Klaim itself refuses -------------------------------------------------------------------

def sep_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.nomor_sep and not facts.number_generated:  # COVID-19, KIPI, newborn, co-incidence: no SEP
        yield Finding((facts.where["nomor_sep"],))


def coder_nik_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.coder_nik:
        yield Finding((facts.where["coder_nik"],))


def discharge_before_admission(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.admission and facts.discharge and facts.discharge < facts.admission:
        yield Finding((facts.where["admission"], facts.where["discharge"]),
                      {"admission": _shown(facts.admission), "discharge": _shown(facts.discharge)})


def icu_days_exceed_stay(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    los = facts.length_of_stay
    if facts.icu_days and los is not None and los >= 0 and facts.icu_days > los:
        yield Finding((facts.where["icu_days"], facts.where["admission"], facts.where["discharge"]),
                      {"icu_days": facts.icu_days, "los": los})


def upgrade_los_exceeds_stay(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    los = facts.length_of_stay
    if facts.upgrade_class_ind == "1" and facts.upgrade_class_los and los is not None and los >= 0 \
            and facts.upgrade_class_los > los:
        yield Finding((facts.where["upgrade_class_los"], facts.where["admission"], facts.where["discharge"]),
                      {"upgrade_los": facts.upgrade_class_los, "los": los})


def upgrade_from_class_3(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.inpatient and facts.upgrade_class_ind == "1" and facts.kelas_rawat == "3":
        yield Finding((facts.where["upgrade_class_ind"], facts.where.get("kelas_rawat", "Coverage.class")))


def tarif_below_minimum(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if facts.tarif_rs is not None and facts.tarif_rs < params["minimum"]:
        yield Finding((facts.where["tarif_rs"],),
                      {"tarif": f"{int(facts.tarif_rs):,}", "minimum": f"{params['minimum']:,}"})


def adl_out_of_range(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for fact, kind in (("adl_sub_acute", "sub-acute"), ("adl_chronic", "chronic")):
        score = getattr(facts, fact)
        if score is not None and not params["low"] <= score <= params["high"]:
            yield Finding((facts.where[fact],), {"kind": kind, "score": score})


def icd10_invalid(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in facts.diagnoses:
        if not coded.valid:
            yield Finding((coded.expression,), {"code": coded.code})


def icd9cm_invalid(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    for coded in facts.procedures:
        if not coded.valid:
            yield Finding((coded.expression,), {"code": coded.code})


def newborn_without_birth_weight(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    age = facts.age_days_at_admission
    if age is not None and 0 <= age <= params["max_age_days"] and not facts.birth_weight:
        yield Finding((facts.where["birth_date"], facts.where["birth_weight"]),
                      {"age": age, "max_age": params["max_age_days"]})


def dpjp_missing(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if not facts.dpjp_name:
        yield Finding((facts.where["dpjp"],))


# --- coding rules (architecture §9, seed 004) -------------------------------------------------------------------------

def asterisk_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal = _principal(facts)
    if principal and principal.valid and _call(icd10.is_asterisk, principal.code):
        yield Finding((principal.expression,), {"code": principal.code})


def symptom_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    """R/Z principal of a stay with a specific diagnosis; an admission for therapy (Z51.1 chemotherapy with the
    C code secondary, Z49 dialysis) is coded so on purpose (seed 004)."""
    principal = _principal(facts)
    if not (facts.inpatient and principal and principal.code[:1] in params["non_specific_letters"]):
        return
    if any(principal.code.startswith(code) for code in params["therapy_admissions"]):
        return
    ignored = set(params["non_specific_letters"]) | set(params["external_cause_letters"])
    specific = [c for c in facts.diagnoses[1:] if c.valid and c.code[:1] not in ignored]
    if specific:
        yield Finding((principal.expression, *(c.expression for c in specific)),
                      {"code": principal.code, "specific": ", ".join(c.code for c in specific)})


def perinatal_principal(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal, age = _principal(facts), facts.age_days_at_admission
    if principal and principal.code.startswith("P") and age is not None and age >= params["max_age_days"]:
        yield Finding((principal.expression, facts.where["birth_date"]),
                      {"code": principal.code, "age": age, "max_age": params["max_age_days"]})


def healthy_newborn(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    principal = _principal(facts)
    if principal and principal.code in params["codes"]:
        yield Finding((principal.expression,), {"code": principal.code})


def caesarean_without_o82(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    caesareans = [p for p in facts.procedures if p.code in params["procedures"]]
    if caesareans and not any(d.code.startswith(params["diagnosis_category"]) for d in facts.diagnoses):
        yield Finding(tuple(p.expression for p in caesareans) + (facts.where["diagnoses"],),
                      {"procedure": ", ".join(p.code for p in caesareans)})


def injury_without_external_cause(facts: ClaimFacts, params: dict[str, Any]) -> Iterator[Finding]:
    if any(d.code[:1] in params["external_cause_letters"] for d in facts.diagnoses):
        return
    for coded in facts.diagnoses:
        if coded.code[:1] in params["injury_letters"]:
            yield Finding((coded.expression,), {"code": coded.code})


# --- history rules: the patient's other claims (readmission, double claims) ----------------------------------

def readmission(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    """Planned readmissions (chemotherapy cycles Z51, dialysis Z49) are not readmissions (seed 004)."""
    principal = _principal(facts)
    if not (facts.inpatient and principal and facts.admission) or principal.code[:3] in params["planned"]:
        return
    for episode in episodes:
        gap = (facts.admission.date() - episode.discharge.date()).days
        same = (episode.principal_diagnosis or "")[:3] == principal.code[:3]
        if episode.jenis_rawat == "1" and same and 0 <= gap <= params["window_days"]:
            yield Finding((principal.expression,),
                          {"days": gap, "other_sep": episode.nomor_sep, "category": principal.code[:3]})


def double_inpatient(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    if not (facts.inpatient and facts.admission and facts.discharge):
        return
    for episode in episodes:
        if episode.jenis_rawat == "1" and _overlap(facts.admission, facts.discharge, episode):
            yield Finding((facts.where["admission"],),
                          {"other_sep": episode.nomor_sep, "other_period": _period(episode)})


def outpatient_in_inpatient(facts: ClaimFacts, params: dict[str, Any],
                            episodes: list[PastEpisode]) -> Iterator[Finding]:
    """An outpatient visit from the admission day up to (not including) the discharge day belongs to the stay."""
    if not (facts.admission and facts.discharge and facts.jenis_rawat):
        return
    this = PastEpisode(facts.nomor_sep or "-", facts.jenis_rawat, facts.admission, facts.discharge)
    for episode in episodes:
        inpatient, outpatient = (this, episode) if facts.inpatient else (episode, this)
        if inpatient.jenis_rawat == "1" and outpatient.jenis_rawat == "2" \
                and inpatient.admission.date() <= outpatient.admission.date() < inpatient.discharge.date():
            yield Finding((facts.where["admission"],),
                          {"visit": outpatient.admission.date().isoformat(), "outpatient_sep": outpatient.nomor_sep,
                           "inpatient_sep": inpatient.nomor_sep, "inpatient_period": _period(inpatient)})


def double_outpatient(facts: ClaimFacts, params: dict[str, Any], episodes: list[PastEpisode]) -> Iterator[Finding]:
    if facts.jenis_rawat != "2" or not facts.admission:
        return
    for episode in episodes:
        if episode.jenis_rawat == "2" and episode.admission.date() == facts.admission.date():
            yield Finding((facts.where["admission"],),
                          {"visit": facts.admission.date().isoformat(), "other_sep": episode.nomor_sep})


RULES: dict[str, Rule] = {
    "PRECHECK-PATIENT-UNRESOLVED": patient_unresolved,
    "PRECHECK-ENCOUNTER-UNRESOLVED": encounter_unresolved,
    "PRECHECK-COVERAGE-UNRESOLVED": coverage_unresolved,
    "PRECHECK-SEP-MISSING": _on_facts(sep_missing),
    "PRECHECK-CODER-NIK": _on_facts(coder_nik_missing),
    "PRECHECK-DISCHARGE-BEFORE-ADMISSION": _on_facts(discharge_before_admission),
    "PRECHECK-ICU-DAYS": _on_facts(icu_days_exceed_stay),
    "PRECHECK-UPGRADE-LOS": _on_facts(upgrade_los_exceeds_stay),
    "PRECHECK-UPGRADE-FROM-CLASS-3": _on_facts(upgrade_from_class_3),
    "PRECHECK-TARIF-MINIMUM": _on_facts(tarif_below_minimum),
    "PRECHECK-ADL-RANGE": _on_facts(adl_out_of_range),
    "PRECHECK-ICD10-INVALID": _on_facts(icd10_invalid),
    "PRECHECK-ICD9CM-INVALID": _on_facts(icd9cm_invalid),
    "PRECHECK-NEWBORN-BIRTH-WEIGHT": _on_facts(newborn_without_birth_weight),
    "PRECHECK-DPJP-MISSING": _on_facts(dpjp_missing),
    "PRECHECK-ASTERISK-PRINCIPAL": _on_facts(asterisk_principal),
    "PRECHECK-SYMPTOM-PRINCIPAL": _on_facts(symptom_principal),
    "PRECHECK-PERINATAL-PRINCIPAL": _on_facts(perinatal_principal),
    "PRECHECK-HEALTHY-NEWBORN": _on_facts(healthy_newborn),
    "PRECHECK-CAESAREAN-WITHOUT-O82": _on_facts(caesarean_without_o82),
    "PRECHECK-INJURY-EXTERNAL-CAUSE": _on_facts(injury_without_external_cause),
    # identity and eligibility (rules/identity.py)
    "PRECHECK-NIK-BIRTH-DATE": identity.nik_birth_date,
    "PRECHECK-NIK-SEX": identity.nik_sex,
    "PRECHECK-CARD-MISMATCH": identity.card_mismatch,
    "PRECHECK-COVERAGE-INACTIVE": identity.coverage_inactive,
    "PRECHECK-SEP-FORMAT": identity.sep_malformed,
    # coding (rules/coding.py)
    "PRECHECK-COMBINATION-CODE": coding.combination_code,
    "PRECHECK-NEOPLASM-MORPHOLOGY": coding.neoplasm_morphology,
    "PRECHECK-DELIVERY-COMPLICATION-ORDER": coding.delivery_complication_order,
    "PRECHECK-CAESAREAN-O82-NOT-PRINCIPAL": coding.caesarean_o82_not_principal,
    "PRECHECK-EXTERNAL-CAUSE-PRINCIPAL": coding.external_cause_principal,
    "PRECHECK-SEX-SPECIFIC-CODE": coding.sex_specific_code,
    "PRECHECK-AGE-SPECIFIC-CODE": coding.age_specific_code,
    "PRECHECK-PROCEDURE-WITHOUT-DIAGNOSIS": coding.procedure_without_diagnosis,
    "PRECHECK-INPATIENT-ONLY-PROCEDURE": coding.inpatient_only_procedure,
    "PRECHECK-MULTI-DAY-OUTPATIENT": coding.multi_day_outpatient,
    # billing and the stay (rules/billing.py)
    "PRECHECK-INVOICE-TOTAL": billing.invoice_total_mismatch,
    "PRECHECK-SERVICE-OUTSIDE-STAY": billing.service_outside_stay,
    "PRECHECK-VENTILATION-HOURS": billing.ventilation_hours,
    "PRECHECK-UPGRADE-UNDECLARED": billing.upgrade_undeclared,
    "PRECHECK-UPGRADE-NOT-HIGHER": billing.upgrade_not_higher,
    "PRECHECK-BIRTH-WEIGHT-RANGE": billing.birth_weight_implausible,
    # the claim file (rules/documents.py; with a ClaimRecord)
    "PRECHECK-RESUME-MISSING": documents.resume_missing,
    "PRECHECK-RESUME-UNSIGNED": documents.resume_unsigned,
    "PRECHECK-RESUME-DPJP-MISMATCH": documents.resume_dpjp_mismatch,
    "PRECHECK-OPERATION-REPORT-MISSING": documents.operation_report_missing,
    "PRECHECK-ACCIDENT-LETTER-MISSING": documents.accident_letter_missing,
    "PRECHECK-THALASSAEMIA-LETTER-MISSING": documents.thalassaemia_letter_missing,
    "PRECHECK-SUPPORTING-RESULT-MISSING": documents.supporting_result_missing,
    "PRECHECK-SECONDARY-UNSUPPORTED": documents.secondary_unsupported,
    "PRECHECK-THERAPY-EVIDENCE-MISSING": documents.therapy_evidence_missing,
    "PRECHECK-SPECIAL-DRUG-PRESCRIPTION": documents.special_drug_without_prescription,
    "PRECHECK-REFERRAL-MISSING": documents.referral_missing,
    "PRECHECK-CODE-WITHOUT-RECORD": documents.code_without_record,
}

HISTORY_RULES: dict[str, HistoryRule] = {
    "PRECHECK-READMISSION": _on_episodes(readmission),
    "PRECHECK-DOUBLE-RITL-RITL": _on_episodes(double_inpatient),
    "PRECHECK-DOUBLE-RJTL-RITL": _on_episodes(outpatient_in_inpatient),
    "PRECHECK-DOUBLE-RJTL-RJTL": _on_episodes(double_outpatient),
    "PRECHECK-DUPLICATE-SEP": history.duplicate_sep,
    "PRECHECK-EPISODE-SPLIT": history.episode_split,
}


def _principal(facts: ClaimFacts) -> Coded | None:
    return facts.diagnoses[0] if facts.diagnoses else None


def _call(check: Callable[[str], Any], code: str) -> bool:
    try:
        return bool(check(code))
    except (ValueError, KeyError):
        return False


def _overlap(start: datetime, end: datetime, episode: PastEpisode) -> bool:
    """Two stays overlap when each starts before the other ends (a transfer on the discharge day does not)."""
    return start.date() < episode.discharge.date() and episode.admission.date() < end.date()


def _period(episode: PastEpisode) -> str:
    return f"{_shown(episode.admission)} – {_shown(episode.discharge)}"


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
